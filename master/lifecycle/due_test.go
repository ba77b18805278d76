package lifecycle

import (
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// S3 counts lifecycle days from the midnight (UTC) after a version was
// made; a Date is due from that instant.
func TestDue(t *testing.T) {
	made := time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)
	one := 1
	byDays := &proto.LifecycleExpiration{Days: &one}
	if got := expiry(made, 1); !got.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expiry of a day: %v", got)
	}
	if got := expiry(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 1); !got.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expiry from midnight: %v", got)
	}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 3, 2, 23, 59, 0, 0, time.UTC), false},
		{time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), true},
	} {
		if got := expirationDue(byDays, made, tc.now); got != tc.want {
			t.Errorf("expiration by days at %v: %v", tc.now, got)
		}
		if got := transitionDue(&proto.LifecycleTransition{Days: &one}, made, tc.now); got != tc.want {
			t.Errorf("transition by days at %v: %v", tc.now, got)
		}
	}
	byDate := &proto.LifecycleExpiration{Date: "2026-04-01T00:00:00Z"}
	if expirationDue(byDate, made, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)) || !expirationDue(byDate, made, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("expiration by date")
	}
	if expirationDue(&proto.LifecycleExpiration{}, made, made.AddDate(1, 0, 0)) {
		t.Error("an expiration with neither days nor date is never due")
	}
}
