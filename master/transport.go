package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/master/wire"
)

// peers is how this master talks HTTP with other Granary processes, in
// four places: the join call, the health probe of a member, the bearer
// check of incoming calls and the forwarding of a request to the leader;
// scheme and credential come from internal/rpc. cfg is the server's; its
// addresses are final once the server listens.
type peers struct {
	cfg    *Config
	rpc    rpc.Config
	client *http.Client
}

// newPeers builds the transport of a master with cfg. Calls to peers are
// small JSON exchanges, bounded as a whole by peerTimeout.
func newPeers(cfg *Config) *peers {
	rc := rpc.Config{Secret: cfg.ClusterSecret, Insecure: cfg.Insecure, TLS: cfg.TLS}
	hc := rpc.NewClient(rc, rpc.ClientOptions{})
	hc.Timeout = peerTimeout
	return &peers{cfg: cfg, rpc: rc, client: hc}
}

const peerTimeout = 10 * time.Second

// join asks the member at cfg.Join to add this one to the group.
func (p *peers) join(ctx context.Context) error {
	body, _ := json.Marshal(proto.JoinRequest{ID: p.cfg.ID, RaftAddr: p.cfg.RaftAddr, HTTPAddr: p.cfg.HTTPAddr})
	req, err := p.rpc.NewRequest(ctx, http.MethodPost, p.cfg.Join, proto.RouteJoin, bytes.NewReader(body))
	if err != nil {
		return err
	}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.rpc.URL(addr, proto.RouteHealth), nil) // the probe needs no credential
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
	return p.rpc.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, proto.MaxRequestBytes)
		next.ServeHTTP(w, r)
	}))
}

// forward sends a request to the leader (id, HTTP addr) once and relays
// its answer; without a leader to forward to it answers NotLeader.
func (p *peers) forward(w http.ResponseWriter, r *http.Request, id proto.NodeID, addr string) {
	if addr == "" || addr == p.cfg.HTTPAddr || r.Header.Get(proto.HeaderForwarded) != "" {
		wire.WriteError(w, &proto.Error{Code: proto.CodeNotLeader, Message: "this member is not the leader and cannot forward; retry", Retryable: true, Leader: addr, Status: http.StatusServiceUnavailable})
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.rpc.URL(addr, r.URL.RequestURI()), r.Body)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	req.ContentLength = r.ContentLength
	req.Header = r.Header.Clone()
	req.Header.Set(proto.HeaderForwarded, string(p.cfg.ID))
	resp, err := p.client.Do(req)
	if err != nil {
		wire.WriteError(w, &proto.Error{Code: proto.CodeUnavailable, Message: fmt.Sprintf("forward to leader %s: %v", id, err), Retryable: true, Status: http.StatusServiceUnavailable})
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
