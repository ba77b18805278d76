// Package reqid carries the id of an outside request, the S3 request id a
// gateway answers with (x-amz-request-id), through every call that request
// causes: in a context inside a process (With, From), in the Header of
// calls between processes (internal/rpc sets it on every call it sends and
// puts it back into the context of every call it serves), and as the
// request_id attribute (Key) of the log lines those calls write.
//
// The id is for following a request through the logs of several processes
// and nothing else. It is not the master's at-most-once id
// (proto.HeaderRequestID), which names one change and stays the same on
// every retry of it; one S3 request causes many changes and reads, each
// with its own dedup id and all with the same reqid.
package reqid

import (
	"context"
	"log/slog"
)

// Header is the HTTP header that carries the id between processes.
const Header = "X-Granary-Trace-Id"

// Key is the log attribute that holds the id.
const Key = "request_id"

// MaxLen is the longest id Valid accepts.
const MaxLen = 64

type ctxKey struct{}

// With returns ctx carrying id. An empty id leaves ctx as it is.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Valid reports whether id, taken from another process's header, may be
// used: 1 to MaxLen letters, digits, '-', '_', '.' or ':'. Anything else is
// dropped rather than copied into log lines.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// Logger returns logger with the id of ctx as its Key attribute, or logger
// itself when ctx carries none.
func Logger(ctx context.Context, logger *slog.Logger) *slog.Logger {
	if id := From(ctx); id != "" {
		return logger.With(Key, id)
	}
	return logger
}
