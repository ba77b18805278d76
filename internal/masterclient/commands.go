package masterclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Commands is a chunk server's long poll for work: the leader answers as
// soon as it queues commands for server id, or after wait with none. wait
// must stay below the attempt timeout.
func (c *Client) Commands(ctx context.Context, id proto.NodeID, wait time.Duration) ([]proto.Command, error) {
	var res proto.CommandPoll
	q := url.Values{"waitMs": {strconv.FormatInt(wait.Milliseconds(), 10)}}
	err := c.Call(ctx, http.MethodGet, proto.RouteChunkServers+"/"+url.PathEscape(string(id))+"/commands", q, nil, &res)
	return res.Commands, err
}
