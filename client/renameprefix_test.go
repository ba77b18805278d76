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
