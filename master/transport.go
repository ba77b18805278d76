package master

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// peers is how this master talks HTTP with other Granary processes, in
// four places: the join call, the health probe of a member, the bearer
// check of incoming calls and the forwarding of a request to the leader.
// (internal/rpc is to take these over.) cfg is the server's; its addresses
// are final once the server listens.
type peers struct {
	cfg    *Config
	client *http.Client
}

// join asks the member at cfg.Join to add this one to the group.
func (p *peers) join(ctx context.Context) error {
	body, _ := json.Marshal(proto.JoinRequest{ID: p.cfg.ID, RaftAddr: p.cfg.RaftAddr, HTTPAddr: p.cfg.HTTPAddr})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.cfg.Join+proto.RouteJoin, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.ClusterSecret)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("join: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// probe returns the Raft state a member at addr reports on its health
// endpoint, or "unreachable".
func (p *peers) probe(ctx context.Context, addr string) string {
	if addr == "" {
		return "unreachable"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+proto.RouteHealth, nil)
	if err != nil {
		return "unreachable"
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var h proto.Health
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return "unreachable"
	}
	if h.State == "leader" { // a deposed leader that has not noticed yet
		return "follower"
	}
	return h.State
}

// authenticate refuses calls without the cluster secret (unless the
// cluster is insecure) and bounds request bodies.
func (p *peers) authenticate(next http.Handler) http.Handler {
	want := []byte("Bearer " + p.cfg.ClusterSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if !p.cfg.Insecure && subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, &proto.Error{Code: proto.CodeUnauthorized, Message: "missing or wrong cluster secret", Status: http.StatusUnauthorized})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, proto.MaxRequestBytes)
		next.ServeHTTP(w, r)
	})
}

// forward sends a request to the leader (id, HTTP addr) once and relays
// its answer; without a leader to forward to it answers NotLeader.
func (p *peers) forward(w http.ResponseWriter, r *http.Request, id, addr string) {
	if addr == "" || addr == p.cfg.HTTPAddr || r.Header.Get(proto.HeaderForwarded) != "" {
		writeError(w, &proto.Error{Code: proto.CodeNotLeader, Message: "this member is not the leader and cannot forward; retry", Retryable: true, Leader: addr, Status: http.StatusServiceUnavailable})
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	req.ContentLength = r.ContentLength
	req.Header = r.Header.Clone()
	req.Header.Set(proto.HeaderForwarded, p.cfg.ID)
	resp, err := p.client.Do(req)
	if err != nil {
		writeError(w, &proto.Error{Code: proto.CodeUnavailable, Message: fmt.Sprintf("forward to leader %s: %v", id, err), Retryable: true, Status: http.StatusServiceUnavailable})
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
