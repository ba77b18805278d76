package master

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// newTestHealer wires a healer and its nodes view over a state in a temp
// dir, proposing straight into the state machine (no Raft, no sockets) on
// a clock the test moves.
func newTestHealer(t *testing.T, now *time.Time) *healer {
	t.Helper()
	fsm, err := meta.Open(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsm.Close() })
	var index uint64
	apply := func(ctx context.Context, o meta.Op, payload any) (any, error) {
		data, err := meta.EncodeRequest(o, *now, "", payload)
		if err != nil {
			return nil, err
		}
		index++
		r := fsm.ApplyBatch([]*raft.Log{{Index: index, Type: raft.LogCommand, Data: data}})[0].(meta.Result)
		return r.Val, r.Err
	}
	cfg := DefaultConfig()
	cfg.GCDelay = 0
	clock := func() time.Time { return *now }
	ns := &nodes{fsm: fsm, live: &liveness{}, apply: apply, now: clock, deadAfter: cfg.DeadAfter}
	h := &healer{
		cfg: &cfg, log: slog.New(slog.DiscardHandler), now: clock, fsm: fsm, nodes: ns, replicas: &replicaMap{},
		apply: apply, leader: func() bool { return true }, kicks: make(chan struct{}, 1),
	}
	h.reset(*now)
	return h
}

