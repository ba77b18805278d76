package meta

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// Chunk server registry states kept in Raft. Liveness (alive, dead) is soft
// state derived from heartbeats and never replicated.
const (
	NodeActive         = "active"
	NodeDraining       = "draining"
	NodeDecommissioned = "decommissioned"
)

func applyRegisterNode(txn *badger.Txn, _ uint64, c *RegisterNode) (any, error) {
	n := c.Node
	if err := proto.ValidID("chunk server", n.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if n.Address == "" || len(n.Address) > proto.MaxAddressLen {
		return nil, fmt.Errorf("chunk server %s: address must be 1 to %d bytes: %w", n.ID, proto.MaxAddressLen, ErrInvalid)
	}
	var old Node
	err := kv.Get(txn, []byte("n/"+n.ID), &old)
	switch {
	case err == nil:
		n.State, n.Registered = old.State, old.Registered // re-registration keeps its drain state
	case kv.IsNotFound(err):
		n.State = NodeActive
	default:
		return nil, err
	}
	return n, kv.Put(txn, []byte("n/"+n.ID), n)
}

func applySetNodeState(txn *badger.Txn, _ uint64, c *SetNodeState) (any, error) {
	switch c.State {
	case NodeActive, NodeDraining, NodeDecommissioned:
	default:
		return nil, fmt.Errorf("chunk server state %q: %w", c.State, ErrInvalid)
	}
	var n Node
	if err := kv.Get(txn, []byte("n/"+c.ID), &n); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("chunk server %s: %w", c.ID, ErrNotFound))
	}
	n.State = c.State
	return n, kv.Put(txn, []byte("n/"+c.ID), n)
}

func applySetMember(txn *badger.Txn, _ uint64, c *SetMember) (any, error) {
	m := c.Member
	if err := proto.ValidID("master", m.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if m.HTTPAddr == "" || m.RaftAddr == "" {
		return nil, fmt.Errorf("master %s: raft and http addresses are required: %w", m.ID, ErrInvalid)
	}
	return nil, kv.Put(txn, []byte("r/"+m.ID), m)
}

func applyRemoveMember(txn *badger.Txn, _ uint64, c *RemoveMember) (any, error) {
	return nil, kv.Del(txn, []byte("r/"+c.ID))
}

func applyPutUser(txn *badger.Txn, _ uint64, c *PutUser) (any, error) {
	if err := proto.ValidID("user", c.User.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	u := c.User
	if u.Policies == nil { // a user made again keeps its attached policies
		old, err := getUser(txn, u.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if old != nil {
			u.Policies = old.Policies
		}
	}
	u.ID = ""
	return nil, kv.Put(txn, []byte("u/"+u.Name), u)
}

func applyPutKey(txn *badger.Txn, _ uint64, c *PutKey) (any, error) {
	k := c.Key
	if k.Status != "" && k.Status != proto.KeyActive && k.Status != proto.KeyInactive {
		return nil, fmt.Errorf("access key %q: status %q is not Active or Inactive: %w", k.AccessKey, k.Status, ErrInvalid)
	}
	if err := proto.ValidID("access key", k.AccessKey); err != nil || len(k.SecretKey) < 8 || len(k.SecretKey) > 128 {
		return nil, fmt.Errorf("access key %q: id must be a valid id and the secret 8 to 128 bytes: %w", k.AccessKey, ErrInvalid)
	}
	found, err := kv.Exists(txn, []byte("u/"+k.User))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("user %s: %w", k.User, ErrNotFound)
	}
	return nil, kv.Put(txn, []byte("k/"+k.AccessKey), k)
}

func applyDeleteKey(txn *badger.Txn, _ uint64, c *DeleteKey) (any, error) {
	found, err := kv.Exists(txn, []byte("k/"+c.AccessKey))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("access key %s: %w", c.AccessKey, ErrNotFound)
	}
	return nil, kv.Del(txn, []byte("k/"+c.AccessKey))
}
