package client_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// casInput is one operation on the counter register: a read (cas false)
// or a conditional put of to, valid only while the register holds from.
type casInput struct {
	cas      bool
	from, to string
}

// casModel is a compare-and-set register holding the object's contents.
// A conditional put names the ETag it read, and an ETag is the MD5 of the
// contents, so comparing contents is comparing ETags.
var casModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, s := input.(casInput), state.(string)
		switch {
		case !in.cas:
			return output.(string) == s, s
		case output.(bool):
			return s == in.from, in.to
		default:
			return s != in.from, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(casInput)
		if !in.cas {
			return fmt.Sprintf("read -> %q", output)
		}
		return fmt.Sprintf("cas(%q -> %q) = %v", in.from, in.to, output)
	},
}

func TestCasModelCatchesALostUpdate(t *testing.T) {
	lost := []porcupine.Operation{
		{ClientId: 0, Input: casInput{cas: true, from: "", to: "1"}, Output: true, Call: 0, Return: 10},
		{ClientId: 1, Input: casInput{cas: true, from: "", to: "1"}, Output: true, Call: 1, Return: 11},
	}
	if porcupine.CheckOperations(casModel, lost) {
		t.Fatal("two successful increments from the same value were accepted")
	}
}

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
	record := func(id int, in casInput, out any, call time.Time) {
		mu.Lock()
		defer mu.Unlock()
		history = append(history, porcupine.Operation{ClientId: id, Input: in, Output: out,
			Call: call.Sub(start).Nanoseconds(), Return: time.Since(start).Nanoseconds()})
	}
	call := time.Now()
	if err := put("0", &client.PutOptions{IfVersion: proto.MustNotExist}); err != nil {
		t.Fatal(err)
	}
	record(workers, casInput{cas: true, from: "", to: "0"}, true, call)
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
	if res := porcupine.CheckOperationsTimeout(casModel, history, 10*time.Second); res != porcupine.Ok {
		t.Fatalf("history of %d operations is not linearizable as a compare-and-set register: %v", len(history), res)
	}
	t.Logf("%d increments in %d operations", total, len(history))
}

// increment adds 1 to the counter n times, retrying on a failed
// precondition, and returns the successful and failed attempts.
func increment(ctx context.Context, t *testing.T, cl *client.Client, id, n int, record func(int, casInput, any, time.Time)) (won, lost int) {
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
		record(id, casInput{}, cur, call)
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
			record(id, casInput{cas: true, from: cur, to: next}, true, call)
			won++
		case proto.CodePrecondition:
			record(id, casInput{cas: true, from: cur, to: next}, false, call)
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