// The healer on its own: heartbeats register liveness and reports, safe
// mode holds commands back until every server reported, an unreferenced
// chunk is collected after the orphan grace, and its deletion goes out with
// the holder's next heartbeat.
func TestHealerHeartbeatsSafeModeAndOrphans(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newTestHealer(t, &now)
	ctx := context.Background()
	for _, id := range []proto.NodeID{"n1", "n2", "n3"} {
		req := proto.RegisterRequest{ID: id, Address: string(id) + ":1", Rack: "r-" + string(id)}
		if _, err := h.nodes.register(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := h.heartbeat(&proto.HeartbeatRequest{ID: "stranger"}); err != nil || reply.Registered {
		t.Fatalf("unregistered server: %+v %v", reply, err)
	}
	beat := func(id proto.NodeID, report ...proto.ChunkID) proto.HeartbeatReply {
		t.Helper()
		reply, err := h.heartbeat(&proto.HeartbeatRequest{ID: id, CapacityBytes: 1 << 30, Full: true, Report: report})
		if err != nil || !reply.Registered {
			t.Fatalf("%s: %+v %v", id, reply, err)
		}
		return reply
	}
	beat("n1", 7)
	if safe, why := h.safeMode(); !safe {
		t.Fatal("out of safe mode before every server reported")
	} else if err := h.round(ctx); err == nil {
		t.Fatalf("a round ran in safe mode (%s)", why)
	}
	beat("n2")
	beat("n3")
	if safe, why := h.safeMode(); safe {
		t.Fatalf("still in safe mode after every server reported: %s", why)
	}
	if err := h.round(ctx); err != nil {
		t.Fatal(err)
	}
	if gc, _ := h.fsm.GCChunks(); len(gc) != 0 {
		t.Fatalf("orphan collected before its grace: %v", gc)
	}
	now = now.Add(h.cfg.OrphanGrace + time.Second)
	for _, id := range []proto.NodeID{"n2", "n3"} {
		beat(id)
	}
	beat("n1", 7)
	if err := h.round(ctx); err != nil {
		t.Fatal(err)
	}
	if gc, _ := h.fsm.GCChunks(); !gc[7] {
		t.Fatalf("orphan 7 not queued for deletion after its grace: %v", gc)
	}
	if err := h.round(ctx); err != nil {
		t.Fatal(err)
	}
	cmds := beat("n1", 7).Commands
	if len(cmds) != 1 || cmds[0].Op != proto.CmdDelete || cmds[0].Chunk != 7 {
		t.Fatalf("n1's commands after the orphan was queued: %+v", cmds)
	}
	if st := h.repairStats(); st.OrphansFound != 1 || st.DeletesIssued != 1 {
		t.Fatalf("repair stats: %+v", st)
	}
	views, err := h.nodes.views()
	if err != nil || len(views) != 3 || views[0].health != placement.Alive {
		t.Fatalf("views: %+v %v", views, err)
	}
}

// readRefs hands out its last scan while nothing new is applied, and scans
// again after any command: a chunk committed since is always seen.
func TestReadRefsCachedUntilTheNextCommand(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newTestHealer(t, &now)
	ctx := context.Background()
	if _, err := h.apply(ctx, meta.OpCreateBucket, meta.CreateBucket{Bucket: proto.Bucket{Name: "bkt", Created: now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.apply(ctx, meta.OpAllocChunks, meta.AllocChunks{Count: 2}); err != nil {
		t.Fatal(err)
	}
	first, _, err := h.readRefs()
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := h.readRefs()
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(first).Pointer() != reflect.ValueOf(again).Pointer() {
		t.Error("nothing was applied, yet the references were scanned again")
	}
	obj := proto.Object{Bucket: "bkt", Key: "k", Size: 1, ETag: "e", Modified: now, Extents: []proto.Extent{{Chunk: 1, Length: 1}}}
	if _, err := h.apply(ctx, meta.OpPutObject, meta.PutObject{Object: obj}); err != nil {
		t.Fatal(err)
	}
	after, _, err := h.readRefs()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after[1]; !ok || len(first) != 0 {
		t.Fatalf("before the commit %v, after %v: want chunk 1 referenced only after", first, after)
	}
}

// A heartbeat kicks a round early only when it finishes work a round sent
// (a copy or rebuild to that server, a deletion on it) or reports a failed
// copy or a corrupt replica; chunks writers add wait for the next tick.
func TestHeartbeatKicksOnlyForAwaitedWork(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newTestHealer(t, &now)
	for _, id := range []proto.NodeID{"n1", "n2"} {
		req := proto.RegisterRequest{ID: id, Address: string(id) + ":1", Rack: "r-" + string(id)}
		if _, err := h.nodes.register(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if _, err := h.heartbeat(&proto.HeartbeatRequest{ID: id, CapacityBytes: 1 << 30, Full: true}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-h.kicks: // whatever registration did
	default:
	}
	h.mu.Lock()
	h.inflight.Copies[10] = map[proto.NodeID]repair.CopyOp{"n2": {Source: "n1", At: now}}
	h.inflight.Reconstructs[20] = repair.ReconstructOp{Target: "n2"}
	h.inflight.Deletes[30] = map[proto.NodeID]time.Time{"n1": now}
	h.mu.Unlock()
	for _, c := range []struct {
		name string
		hb   proto.HeartbeatRequest
		kick bool
	}{
		{"chunks a writer added", proto.HeartbeatRequest{ID: "n2", Added: []proto.ChunkID{11, 12}}, false},
		{"a copy to another server", proto.HeartbeatRequest{ID: "n1", Added: []proto.ChunkID{10}}, false},
		{"a copy done", proto.HeartbeatRequest{ID: "n2", Added: []proto.ChunkID{11, 10}}, true},
		{"a rebuild done", proto.HeartbeatRequest{ID: "n2", Added: []proto.ChunkID{20}}, true},
		{"a deletion nobody asked for", proto.HeartbeatRequest{ID: "n2", Removed: []proto.ChunkID{30}}, false},
		{"a deletion done", proto.HeartbeatRequest{ID: "n1", Removed: []proto.ChunkID{30}}, true},
		{"a copy failed", proto.HeartbeatRequest{ID: "n1", Failed: []proto.ChunkID{99}}, true},
		{"a corrupt replica", proto.HeartbeatRequest{ID: "n1", Corrupt: []proto.ChunkID{98}}, true},
	} {
		hb := c.hb
		hb.CapacityBytes = 1 << 30
		if _, err := h.heartbeat(&hb); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		kicked := false
		select {
		case <-h.kicks:
			kicked = true
		default:
		}
		if kicked != c.kick {
			t.Errorf("%s: kicked %t, want %t", c.name, kicked, c.kick)
		}
	}
}
