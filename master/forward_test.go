package master_test

import (
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestFollowersForwardToTheLeader sends every kind of call to a follower
// only: writes are forwarded, consistent reads are answered by the leader.
func TestFollowersForwardToTheLeader(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes() {
		if n != leader {
			follower = n
			break
		}
	}
	cl := c.PinnedClient(follower)
	ctx := ctxT(t, 20*time.Second)
	if err := cl.CreateBucket(ctx, "via-follower"); err != nil {
		t.Fatalf("create bucket (empty body) through a follower: %v", err)
	}
	if _, err := cl.Commit(ctx, inline("via-follower", "k", "v")); err != nil {
		t.Fatal(err)
	}
	o, err := cl.Stat(ctx, "via-follower", "k") // read-after-write through the follower
	if err != nil || string(o.Inline) != "v" {
		t.Fatalf("stat: %+v %v", o, err)
	}
	l, err := cl.Locate(ctx, "via-follower", "k") // a raw-inline answer, forwarded
	if err != nil || string(l.Object.Inline) != "v" {
		t.Fatalf("locate: %+v %v", l, err)
	}
	res, err := cl.List(ctx, proto.ListRequest{Bucket: "via-follower"})
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("list: %+v %v", res, err)
	}
	st, err := cl.Status(ctx)
	if err != nil || st.Leader != leader.ID {
		t.Fatalf("status through follower: leader %q, err %v", st.Leader, err)
	}
	ids, err := cl.AllocateChunks(ctx, 3)
	if err != nil || len(ids) != 3 || ids[0] == 0 || ids[1] != ids[0]+1 {
		t.Fatalf("allocate: %v %v", ids, err)
	}
}
