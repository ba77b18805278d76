package chunkserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// TestCopyChunkStalledSource: a single-chunk copy (a chunk too large to
// batch) whose source stops sending, before its answer or inside the
// chunk, is cut off after IdleTimeout rather than holding its copy slot
// for as long as the server runs.
func TestCopyChunkStalledSource(t *testing.T) {
	dst := startServer(t, "dst", func(cfg *Config) { cfg.IdleTimeout = 300 * time.Millisecond })
	for name, send := range map[string]bool{"before the answer": false, "inside the chunk": true} {
		t.Run(name, func(t *testing.T) {
			cmd := proto.Command{Op: proto.CmdCopy, Chunk: 9, Source: fakeSource(t, func(w http.ResponseWriter, r *http.Request) {
				if send {
					w.Header().Set("Content-Length", "100000")
					w.WriteHeader(http.StatusOK)
					w.Write(make([]byte, 1000))
					http.NewResponseController(w).Flush()
				}
				<-r.Context().Done()
			})}
			start := time.Now()
			err := dst.copyChunk(cmd)
			// Before the answer, the peers' transport bounds the wait for
			// headers by the same IdleTimeout: whichever of the two fires
			// first cuts the copy.
			cut := err != nil && (strings.Contains(fmt.Sprint(err), "no bytes for 300ms") ||
				!send && strings.Contains(fmt.Sprint(err), "timeout awaiting response headers"))
			if !cut {
				t.Fatalf("copyChunk = %v; want the idle cut", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the stall was cut after %v", took)
			}
			lacks(t, dst, 9)
		})
	}
}
