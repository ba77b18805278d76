package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// TestRenamePrefixIsAtomic: a directory of 300 keys moves in one change:
// listings running meanwhile see all of them under one name, never a mix;
// a target that holds a key is a conflict and nothing moves.
func TestRenamePrefixIsAtomic(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	const n = 300
	for i := range n {
		if _, err := cl.Put(ctx, "data", fmt.Sprintf("old/k%03d", i), bytes.NewReader([]byte("v")), 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	count := func(prefix string) int {
		got, after := 0, ""
		for {
			res, err := cl.List(ctx, client.ListRequest{Bucket: "data", Prefix: prefix, StartAfter: after, MaxKeys: 1000})
			if err != nil {
				t.Error(err)
				return -1
			}
			got += len(res.Objects)
			if !res.IsTruncated {
				return got
			}
			after = res.NextStartAfter
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mixed []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// One listing page holds the whole bucket: both names at one
			// instant.
			res, err := cl.List(ctx, client.ListRequest{Bucket: "data", MaxKeys: 1000})
			if err != nil {
				t.Error(err)
				return
			}
			o, nw := 0, 0
			for _, obj := range res.Objects {
				if strings.HasPrefix(obj.Key, "old/") {
					o++
				} else {
					nw++
				}
			}
			if o != 0 && nw != 0 {
				mixed = append(mixed, fmt.Sprintf("old/ %d new/ %d", o, nw))
			}
		}
	}()
	moved, err := cl.RenamePrefix(ctx, "data", "old/", "new/")
	close(stop)
	wg.Wait()
	if err != nil || moved != n {
		t.Fatalf("RenamePrefix: %d, %v", moved, err)
	}
	if len(mixed) > 0 {
		t.Fatalf("listings saw the directory half moved: %v", mixed[:min(len(mixed), 5)])
	}
	if o, nw := count("old/"), count("new/"); o != 0 || nw != n {
		t.Fatalf("after the move: old/ %d, new/ %d", o, nw)
	}
	if _, err := cl.Put(ctx, "data", "busy/k", bytes.NewReader([]byte("v")), 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RenamePrefix(ctx, "data", "new/", "busy/"); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("rename onto a directory that holds a key: %v", err)
	}
	if nw := count("new/"); nw != n {
		t.Fatalf("a refused rename moved keys: new/ %d", nw)
	}
}

// TestSetMetaInPlace: a metadata change keeps the object's bytes where
// they are (same chunks, same ETag), is conditional on the ETag, and is
// refused in a versioned bucket.
func TestSetMetaInPlace(t *testing.T) {
	c, cl := startData(t, 3)
	ctx := ctxT(t, time.Minute)
	data := payload(testChunk+5000, 3)
	obj, err := cl.Put(ctx, "data", "f", bytes.NewReader(data), -1, &client.PutOptions{Meta: map[string]string{"mode": "100600"}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.Client().Locate(ctx, "data", "f")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cl.SetMeta(ctx, "data", "f", obj.ETag, map[string]string{"mode": "100644", "mtime": "1700000000"})
	if err != nil || info.Meta["mode"] != "100644" || info.ETag != obj.ETag || info.Version == obj.Version {
		t.Fatalf("SetMeta: %+v, %v", info, err)
	}
	after, _ := c.Client().Locate(ctx, "data", "f")
	if fmt.Sprint(after.Object.Extents) != fmt.Sprint(before.Object.Extents) {
		t.Fatalf("the bytes moved: %v, then %v", before.Object.Extents, after.Object.Extents)
	}
	if got := readAllFrom(t, cl, "data", "f"); !bytes.Equal(got, data) {
		t.Fatal("the object's bytes changed")
	}
	if _, err := cl.SetMeta(ctx, "data", "f", "not-the-etag", nil); !errors.Is(err, client.ErrPrecondition) {
		t.Fatalf("SetMeta with a stale ETag: %v", err)
	}
	if err := cl.CreateBucket(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetVersioning(ctx, "vers", client.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v, err := cl.Put(ctx, "vers", "f", bytes.NewReader([]byte("x")), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SetMeta(ctx, "vers", "f", v.ETag, nil); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("SetMeta in a versioned bucket: %v", err)
	}
}
