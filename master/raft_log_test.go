package master

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Raft's log calls reach slog once, at their own level, with their
// key-value pairs as attributes: no "[INFO]  raft:" prefix inside a slog
// line, and no debug lines when the handler takes Info and up.
func TestRaftLogsAreNotDoubleLevelled(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "127.0.0.1:1", "last-leader-id", "m2")
	l.Info("entering leader state", "leader", hclog.Fmt("%s%d", "m", 1))
	l.Debug("sent heartbeat", "peer", "m3")
	l.Named("snapshot").Error("failed to take snapshot", "error", "disk full")
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		lines = append(lines, m)
	}
	want := []struct{ level, msg, key, value string }{
		{"WARN", "heartbeat timeout reached, starting election", "last-leader-id", "m2"},
		{"INFO", "entering leader state", "leader", "m1"},
		{"ERROR", "failed to take snapshot", "logger", "raft.snapshot"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d (the debug line dropped): %s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		m := lines[i]
		if m["level"] != w.level || m["msg"] != w.msg || m[w.key] != w.value || m["component"] != "raft" {
			t.Errorf("line %d = %v, want level %s, msg %q, %s=%s, component raft", i, m, w.level, w.msg, w.key, w.value)
		}
		if msg, _ := m["msg"].(string); strings.Contains(msg, "[") {
			t.Errorf("line %d carries hclog's level text: %q", i, msg)
		}
	}
}
