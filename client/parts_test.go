package client_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// TestCompletedObjectParts completes an upload of three parts of different
// sizes and checksums (one part uploaded but left out) and finds the parts
// in Stat and Open, each at the byte range its position gives, but not in
// List; a rename keeps them and an overwrite drops them.
func TestCompletedObjectParts(t *testing.T) {
	_, cl := startData(t, 1)
	ctx := ctxT(t, 60*time.Second)
	u, err := cl.CreateUpload(ctx, "data", "m", &client.PutOptions{ObjectHeaders: proto.ObjectHeaders{
		ChecksumAlgorithm: proto.ChecksumCRC32, ChecksumType: proto.ChecksumComposite}})
	if err != nil {
		t.Fatal(err)
	}
	type upload struct {
		n    int
		data []byte
		sum  string
	}
	ups := []upload{
		{1, payload(proto.MinPartSize+testChunk/2, 1), "AAAAAQ=="},
		{2, payload(100, 2), "AAAAAg=="}, // not completed
		{3, payload(proto.MinPartSize, 3), "AAAAAw=="},
		{7, payload(10, 7), ""},
	}
	var named []proto.CompletePart
	var want []proto.ObjectPart
	var whole []byte
	for _, up := range ups {
		p, err := cl.PutPart(ctx, "data", u.ID, up.n, bytes.NewReader(up.data), int64(len(up.data)),
			&client.PutOptions{ObjectHeaders: proto.ObjectHeaders{Checksum: up.sum}})
		if err != nil {
			t.Fatalf("part %d: %v", up.n, err)
		}
		if up.n == 2 {
			continue
		}
		named = append(named, proto.CompletePart{Number: up.n, ETag: p.ETag})
		want = append(want, proto.ObjectPart{Number: up.n, Size: int64(len(up.data)), Checksum: up.sum})
		whole = append(whole, up.data...)
	}
	done, err := cl.CompleteUploadIf(ctx, "data", u.ID, named, &client.CompleteOptions{Checksum: "AAAAAA==-3"})
	if err != nil || !reflect.DeepEqual(done.Parts, want) {
		t.Fatalf("completion: parts %+v (%v), want %+v", done.Parts, err, want)
	}

	st, err := cl.Stat(ctx, "data", "m")
	if err != nil || !reflect.DeepEqual(st.Parts, want) {
		t.Fatalf("stat: parts %+v (%v), want %+v", st.Parts, err, want)
	}
	o, err := cl.Open(ctx, "data", "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Info().Parts; !reflect.DeepEqual(got, want) {
		t.Fatalf("open: parts %+v, want %+v", got, want)
	}
	var off int64
	for _, p := range o.Info().Parts { // part i starts after the sizes before it
		var buf bytes.Buffer
		if _, err := o.WriteRange(&buf, off, p.Size); err != nil || !bytes.Equal(buf.Bytes(), whole[off:off+p.Size]) {
			t.Fatalf("part %d at [%d,+%d): %v, or bytes differ", p.Number, off, p.Size, err)
		}
		off += p.Size
	}
	if off != o.Size() {
		t.Fatalf("parts add up to %d bytes of %d", off, o.Size())
	}

	if _, err := cl.Put(ctx, "data", "plain", bytes.NewReader([]byte("x")), 1, nil); err != nil {
		t.Fatal(err)
	}
	res, err := cl.List(ctx, proto.ListRequest{Bucket: "data"})
	if err != nil || len(res.Objects) != 2 {
		t.Fatalf("list: %+v %v", res, err)
	}
	for _, e := range res.Objects {
		if e.Parts != nil {
			t.Fatalf("list entry %s carries %d parts", e.Key, len(e.Parts))
		}
	}

	if err := cl.Rename(ctx, "data", "m", "n"); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.Stat(ctx, "data", "n"); err != nil || !reflect.DeepEqual(st.Parts, want) {
		t.Fatalf("stat after rename: parts %+v (%v)", st.Parts, err)
	}
	if _, err := cl.Put(ctx, "data", "n", bytes.NewReader(whole), int64(len(whole)), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.Stat(ctx, "data", "n"); err != nil || st.Parts != nil {
		t.Fatalf("stat after overwrite: parts %+v (%v)", st.Parts, err)
	}
}
