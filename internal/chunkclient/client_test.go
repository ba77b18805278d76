package chunkclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// fake serves a chunk server's data plane from a map, behind the real
// authentication middleware.
func fake(t *testing.T, h http.HandlerFunc) (*Client, string) {
	t.Helper()
	cfg := rpc.Config{Secret: "s"}
	srv := httptest.NewServer(cfg.Authenticate(h))
	t.Cleanup(srv.Close)
	hc := rpc.NewClient(cfg, rpc.ClientOptions{ResponseHeaderTimeout: 5 * time.Second})
	t.Cleanup(hc.CloseIdleConnections)
	return New(cfg, hc), strings.TrimPrefix(srv.URL, "http://")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPut(t *testing.T) {
	c, addr := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != proto.RouteChunkData+"/7" || r.ContentLength != 5 {
			t.Errorf("%s %s (%d bytes)", r.Method, r.URL, r.ContentLength)
		}
		if got := r.Header.Get(proto.HeaderPipeline); got != proto.FormatPipeline([]proto.Target{{ID: "b", Address: "h2:1"}}) {
			t.Errorf("pipeline header %q", got)
		}
		b, _ := io.ReadAll(r.Body)
		rpc.WriteJSON(w, http.StatusOK, proto.ChunkWriteResult{Chunk: 7, Size: int64(len(b)), Replicas: []proto.NodeID{"a", "b"}})
	})
	pipeline := []proto.Target{{ID: "a", Address: addr}, {ID: "b", Address: "h2:1"}}
	res, err := c.Put(ctx(t), pipeline, 7, strings.NewReader("hello"), 5)
	if err != nil || res.Size != 5 || len(res.Replicas) != 2 {
		t.Fatalf("Put = %+v, %v", res, err)
	}
}

func TestPutErrors(t *testing.T) {
	var answer func(w http.ResponseWriter)
	c, addr := fake(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		answer(w)
	})
	pipeline := []proto.Target{{ID: "a", Address: addr}}

	answer = func(w http.ResponseWriter) {
		rpc.WriteError(w, &proto.Error{Code: proto.CodeNoSpace, Message: "full", Server: "b", Status: http.StatusInsufficientStorage})
	}
	_, err := c.Put(ctx(t), pipeline, 1, strings.NewReader("x"), 1)
	var se *StatusError
	if !errors.As(err, &se) || se.Err.Server != "b" || se.Err.Status != http.StatusInsufficientStorage || proto.CodeOf(err) != proto.CodeNoSpace {
		t.Fatalf("error answer: %v", err)
	}

	answer = func(w http.ResponseWriter) { io.WriteString(w, "{") }
	if _, err = c.Put(ctx(t), pipeline, 1, strings.NewReader("x"), 1); !errors.Is(err, ErrBadAnswer) || errors.As(err, &se) {
		t.Fatalf("bad answer: %v", err)
	}

	// A body that fails is a transport error, even when it fails with a
	// *proto.Error.
	local := &proto.Error{Code: proto.CodeInternal, Message: "disk", Status: 500}
	body := io.MultiReader(strings.NewReader("x"), errReader{local})
	if _, err = c.Put(ctx(t), pipeline, 1, body, 2); err == nil || errors.As(err, &se) || errors.Is(err, ErrBadAnswer) {
		t.Fatalf("failing body: %v", err)
	}
	if local.Status != 500 {
		t.Fatal("the body's error was changed")
	}

	wrong := New(rpc.Config{Secret: "t"}, http.DefaultClient)
	if _, err = wrong.Put(ctx(t), pipeline, 1, strings.NewReader("x"), 1); proto.CodeOf(err) != proto.CodeUnauthorized {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err = c.Put(ctx(t), nil, 1, strings.NewReader("x"), 1); err == nil {
		t.Fatal("Put without targets succeeded")
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestGet(t *testing.T) {
	c, addr := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "":
			w.Header().Set("Trailer", proto.TrailerStatus)
			io.WriteString(w, "whole")
			w.Header().Set(proto.TrailerStatus, "ok")
		case "offset=2&length=3":
			w.Header().Set("Trailer", proto.TrailerStatus)
			io.WriteString(w, "c")
			w.Header().Set(proto.TrailerStatus, "Corrupt: block 0 of chunk 9")
		case "offset=2":
			rpc.WriteError(w, &proto.Error{Code: proto.CodeInvalidRange, Message: "range", Status: http.StatusRequestedRangeNotSatisfiable})
		default:
			t.Errorf("query %q", r.URL.RawQuery)
		}
	})
	read := func(off, n int64) (string, error, error) {
		r, err := c.Get(ctx(t), addr, 9, off, n)
		if err != nil {
			return "", err, nil
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), nil, r.Verify()
	}
	if got, err, verr := read(0, -1); got != "whole" || err != nil || verr != nil {
		t.Fatalf("whole chunk: %q %v %v", got, err, verr)
	}
	got, err, verr := read(2, 3)
	var e *proto.Error
	if got != "c" || err != nil || !errors.As(verr, &e) || e.Code != proto.CodeCorrupt || e.Message != "block 0 of chunk 9" {
		t.Fatalf("cut short: %q %v %v", got, err, verr)
	}
	if _, err, _ := read(2, -1); proto.CodeOf(err) != proto.CodeInvalidRange {
		t.Fatalf("bad range: %v", err)
	}
}

func TestDeleteAndStat(t *testing.T) {
	chunks := map[string]int64{proto.RouteChunkData + "/3": 42}
	c, addr := fake(t, func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimSuffix(r.URL.Path, "/stat")
		size, ok := chunks[path]
		switch {
		case !ok:
			rpc.WriteError(w, &proto.Error{Code: proto.CodeNotFound, Message: "no chunk", Status: http.StatusNotFound})
		case r.Method == http.MethodDelete:
			delete(chunks, path)
			w.WriteHeader(http.StatusNoContent)
		default:
			json.NewEncoder(w).Encode(proto.ChunkStat{Chunk: 3, Size: size})
		}
	})
	if st, err := c.Stat(ctx(t), addr, 3); err != nil || st.Size != 42 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if err := c.Delete(ctx(t), addr, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx(t), addr, 3); proto.CodeOf(err) != proto.CodeNotFound {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := c.Stat(ctx(t), addr, 3); proto.CodeOf(err) != proto.CodeNotFound {
		t.Fatalf("Stat after Delete: %v", err)
	}
}
