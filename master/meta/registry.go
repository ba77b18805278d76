package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// Chunk server registry states kept in Raft. Liveness (alive, dead) is soft
// state derived from heartbeats and never replicated. Every command that
// writes the registry (n/) is in nodeOps, which tells Nodes to read it
// again.
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
