package proto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrBadBatch means a batch read request is malformed: not one JSON
// object of known fields, no chunks, more than MaxCopyBatch, a zero id or
// an id twice.
var ErrBadBatch = errors.New("invalid chunk batch")

// ChunkBatchRequest asks a chunk server for several whole chunks in one
// answer (POST RouteChunkBatch), as repair copies many small chunks from
// one source: 1 to MaxCopyBatch distinct non-zero ids.
//
// The answer (status 200, once the request is valid) is one record per
// requested chunk, in the order requested, each verified block by block
// as a single read is:
//
//	+------------+--------------+--------------------+-----------+-------------+
//	| id  u64 BE | size  i64 BE | size bytes of data | n  u16 BE | n bytes of  |
//	| (8 bytes)  | (8 bytes)    | (none if size -1)  |           | status      |
//	+------------+--------------+--------------------+-----------+-------------+
//
// The status is "ok" when every data byte was read and verified, or
// "Code: message" as in TrailerStatus: size -1 when the chunk could not
// be opened at all (not found, corrupt, lost), and when a block failed
// part way, the rest of the data is zeros and the chunk must be
// discarded. One chunk's failure does not end the answer; the body ends
// early only when the server stops (the reader sees an unexpected EOF).
type ChunkBatchRequest struct {
	Chunks []ChunkID `json:"chunks"`
}

// Batch record layout (see ChunkBatchRequest).
const (
	// BatchHeaderSize is the bytes of a record's id and size.
	BatchHeaderSize = 16
	// MaxBatchStatus bounds a record's status text.
	MaxBatchStatus = 1024
	// BatchOK is the status of a chunk sent whole and verified.
	BatchOK = "ok"
	// maxBatchRequest bounds the encoded request: MaxCopyBatch ids of 20
	// digits and their commas, with room to spare.
	maxBatchRequest = MaxCopyBatch*24 + 64
)

// Validate reports the first problem with the request, wrapping
// ErrBadBatch.
func (r *ChunkBatchRequest) Validate() error {
	if len(r.Chunks) == 0 || len(r.Chunks) > MaxCopyBatch {
		return fmt.Errorf("%w: %d chunks, want 1 to %d", ErrBadBatch, len(r.Chunks), MaxCopyBatch)
	}
	seen := make(map[ChunkID]bool, len(r.Chunks))
	for _, c := range r.Chunks {
		if c == 0 || seen[c] {
			return fmt.Errorf("%w: chunk id %d is zero or named twice", ErrBadBatch, c)
		}
		seen[c] = true
	}
	return nil
}

// DecodeChunkBatchRequest reads a request strictly: one JSON object with
// no unknown field and nothing after it, within a size bound, then
// Validate.
func DecodeChunkBatchRequest(rd io.Reader) (ChunkBatchRequest, error) {
	var r ChunkBatchRequest
	dec := json.NewDecoder(io.LimitReader(rd, maxBatchRequest+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%w: %w", ErrBadBatch, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, fmt.Errorf("%w: more than one JSON value, or over %d bytes", ErrBadBatch, maxBatchRequest)
	}
	return r, r.Validate()
}

// AppendBatchHeader appends a record's id and size (-1: no data follows).
func AppendBatchHeader(b []byte, id ChunkID, size int64) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	return binary.BigEndian.AppendUint64(b, uint64(size))
}

// ParseBatchHeader reads a record's id and size from its BatchHeaderSize
// bytes.
func ParseBatchHeader(b []byte) (ChunkID, int64) {
	return ChunkID(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
}

// AppendBatchStatus appends a record's status, cut to MaxBatchStatus
// bytes.
func AppendBatchStatus(b []byte, status string) []byte {
	status = status[:min(len(status), MaxBatchStatus)]
	b = binary.BigEndian.AppendUint16(b, uint16(len(status)))
	return append(b, status...)
}
