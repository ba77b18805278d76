package chunkclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// record is one chunk of a batch answer as a server would encode it.
func record(id proto.ChunkID, data string, status string) []byte {
	if status != proto.BatchOK && data == "" {
		return proto.AppendBatchStatus(proto.AppendBatchHeader(nil, id, -1), status)
	}
	b := append(proto.AppendBatchHeader(nil, id, int64(len(data))), data...)
	return proto.AppendBatchStatus(b, status)
}

// batchServer answers every batch read with body, after checking the
// request.
func batchServer(t *testing.T, body func(w http.ResponseWriter)) (*Client, string) {
	return fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != proto.RouteChunkBatch {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		if _, err := proto.DecodeChunkBatchRequest(r.Body); err != nil {
			t.Errorf("request: %v", err)
		}
		body(w)
	})
}

// readAll walks a batch answer: per chunk its data and verdict.
func readAll(t *testing.T, br *BatchReader) (got []string, err error) {
	t.Helper()
	for {
		ch, err := br.Next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if ch.Err != nil {
			got = append(got, "unsent "+string(proto.CodeOf(ch.Err)))
			continue
		}
		data, err := io.ReadAll(br)
		if err != nil {
			return got, err
		}
		if verr := br.Verify(); verr != nil {
			got = append(got, "bad "+string(proto.CodeOf(verr)))
			continue
		}
		got = append(got, string(data))
	}
}

func TestGetBatch(t *testing.T) {
	var answer []byte
	c, addr := batchServer(t, func(w http.ResponseWriter) { w.Write(answer) })
	get := func(ids ...proto.ChunkID) ([]string, error) {
		br, err := c.GetBatch(ctx(t), addr, ids)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		return readAll(t, br)
	}

	answer = concat(record(1, "one", proto.BatchOK), record(2, "", "NotFound: no chunk 2"),
		record(3, "th\x00\x00", "Corrupt: block 0 of chunk 3"), record(4, "", proto.BatchOK), record(5, "five", proto.BatchOK))
	got, err := get(1, 2, 3, 4, 5)
	if err != nil || strings.Join(got, "|") != "one|unsent NotFound|bad Corrupt||five" {
		t.Fatalf("got %q, %v", got, err)
	}

	// A chunk whose data is not read is skipped by Next.
	br, err := c.GetBatch(ctx(t), addr, []proto.ChunkID{1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	for _, want := range []proto.ChunkID{1, 2, 3, 4, 5} {
		if ch, err := br.Next(); err != nil || ch.ID != want {
			t.Fatalf("Next = %+v, %v; want chunk %d", ch, err, want)
		}
	}
	if _, err := br.Next(); err != io.EOF {
		t.Fatalf("after the last chunk: %v", err)
	}
}

// A stream cut short, or framed wrongly, breaks the batch at that chunk:
// the chunks before it were received, the rest were not.
func TestGetBatchBroken(t *testing.T) {
	good := record(1, "one", proto.BatchOK)
	for name, answer := range map[string][]byte{
		"cut in data":           concat(good, record(2, "two", proto.BatchOK)[:proto.BatchHeaderSize+1]),
		"cut in header":         concat(good, record(2, "two", proto.BatchOK)[:5]),
		"cut before status":     concat(good, record(2, "two", proto.BatchOK)[:proto.BatchHeaderSize+3]),
		"missing records":       good,
		"wrong chunk":           concat(good, record(3, "two", proto.BatchOK)),
		"no data and no error":  concat(good, proto.AppendBatchStatus(proto.AppendBatchHeader(nil, 2, -1), proto.BatchOK)),
		"size below -1":         concat(good, proto.AppendBatchStatus(proto.AppendBatchHeader(nil, 2, -2), "NotFound: x")),
		"status too long":       concat(good, proto.AppendBatchHeader(nil, 2, 0), []byte{0xff, 0xff}, bytes.Repeat([]byte("x"), 0xffff)),
		"bytes after the batch": concat(good, record(2, "two", proto.BatchOK), []byte{0}),
	} {
		t.Run(name, func(t *testing.T) {
			c, addr := batchServer(t, func(w http.ResponseWriter) { w.Write(answer) })
			br, err := c.GetBatch(ctx(t), addr, []proto.ChunkID{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			defer br.Close()
			got, err := readAll(t, br)
			if err == nil || br.Err() == nil || len(got) == 0 || got[0] != "one" || (len(got) == 2 && name != "bytes after the batch") {
				t.Fatalf("got %q, %v (Err %v)", got, err, br.Err())
			}
			if _, again := br.Next(); again != br.Err() {
				t.Fatalf("Next after the break: %v", again)
			}
		})
	}
}

func TestGetBatchRefused(t *testing.T) {
	c, addr := batchServer(t, func(w http.ResponseWriter) {
		rpc.WriteError(w, &proto.Error{Code: proto.CodeBadRequest, Message: "no", Status: http.StatusBadRequest})
	})
	var se *StatusError
	if _, err := c.GetBatch(ctx(t), addr, []proto.ChunkID{1}); !errors.As(err, &se) || se.Err.Code != proto.CodeBadRequest {
		t.Fatalf("error answer: %v", err)
	}
	if _, err := c.GetBatch(context.Background(), addr, []proto.ChunkID{1}); !errors.Is(err, ErrNoDeadline) {
		t.Fatalf("without a deadline: %v", err)
	}
	for _, ids := range [][]proto.ChunkID{nil, {0}, {1, 1}, make([]proto.ChunkID, proto.MaxCopyBatch+1)} {
		if _, err := c.GetBatch(ctx(t), addr, ids); !errors.Is(err, proto.ErrBadBatch) {
			t.Errorf("%d ids: %v", len(ids), err)
		}
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// A connection cut mid-batch (the server went away) breaks the batch
// after the chunks already received.
func TestGetBatchConnectionCut(t *testing.T) {
	c, addr := batchServer(t, func(w http.ResponseWriter) {
		w.Write(concat(record(1, "one", proto.BatchOK), record(2, "two", proto.BatchOK)[:proto.BatchHeaderSize+1]))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // closes the connection without ending the body
	})
	br, err := c.GetBatch(ctx(t), addr, []proto.ChunkID{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	got, err := readAll(t, br)
	if !errors.Is(err, io.ErrUnexpectedEOF) || strings.Join(got, "|") != "one" {
		t.Fatalf("got %q, %v", got, err)
	}
}
