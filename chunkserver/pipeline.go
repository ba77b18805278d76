package chunkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// handleWrite stores a chunk and forwards it down the pipeline at the same
// time: each buffer read from the request goes to the local file and to the
// next server's request body. It answers only when the local copy is
// committed (fsynced and renamed) and the rest of the pipeline answered
// that its copies are too. On any failure the local copy is removed, the
// downstream request is aborted, and the error names the server at fault.
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	id, err := chunkID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	next, err := proto.ParsePipeline(r.Header.Get(proto.HeaderPipeline))
	if err != nil {
		writeError(w, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	if r.ContentLength < 0 {
		writeError(w, fmt.Errorf("chunk %d: Content-Length is required: %w", id, errBadRequest))
		return
	}
	cw, err := s.store.Create(uint64(id), r.ContentLength)
	if err != nil {
		s.metrics.diskError("write", err)
		writeError(w, s.fault(err))
		return
	}
	defer cw.Abort() // no-op after Commit
	down := s.forward(r, id, next)
	if err := s.copyBody(w, r, cw, down); err != nil {
		down.abort(err)
		down.wait()
		writeError(w, err)
		return
	}
	local := cw.Commit()
	s.metrics.diskError("write", local)
	res, downErr := down.wait()
	if local != nil || downErr != nil {
		if local == nil {
			s.store.Delete(uint64(id))
		}
		writeError(w, errors.Join(s.fault(local), downErr))
		return
	}
	s.noteAdded(id)
	res.Chunk, res.Size = id, r.ContentLength
	res.Replicas = append([]proto.NodeID{s.cfg.ID}, res.Replicas...)
	rpc.WriteJSON(w, http.StatusOK, res)
}

// fault tags a local error with this server's id, so a client knows whom
// to exclude.
func (s *Server) fault(err error) error {
	if err == nil {
		return nil
	}
	return &proto.Error{Code: codeOf(err), Message: err.Error(), Status: statusOf(err), Server: s.cfg.ID}
}

// copyBody streams the request body to the local writer and downstream,
// with an idle timeout per read so a stalled client cannot hold the chunk.
func (s *Server) copyBody(w http.ResponseWriter, r *http.Request, local io.Writer, down *downstream) error {
	rc := http.NewResponseController(w)
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	buf := *bp
	for {
		rc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := local.Write(buf[:n]); werr != nil {
				s.metrics.diskError("write", werr)
				return s.fault(werr)
			}
			s.metrics.writtenBytes.Add(float64(n))
			if derr := down.write(buf[:n]); derr != nil {
				return derr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &proto.Error{Code: proto.CodeBadRequest, Status: http.StatusBadRequest,
				Message: fmt.Sprintf("chunk upload cut short: %v", err)}
		}
	}
}

// bodyBufs holds copyBody's buffers: one zeroed 256 KiB buffer per chunk
// write was a large share of the cost of small chunks.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// downstream is the request carrying the chunk to the next server.
type downstream struct {
	pw   *io.PipeWriter
	done chan struct{}
	res  proto.ChunkWriteResult
	err  error
	next proto.NodeID
}

// forward starts the request to the next server (none when the pipeline
// ends here); its body is fed by write.
func (s *Server) forward(r *http.Request, id proto.ChunkID, next []proto.Target) *downstream {
	d := &downstream{done: make(chan struct{})}
	if len(next) == 0 {
		close(d.done)
		return d
	}
	pr, pw := io.Pipe()
	d.pw, d.next = pw, next[0].ID
	go func() { // owned by d: ends when the request ends; wait joins it
		defer close(d.done)
		d.res, d.err = s.sendDownstream(r.Context(), next, id, pr, r.ContentLength)
		pr.CloseWithError(d.err) // unblock write if the peer stopped reading
	}()
	return d
}

// sendDownstream puts the chunk to next[0] with the rest of the pipeline,
// and names the server at fault in any error.
func (s *Server) sendDownstream(ctx context.Context, next []proto.Target, id proto.ChunkID, body io.Reader, n int64) (proto.ChunkWriteResult, error) {
	to := next[0].ID
	res, err := s.peers.Put(ctx, next, id, body, n)
	var se *chunkclient.StatusError
	switch {
	case errors.As(err, &se):
		e := se.Err
		if e.Server == "" {
			e.Server = to
		}
		e.Status = http.StatusBadGateway
		return res, e
	case errors.Is(err, chunkclient.ErrBadAnswer):
		return res, &proto.Error{Code: proto.CodeInternal, Status: http.StatusBadGateway, Server: to, Message: err.Error()}
	case err != nil:
		return res, &proto.Error{Code: proto.CodeUnavailable, Status: http.StatusBadGateway, Server: to,
			Message: fmt.Sprintf("forward to %s: %v", to, err)}
	}
	return res, nil
}

func (d *downstream) write(p []byte) error {
	if d.pw == nil {
		return d.err
	}
	if _, err := d.pw.Write(p); err != nil {
		<-d.done
		if d.err != nil {
			return d.err
		}
		return &proto.Error{Code: proto.CodeUnavailable, Status: http.StatusBadGateway, Server: d.next, Message: err.Error()}
	}
	return nil
}

func (d *downstream) abort(err error) {
	if d.pw != nil {
		d.pw.CloseWithError(err)
	}
}

// wait ends the body and returns the rest of the pipeline's answer.
func (d *downstream) wait() (proto.ChunkWriteResult, error) {
	if d.pw != nil {
		d.pw.Close()
	}
	<-d.done
	return d.res, d.err
}
