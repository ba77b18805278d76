package erasure

import (
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// benchChunk is the data encoded per benchmark iteration.
const benchChunk = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// baselineMiBs measures copy+CRC-32C of the chunk (what writing a
// replicated chunk costs the client) in this run, for the ratio metric.
func baselineMiBs(data []byte) float64 {
	dst := make([]byte, len(data))
	copy(dst, data) // fault the pages in before timing
	start := time.Now()
	const rounds = 4
	for range rounds {
		copy(dst, data)
		crc32.Checksum(dst, castagnoli)
	}
	return float64(rounds*len(data)) / (1 << 20) / time.Since(start).Seconds()
}

// BenchmarkEncode reports, per layout and cell size, the encode throughput
// (MiB/s of data), CPU seconds per GiB of data, and the throughput as a
// fraction of a copy+CRC-32C baseline measured in the same run. Shards are
// CRC'd as they are written, as a chunk upload would.
//
//	go test -run XXX -bench Encode -benchtime 10x ./internal/erasure
func BenchmarkEncode(b *testing.B) {
	data := make([]byte, benchChunk)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	base := baselineMiBs(data)
	b.Run("baseline/copy+crc", func(b *testing.B) {
		dst := make([]byte, len(data))
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			copy(dst, data)
			crc32.Checksum(dst, castagnoli)
		}
		report(b, c0, base)
	})
	for _, km := range [][2]int{{4, 2}, {2, 1}, {6, 3}} {
		for _, cell := range []int64{256 << 10, 1 << 20} {
			l := Layout{K: km[0], M: km[1], Cell: cell}
			b.Run(fmt.Sprintf("rs-%d-%d/cell=%dKiB", km[0], km[1], cell>>10), func(b *testing.B) {
				ws := make([]io.Writer, l.Shards())
				for i := range ws {
					ws[i] = &crcWriter{}
				}
				b.SetBytes(int64(len(data)))
				c0 := cpuTime()
				for b.Loop() {
					e, err := NewEncoder(l, ws)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := e.Write(data); err != nil {
						b.Fatal(err)
					}
					if err := e.Close(); err != nil {
						b.Fatal(err)
					}
				}
				report(b, c0, base)
			})
		}
	}
}

// report adds cpu-s/GiB and the throughput relative to the baseline.
func report(b *testing.B, c0 time.Duration, base float64) {
	b.StopTimer()
	gib := float64(b.N) * benchChunk / (1 << 30)
	b.ReportMetric((cpuTime()-c0).Seconds()/gib, "cpu-s/GiB")
	mibs := float64(b.N) * benchChunk / (1 << 20) / b.Elapsed().Seconds()
	b.ReportMetric(mibs, "MiB/s")
	b.ReportMetric(mibs/base, "x-copy+crc")
}

// crcWriter checksums what it is given, as a chunk upload does.
type crcWriter struct{ sum uint32 }

func (w *crcWriter) Write(p []byte) (int, error) {
	w.sum = crc32.Update(w.sum, castagnoli, p)
	return len(p), nil
}

// BenchmarkDegradedRead measures what a degraded read costs: rebuilding
// data shard 0 of the rows a read touches from K-1 data and one parity
// shard, then extracting the bytes. "chunk" rebuilds a whole 64 MiB chunk
// (a repair), "4KiB" serves a 4 KiB read (one row).
func BenchmarkDegradedRead(b *testing.B) {
	data := make([]byte, benchChunk)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	size := int64(len(data))
	for _, cell := range []int64{256 << 10, 1 << 20} {
		l := Layout{K: 4, M: 2, Cell: cell}
		shards, err := l.Encode(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, rg := range []struct {
			name   string
			off, n int64
		}{{"chunk", 0, size}, {"4KiB", size / 2, 4 << 10}} {
			b.Run(fmt.Sprintf("rs-4-2/cell=%dKiB/%s", cell>>10, rg.name), func(b *testing.B) {
				wOff, wLen := l.Window(size, rg.off, rg.n)
				dst := make([]byte, rg.n)
				b.SetBytes(rg.n)
				for b.Loop() {
					part := make([][]byte, l.Shards())
					for i := 1; i <= l.K; i++ {
						off, n := l.ShardRange(size, i, wOff, wLen)
						part[i] = shards[i][off : off+n]
					}
					if err := l.ReconstructData(part, size, wOff, wLen); err != nil {
						b.Fatal(err)
					}
					if err := l.Extract(dst, part, size, wOff, rg.off); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
