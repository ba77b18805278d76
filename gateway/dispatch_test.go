package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/gateway"
)

// implemented lists, independently of the dispatch table, the calls the
// gateway serves: method, target and subresources. Everything else must
// be refused without touching data.
var implemented = []string{
	"GET SERVICE ",
	"GET BUCKET ", "HEAD BUCKET ", "PUT BUCKET ", "DELETE BUCKET ",
	"POST BUCKET delete", "POST BUCKET ", "GET BUCKET location", "GET BUCKET uploads", "GET BUCKET versioning",
	"GET OBJECT ", "HEAD OBJECT ", "PUT OBJECT ", "DELETE OBJECT ",
	"POST OBJECT uploads", "POST OBJECT uploadId", "PUT OBJECT partNumber&uploadId",
	"DELETE OBJECT uploadId", "GET OBJECT uploadId",
	"GET OBJECT partNumber", "HEAD OBJECT partNumber", "GET OBJECT attributes",
	"GET OBJECT tagging", "PUT OBJECT tagging", "DELETE OBJECT tagging",
	"GET BUCKET tagging", "PUT BUCKET tagging", "DELETE BUCKET tagging",
	"GET BUCKET cors", "PUT BUCKET cors", "DELETE BUCKET cors",
	"GET BUCKET lifecycle", "PUT BUCKET lifecycle", "DELETE BUCKET lifecycle",
	"PUT BUCKET versioning", "GET BUCKET versions",
	"GET BUCKET object-lock", "PUT BUCKET object-lock",
	"GET OBJECT retention", "PUT OBJECT retention", "GET OBJECT legal-hold", "PUT OBJECT legal-hold",
	"GET BUCKET acl", "PUT BUCKET acl", "GET OBJECT acl", "PUT OBJECT acl",
	"GET BUCKET policy", "PUT BUCKET policy", "DELETE BUCKET policy", "GET BUCKET policyStatus",
	"GET BUCKET ownershipControls", "PUT BUCKET ownershipControls", "DELETE BUCKET ownershipControls",
	"GET BUCKET publicAccessBlock", "PUT BUCKET publicAccessBlock", "DELETE BUCKET publicAccessBlock",
}

// byVersion are the implemented calls that take a versionId (a modifier,
// not a subresource: the table lists them without it).
var byVersion = []string{"GET OBJECT versionId", "HEAD OBJECT versionId", "DELETE OBJECT versionId",
	"GET OBJECT retention&versionId", "PUT OBJECT retention&versionId", "GET OBJECT legal-hold&versionId", "PUT OBJECT legal-hold&versionId",
	"GET OBJECT acl&versionId", "PUT OBJECT acl&versionId",
	"GET OBJECT tagging&versionId", "PUT OBJECT tagging&versionId", "DELETE OBJECT tagging&versionId"}

func TestDispatchTableMatchesImplementedList(t *testing.T) {
	var got []string
	for _, o := range gateway.Ops() {
		if o.Implemented {
			got = append(got, o.Method+" "+o.Target+" "+o.Sub)
		}
	}
	want := slices.Clone(implemented)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("implemented operations changed:\n got %q\nwant %q\n(update this test's list with the handler's own tests)", got, want)
	}
}

// fixture is a bucket "keep" holding one object and an empty bucket
// "empty"; check fails the test if anything about them changed.
type fixture struct {
	mc   *minio.Client
	addr string
	etag string
}

var fixtureBody = []byte("the bytes that must survive every refused request")

func newFixture(t testing.TB) *fixture {
	_, mc, addr := startS3With(t, nil)
	ctx := ctxT(t, time.Minute)
	f := &fixture{mc: mc, addr: addr}
	for _, b := range []string{"keep", "empty"} {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.restore(t)
	return f
}

// restore puts the fixture object back (after an implemented request that
// was allowed to change it).
func (f *fixture) restore(t testing.TB) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	info, err := f.mc.PutObject(ctx, "keep", "obj", bytes.NewReader(fixtureBody), int64(len(fixtureBody)),
		minio.PutObjectOptions{ContentType: "text/plain", UserMetadata: map[string]string{"color": "blue"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"keep", "empty"} {
		if err := f.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			t.Fatal(err)
		}
	}
	for o := range f.mc.ListObjects(ctx, "keep", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil && o.Key != "obj" {
			f.mc.RemoveObject(ctx, "keep", o.Key, minio.RemoveObjectOptions{})
		}
	}
	f.etag = info.ETag
}

func (f *fixture) check(t testing.TB, after string) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	obj, err := f.mc.GetObject(ctx, "keep", "obj", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("after %s: %v", after, err)
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("after %s: object unreadable: %v", after, err)
	}
	st, err := obj.Stat()
	if err != nil {
		t.Fatalf("after %s: %v", after, err)
	}
	if !bytes.Equal(data, fixtureBody) || st.ETag != f.etag || st.UserMetadata["Color"] != "blue" || st.ContentType != "text/plain" {
		t.Fatalf("after %s: object changed: %q etag %s meta %v type %s", after, data, st.ETag, st.UserMetadata, st.ContentType)
	}
	bs, err := f.mc.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("after %s: %v", after, err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, []string{"empty", "keep"}) {
		t.Fatalf("after %s: buckets are %v", after, names)
	}
	for b, want := range map[string][]string{"keep": {"obj"}, "empty": nil} {
		var keys []string
		for o := range f.mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("after %s: list %s: %v", after, b, o.Err)
			}
			keys = append(keys, o.Key)
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("after %s: bucket %s holds %v", after, b, keys)
		}
	}
}

