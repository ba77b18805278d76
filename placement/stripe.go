package placement

import "fmt"

// StripeRequest asks for the servers of a new erasure-coded stripe: K data
// and M parity shards, each on its own server.
type StripeRequest struct {
	// Stripe identifies the stripe (the chunk ID of its first shard); it
	// alone decides the hash order of servers.
	Stripe uint64
	// K and M are the data and parity shard counts, each at least 1.
	K, M int
	// ShardSize is the number of bytes each shard adds to its server.
	ShardSize int64
	// Exclude lists servers that must not be chosen (one that failed a
	// shard write, say). Unknown IDs are ignored.
	Exclude []string
}

func (q *StripeRequest) validate() error {
	if q.K < 1 || q.M < 1 {
		return fmt.Errorf("placement: choose stripe %d: rs-%d-%d, want K and M at least 1: %w", q.Stripe, q.K, q.M, ErrInvalidRequest)
	}
	if q.ShardSize < 0 {
		return fmt.Errorf("placement: choose stripe %d: negative shard size %d: %w", q.Stripe, q.ShardSize, ErrInvalidRequest)
	}
	return nil
}

// ChooseStripe returns K+M distinct servers for a new stripe; server i of
// the answer takes shard i. Eligibility is Choose's (Alive, not excluded,
// room for ShardSize below the full threshold), and so is the rack rule:
// shards are water-filled over the racks, so with R racks that each have
// enough eligible servers no rack takes more than ceil((K+M)/R) shards,
// and in general the fullest rack holds the fewest shards any choice of
// distinct eligible servers allows. Losing one rack therefore loses as few
// shards as the topology permits; with R >= K+M every shard is on its own
// rack. It fails with ErrInvalidRequest, ErrNotEnoughServers (too few
// servers alive and allowed: the error says how many are needed and how
// many are eligible) or ErrNoSpace.
func (r *Ring) ChooseStripe(req StripeRequest) ([]string, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	q := Request{Chunk: req.Stripe, Count: req.K + req.M, Size: req.ShardSize, Exclude: req.Exclude}
	picks, eligible, tally := r.choose(&q)
	if picks == nil {
		what := fmt.Sprintf("choose stripe %d (rs-%d-%d)", req.Stripe, req.K, req.M)
		return nil, shortageOf(what, "distinct servers", q.Count, q.Size, eligible, &tally)
	}
	return picks, nil
}

// ChooseStripe is NewRing followed by Ring.ChooseStripe.
func ChooseStripe(servers []Server, req StripeRequest, opt Options) ([]string, error) {
	r, err := NewRing(servers, opt)
	if err != nil {
		return nil, err
	}
	return r.ChooseStripe(req)
}

// ShardRequest asks for new homes for shards of an existing stripe: shards
// being rebuilt after a loss, or moved off a draining server.
type ShardRequest struct {
	// Stripe identifies the stripe, as in StripeRequest.
	Stripe uint64
	// Count is the number of shards to place; at least 1.
	Count int
	// Holders lists every server that holds a shard of the stripe, in any
	// state, including a shard being moved away and servers with a
	// corrupt shard. None of them is ever chosen, so no server ends up
	// with two shards of one stripe. The racks of the Alive holders count
	// as occupied, one per shard, so the new shards go to the racks with
	// the fewest shards of the stripe; the racks of Draining, Dead and
	// Decommissioned holders count as free, since those shards are going
	// away. A caller that wants a rack freed by a replica about to be
	// deleted (a corrupt one) lists that server in Exclude instead. Unknown
	// IDs are ignored.
	Holders []string
	// Exclude lists further servers that must not be chosen (ones busy
	// with other repairs, say).
	Exclude []string
	// ShardSize is the number of bytes each shard adds to its server.
	ShardSize int64
}

// ChooseShards returns req.Count distinct servers for shards of a stripe,
// none of them a holder, spread over the racks with the fewest shards of
// the stripe (water-filling, as ChooseStripe). It fails like Choose.
func (r *Ring) ChooseShards(req ShardRequest) ([]string, error) {
	q := Request{Chunk: req.Stripe, Count: req.Count, Size: req.ShardSize, Holders: req.Holders, Exclude: req.Exclude}
	if q.Count < 1 || q.Size < 0 {
		return nil, fmt.Errorf("placement: choose shards of stripe %d: count %d, size %d: %w", req.Stripe, q.Count, q.Size, ErrInvalidRequest)
	}
	picks, eligible, tally := r.choose(&q)
	if picks == nil {
		what := fmt.Sprintf("choose shards of stripe %d (%d held)", req.Stripe, len(req.Holders))
		return nil, shortageOf(what, "servers", q.Count, q.Size, eligible, &tally)
	}
	return picks, nil
}

// ChooseShards is NewRing followed by Ring.ChooseShards.
func ChooseShards(servers []Server, req ShardRequest, opt Options) ([]string, error) {
	r, err := NewRing(servers, opt)
	if err != nil {
		return nil, err
	}
	return r.ChooseShards(req)
}
