package master_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestBadInputChangesNothing sends malformed and hostile requests straight
// over HTTP and checks each gets a clear error and leaves the state alone.
func TestBadInputChangesNothing(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1})
	cl := c.Client()
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "intact"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Commit(ctx, inline("intact", "k", "v")); err != nil {
		t.Fatal(err)
	}
	leader := c.Leader()
	before := leader.Server().AppliedIndex()
	base := "http://" + leader.HTTPAddr
	auth := "Bearer " + testcluster.Secret
	long := strings.Repeat("x", 1025)
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		code                           proto.Code
	}{
		{"no secret", "PUT", "/v1/buckets/newbucket", "", "", 401, proto.CodeUnauthorized},
		{"wrong secret", "PUT", "/v1/buckets/newbucket", "Bearer wrong-secret-wrong-secret", "", 401, proto.CodeUnauthorized},
		{"secret without scheme", "PUT", "/v1/buckets/newbucket", testcluster.Secret, "", 401, proto.CodeUnauthorized},
		{"malformed json", "POST", "/v1/objects/commit", auth, `{"object": {"bucket": "intact",`, 400, proto.CodeBadRequest},
		{"trailing json", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"z"}} {}`, 400, proto.CodeBadRequest},
		{"unknown field", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"z"},"evil":1}`, 400, proto.CodeBadRequest},
		{"wrong type", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":7}}`, 400, proto.CodeBadRequest},
		{"invalid bucket name", "PUT", "/v1/buckets/Not_Valid", auth, "", 400, proto.CodeBadRequest},
		{"ip bucket name", "PUT", "/v1/buckets/192.168.1.1", auth, "", 400, proto.CodeBadRequest},
		{"short bucket name", "PUT", "/v1/buckets/ab", auth, "", 400, proto.CodeBadRequest},
		{"empty key", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":""}}`, 400, proto.CodeBadRequest},
		{"long key", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"` + long + `"}}`, 400, proto.CodeBadRequest},
		{"nul in key", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"a\u0000b"}}`, 400, proto.CodeBadRequest},
		{"oversized metadata", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"m","meta":{"a":"` + strings.Repeat("v", 3000) + `"}}}`, 413, proto.CodeTooLarge},
		{"oversized body", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"m","inline":"` + strings.Repeat("QUFB", 3<<20) + `"}}`, 413, proto.CodeTooLarge},
		{"negative size", "POST", "/v1/objects/commit", auth, `{"object":{"bucket":"intact","key":"n","size":-1}}`, 400, proto.CodeBadRequest},
		{"bad max-keys", "GET", "/v1/objects/list?bucket=intact&max-keys=-3", auth, "", 400, proto.CodeBadRequest},
		{"allocate zero", "POST", "/v1/chunks/allocate", auth, `{"count":0}`, 400, proto.CodeBadRequest},
		{"allocate too many", "POST", "/v1/chunks/allocate", auth, `{"count":100000000}`, 400, proto.CodeBadRequest},
		{"bad join", "POST", "/v1/cluster/join", auth, `{"id":"../x","raftAddr":"a","httpAddr":"b"}`, 400, proto.CodeBadRequest},
		{"bad chunk server id", "POST", "/v1/chunkservers", auth, `{"id":"cs 1","address":"127.0.0.1:1"}`, 400, proto.CodeBadRequest},
		{"tags not canonical", "POST", "/v1/objects/tags", auth, `{"bucket":"intact","key":"k","tagging":"b=1&a=2"}`, 400, proto.CodeBadRequest},
		{"bucket tags too many", "POST", "/v1/bucketconfig", auth, `{"bucket":"intact","tags":{` + manyTags(51) + `}}`, 400, proto.CodeBadRequest},
		{"cors bad method", "POST", "/v1/bucketconfig", auth, `{"bucket":"intact","cors":[{"allowedOrigins":["*"],"allowedMethods":["TRACE"]}]}`, 400, proto.CodeBadRequest},
		{"unknown route", "GET", "/v1/nothing", auth, "", 404, proto.CodeNotFound},
		{"wrong method", "PATCH", "/v1/buckets/intact", auth, "", 405, proto.CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var e proto.Error
			if err := json.Unmarshal(raw, &e); err != nil || e.Message == "" {
				t.Fatalf("status %d, body %q is not a JSON error", resp.StatusCode, raw)
			}
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Code, e.Message, tc.status, tc.code)
			}
		})
	}
	if after := leader.Server().AppliedIndex(); after != before {
		t.Errorf("refused requests moved the applied index from %d to %d", before, after)
	}
	bs, err := cl.Buckets(ctx)
	if err != nil || len(bs) != 1 || bs[0].Name != "intact" {
		t.Fatalf("buckets after bad input: %+v %v", bs, err)
	}
	o, err := cl.Stat(ctx, "intact", "k")
	if err != nil || string(o.Inline) != "v" {
		t.Fatalf("object after bad input: %+v %v", o, err)
	}
}

