package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/audit"
	"github.com/granary-store/granary/internal/syncbuf"
)

// TestAccessAuditLog: every change, allowed or denied, is one JSON line
// naming the user, the key, the action and the outcome; no secret is in
// the log.
func TestAccessAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(audit.Config{Path: path, MaxSize: 1 << 20, MaxFiles: 2}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	e := startAccessWith(t, func(c *gateway.Config) { c.Audit = log })
	ctx := ctxT(t, time.Minute)
	creator := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:CreateBucket","Resource":"*"}]}`
	alice, ak := e.user("alice", creator)
	bob, bk := e.user("bob")
	if err := alice.MakeBucket(ctx, "audited", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.put(alice, "audited", "doc", "v1", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob's PUT", e.put(bob, "audited", "doc", "v2", minio.PutObjectOptions{}), "AccessDenied")
	if _, err := e.get(alice, "audited", "doc"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	find := func(user, action, result string) audit.Record {
		for _, r := range recs {
			if r.User == user && r.Action == action && r.Result == result {
				return r
			}
		}
		t.Fatalf("no audit record of %s %s %s in %+v", user, action, result, recs)
		return audit.Record{}
	}
	put := find("alice", "PutObject", audit.ResultAllowed)
	if put.AccessKey != ak.AccessKey || put.Bucket != "audited" || put.Key != "doc" || put.Status != 200 || put.BytesIn < 2 || put.RequestID == "" || put.Source != "127.0.0.1" {
		t.Fatalf("alice's PUT record: %+v", put)
	}
	find("alice", "CreateBucket", audit.ResultAllowed)
	if d := find("bob", "PutObject", audit.ResultDenied); d.Error != "AccessDenied" || d.Status != 403 || d.AccessKey != bk.AccessKey {
		t.Fatalf("bob's denied PUT record: %+v", d)
	}
	for _, r := range recs {
		if r.Action == "GetObject" {
			t.Fatalf("a read was audited without Reads: %+v", r)
		}
	}
	for _, secret := range []string{ak.SecretKey, bk.SecretKey, rootSecret} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("a secret key is in the audit log")
		}
	}
}

// TestAccessLogLines: with AccessLog every request is one log line with
// its id, operation, status and user, and never its query (a presigned
// URL's signature).
func TestAccessLogLines(t *testing.T) {
	var out syncbuf.Buffer
	_, mc, _ := startS3With(t, func(c *gateway.Config) {
		c.AccessLog = true
		c.Logger = slog.New(slog.NewJSONHandler(&out, nil))
	})
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "logged", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := mc.PresignedGetObject(ctx, "logged", "nothing", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(u.String()); err == nil {
		resp.Body.Close()
	}
	waitFor(t, "two access log lines", func() bool { return strings.Count(out.String(), `"msg":"s3 request"`) >= 2 })
	var sawCreate, sawGet bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != "s3 request" {
			continue
		}
		if strings.Contains(line, "X-Amz-Signature") || strings.Contains(line, rootSecret) {
			t.Fatalf("the access log holds a credential: %s", line)
		}
		switch {
		case l["op"] == "CreateBucket" && l["status"] == float64(200) && l["user"] == "root" && l["request_id"] != "":
			sawCreate = true
		case l["op"] == "GetObject" && l["status"] == float64(404) && l["error"] == "NoSuchKey":
			sawGet = true
		}
	}
	if !sawCreate || !sawGet {
		t.Fatalf("access log lines missing (create %v, get %v):\n%s", sawCreate, sawGet, out.String())
	}
}
