package chunkclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/internal/proto"
)

// ErrNoDeadline means a batch read was asked for without a context
// deadline: a batch holds a repair slot, so it must not wait forever.
var ErrNoDeadline = errors.New("chunkclient: a batch read needs a context deadline")

// GetBatch asks the server at addr for the whole chunks ids (1 to
// proto.MaxCopyBatch distinct ids) in one answer, in that order
// (proto.ChunkBatchRequest). ctx must have a deadline; it bounds the whole
// batch. The caller walks the answer with Next, reading each chunk's data
// to io.EOF and asking Verify, and closes it. An error here means no chunk
// of the batch was received: the request was invalid, the server answered
// with an error status (*StatusError), or it could not be reached.
func (c *Client) GetBatch(ctx context.Context, addr string, ids []proto.ChunkID) (*BatchReader, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, ErrNoDeadline
	}
	req := proto.ChunkBatchRequest{Chunks: ids}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("chunkclient: %w", err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := c.rpc.NewRequest(ctx, http.MethodPost, addr, proto.RouteChunkBatch, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, &StatusError{Err: proto.ErrorFromResponse(resp)}
	}
	return &BatchReader{resp: resp, in: bufio.NewReaderSize(resp.Body, 64<<10), addr: addr, ids: ids}, nil
}

// BatchChunk is one chunk of a batch answer, as Next announces it.
type BatchChunk struct {
	ID proto.ChunkID
	// Size is the chunk's data bytes; -1 when Err is set.
	Size int64
	// Err is why the source could not send the chunk at all (a
	// *proto.Error: not found, corrupt, lost); nil when its data follows.
	Err error
}

// BatchReader is the answer of a GetBatch. Like any response body it is
// not safe for concurrent use and must be closed.
type BatchReader struct {
	resp *http.Response
	in   *bufio.Reader
	addr string
	ids  []proto.ChunkID

	next   int // index in ids of the next record
	cur    proto.ChunkID
	left   int64  // data bytes of the current chunk not yet read
	status string // the current chunk's status, once read
	ended  bool   // the current chunk's status has been read
	err    error  // the stream broke: every later call fails with it
}

// Next ends the current chunk (its unread data is skipped) and moves to
// the next one, which is always the next id asked for. After the last it
// returns io.EOF. Any other error means the stream broke (cut short,
// badly framed, or the deadline passed): the chunks not yet announced
// were not received; Err returns it from then on.
func (r *BatchReader) Next() (BatchChunk, error) {
	if r.err != nil {
		return BatchChunk{}, r.err
	}
	if r.next > 0 && !r.ended {
		if _, err := io.CopyN(io.Discard, r.in, r.left); err != nil {
			return BatchChunk{}, r.broke(err)
		}
		r.left = 0
		if err := r.readStatus(); err != nil {
			return BatchChunk{}, err
		}
	}
	var hdr [proto.BatchHeaderSize]byte
	if r.next == len(r.ids) {
		if n, err := r.in.Read(hdr[:1]); n > 0 || err != io.EOF {
			return BatchChunk{}, r.broke(fmt.Errorf("bytes after the last chunk (%v)", err))
		}
		return BatchChunk{}, io.EOF
	}
	if _, err := io.ReadFull(r.in, hdr[:]); err != nil {
		return BatchChunk{}, r.broke(err)
	}
	id, size := proto.ParseBatchHeader(hdr[:])
	want := r.ids[r.next]
	if id != want || size < -1 {
		return BatchChunk{}, r.broke(fmt.Errorf("record for chunk %d of %d bytes where chunk %d was due", id, size, want))
	}
	r.next++
	r.cur, r.left, r.ended, r.status = id, max(size, 0), false, ""
	if size >= 0 {
		return BatchChunk{ID: id, Size: size}, nil
	}
	if err := r.readStatus(); err != nil {
		return BatchChunk{}, err
	}
	if r.status == proto.BatchOK {
		return BatchChunk{}, r.broke(fmt.Errorf("chunk %d has no data and no error", id))
	}
	return BatchChunk{ID: id, Size: -1, Err: parseStatus(r.status)}, nil
}

// Read reads the current chunk's data; io.EOF at its end, after which
// Verify tells whether it was all good.
func (r *BatchReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left == 0 {
		if !r.ended {
			if err := r.readStatus(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	n, err := r.in.Read(p[:min(int64(len(p)), r.left)])
	r.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, r.broke(err)
	}
	return n, nil
}

// Verify reports, after Read returned io.EOF, whether the source sent the
// current chunk whole and verified: nil, or the *proto.Error its status
// names (a block that failed verification part way, a disk error), or the
// stream's error.
func (r *BatchReader) Verify() error {
	switch {
	case r.err != nil:
		return r.err
	case !r.ended:
		return fmt.Errorf("chunkclient: chunk %d verified before its data was read", r.cur)
	case r.status == proto.BatchOK:
		return nil
	}
	return parseStatus(r.status)
}

// Err returns the error that broke the stream, or nil.
func (r *BatchReader) Err() error { return r.err }

// Close ends the read.
func (r *BatchReader) Close() error { return r.resp.Body.Close() }

// readStatus reads the current chunk's status, after its data.
func (r *BatchReader) readStatus() error {
	var n [2]byte
	if _, err := io.ReadFull(r.in, n[:]); err != nil {
		return r.broke(err)
	}
	size := binary.BigEndian.Uint16(n[:])
	if size > proto.MaxBatchStatus {
		return r.broke(fmt.Errorf("status of chunk %d is %d bytes", r.cur, size))
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r.in, b); err != nil {
		return r.broke(err)
	}
	r.status, r.ended = string(b), true
	return nil
}

// broke records why the stream cannot be read on.
func (r *BatchReader) broke(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	r.err = fmt.Errorf("chunkclient: batch from %s broke at chunk %d of %d: %w", r.addr, r.next, len(r.ids), err)
	return r.err
}

// parseStatus turns a status other than "ok" into the *proto.Error it
// names.
func parseStatus(status string) error {
	code, msg, _ := strings.Cut(status, ": ")
	return &proto.Error{Code: proto.Code(code), Message: msg}
}