// manyTags is n JSON tag members.
func manyTags(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"k%d":"v"`, i))
	}
	return strings.Join(parts, ",")
}

func TestJoinAndRemoveMember(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	ctx := ctxT(t, 30*time.Second)
	cl := c.Client()
	victim := c.Nodes()[2]
	if victim == c.Leader() {
		victim = c.Nodes()[1]
	}
	if err := cl.RemoveMember(ctx, victim.ID); err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status(ctx)
	if err != nil || len(st.Members) != 2 {
		t.Fatalf("status after removal: %+v %v", st.Members, err)
	}
	for _, m := range st.Members {
		if m.ID == victim.ID {
			t.Fatalf("%s still listed", victim.ID)
		}
		if m.State != "leader" && m.State != "follower" {
			t.Fatalf("member %s state %q", m.ID, m.State)
		}
	}
	if err := cl.CreateBucket(ctx, "after-removal"); err != nil {
		t.Fatal(err)
	}
}

// TestLateAttemptIsNotAppliedAgain replays the attempt a client gave up on
// (held by a paused member, which forwards it to the leader once it runs
// again) after the retry succeeded and the client went on: the master
// answers with the first outcome and the later write stays.
func TestLateAttemptIsNotAppliedAgain(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	cl := c.Client()
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes() {
		if n != leader {
			follower = n
		}
	}
	id := proto.NewRequestID(time.Now())
	send := func(addr string) (int, proto.Object) {
		t.Helper()
		body := `{"object":{"bucket":"late","key":"k","size":5,"inline":"Zmlyc3Q="}}` // "first"
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+proto.RouteObjectCommit, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testcluster.Secret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(proto.HeaderRequestID, id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o proto.Object
		json.NewDecoder(resp.Body).Decode(&o)
		return resp.StatusCode, o
	}
	status, first := send(leader.HTTPAddr)
	if status != http.StatusOK || first.Version == 0 {
		t.Fatalf("first attempt: %d %+v", status, first)
	}
	second, err := cl.Commit(ctx, inline("late", "k", "second"))
	if err != nil {
		t.Fatal(err)
	}
	status, again := send(follower.HTTPAddr) // forwarded to the leader
	if status != http.StatusOK || again.Version != first.Version {
		t.Fatalf("late attempt answered %d version %d, want 200 and the first answer's version %d", status, again.Version, first.Version)
	}
	o, err := cl.Stat(ctx, "late", "k")
	if err != nil || string(o.Inline) != "second" || o.Version != second.Version {
		t.Fatalf("after the late attempt k = %q at version %d (%v), want the later write %q at %d", o.Inline, o.Version, err, "second", second.Version)
	}
	// A malformed id is refused before anything is proposed.
	id = "not-an-id"
	if status, _ := send(leader.HTTPAddr); status != http.StatusBadRequest {
		t.Fatalf("malformed request id: status %d, want 400", status)
	}
}
