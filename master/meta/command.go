package meta

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/bucketconf"
)

// Raft log entries carry commands in one of two layouts:
//
//	version 1: | 1 | opcode | payload (JSON of the opcode's type) |
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

// Op identifies a command. Values are part of the on-disk log format.
type Op byte

// The opcodes. Never reuse or renumber one.
const (
	OpCreateBucket   Op = 1
	OpDeleteBucket   Op = 2
	OpPutObject      Op = 3
	OpDeleteObject   Op = 4
	OpRenameObject   Op = 5
	OpAllocChunks    Op = 6
	OpRegisterNode   Op = 7
	OpSetMember      Op = 8
	OpRemoveMember   Op = 9
	OpPutUser        Op = 10
	OpPutKey         Op = 11
	OpDeleteKey      Op = 12
	OpSetNodeState   Op = 13
	OpAckGCDeletion  Op = 14
	OpCollectOrphans Op = 15
	OpCreateUpload   Op = 16
	OpPutPart        Op = 17
	OpCompleteUpload Op = 18
	OpAbortUpload    Op = 19
	OpPutObjectTags  Op = 20
	OpPutBucketConf  Op = 21
	OpSetVersioning  Op = 22
	OpSetLock        Op = 23
	// Identity and access.
	OpSetKeyStatus       Op = 24
	OpDeleteUser         Op = 25
	OpPutAccessPolicy    Op = 26
	OpDeleteAccessPolicy Op = 27
	OpAttachPolicy       Op = 28
	OpPutObjectACL       Op = 29
	OpRenamePrefix       Op = 30
	OpReplaceExtents     Op = 31
	OpSetMeta            Op = 32
)

// lastOp is the highest opcode; the golden tests cover every one up to it.
const lastOp = OpSetMeta

func (o Op) String() string {
	names := map[Op]string{
		OpCreateBucket: "createBucket", OpDeleteBucket: "deleteBucket",
		OpPutObject: "putObject", OpDeleteObject: "deleteObject",
		OpRenameObject: "renameObject", OpAllocChunks: "allocChunks",
		OpRegisterNode: "registerNode", OpSetMember: "setMember",
		OpRemoveMember: "removeMember", OpPutUser: "putUser",
		OpPutKey: "putKey", OpDeleteKey: "deleteKey",
		OpSetNodeState: "setNodeState", OpAckGCDeletion: "ackGCDeletion",
		OpCollectOrphans: "collectOrphans", OpCreateUpload: "createUpload",
		OpPutPart: "putPart", OpCompleteUpload: "completeUpload", OpAbortUpload: "abortUpload",
		OpPutObjectTags: "putObjectTags", OpPutBucketConf: "putBucketConf",
		OpSetVersioning: "setVersioning", OpSetLock: "setLock",
		OpSetKeyStatus: "setKeyStatus", OpDeleteUser: "deleteUser",
		OpPutAccessPolicy: "putAccessPolicy", OpDeleteAccessPolicy: "deleteAccessPolicy",
		OpAttachPolicy: "attachPolicy", OpPutObjectACL: "putObjectACL", OpRenamePrefix: "renamePrefix",
		OpReplaceExtents: "replaceExtents", OpSetMeta: "setMeta",
	}
	if n, ok := names[o]; ok {
		return n
	}
	return fmt.Sprintf("op(%d)", byte(o))
}

