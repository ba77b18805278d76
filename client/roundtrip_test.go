package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// payload returns n deterministic pseudo-random bytes.
func payload(n int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

const testChunk = 256 << 10

func startData(t *testing.T, chunkServers int) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: chunkServers, ChunkSize: testChunk})
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctxT(t, 10*time.Second), "data"); err != nil {
		t.Fatal(err)
	}
	return c, cl
}

func TestRoundTripSizes(t *testing.T) {
	c, cl := startData(t, 3)
	cc, err := c.Client().Config(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	inline := cc.InlineThreshold
	if cc.MasterVoters < cc.Replication {
		inline = 0 // one master, three replicas: only the empty object has no chunk
	}
	sizes := []int64{0, 1, cc.InlineThreshold - 1, cc.InlineThreshold, cc.InlineThreshold + 1, 64<<10 - 1, 64 << 10, 64<<10 + 1,
		testChunk, testChunk + 1, 3*testChunk + 12345}
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("size=%d/known=%v", size, known), func(t *testing.T) {
				ctx := ctxT(t, 30*time.Second)
				data := payload(size, 1)
				key := fmt.Sprintf("obj-%d-%v", size, known)
				declared := size
				if !known {
					declared = -1
				}
				obj, err := cl.Put(ctx, "data", key, bytes.NewReader(data), declared, nil)
				if err != nil {
					t.Fatal(err)
				}
				if obj.Size != size {
					t.Fatalf("stored size %d, want %d", obj.Size, size)
				}
				wantInline := size <= inline
				if st, _ := cl.Stat(ctx, "data", key); (st.Extents == nil) != wantInline {
					t.Fatalf("inline=%v, want %v (threshold %d)", st.Extents == nil, wantInline, inline)
				}
				rc, err := cl.Get(ctx, "data", key)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if sha256.Sum256(got) != sha256.Sum256(data) {
					t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
				}
			})
		}
	}
}

func TestRangesAndSeeks(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 30*time.Second)
	data := payload(2*testChunk+777, 2)
	if _, err := cl.Put(ctx, "data", "r", bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	o, err := cl.Open(ctx, "data", "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range [][2]int64{{0, 10}, {testChunk - 5, 10}, {testChunk, 1}, {2*testChunk + 700, 77}, {1, 2 * testChunk}} {
		buf := make([]byte, rg[1])
		if n, err := o.ReadAt(buf, rg[0]); err != nil || !bytes.Equal(buf[:n], data[rg[0]:rg[0]+rg[1]]) {
			t.Fatalf("ReadAt(%d, %d): n=%d err=%v", rg[0], rg[1], n, err)
		}
	}
	buf := make([]byte, 100)
	if n, err := o.ReadAt(buf, int64(len(data))-50); n != 50 || err != io.EOF || !bytes.Equal(buf[:50], data[len(data)-50:]) {
		t.Fatalf("ReadAt past the end: %d %v", n, err)
	}
	if _, err := o.ReadAt(buf, int64(len(data))+1); err != io.EOF {
		t.Fatalf("ReadAt beyond the end: %v", err)
	}
	if _, err := o.ReadAt(buf, -1); err == nil {
		t.Fatal("negative offset accepted")
	}
	if _, err := o.Seek(testChunk-3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(o, buf[:6]); err != nil || !bytes.Equal(buf[:6], data[testChunk-3:testChunk+3]) {
		t.Fatalf("read after seek: %v", err)
	}
	if _, err := o.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek to a negative offset accepted")
	}
}

func TestMetadataOperations(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 30*time.Second)
	data := payload(testChunk+5, 3)
	if _, err := cl.Put(ctx, "data", "a/b", bytes.NewReader(data), -1, &client.PutOptions{ContentType: "text/plain", Meta: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	st, err := cl.Stat(ctx, "data", "a/b")
	if err != nil || st.ContentType != "text/plain" || st.Meta["k"] != "v" || len(st.ETag) != 32 {
		t.Fatalf("stat: %+v %v", st, err)
	}
	if err := cl.Rename(ctx, "data", "a/b", "c"); err != nil {
		t.Fatal(err)
	}
	rc, err := cl.Get(ctx, "data", "c")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("renamed object differs")
	}
	res, err := cl.List(ctx, proto.ListRequest{Bucket: "data"})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "c" {
		t.Fatalf("list: %+v %v", res, err)
	}
	if err := cl.Delete(ctx, "data", "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Get(ctx, "data", "c"); proto.CodeOf(err) != proto.CodeNoSuchKey {
		t.Fatalf("get after delete: %v", err)
	}
}

// An inline object lives only in the masters' replicated state, so it has
// as many copies as the master group has voters. With one master and three
// replicas per chunk a small object therefore goes to chunks, three copies
// of it; with three masters it is stored inline. Whatever the client asks.
func TestInlineNeverHasFewerCopiesThanReplicas(t *testing.T) {
	for _, masters := range []int{1, 3} {
		t.Run(fmt.Sprintf("masters=%d", masters), func(t *testing.T) {
			c := testcluster.Start(t, testcluster.Options{Masters: masters, ChunkServers: 3, ChunkSize: testChunk, Replication: 3})
			for _, override := range []int64{0, 8 << 10} {
				cl := c.DataClient(func(cfg *client.Config) { cfg.InlineThreshold = override })
				ctx := ctxT(t, 30*time.Second)
				if err := cl.CreateBucket(ctx, "small"); err != nil && !errors.Is(err, client.ErrBucketExists) {
					t.Fatal(err)
				}
				key := fmt.Sprintf("o-%d", override)
				data := payload(4<<10, 2)
				if _, err := cl.Put(ctx, "small", key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
					t.Fatal(err)
				}
				st, err := cl.Stat(ctx, "small", key)
				if err != nil {
					t.Fatal(err)
				}
				if inline := st.Extents == nil; inline != (masters >= 3) {
					t.Fatalf("%d masters, override %d: inline=%v", masters, override, inline)
				}
				if masters < 3 {
					c.WaitFor(10*time.Second, "three replicas of the chunk", func() bool {
						n := 0
						for _, cs := range c.ChunkServers() {
							if cs.Server().Store().Verify(uint64(st.Extents[0].Chunk)) == nil {
								n++
							}
						}
						return n == 3
					})
				}
			}
		})
	}
}
