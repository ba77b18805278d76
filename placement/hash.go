package placement

import "math"

// The hashes below are fixed functions of their input: the same chunk and
// server ID give the same bits in every process, on every platform, in every
// release. Changing any constant here re-places every chunk in a cluster, so
// treat them as a storage format.

const (
	fnvOffset64 = 14695981037810346037
	fnvPrime64  = 1099511628211
)

// Salts keep the hash streams of different decisions independent, so that,
// say, the tiebreak among trim victims is not correlated with placement.
const (
	saltPlace  = 0x9e3779b97f4a7c15
	saltSource = 0xc2b2ae3d27d4eb4f
	saltTrim   = 0x165667b19e3779f9
)

// hashString returns the FNV-1a hash of s, finalized by mix64 so that every
// input bit affects every output bit (plain FNV-1a mixes its last bytes
// poorly, and server IDs often differ only in their last byte).
func hashString(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer: a bijection on 64-bit values with full
// avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// chunkHash spreads a chunk ID (often sequential) over 64 bits.
func chunkHash(chunk, salt uint64) uint64 {
	return mix64(chunk ^ salt)
}

// pairHash combines a chunk hash and a server hash into the per-pair value
// that rendezvous hashing ranks.
func pairHash(chunk, server uint64) uint64 {
	return mix64(chunk ^ server)
}

// raceKey turns a pair hash into an exponentially distributed key with rate
// 1/inv (inv is the inverse of the server's weight). Among several servers
// the smallest key wins with probability proportional to weight, and the
// order of keys is weighted sampling without replacement.
func raceKey(h uint64, inv float64) float64 {
	return negLog(h>>12) * inv
}

// negLog returns -ln(u) for u = (k+0.5)/2^52, which lies in (0, 1) for any
// 52-bit k, with a relative error below 1e-13: plenty for ranking, where
// only the order of keys matters and two keys that close are as good as a
// tie.
//
// It does not call math.Log: that is assembly on amd64 and Go elsewhere, and
// the two may differ in the last bit. Here every step is a single IEEE
// operation, and the explicit float64 conversions forbid the compiler from
// fusing a multiply and an add (which Go otherwise allows on arm64 and
// others), so the result is bit-identical on every platform.
func negLog(k uint64) float64 {
	// x = k+0.5 = m * 2^e exactly, with m in [sqrt(1/2), sqrt(2)): taking
	// the exponent of x/sqrt(1/2) by integer arithmetic on the bits avoids
	// a branch the CPU would mispredict half the time.
	const sqrtHalfBits = 0x3fe6a09e667f3bcd
	bits := math.Float64bits(float64(k) + 0.5)
	e := int64(bits-sqrtHalfBits) >> 52
	m := math.Float64frombits(bits - uint64(e)<<52)
	e -= 52 // u = x / 2^52
	// ln m = 2 atanh(s) = 2s(1 + z/3 + z^2/5 + ... + z^7/15 + ...), with
	// s = (m-1)/(m+1) and z = s^2 < 0.0295: the terms left out add up to
	// less than 3e-14 of the sum. Estrin's scheme keeps the chain short.
	s := (m - 1) / (m + 1)
	z := s * s
	z2 := float64(z * z)
	z4 := float64(z2 * z2)
	a0 := float64(z*(1.0/3)) + 1
	a1 := float64(z*(1.0/7)) + 1.0/5
	a2 := float64(z*(1.0/11)) + 1.0/9
	a3 := float64(z*(1.0/15)) + 1.0/13
	b0 := float64(z2*a1) + a0
	b1 := float64(z2*a3) + a2
	p := float64(z4*b1) + b0
	lnm := float64(2*s) * p
	return -(float64(float64(e)*math.Ln2) + lnm)
}
