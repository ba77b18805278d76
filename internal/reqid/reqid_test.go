package reqid

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestWithFrom(t *testing.T) {
	ctx := context.Background()
	if From(ctx) != "" {
		t.Fatal("empty context carries an id")
	}
	if With(ctx, "") != ctx {
		t.Fatal("With of an empty id made a new context")
	}
	a := With(ctx, "ABC123")
	b := With(a, "DEF456")
	if From(a) != "ABC123" || From(b) != "DEF456" {
		t.Fatalf("From = %q, %q", From(a), From(b))
	}
}

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"":                            false,
		"17A2C0FFEE00BEEF":            true,
		"1732960000000-9f8e.x_y:z":    true,
		strings.Repeat("a", MaxLen):   true,
		strings.Repeat("a", MaxLen+1): false,
		"a b":                         false,
		"a\nlevel=ERROR":              false,
		"a\"b":                        false,
		"ü":                           false,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, nil))
	Logger(With(context.Background(), "R1"), base).Info("one")
	Logger(context.Background(), base).Info("two")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "request_id=R1") || strings.Contains(lines[1], "request_id") {
		t.Fatalf("log lines:\n%s", buf.String())
	}
}
