package usage

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// A version takes its replicated extents times the copies, its stripes'
// data times (K+M)/K rounded up, and inline data once.
func TestStoredBytes(t *testing.T) {
	stripe := &proto.Stripe{K: 4, M: 2}
	cases := []struct {
		name string
		o    proto.Object
		want int64
	}{
		{"inline", proto.Object{Size: 100, Inline: make([]byte, 100)}, 100},
		{"replicated", proto.Object{Size: 300, Extents: []proto.Extent{{Length: 100}, {Length: 200}}}, 900},
		{"striped", proto.Object{Size: 9, Extents: []proto.Extent{{Length: 9, Stripe: stripe}}}, 14}, // 13.5 rounded up
		{"mixed", proto.Object{Size: 108, Extents: []proto.Extent{{Length: 100}, {Length: 8, Stripe: stripe}}}, 312},
	}
	for _, tc := range cases {
		if got := storedBytes(&tc.o, 3); got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.name, got, tc.want)
		}
	}
}
