package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// writeSmall writes data into w in calls of at most step bytes.
func writeSmall(t *testing.T, w io.Writer, data []byte, step int) {
	t.Helper()
	for off := 0; off < len(data); off += step {
		n, err := w.Write(data[off:min(off+step, len(data))])
		if err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
		if n != min(step, len(data)-off) {
			t.Fatalf("short write at %d: %d", off, n)
		}
	}
}

func TestWriterStreamsAndCommitsOnClose(t *testing.T) {
	c, _ := startData(t, 3)
	// A memory buffer smaller than a chunk makes the writer spool chunks.
	for _, memory := range []int64{0, 64 << 10} {
		cl := c.DataClient(func(cfg *client.Config) { cfg.MemoryBuffer = memory })
		ctx := ctxT(t, 60*time.Second)
		data := payload(5*testChunk+4321, 7)
		key := fmt.Sprintf("streamed-%d", memory)
		twoChunks := make(chan struct{})
		var once sync.Once
		w, err := cl.NewWriter(ctx, "data", key, &client.PutOptions{
			ContentType: "application/x-test",
			Progress: func(n int64) {
				if n >= 2*testChunk {
					once.Do(func() { close(twoChunks) })
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		writeSmall(t, w, data[:3*testChunk], 1000)
		// Whole chunks are sent while writing goes on, not at Close.
		select {
		case <-twoChunks:
		case <-ctx.Done():
			t.Fatalf("memory %d: two chunks not sent before Close", memory)
		}
		if _, err := cl.Stat(ctx, "data", key); !errors.Is(err, client.ErrNoSuchKey) {
			t.Fatalf("visible before Close: %v", err)
		}
		writeSmall(t, w, data[3*testChunk:], 777)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		info := w.Info()
		if info.Size != int64(len(data)) || info.ContentType != "application/x-test" || len(info.Extents) != 6 {
			t.Fatalf("memory %d: record %+v", memory, info)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("write after Close succeeded")
		}
		got := readAll(t, cl, key)
		if !bytes.Equal(got, data) {
			t.Fatalf("memory %d: read back %d bytes, differ from the %d written", memory, len(got), len(data))
		}
	}
}

func TestWriterAbortLeavesNothing(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 60*time.Second)
	// Abort of a new key: the key stays missing.
	w, err := cl.NewWriter(ctx, "data", "fresh", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeSmall(t, w, payload(3*testChunk, 1), 4096)
	w.Abort()
	w.Abort()
	if err := w.Close(); !errors.Is(err, client.ErrAborted) {
		t.Fatalf("Close after Abort: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Abort succeeded")
	}
	if _, err := cl.Stat(ctx, "data", "fresh"); !errors.Is(err, client.ErrNoSuchKey) {
		t.Fatalf("aborted object is visible: %v", err)
	}
	// Abort of an overwrite: the old version stays, whole.
	old := payload(2*testChunk+5, 2)
	if _, err := cl.Put(ctx, "data", "kept", bytes.NewReader(old), int64(len(old)), nil); err != nil {
		t.Fatal(err)
	}
	w, err = cl.NewWriter(ctx, "data", "kept", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeSmall(t, w, payload(4*testChunk, 3), 10000)
	done := make(chan struct{})
	go func() { w.Abort(); close(done) }() // Abort from another goroutine
	<-done
	if err := w.Close(); !errors.Is(err, client.ErrAborted) {
		t.Fatalf("Close after Abort: %v", err)
	}
	if got := readAll(t, cl, "kept"); !bytes.Equal(got, old) {
		t.Fatalf("old version changed by an aborted write: %d bytes", len(got))
	}
	res, err := cl.List(ctx, client.ListRequest{Bucket: "data"})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "kept" {
		t.Fatalf("listing after aborts: %+v, %v", res, err)
	}
}

func TestWriterErrorsCommitNothing(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 30*time.Second)
	if _, err := cl.NewWriter(ctx, "Bad_Bucket", "k", nil); !errors.Is(err, client.ErrInvalidName) {
		t.Fatalf("bad bucket name: %v", err)
	}
	w, err := cl.NewWriter(ctx, "nobucket", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeSmall(t, w, payload(testChunk+1, 4), 8192)
	if err := w.Close(); !errors.Is(err, client.ErrNoSuchBucket) {
		t.Fatalf("Close into a missing bucket: %v", err)
	}
	// A create-only writer over an existing key fails at Close.
	if _, err := cl.Put(ctx, "data", "taken", bytes.NewReader([]byte("a")), 1, nil); err != nil {
		t.Fatal(err)
	}
	w, err = cl.NewWriter(ctx, "data", "taken", &client.PutOptions{IfVersion: client.MustNotExist})
	if err != nil {
		t.Fatal(err)
	}
	writeSmall(t, w, []byte("bb"), 1)
	if err := w.Close(); !errors.Is(err, client.ErrPrecondition) {
		t.Fatalf("create-only Close: %v", err)
	}
	if got := readAll(t, cl, "taken"); string(got) != "a" {
		t.Fatalf("object is %q", got)
	}
}
