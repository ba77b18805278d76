package proto

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds of a data policy.
const (
	// MaxCopies bounds N in rep-N.
	MaxCopies = 16
	// MaxStripeShards bounds K+M in rs-K-M; it equals erasure.MaxShards.
	MaxStripeShards = 32
)

// ErrBadPolicy reports a data policy that is malformed or out of bounds.
var ErrBadPolicy = errors.New("invalid data policy")

// DataPolicy says how a chunk's bytes are stored: Copies replicas on
// distinct servers (rep-N), or K data and M parity Reed-Solomon shards on
// K+M distinct servers (rs-K-M). Exactly one form is set: Copies > 0 with
// K = M = 0, or Copies = 0 with K, M > 0. The zero DataPolicy means "not
// set" (a bucket without its own policy uses the cluster's).
//
// It marshals to and from its string form, in JSON and as text; the zero
// value marshals as "".
type DataPolicy struct {
	Copies int
	K, M   int
}

// Replicated returns the policy rep-n (not validated).
func Replicated(n int) DataPolicy { return DataPolicy{Copies: n} }

// ErasureCoded returns the policy rs-k-m (not validated).
func ErasureCoded(k, m int) DataPolicy { return DataPolicy{K: k, M: m} }

// ParseDataPolicy parses "rep-N" (1 <= N <= MaxCopies) or "rs-K-M"
// (K >= 1, M >= 1, K+M <= MaxStripeShards), lower case, decimal numbers
// without signs or leading zeros, so that String gives back the input.
func ParseDataPolicy(s string) (DataPolicy, error) {
	var p DataPolicy
	var err error
	switch {
	case strings.HasPrefix(s, "rep-"):
		p.Copies, err = policyNumber(s[len("rep-"):])
	case strings.HasPrefix(s, "rs-"):
		k, m, ok := strings.Cut(s[len("rs-"):], "-")
		if !ok {
			err = errors.New("want rs-K-M")
			break
		}
		if p.K, err = policyNumber(k); err == nil {
			p.M, err = policyNumber(m)
		}
	default:
		err = errors.New("want rep-N or rs-K-M")
	}
	if err != nil {
		return DataPolicy{}, fmt.Errorf("%w %q: %v", ErrBadPolicy, s, err)
	}
	if err := p.Validate(); err != nil {
		return DataPolicy{}, err
	}
	return p, nil
}

// policyNumber parses a small canonical decimal number.
func policyNumber(s string) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return strconv.Atoi(s)
}

// Validate checks that exactly one form is set and within bounds.
func (p DataPolicy) Validate() error {
	switch {
	case p.Copies != 0 && (p.K != 0 || p.M != 0):
		return fmt.Errorf("%w: both copies (%d) and shards (%d+%d)", ErrBadPolicy, p.Copies, p.K, p.M)
	case p.Copies != 0:
		if p.Copies < 1 || p.Copies > MaxCopies {
			return fmt.Errorf("%w: rep-%d: copies must be 1..%d", ErrBadPolicy, p.Copies, MaxCopies)
		}
	case p.K < 1 || p.M < 1:
		return fmt.Errorf("%w: rs-%d-%d: K and M must be at least 1", ErrBadPolicy, p.K, p.M)
	case p.K+p.M > MaxStripeShards:
		return fmt.Errorf("%w: rs-%d-%d: K+M must be at most %d", ErrBadPolicy, p.K, p.M, MaxStripeShards)
	}
	return nil
}

// IsZero reports whether p is the unset policy.
func (p DataPolicy) IsZero() bool { return p == DataPolicy{} }

// IsErasure reports whether p is an rs-K-M policy.
func (p DataPolicy) IsErasure() bool { return p.Copies == 0 && p.K > 0 }

// Lays reports whether every extent is laid out as p lays new ones:
// stripes of its K and M, or replicated chunks.
func (p DataPolicy) Lays(extents []Extent) bool {
	for _, e := range extents {
		switch {
		case p.IsErasure() && (e.Stripe == nil || e.Stripe.K != p.K || e.Stripe.M != p.M):
			return false
		case !p.IsErasure() && e.Stripe != nil:
			return false
		}
	}
	return true
}

// Servers is the number of distinct servers a chunk needs: N, or K+M.
func (p DataPolicy) Servers() int {
	if p.IsErasure() {
		return p.K + p.M
	}
	return p.Copies
}

// Overhead is stored bytes per logical byte: N, or (K+M)/K. It is 0 for
// the zero policy.
func (p DataPolicy) Overhead() float64 {
	if p.IsErasure() {
		return float64(p.K+p.M) / float64(p.K)
	}
	return float64(p.Copies)
}

// String is "rep-N", "rs-K-M", or "" for the zero policy.
func (p DataPolicy) String() string {
	switch {
	case p.IsZero():
		return ""
	case p.IsErasure():
		return fmt.Sprintf("rs-%d-%d", p.K, p.M)
	default:
		return fmt.Sprintf("rep-%d", p.Copies)
	}
}

// MarshalText is the string form; an invalid non-zero policy is an error.
func (p DataPolicy) MarshalText() ([]byte, error) {
	if p.IsZero() {
		return []byte{}, nil
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses the string form; "" is the zero policy.
func (p *DataPolicy) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = DataPolicy{}
		return nil
	}
	q, err := ParseDataPolicy(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
