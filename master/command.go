package master

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Raft log entries carry commands in one of two layouts:
//
//	version 1: | 1 | opcode | payload (JSON of the op type) |
//	version 2: | 2 | opcode | at, 8 bytes | id length, 1 byte | request id | payload |
//
// Version 2 is a change a client asked for under a request id
// (proto.HeaderRequestID), at is the leader's clock (Unix milliseconds) when
// it proposed it; the state machine applies each id at most once (see
// dedup.go). version names the encoding of the whole entry; a replica that
// meets a version it does not know rejects the entry (ErrUnknownVersion)
// without touching state, and so does every other replica, so they stay
// identical. Opcodes are never reused; new fields in a payload must be
// optional so old entries keep decoding.
const (
	cmdVersion1 byte = 1
	cmdVersion2 byte = 2
)

// op identifies a command. Values are part of the on-disk log format.
type op byte

const (
	opCreateBucket   op = 1
	opDeleteBucket   op = 2
	opPutObject      op = 3
	opDeleteObject   op = 4
	opRenameObject   op = 5
	opAllocChunks    op = 6
	opRegisterNode   op = 7
	opSetMember      op = 8
	opRemoveMember   op = 9
	opPutUser        op = 10
	opPutKey         op = 11
	opDeleteKey      op = 12
	opSetNodeState   op = 13
	opAckGCDeletion  op = 14
	opCollectOrphans op = 15
	opCreateUpload   op = 16
	opPutPart        op = 17
	opCompleteUpload op = 18
	opAbortUpload    op = 19
)

func (o op) String() string {
	names := map[op]string{
		opCreateBucket: "createBucket", opDeleteBucket: "deleteBucket",
		opPutObject: "putObject", opDeleteObject: "deleteObject",
		opRenameObject: "renameObject", opAllocChunks: "allocChunks",
		opRegisterNode: "registerNode", opSetMember: "setMember",
		opRemoveMember: "removeMember", opPutUser: "putUser",
		opPutKey: "putKey", opDeleteKey: "deleteKey",
		opSetNodeState: "setNodeState", opAckGCDeletion: "ackGCDeletion",
		opCollectOrphans: "collectOrphans", opCreateUpload: "createUpload",
		opPutPart: "putPart", opCompleteUpload: "completeUpload", opAbortUpload: "abortUpload",
	}
	if n, ok := names[o]; ok {
		return n
	}
	return fmt.Sprintf("op(%d)", byte(o))
}

// Payloads. Times are chosen by the leader before proposing so that every
// replica applies exactly the same bytes.
type (
	cmdCreateBucket struct {
		Bucket proto.Bucket `json:"bucket"`
	}
	cmdDeleteBucket struct {
		Name string `json:"name"`
	}
	cmdPutObject struct {
		Object    proto.Object `json:"object"`
		IfVersion uint64       `json:"ifVersion,omitempty"`
		IfETag    string       `json:"ifETag,omitempty"`
	}
	// cmdDeleteObject has the fields of proto.DeleteRequest.
	cmdDeleteObject struct {
		Bucket     string     `json:"bucket"`
		Key        string     `json:"key"`
		IfETag     string     `json:"ifETag,omitempty"`
		IfSize     *int64     `json:"ifSize,omitempty"`
		IfModified *time.Time `json:"ifModified,omitempty"`
	}
	cmdRenameObject struct {
		Bucket   string    `json:"bucket"`
		From     string    `json:"from"`
		To       string    `json:"to"`
		Modified time.Time `json:"modified"`
	}
	cmdAllocChunks struct {
		Count uint64 `json:"count"`
	}
	cmdRegisterNode struct {
		Node nodeRecord `json:"node"`
	}
	cmdSetMember struct {
		Member memberRecord `json:"member"`
	}
	cmdRemoveMember struct {
		ID string `json:"id"`
	}
	cmdPutUser struct {
		User proto.User `json:"user"`
	}
	cmdPutKey struct {
		Key proto.AccessKey `json:"key"`
	}
	cmdDeleteKey struct {
		AccessKey string `json:"accessKey"`
	}
	cmdSetNodeState struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	cmdAckGCDeletion struct {
		Chunks []uint64 `json:"chunks"`
	}
	cmdCollectOrphans struct {
		Chunks []uint64 `json:"chunks"`
	}
)

// nodeRecord is a chunk server's durable registry entry.
type nodeRecord struct {
	ID         string    `json:"id"`
	Address    string    `json:"address"`
	Rack       string    `json:"rack,omitempty"`
	State      string    `json:"state"` // active, draining, decommissioned
	Registered time.Time `json:"registered"`
}

// memberRecord maps a Raft voter to the HTTP address clients use.
type memberRecord struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	HTTPAddr string `json:"httpAddr"`
}

// encodeCommand builds a version-1 log entry.
func encodeCommand(o op, payload any) ([]byte, error) {
	return encodeRequest(o, time.Time{}, "", payload)
}

// encodeRequest builds a version-2 log entry for a change asked for under
// request id (valid by proto.ParseRequestID), proposed at the leader's time
// at; with no id, a version-1 entry.
func encodeRequest(o op, at time.Time, id string, payload any) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("master: encode %v: %w", o, err)
	}
	if id == "" {
		return append([]byte{cmdVersion1, byte(o)}, body...), nil
	}
	buf := make([]byte, 0, 11+len(id)+len(body))
	buf = append(buf, cmdVersion2, byte(o))
	buf = binary.BigEndian.AppendUint64(buf, uint64(at.UnixMilli()))
	buf = append(buf, byte(len(id)))
	buf = append(buf, id...)
	return append(buf, body...), nil
}

// header is what precedes a command's payload.
type header struct {
	op op
	at int64  // version 2: the leader's clock at proposal, Unix ms
	id string // version 2: the request id
}

// decodeHeader splits a log entry into its header and payload.
func decodeHeader(data []byte) (header, []byte, error) {
	if len(data) < 2 {
		return header{}, nil, fmt.Errorf("master: command of %d bytes: %w", len(data), ErrBadCommand)
	}
	h := header{op: op(data[1])}
	switch data[0] {
	case cmdVersion1:
		return h, data[2:], nil
	case cmdVersion2:
		if len(data) < 11 || len(data) < 11+int(data[10]) || data[10] == 0 {
			return header{}, nil, fmt.Errorf("master: version-2 command of %d bytes: %w", len(data), ErrBadCommand)
		}
		h.at = int64(binary.BigEndian.Uint64(data[2:10]))
		n := int(data[10])
		h.id = string(data[11 : 11+n])
		return h, data[11+n:], nil
	default:
		return header{}, nil, fmt.Errorf("master: command encoding version %d: %w", data[0], ErrUnknownVersion)
	}
}
