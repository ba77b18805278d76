package erasure

import (
	"bytes"
	"testing"
)

// FuzzLayout checks the layout arithmetic on arbitrary shapes and ranges:
// Spans tile the range in order, Window holds every span, ShardRange is
// always sliceable, and a degraded read through the window returns the
// data.
func FuzzLayout(f *testing.F) {
	f.Add(uint8(4), uint8(2), uint8(1), uint16(1000), uint16(10), uint16(300), uint8(0))
	f.Add(uint8(2), uint8(1), uint8(2), uint16(129), uint16(127), uint16(2), uint8(1))
	f.Fuzz(func(t *testing.T, k, m, cells uint8, size, off, n uint16, lose uint8) {
		l := Layout{K: 1 + int(k%8), M: 1 + int(m%4), Cell: 64 * (1 + int64(cells%4))}
		data := make([]byte, size%4096)
		for i := range data {
			data[i] = byte(i*7 + 3)
		}
		dataLen, o, c := int64(len(data)), int64(off), int64(n)
		pos := o
		wOff, wLen := l.Window(dataLen, o, c)
		for _, s := range l.Spans(dataLen, o, c) {
			if s.DataOff != pos || s.Len <= 0 || s.Off < wOff || s.Off+s.Len > wOff+wLen {
				t.Fatalf("%s: span %+v at %d, window [%d,+%d)", l, s, pos, wOff, wLen)
			}
			pos += s.Len
		}
		if want := min(o+c, max(dataLen, o)); pos != want && o < dataLen {
			t.Fatalf("%s: spans end at %d, want %d", l, pos, want)
		}
		if o >= dataLen || c == 0 {
			return
		}
		shards, err := l.Encode(data)
		if err != nil {
			t.Fatal(err)
		}
		part := make([][]byte, l.Shards())
		for i := range shards {
			so, sn := l.ShardRange(dataLen, i, wOff, wLen)
			if i != int(lose)%l.Shards() {
				part[i] = shards[i][so : so+sn]
			}
		}
		if err := l.ReconstructData(part, dataLen, wOff, wLen); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		dst := make([]byte, min(c, dataLen-o))
		if err := l.Extract(dst, part, dataLen, wOff, o); err != nil || !bytes.Equal(dst, data[o:o+int64(len(dst))]) {
			t.Fatalf("%s: degraded read [%d,+%d) wrong: %v", l, o, len(dst), err)
		}
	})
}
