package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// fuzzReader hands out bytes and yields zeros when they run out.
type fuzzReader []byte

func (r *fuzzReader) byte() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

func (r *fuzzReader) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = r.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// amount decodes a byte count: mostly small multiples of unit, sometimes
// extremes.
func (r *fuzzReader) amount(scale int64) int64 {
	switch b := r.byte(); b {
	case 255:
		return math.MaxInt64
	case 254:
		return -1
	default:
		return int64(b%32) * scale
	}
}

// decodeCluster turns fuzz bytes into servers, a request and options.
// Duplicate IDs, bad states, negative and extreme sizes are all reachable.
func decodeCluster(data []byte) ([]Server, Request, Options) {
	r := fuzzReader(data)
	opt := DefaultOptions()
	if b := r.byte(); b >= 200 {
		opt.FullThreshold = float64(b-200) / 50 // 0 .. 1.1
		opt.LoadBias = float64(r.byte()) / 200  // 0 .. 1.3
	}
	servers := make([]Server, r.byte()%24)
	for i := range servers {
		s := &servers[i]
		s.ID = fmt.Sprintf("s%d", i+8) // unique, unless the byte says otherwise
		if b := r.byte(); b < 8 {
			s.ID = fmt.Sprintf("s%d", b)
		} else if b == 8 {
			s.ID = ""
		}
		if rk := r.byte() % 6; rk < 5 {
			s.Rack = fmt.Sprintf("r%d", rk)
		}
		s.Capacity = r.amount(unit)
		s.Used = r.amount(unit / 8)
		s.State = [16]State{10: Draining, 11: Dead, 12: Decommissioned, 13: 4, 14: -1}[r.byte()%16]
		s.Load = float64(r.byte()) / 200
		if s.Load > 1.2 {
			s.Load = math.NaN()
		}
	}
	req := Request{Chunk: r.uint64(), Count: 1 + int(r.byte()%8), Size: r.amount(unit / 16)}
	if req.Count == 8 {
		req.Count = int(int8(r.byte())) // any, including zero and negative
	}
	for range r.byte() % 4 {
		req.Exclude = append(req.Exclude, fmt.Sprintf("s%d", r.byte()%34))
	}
	for range r.byte() % 4 {
		req.Holders = append(req.Holders, fmt.Sprintf("s%d", r.byte()%34))
	}
	return servers, req, opt
}

// inputErrors lists the input errors the cluster may produce (either one,
// when it has several faults); none for valid input.
func inputErrors(servers []Server, opt Options) []error {
	if opt.Validate() != nil {
		return []error{ErrInvalidOptions}
	}
	var errs []error
	seen := map[string]bool{}
	for _, s := range servers {
		if s.ID == "" || s.Capacity < 0 || s.Used < 0 || !s.State.valid() {
			errs = append(errs, ErrInvalidServer)
		}
		if seen[s.ID] {
			errs = append(errs, ErrDuplicateID)
		}
		seen[s.ID] = true
	}
	return errs
}

func FuzzChoose(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 6, 1, 0, 4, 0, 0, 0, 2, 1, 4, 0, 0, 0, 3, 2, 4, 0, 0, 0, 4, 0, 4, 0, 0, 0, 5, 1, 4, 0, 0, 0, 6, 2, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 5, 1, 2})
	f.Add([]byte{0, 3, 1, 0, 255, 255, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 254, 0, 4, 0, 9, 9, 9, 9, 9, 9, 9, 9, 2, 255})
	f.Add([]byte{230, 150, 5, 1, 1, 8, 4, 0, 100, 2, 2, 8, 4, 2, 100, 3, 3, 8, 4, 0, 255, 4, 4, 8, 4, 1, 0, 1, 1, 8, 4, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		servers, req, opt := decodeCluster(data)
		got, err := Choose(servers, req, opt)
		if want := inputErrors(servers, opt); len(want) > 0 || errors.Is(err, ErrInvalidOptions) ||
			errors.Is(err, ErrInvalidServer) || errors.Is(err, ErrDuplicateID) {
			if !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }) {
				t.Fatalf("Choose = %v, %v; want one of %v", got, err, want)
			}
			return
		}
		if cerr := checkPlacement(servers, req, opt, got, err); cerr != nil {
			t.Fatalf("%+v %+v: %v\nservers %+v", req, opt, cerr, servers)
		}
		// The other entry points must not panic on the same cluster.
		holders := append(got, req.Holders...)
		_, _ = ChooseSource(servers, holders, req.Chunk)
		_, _ = ChooseTrim(servers, holders, max(1, req.Count-1), req.Chunk)
		_ = PlanBalance(servers, []ChunkInfo{{ID: req.Chunk, Size: req.Size, Holders: holders}}, 0.1, 5)
	})
}
