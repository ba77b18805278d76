package chunkserver

import (
	"bufio"
	"errors"
	"net/http"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/reqid"
)

// maxBatchBody bounds a batch read's request body; DecodeChunkBatchRequest
// bounds it more tightly still.
const maxBatchBody = 64 << 10

// handleBatchRead streams whole chunks in the batch format
// (proto.ChunkBatchRequest), so a repair copies many small chunks with one
// request. Each chunk is opened and verified block by block exactly as a
// single read is; one that cannot be read, or fails part way, gets a
// failing status in its own record (and a corrupt one is reported to the
// master) while the others go on. A malformed request is refused with
// 400 before any record.
func (s *Server) handleBatchRead(w http.ResponseWriter, r *http.Request) {
	req, err := proto.DecodeChunkBatchRequest(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	out := &batchWriter{w: w, rc: http.NewResponseController(w), idle: s.cfg.IdleTimeout}
	bw := bufio.NewWriterSize(out, 128<<10)
	for _, id := range req.Chunks {
		if err := s.sendBatchChunk(r, bw, out, id); err != nil {
			reqid.Logger(r.Context(), s.log).Debug("batch read: the reader went away", "chunk", id, "err", err)
			return
		}
	}
	if err := bw.Flush(); err != nil {
		reqid.Logger(r.Context(), s.log).Debug("batch read: the reader went away", "err", err)
	}
}

// sendBatchChunk writes chunk id's record to bw. It returns an error only
// when the reader went away (out.err): a chunk that cannot be read is
// reported in its record.
func (s *Server) sendBatchChunk(r *http.Request, bw *bufio.Writer, out *batchWriter, id proto.ChunkID) error {
	rd, err := s.store.Open(uint64(id))
	if err != nil {
		s.readFailed(r, id, err)
		_, werr := bw.Write(proto.AppendBatchStatus(proto.AppendBatchHeader(nil, id, -1), statusText(err)))
		return werr
	}
	defer rd.Close()
	size := rd.Size()
	if _, err := bw.Write(proto.AppendBatchHeader(nil, id, size)); err != nil {
		return err
	}
	sent, err := rd.CopyTo(bw, 0, size)
	s.metrics.readBytes.Add(float64(sent))
	if out.err != nil {
		return out.err
	}
	status := proto.BatchOK
	if err != nil {
		s.readFailed(r, id, err)
		status = statusText(err)
		if err := writeZeros(bw, size-sent); err != nil { // the record keeps its length
			return err
		}
	}
	_, err = bw.Write(proto.AppendBatchStatus(nil, status))
	return err
}

// readFailed counts, reports and logs a chunk a batch read could not send.
func (s *Server) readFailed(r *http.Request, id proto.ChunkID, err error) {
	s.metrics.diskError("read", err)
	if errors.Is(err, disk.ErrCorrupt) {
		s.noteCorrupt(id)
	}
	if !errors.Is(err, disk.ErrNotFound) {
		reqid.Logger(r.Context(), s.log).Warn("batch read chunk", "chunk", id, "err", err)
	}
}

// statusText is a failed chunk's status, as in proto.TrailerStatus.
func statusText(err error) string { return string(codeOf(err)) + ": " + err.Error() }

var zeros [64 << 10]byte

func writeZeros(w *bufio.Writer, n int64) error {
	for n > 0 {
		k, err := w.Write(zeros[:min(n, int64(len(zeros)))])
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// batchWriter sends a batch answer, keeping the write deadline moving,
// and remembers the first write error (the reader went away).
type batchWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	err  error
}

func (bw *batchWriter) Write(p []byte) (int, error) {
	if bw.err != nil {
		return 0, bw.err
	}
	bw.rc.SetWriteDeadline(time.Now().Add(bw.idle))
	n, err := bw.w.Write(p)
	bw.err = err
	return n, err
}
