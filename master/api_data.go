package master

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// placementError wraps a placement failure in the master sentinel that
// tells a caller whether waiting helps.
func placementError(err error) error {
	if errors.Is(err, placement.ErrNoSpace) {
		return fmt.Errorf("master: placement: %v: %w", err, ErrNoSpace)
	}
	return fmt.Errorf("master: placement: %v: %w", err, ErrNoServers)
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, proto.ClusterConfig{
		ChunkSize: s.cfg.ChunkSize, Replication: s.cfg.Replication, InlineThreshold: s.cfg.InlineThreshold,
		OrphanGraceMs: s.cfg.OrphanGrace.Milliseconds(),
	})
}

// placementView converts the registry and liveness (nodeViews) into
// placement's servers, and returns their data-plane addresses.
func (s *Server) placementView() ([]placement.Server, map[string]string, error) {
	views, err := s.nodeViews()
	if err != nil {
		return nil, nil, err
	}
	servers := make([]placement.Server, 0, len(views))
	addrs := make(map[string]string, len(views))
	for _, v := range views {
		servers = append(servers, v.placement())
		addrs[v.rec.ID] = v.rec.Address
	}
	return servers, addrs, nil
}

// placer chooses pipeline targets on one view of the chunk servers.
type placer struct {
	ring  *placement.Ring
	addrs map[string]string
}

func (s *Server) newPlacer() (*placer, error) {
	servers, addrs, err := s.placementView()
	if err != nil {
		return nil, err
	}
	ring, err := placement.NewRing(servers, placement.DefaultOptions())
	if err != nil {
		return nil, placementError(err)
	}
	return &placer{ring: ring, addrs: addrs}, nil
}

// place chooses pipeline targets for freshly allocated chunks.
func (p *placer) place(ids []uint64, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
	out := make([]proto.ChunkTargets, len(ids))
	for i, id := range ids {
		chosen, err := p.ring.Choose(placement.Request{Chunk: id, Count: req.Replication, Exclude: req.Exclude, Size: req.Size})
		if err != nil {
			return nil, placementError(err)
		}
		out[i] = proto.ChunkTargets{ID: id, Targets: targets(chosen, p.addrs)}
	}
	return out, nil
}

func targets(ids []string, addrs map[string]string) []proto.Target {
	out := make([]proto.Target, len(ids))
	for i, id := range ids {
		out[i] = proto.Target{ID: id, Address: addrs[id]}
	}
	return out
}

func (s *Server) handleAllocate(w http.ResponseWriter, r *http.Request) {
	var req proto.AllocateRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Replication < 0 || req.Replication > proto.MaxPipeline || req.Size < 0 || len(req.Exclude) > 1024 {
		writeError(w, fmt.Errorf("allocate: replication 0 to %d, size >= 0 and at most 1024 exclusions: %w", proto.MaxPipeline, ErrInvalid))
		return
	}
	var chunks []proto.ChunkTargets
	var p *placer
	if req.Replication > 0 { // check placement first, so a refusal allocates nothing
		var err error
		if p, err = s.newPlacer(); err == nil {
			_, err = p.place([]uint64{1}, req)
		}
		if err != nil {
			writeError(w, err)
			return
		}
	}
	ids, err := s.allocateChunks(r.Context(), req.Count)
	if err != nil {
		writeError(w, err)
		return
	}
	if p != nil {
		if chunks, err = p.place(ids, req); err != nil {
			writeError(w, err)
			return
		}
	}
	s.heal.renew(ids, s.now())
	writeJSON(w, http.StatusOK, proto.AllocateResult{IDs: ids, Chunks: chunks})
}

func (s *Server) handleRenew(w http.ResponseWriter, r *http.Request) {
	var req proto.RenewRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.IDs) > proto.MaxExtents {
		writeError(w, fmt.Errorf("renew %d chunks, at most %d: %w", len(req.IDs), proto.MaxExtents, ErrTooLarge))
		return
	}
	s.heal.renew(req.IDs, s.now())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleLocate(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(w, r)
	if !ok {
		return
	}
	l := proto.Located{Object: *o}
	if len(o.Extents) > 0 { // inline objects have no chunks to place
		servers, addrs, err := s.placementView()
		if err != nil {
			writeError(w, err)
			return
		}
		l.Locations = s.locations(o, servers, addrs)
	}
	if r.Header.Get("Accept") == proto.MediaTypeRawInline {
		writeRawInline(w, &l, &l.Object.Inline)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// locations lists each chunk's good replicas on servers that are not dead,
// rotated by chunk id so reads spread over the replicas.
func (s *Server) locations(o *proto.Object, servers []placement.Server, addrs map[string]string) []proto.ChunkTargets {
	ok := repair.Usable(servers)
	var out []proto.ChunkTargets
	for _, id := range meta.ChunkIDs(o) {
		var live []string
		for _, n := range s.replicas.holders(id) {
			if ok[n] {
				live = append(live, n)
			}
		}
		if len(live) > 0 {
			k := int(id % uint64(len(live)))
			live = append(live[k:], live[:k]...)
		}
		out = append(out, proto.ChunkTargets{ID: id, Targets: targets(live, addrs)})
	}
	return out
}

func (s *Server) handleCorrupt(w http.ResponseWriter, r *http.Request) {
	var rep proto.CorruptReport
	if err := decode(r, &rep); err != nil {
		writeError(w, err)
		return
	}
	if err := proto.ValidID("chunk server", rep.Server); err != nil || rep.Chunk == 0 || len(rep.Reason) > 1024 {
		writeError(w, fmt.Errorf("corrupt report: a chunk id, a valid server id and a short reason are required: %w", ErrInvalid))
		return
	}
	s.replicas.markCorrupt(rep.Chunk, rep.Server, rep.Reason)
	s.log.Warn("corrupt replica reported", "chunk", rep.Chunk, "server", rep.Server, "reason", rep.Reason)
	w.WriteHeader(http.StatusNoContent)
}

// chunkCounts derives the health counters from the referenced chunks, the
// replica reports and liveness, classified as the repair planner does
// (repair.Count).
func (s *Server) chunkCounts() (proto.ChunkCounts, error) {
	refs, err := s.fsm.ChunkRefs()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	servers, _, err := s.placementView()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	_, pending, err := s.fsm.Counters()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	holders, corrupt := s.replicas.snapshot()
	c := repair.Count(refs, holders, corrupt, servers)
	c.PendingDeletes, c.Corrupt = int(pending), s.replicas.corruptCount()
	return c, nil
}
