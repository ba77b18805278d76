package master

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Raft log entries carry commands in this layout:
//
//	+---------+--------+------------------------------+
//	| version | opcode | payload (JSON of the op type) |
//	| 1 byte  | 1 byte | rest of the entry             |
//	+---------+--------+------------------------------+
//
// version names the encoding of the whole entry; a replica that meets a
// version it does not know rejects the entry (ErrUnknownVersion) without
// touching state, and so does every other replica, so they stay identical.
// Opcodes are never reused; new fields in a payload must be optional so old
// entries keep decoding.
const cmdVersion1 byte = 1

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
	}
	cmdDeleteObject struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
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
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("master: encode %v: %w", o, err)
	}
	buf := make([]byte, 0, len(body)+2)
	buf = append(buf, cmdVersion1, byte(o))
	return append(buf, body...), nil
}

// decodeHeader splits a log entry into its opcode and payload.
func decodeHeader(data []byte) (op, []byte, error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("master: command of %d bytes: %w", len(data), ErrBadCommand)
	}
	if data[0] != cmdVersion1 {
		return 0, nil, fmt.Errorf("master: command encoding version %d: %w", data[0], ErrUnknownVersion)
	}
	return op(data[1]), data[2:], nil
}
