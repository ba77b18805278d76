package chunkserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/proto"
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
	cw, err := s.store.Create(id, r.ContentLength)
	if err != nil {
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
	res, downErr := down.wait()
	if local != nil || downErr != nil {
		if local == nil {
			s.store.Delete(id)
		}
		writeError(w, errors.Join(s.fault(local), downErr))
		return
	}
	s.noteAdded(id)
	res.Chunk, res.Size = id, r.ContentLength
	res.Replicas = append([]string{s.cfg.ID}, res.Replicas...)
	writeJSON(w, http.StatusOK, res)
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
	buf := make([]byte, 256<<10)
	for {
		rc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := local.Write(buf[:n]); werr != nil {
				return s.fault(werr)
			}
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

// downstream is the request carrying the chunk to the next server.
type downstream struct {
	pw   *io.PipeWriter
	done chan struct{}
	res  proto.ChunkWriteResult
	err  error
	next string
}

// forward starts the request to the next server (none when the pipeline
// ends here); its body is fed by write.
func (s *Server) forward(r *http.Request, id uint64, next []proto.Target) *downstream {
	d := &downstream{done: make(chan struct{})}
	if len(next) == 0 {
		close(d.done)
		return d
	}
	pr, pw := io.Pipe()
	d.pw, d.next = pw, next[0].ID
	url := fmt.Sprintf("http://%s%s/%d", next[0].Address, proto.RouteChunkData, id)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPut, url, pr)
	if err != nil {
		d.err, d.pw = &proto.Error{Code: proto.CodeInternal, Message: err.Error(), Status: 500, Server: d.next}, nil
		close(d.done)
		return d
	}
	req.ContentLength = r.ContentLength
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	req.Header.Set(proto.HeaderPipeline, proto.FormatPipeline(next[1:]))
	go func() { // owned by d: ends when the request ends; wait joins it
		defer close(d.done)
		d.res, d.err = s.sendDownstream(req, d.next)
		pr.CloseWithError(d.err) // unblock write if the peer stopped reading
	}()
	return d
}

func (s *Server) sendDownstream(req *http.Request, next string) (proto.ChunkWriteResult, error) {
	var res proto.ChunkWriteResult
	resp, err := s.peers.Do(req)
	if err != nil {
		return res, &proto.Error{Code: proto.CodeUnavailable, Status: http.StatusBadGateway, Server: next,
			Message: fmt.Sprintf("forward to %s: %v", next, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := proto.ErrorFromResponse(resp)
		if e.Server == "" {
			e.Server = next
		}
		e.Status = http.StatusBadGateway
		return res, e
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&res); err != nil {
		return res, &proto.Error{Code: proto.CodeInternal, Status: http.StatusBadGateway, Server: next, Message: "bad answer: " + err.Error()}
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
