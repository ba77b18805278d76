package chunkclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// Client calls chunk servers. It is safe for concurrent use.
type Client struct {
	rpc  rpc.Config
	http *http.Client
	// Stall, when set, bounds a Put's silences, per server in the
	// pipeline: the first server taking no body bytes for Stall times the
	// pipeline's length, or not answering within that (plus a second per
	// 16 MiB for the fsyncs) once the body is sent, is cut off with
	// ErrStalled. Scaling by the length makes each hop wait longer than
	// the hops after it, so the server that cuts off a stalled neighbour
	// answers, naming it, before its own upstream gives up on it. Set it
	// before the first call.
	Stall time.Duration
}

// ErrStalled means a chunk server took no bytes, or gave no answer, for
// longer than Client.Stall: it is cut off so the writer can retry on
// fresh servers instead of waiting out the fault.
var ErrStalled = errors.New("chunk server stalled")

// New returns a client that calls with cfg's scheme and credential through
// hc (see rpc.NewClient; its ResponseHeaderTimeout bounds each call's wait
// for an answer).
func New(cfg rpc.Config, hc *http.Client) *Client {
	return &Client{rpc: cfg, http: hc}
}

func chunkPath(id proto.ChunkID) string {
	return proto.RouteChunkData + "/" + strconv.FormatUint(uint64(id), 10)
}

// maxAnswer bounds a decoded JSON answer.
const maxAnswer = 64 << 10

// Put streams n bytes of body as chunk id to pipeline[0], which stores
// them and forwards them to the rest of the pipeline (proto.HeaderPipeline)
// at the same time. It returns the pipeline's answer once every server in
// it holds the chunk durably. Canceling ctx aborts the whole pipeline.
func (c *Client) Put(ctx context.Context, pipeline []proto.Target, id proto.ChunkID, body io.Reader, n int64) (proto.ChunkWriteResult, error) {
	var res proto.ChunkWriteResult
	if len(pipeline) == 0 {
		return res, fmt.Errorf("chunkclient: chunk %d has no targets", id)
	}
	var w *watchdog
	if c.Stall > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		stall := c.Stall * time.Duration(len(pipeline))
		w = newWatchdog(stall, n, body, func() {
			cancel(fmt.Errorf("%w: %s (%s) took no bytes or gave no answer for %v", ErrStalled, pipeline[0].ID, pipeline[0].Address, stall))
		})
		defer w.stop()
		body = w
	}
	req, err := c.rpc.NewRequest(ctx, http.MethodPut, pipeline[0].Address, chunkPath(id), body)
	if err != nil {
		return res, err
	}
	req.ContentLength = n
	if n == 0 {
		req.Body = http.NoBody // an empty chunk (a short stripe's empty shard): a length of 0, not unknown
	}
	req.Header.Set(proto.HeaderPipeline, proto.FormatPipeline(pipeline[1:]))
	resp, err := c.http.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
			return res, cause
		}
		return res, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, &StatusError{Err: proto.ErrorFromResponse(resp)}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&res); err != nil {
		return res, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return res, nil
}

// Get opens n bytes at off of chunk id on the server at addr; n < 0 reads
// to the end (off 0 and n < 0: the whole chunk). The server verifies every
// block it sends; the caller reads the Reader to io.EOF and then asks
// Verify whether all of it was good.
func (c *Client) Get(ctx context.Context, addr string, id proto.ChunkID, off, n int64) (*Reader, error) {
	path := chunkPath(id)
	switch {
	case n >= 0:
		path += fmt.Sprintf("?offset=%d&length=%d", off, n)
	case off != 0:
		path += fmt.Sprintf("?offset=%d", off)
	}
	req, err := c.rpc.NewRequest(ctx, http.MethodGet, addr, path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, &StatusError{Err: proto.ErrorFromResponse(resp)}
	}
	return &Reader{resp: resp}, nil
}

// Reader is the body of a Get. Like any response body it is not safe for
// concurrent use and must be closed.
type Reader struct {
	resp *http.Response
}

// Read reads the chunk's bytes.
func (r *Reader) Read(p []byte) (int, error) { return r.resp.Body.Read(p) }

// Close ends the read.
func (r *Reader) Close() error { return r.resp.Body.Close() }

// Verify reports, after Read returned io.EOF, whether the server sent the
// whole range verified: nil, or the *proto.Error its status trailer names
// (a body cut short by a corrupt block, a disk error, or the server going
// away before it could say).
func (r *Reader) Verify() error {
	status := r.resp.Trailer.Get(proto.TrailerStatus)
	if status == "ok" {
		return nil
	}
	code, msg, _ := strings.Cut(status, ": ")
	return &proto.Error{Code: proto.Code(code), Message: msg}
}

// Delete removes chunk id from the server at addr.
func (c *Client) Delete(ctx context.Context, addr string, id proto.ChunkID) error {
	req, err := c.rpc.NewRequest(ctx, http.MethodDelete, addr, chunkPath(id), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return &StatusError{Err: proto.ErrorFromResponse(resp)}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return nil
}

// Stat returns the size of chunk id on the server at addr.
func (c *Client) Stat(ctx context.Context, addr string, id proto.ChunkID) (proto.ChunkStat, error) {
	var st proto.ChunkStat
	req, err := c.rpc.NewRequest(ctx, http.MethodGet, addr, chunkPath(id)+"/stat", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, &StatusError{Err: proto.ErrorFromResponse(resp)}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&st); err != nil {
		return st, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return st, nil
}
