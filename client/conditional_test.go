package client_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/chaos"
	"github.com/granary-store/granary/internal/proto"
)

// TestConditionalPutHasNoLostUpdates runs concurrent read-modify-write
// increments of one counter, each Put conditional on the ETag it read:
// the counter must end at the number of successful Puts, and the history
// must be linearizable as a compare-and-set register.
func TestConditionalPutHasNoLostUpdates(t *testing.T) {
	const workers, increments = 6, 20
	_, cl := startData(t, 1)
	ctx := ctxT(t, 60*time.Second)
	put := func(value string, opts *client.PutOptions) error {
		_, err := cl.Put(ctx, "data", "counter", bytes.NewReader([]byte(value)), int64(len(value)), opts)
		return err
	}
	start := time.Now()
	var mu sync.Mutex
	var history []porcupine.Operation
	record := func(id int, in chaos.CASInput, out any, call time.Time) {
		mu.Lock()
		defer mu.Unlock()
		history = append(history, porcupine.Operation{ClientId: id, Input: in, Output: out,
			Call: call.Sub(start).Nanoseconds(), Return: time.Since(start).Nanoseconds()})
	}
	call := time.Now()
	if err := put("0", &client.PutOptions{IfVersion: proto.MustNotExist}); err != nil {
		t.Fatal(err)
	}
	record(workers, chaos.CASInput{CAS: true, From: "", To: "0"}, true, call)
	var wg sync.WaitGroup
	wins := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wins[w], _ = increment(ctx, t, cl, w, increments, record)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := 0
	for _, n := range wins {
		total += n
	}
	o, err := cl.Stat(ctx, "data", "counter")
	if err != nil || string(o.Inline) != strconv.Itoa(total) || total != workers*increments {
		t.Fatalf("counter is %q (%v) after %d successful increments, want %d", o.Inline, err, total, workers*increments)
	}
	if res := porcupine.CheckOperationsTimeout(chaos.CASModel, history, 10*time.Second); res != porcupine.Ok {
		t.Fatalf("history of %d operations is not linearizable as a compare-and-set register: %v", len(history), res)
	}
	t.Logf("%d increments in %d operations", total, len(history))
}

// increment adds 1 to the counter n times, retrying on a failed
// precondition, and returns the successful and failed attempts.
func increment(ctx context.Context, t *testing.T, cl *client.Client, id, n int, record func(int, chaos.CASInput, any, time.Time)) (won, lost int) {
	for won < n {
		if lost > 50*n {
			t.Errorf("worker %d: %d failed attempts for %d increments", id, lost, won)
			return
		}
		call := time.Now()
		o, err := cl.Stat(ctx, "data", "counter")
		if err != nil {
			t.Errorf("worker %d: stat: %v", id, err)
			return
		}
		cur := string(o.Inline)
		record(id, chaos.CASInput{}, cur, call)
		v, err := strconv.Atoi(cur)
		if err != nil {
			t.Errorf("worker %d: counter holds %q", id, cur)
			return
		}
		next := strconv.Itoa(v + 1)
		call = time.Now()
		_, err = cl.Put(ctx, "data", "counter", bytes.NewReader([]byte(next)), int64(len(next)), &client.PutOptions{IfETag: `"` + o.ETag + `"`})
		switch proto.CodeOf(err) {
		case "":
			if err != nil {
				t.Errorf("worker %d: put: %v", id, err)
				return
			}
			record(id, chaos.CASInput{CAS: true, From: cur, To: next}, true, call)
			won++
		case proto.CodePrecondition:
			record(id, chaos.CASInput{CAS: true, From: cur, To: next}, false, call)
			lost++
		default:
			t.Errorf("worker %d: put: %v", id, err)
			return
		}
	}
	return won, lost
}

// TestConditionalDeleteAndComplete checks the conditions of DeleteIf and
// CompleteUploadIf end to end, with the codes the S3 gateway maps.
func TestConditionalDeleteAndComplete(t *testing.T) {
	_, cl := startData(t, 1)
	ctx := ctxT(t, 30*time.Second)
	o, err := cl.Put(ctx, "data", "k", bytes.NewReader([]byte("abc")), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	size, wrong := int64(3), int64(4)
	modified := o.Modified.Truncate(time.Second)
	for _, c := range []struct {
		opts client.DeleteOptions
		key  string
		want proto.Code
	}{
		{client.DeleteOptions{IfETag: "nope"}, "k", proto.CodePrecondition},
		{client.DeleteOptions{IfSize: &wrong}, "k", proto.CodePrecondition},
		{client.DeleteOptions{IfETag: "nope"}, "missing", proto.CodeNoSuchKey},
		{client.DeleteOptions{IfETag: `"` + o.ETag + `"`, IfSize: &size, IfModified: &modified}, "k", ""},
	} {
		if err := cl.DeleteIf(ctx, "data", c.key, c.opts); proto.CodeOf(err) != c.want || c.want == "" && err != nil {
			t.Fatalf("delete %s if %+v: %v, want %q", c.key, c.opts, err, c.want)
		}
	}
	// Completion: create-only, then only over the ETag it replaces.
	complete := func(opts *client.CompleteOptions) (proto.Object, error) {
		u, err := cl.CreateUpload(ctx, "data", "k", nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := cl.PutPart(ctx, "data", u.ID, 1, bytes.NewReader([]byte("part")), 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cl.CompleteUploadIf(ctx, "data", u.ID, []proto.CompletePart{{Number: 1, ETag: p.ETag}}, opts)
	}
	if _, err := complete(&client.CompleteOptions{IfETag: "nope"}); proto.CodeOf(err) != proto.CodeNoSuchKey {
		t.Fatalf("complete over nothing if-match: %v", err)
	}
	first, err := complete(&client.CompleteOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := complete(&client.CompleteOptions{IfNoneMatch: true}); proto.CodeOf(err) != proto.CodePrecondition {
		t.Fatalf("second create-only completion: %v", err)
	}
	if _, err := complete(&client.CompleteOptions{IfETag: first.ETag}); err != nil {
		t.Fatalf("completion over the ETag it read: %v", err)
	}
}