// Payloads. Times are chosen by the leader before proposing so that every
// replica applies exactly the same bytes.
type (
	// CreateBucket is the payload of OpCreateBucket.
	CreateBucket struct {
		Bucket proto.Bucket `json:"bucket"`
	}
	// DeleteBucket is the payload of OpDeleteBucket.
	DeleteBucket struct {
		Name string `json:"name"`
	}
	// PutObject is the payload of OpPutObject: commit an object, optionally only over a version or ETag.
	PutObject struct {
		Object    proto.Object `json:"object"`
		IfVersion uint64       `json:"ifVersion,omitempty"`
		IfETag    string       `json:"ifETag,omitempty"`
	}
	// DeleteObject is the payload of OpDeleteObject; it has the fields of
	// proto.DeleteRequest.
	DeleteObject struct {
		Bucket     string     `json:"bucket"`
		Key        string     `json:"key"`
		IfETag     string     `json:"ifETag,omitempty"`
		IfSize     *int64     `json:"ifSize,omitempty"`
		IfModified *time.Time `json:"ifModified,omitempty"`
		// VersionID removes that version for good; without it, a delete
		// in a versioned bucket makes a delete marker, dated At (the
		// leader's clock).
		VersionID string     `json:"versionId,omitempty"`
		At        *time.Time `json:"at,omitempty"`
		// BypassGovernance lets a removal by VersionID pass a GOVERNANCE
		// retention (not a COMPLIANCE one, nor a legal hold).
		BypassGovernance bool `json:"bypassGovernance,omitempty"`
		// IfVersion, when set, removes (or hides behind a delete marker)
		// only the record made at that Raft index (proto.Object.Version):
		// the lifecycle worker's condition, so an overwrite made after
		// it looked is never expired.
		IfVersion uint64 `json:"ifVersion,omitempty"`
	}
	// RenameObject is the payload of OpRenameObject.
	RenameObject struct {
		Bucket   string    `json:"bucket"`
		From     string    `json:"from"`
		To       string    `json:"to"`
		Modified time.Time `json:"modified"`
	}
	// AllocChunks is the payload of OpAllocChunks: reserve Count chunk ids.
	AllocChunks struct {
		Count uint64 `json:"count"`
	}
	// RegisterNode is the payload of OpRegisterNode.
	RegisterNode struct {
		Node Node `json:"node"`
	}
	// SetMember is the payload of OpSetMember.
	SetMember struct {
		Member Member `json:"member"`
	}
	// RemoveMember is the payload of OpRemoveMember.
	RemoveMember struct {
		ID proto.NodeID `json:"id"`
	}
	// PutUser is the payload of OpPutUser.
	PutUser struct {
		User proto.User `json:"user"`
	}
	// PutKey is the payload of OpPutKey.
	PutKey struct {
		Key proto.AccessKey `json:"key"`
	}
	// DeleteKey is the payload of OpDeleteKey.
	DeleteKey struct {
		AccessKey string `json:"accessKey"`
	}
	// SetNodeState is the payload of OpSetNodeState.
	SetNodeState struct {
		ID    proto.NodeID `json:"id"`
		State string       `json:"state"`
	}
	// AckGCDeletion is the payload of OpAckGCDeletion: queued chunks no server holds any more.
	AckGCDeletion struct {
		Chunks []proto.ChunkID `json:"chunks"`
	}
	// CollectOrphans is the payload of OpCollectOrphans: unreferenced chunks to queue for deletion.
	CollectOrphans struct {
		Chunks []proto.ChunkID `json:"chunks"`
	}
	// PutObjectTags is the payload of OpPutObjectTags: replace an object's
	// tag set (proto.ObjectHeaders.Tagging; empty removes it). The object
	// keeps its version, ETag and modification time, as S3's do. With
	// VersionID, the tags of that version (current or not) change.
	PutObjectTags struct {
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		Tagging   string `json:"tagging,omitempty"`
		VersionID string `json:"versionId,omitempty"`
	}
	// SetVersioning is the payload of OpSetVersioning: a bucket's
	// versioning state becomes Status (proto.VersioningEnabled or
	// proto.VersioningSuspended).
	SetVersioning struct {
		Bucket string `json:"bucket"`
		Status string `json:"status"`
	}
	// PutBucketConf is the payload of OpPutBucketConf (bucketconf.Change).
	PutBucketConf = bucketconf.Change
	// SetKeyStatus is the payload of OpSetKeyStatus: an access key's
	// status becomes Status (proto.KeyActive or proto.KeyInactive).
	SetKeyStatus struct {
		AccessKey string `json:"accessKey"`
		Status    string `json:"status"`
	}
	// DeleteUser is the payload of OpDeleteUser: delete a user that owns
	// no bucket, with its access keys.
	DeleteUser struct {
		Name string `json:"name"`
	}
	// PutAccessPolicy is the payload of OpPutAccessPolicy: create or
	// replace a named access policy.
	PutAccessPolicy struct {
		Policy proto.AccessPolicy `json:"policy"`
	}
	// DeleteAccessPolicy is the payload of OpDeleteAccessPolicy: delete an
	// access policy no user has attached.
	DeleteAccessPolicy struct {
		Name string `json:"name"`
	}
	// AttachPolicy is the payload of OpAttachPolicy: attach the access
	// policy Policy to User, or with Detach, detach it.
	AttachPolicy struct {
		User   string `json:"user"`
		Policy string `json:"policy"`
		Detach bool   `json:"detach,omitempty"`
	}
	// PutObjectACL is the payload of OpPutObjectACL: replace the ACL of an
	// object's newest version, or of the version VersionID.
	PutObjectACL struct {
		Bucket    string    `json:"bucket"`
		Key       string    `json:"key"`
		VersionID string    `json:"versionId,omitempty"`
		ACL       proto.ACL `json:"acl"`
	}
	// RenamePrefix is the payload of OpRenamePrefix: move every key under
	// From to To (both directory prefixes ending in "/"), as one change,
	// when To holds nothing but possibly its own marker key To.
	RenamePrefix struct {
		Bucket   string    `json:"bucket"`
		From     string    `json:"from"`
		To       string    `json:"to"`
		Modified time.Time `json:"modified"`
	}
	// ReplaceExtents is the payload of OpReplaceExtents: the current
	// version of Bucket/Key, if it is still at IfVersion, keeps everything
	// but its extents, which become Extents (the same bytes laid out
	// anew, as a conversion to another data policy writes them); the old
	// chunks are freed.
	ReplaceExtents struct {
		Bucket    string         `json:"bucket"`
		Key       string         `json:"key"`
		IfVersion uint64         `json:"ifVersion"`
		Extents   []proto.Extent `json:"extents"`
		// VersionID, when set, names the version to lay out anew (a
		// noncurrent one: a lifecycle NoncurrentVersionTransition);
		// empty is the current version.
		VersionID string `json:"versionId,omitempty"`
		// StorageClass, when set, becomes the version's storage class
		// (a lifecycle transition). With no Extents, only the class
		// changes (a transition to a class whose policy the version is
		// stored under already).
		StorageClass string `json:"storageClass,omitempty"`
	}
	// SetMeta is the payload of OpSetMeta: replace the user metadata of an
	// object in an unversioned bucket, if its ETag is still IfETag, without
	// touching its bytes; its version becomes the command's index and its
	// modification time Modified.
	SetMeta struct {
		Bucket   string            `json:"bucket"`
		Key      string            `json:"key"`
		IfETag   string            `json:"ifETag"`
		Meta     map[string]string `json:"meta,omitempty"`
		Modified time.Time         `json:"modified"`
	}
	// SetLock is the payload of OpSetLock: change a version's retention or
	// legal hold, judged at At, the leader's clock.
	SetLock struct {
		Req proto.LockRequest `json:"req"`
		At  time.Time         `json:"at"`
	}
)

