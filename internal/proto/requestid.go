package proto

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// A request id names one logical call to the master: the client sends the
// same id on every attempt, so an attempt that reaches the master late (held
// in a paused member's socket buffer, say) after a retry already succeeded
// is answered with the first outcome instead of being applied again.
//
//	<issue time, Unix milliseconds, 12 hex digits>-<128 random bits, 32 hex digits>
//
// The issue time lets the master refuse ids too old to still be in its
// record of applied ids.
const requestIDLen = 12 + 1 + 32

// NewRequestID returns a fresh id issued at now.
func NewRequestID(now time.Time) string {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(fmt.Sprintf("proto: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return fmt.Sprintf("%012x-%s", now.UnixMilli(), hex.EncodeToString(r[:]))
}

// ParseRequestID checks an id's form and returns its issue time.
func ParseRequestID(id string) (time.Time, error) {
	ok := len(id) == requestIDLen && id[12] == '-'
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = i == 12 || '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	ms, err := strconv.ParseInt(id[:min(12, len(id))], 16, 64)
	if !ok || err != nil {
		return time.Time{}, fmt.Errorf("request id %q: want 12 hex digits of Unix milliseconds, '-', 32 hex digits: %w", truncate(id), ErrInvalidName)
	}
	return time.UnixMilli(ms), nil
}