// query builds a query string naming the subresources in sub ("a&b").
func query(sub string) string {
	if sub == "" {
		return ""
	}
	var parts []string
	for _, k := range strings.Split(sub, "&") {
		switch k {
		case "partNumber":
			parts = append(parts, "partNumber=1")
		case "uploadId":
			parts = append(parts, "uploadId=AAAAAAAAAAAAAAAA")
		case "versionId":
			parts = append(parts, "versionId=null")
		case "select-type":
			parts = append(parts, "select-type=2")
		default:
			parts = append(parts, k)
		}
	}
	return "?" + strings.Join(parts, "&")
}

// TestRefusedCallsChangeNothing walks every subresource x method x target:
// each call not implemented is refused with NotImplemented or
// MethodNotAllowed, and the buckets, the object's bytes, ETag and
// metadata are unchanged afterwards.
func TestRefusedCallsChangeNothing(t *testing.T) {
	f := newFixture(t)
	targets := []struct{ name, path string }{
		{"SERVICE", "/"}, {"BUCKET", "/keep"}, {"BUCKET", "/empty/"}, {"OBJECT", "/keep/obj"},
	}
	subs := append([]string{""}, gateway.Subresources()...)
	subs = append(subs, "select&select-type", "partNumber&uploadId", "acl&tagging", "tagging&versionId", "uploads&versionId")
	methods := []string{"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}
	refused := 0
	for _, tg := range targets {
		for _, sub := range subs {
			for _, m := range methods {
				if slices.Contains(implemented, m+" "+tg.name+" "+sub) || slices.Contains(byVersion, m+" "+tg.name+" "+sub) {
					continue
				}
				if m == "OPTIONS" && tg.name != "SERVICE" {
					continue // a CORS preflight, whatever the query (cors_test.go)
				}
				what := m + " " + tg.path + query(sub)
				var body []byte
				if m == "PUT" || m == "POST" {
					body = []byte("<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
				}
				status, e := send(t, newReq(t, m, "http://"+f.addr+tg.path+query(sub), body), rootAccess, rootSecret, true)
				switch {
				case status == 501 && (m == "HEAD" || e.Code == "NotImplemented"):
				case status == 405 && (m == "HEAD" || e.Code == "MethodNotAllowed"):
				default:
					t.Fatalf("%s: %d %s, want a refusal (501 NotImplemented or 405 MethodNotAllowed)", what, status, e.Code)
				}
				refused++
				if m != "GET" && m != "HEAD" {
					f.check(t, what)
				}
			}
		}
	}
	f.check(t, "the walk")
	t.Logf("%d refused calls, nothing changed", refused)
}

// TestRefusedHeadersAndParams: writes whose headers ask for what the
// gateway does not do (encryption, tags, object lock, grants) or that carry
// query parameters it does not know are refused and store nothing.
func TestRefusedHeadersAndParams(t *testing.T) {
	f := newFixture(t)
	obj := "http://" + f.addr + "/keep/obj"
	cases := []struct {
		method, url, header, value string
	}{
		{"PUT", obj, "X-Amz-Server-Side-Encryption", "AES256"},
		{"DELETE", obj, "X-Amz-Tagging", "a=b"},
		{"PUT", obj + "?tagging", "X-Amz-Tagging", "a=b"},
		{"DELETE", obj, "X-Amz-Object-Lock-Mode", "COMPLIANCE"},
		{"POST", obj + "?uploads", "X-Amz-Server-Side-Encryption", "aws:kms"},
		{"PUT", obj, "X-Amz-Bucket-Object-Lock-Enabled", "true"},
		{"PUT", obj + "?unknown-thing=1", "", ""},
		{"DELETE", obj + "?frobnicate", "", ""},
		{"DELETE", "http://" + f.addr + "/empty?id=x", "", ""},
	}
	for _, c := range cases {
		req := newReq(t, c.method, c.url, []byte("replacement bytes"))
		if c.header != "" {
			req.Header.Set(c.header, c.value)
		}
		status, e := send(t, req, rootAccess, rootSecret, true)
		if status != 501 || e.Code != "NotImplemented" {
			t.Fatalf("%s %s with %s: %d %s, want 501 NotImplemented", c.method, c.url, c.header, status, e.Code)
		}
		f.check(t, c.method+" "+c.url+" "+c.header)
	}
	// ACLs beyond the owner's full control on a bucket with ACLs disabled
	// (BucketOwnerEnforced, the default) are refused as S3 refuses them.
	for _, h := range [][2]string{{"X-Amz-Grant-Read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"}, {"X-Amz-Acl", "public-read"}} {
		req := newReq(t, "PUT", obj, []byte("replacement bytes"))
		req.Header.Set(h[0], h[1])
		if status, e := send(t, req, rootAccess, rootSecret, true); status != 400 || e.Code != "AccessControlListNotSupported" {
			t.Fatalf("PUT with %s: %d %s, want 400 AccessControlListNotSupported", h[0], status, e.Code)
		}
		f.check(t, "PUT with "+h[0])
	}
	// The values the gateway does honour are accepted.
	req := newReq(t, "PUT", obj, fixtureBody)
	req.Header.Set("X-Amz-Acl", "private")
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Amz-Meta-Color", "blue")
	if status, e := send(t, req, rootAccess, rootSecret, true); status != 200 {
		t.Fatalf("PUT with x-amz-acl: private: %d %s", status, e.Code)
	}
	f.check(t, "a PUT of the same bytes")
}

// TestAWSCLIRefusedCalls: the calls a new user tried with the AWS CLI fail
// with NotImplemented and leave the data intact.
func TestAWSCLIRefusedCalls(t *testing.T) {
	aws := need(t, awsCLI)
	f := newFixture(t)
	env := awsEnv(t.TempDir())
	ep := "--endpoint-url=http://" + f.addr
	calls := [][]string{
		{"get-bucket-website", "--bucket", "keep"},
		{"delete-bucket-website", "--bucket", "empty"},
	}
	for _, call := range calls {
		args := append([]string{ep, "s3api"}, call...)
		cmd := exec.Command(aws, args...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "NotImplemented") {
			t.Fatalf("aws s3api %s: err %v, want a NotImplemented failure:\n%s", call[0], err, out)
		}
		f.check(t, "aws s3api "+call[0])
	}
	out := runCLI(t, env, aws, ep, "s3api", "get-bucket-versioning", "--bucket", "keep")
	if strings.Contains(out, "Enabled") || strings.Contains(out, "Suspended") {
		t.Fatalf("get-bucket-versioning of a never-versioned bucket: %s", out)
	}
}

// FuzzUnknownRequests sends random query strings with DELETE, PUT and POST
// at an existing object and bucket: a refused request changes nothing; an
// implemented one may, and the fixture is put back after it.
func FuzzUnknownRequests(f *testing.F) {
	for _, seed := range []string{"tagging", "cors", "retention", "acl&versionId=1", "x-id=PutObject",
		"uploads", "delete", "policy=", "partNumber=2", "tagging&uploads", "versions", "%ZZ", "a=b&c"} {
		for m := range 3 {
			for tg := range 2 {
				f.Add(uint8(m), uint8(tg), seed)
			}
		}
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, m, tg uint8, rawQuery string) {
		method := []string{"DELETE", "PUT", "POST"}[int(m)%3]
		path, target := "/keep/obj", "OBJECT"
		if tg%2 == 1 {
			path, target = "/empty", "BUCKET"
		}
		u := "http://" + fx.addr + path + "?" + rawQuery
		req, err := http.NewRequest(method, u, nil)
		if err != nil || strings.ContainsAny(rawQuery, "# \t\r\n") {
			return // not a request a client can send
		}
		_, ok := gateway.Classify(req, target)
		req = newReq(t, method, u, []byte("<Delete><Object><Key>obj</Key></Object></Delete>"))
		status, _ := send(t, req, rootAccess, rootSecret, true)
		if ok {
			fx.restore(t)
			return
		}
		if status < 400 {
			t.Fatalf("%s %s: refused by the table yet answered %d", method, u, status)
		}
		fx.check(t, method+" "+u)
	})
}