// Node is a chunk server's durable registry entry.
type Node struct {
	ID         proto.NodeID `json:"id"`
	Address    string       `json:"address"`
	Rack       string       `json:"rack,omitempty"`
	State      string       `json:"state"` // active, draining, decommissioned
	Registered time.Time    `json:"registered"`
}

// Member maps a Raft voter to the HTTP address clients use.
type Member struct {
	ID       proto.NodeID `json:"id"`
	RaftAddr string       `json:"raftAddr"`
	HTTPAddr string       `json:"httpAddr"`
}

// EncodeCommand builds a version-1 log entry.
func EncodeCommand(o Op, payload any) ([]byte, error) {
	return EncodeRequest(o, time.Time{}, "", payload)
}

// EncodeRequest builds a version-2 log entry for a change asked for under
// request id (valid by proto.ParseRequestID), proposed at the leader's time
// at; with no id, a version-1 entry.
func EncodeRequest(o Op, at time.Time, id string, payload any) ([]byte, error) {
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
	op Op
	at int64  // version 2: the leader's clock at proposal, Unix ms
	id string // version 2: the request id
}

// decodeHeader splits a log entry into its header and payload.
func decodeHeader(data []byte) (header, []byte, error) {
	if len(data) < 2 {
		return header{}, nil, fmt.Errorf("master: command of %d bytes: %w", len(data), ErrBadCommand)
	}
	h := header{op: Op(data[1])}
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
