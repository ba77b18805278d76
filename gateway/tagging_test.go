package gateway_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// roundTrip signs and sends req and returns the whole answer.
func roundTrip(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func mustTags(t testing.TB, m map[string]string, object bool) *tags.Tags {
	t.Helper()
	tg, err := tags.NewTags(m, object)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestS3ObjectTagging(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "tagged", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte("tagged bytes")
	info, err := mc.PutObject(ctx, "tagged", "a", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserTags: map[string]string{"project": "granary", "tier": "hot data"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := mc.StatObject(ctx, "tagged", "a", minio.StatObjectOptions{})
	if err != nil || st.UserTagCount != 2 {
		t.Fatalf("stat after a tagged PUT: count %d, %v", st.UserTagCount, err)
	}
	got, err := mc.GetObjectTagging(ctx, "tagged", "a", minio.GetObjectTaggingOptions{})
	if err != nil || !maps.Equal(got.ToMap(), map[string]string{"project": "granary", "tier": "hot data"}) {
		t.Fatalf("tags of a tagged PUT: %v %v", got, err)
	}

	// Replacing the tags keeps the object: bytes, ETag, modification time.
	want := map[string]string{"k1": "v1", "k2": "", "k3": "a+b=c/d:e@f _.-"}
	if err := mc.PutObjectTagging(ctx, "tagged", "a", mustTags(t, want, true), minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = mc.GetObjectTagging(ctx, "tagged", "a", minio.GetObjectTaggingOptions{})
	if err != nil || !maps.Equal(got.ToMap(), want) {
		t.Fatalf("tags after PutObjectTagging: %v %v", got, err)
	}
	st2, err := mc.StatObject(ctx, "tagged", "a", minio.StatObjectOptions{})
	if err != nil || st2.ETag != info.ETag || !st2.LastModified.Equal(st.LastModified) || st2.UserTagCount != 3 {
		t.Fatalf("object after PutObjectTagging: %+v %v", st2, err)
	}
	obj, err := mc.GetObject(ctx, "tagged", "a", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(obj); err != nil || !bytes.Equal(data, body) {
		t.Fatalf("bytes after tagging: %q %v", data, err)
	}

	// CopyObject copies the tags by default and replaces them on REPLACE.
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "tagged", Object: "copy"},
		minio.CopySrcOptions{Bucket: "tagged", Object: "a"}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "tagged", "copy", minio.GetObjectTaggingOptions{}); err != nil || !maps.Equal(got.ToMap(), want) {
		t.Fatalf("tags of a copy (COPY): %v %v", got, err)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "tagged", Object: "copy2", ReplaceTags: true,
		UserTags: map[string]string{"only": "this"}}, minio.CopySrcOptions{Bucket: "tagged", Object: "a"}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "tagged", "copy2", minio.GetObjectTaggingOptions{}); err != nil || !maps.Equal(got.ToMap(), map[string]string{"only": "this"}) {
		t.Fatalf("tags of a copy (REPLACE): %v %v", got, err)
	}

	// A multipart upload stores the tags it was created with.
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "tagged", "mp", minio.PutObjectOptions{UserTags: map[string]string{"mp": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	part, err := core.PutObjectPart(ctx, "tagged", "mp", id, 1, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CompleteMultipartUpload(ctx, "tagged", "mp", id, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "tagged", "mp", minio.GetObjectTaggingOptions{}); err != nil || !maps.Equal(got.ToMap(), map[string]string{"mp": "yes"}) {
		t.Fatalf("tags of a multipart object: %v %v", got, err)
	}

	// Deleting the tags leaves an empty set and no count header.
	if err := mc.RemoveObjectTagging(ctx, "tagged", "a", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "tagged", "a", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("tags after RemoveObjectTagging: %v %v", got, err)
	}
	if st, err := mc.StatObject(ctx, "tagged", "a", minio.StatObjectOptions{}); err != nil || st.UserTagCount != 0 {
		t.Fatalf("count after RemoveObjectTagging: %d %v", st.UserTagCount, err)
	}
	// An overwrite without tags has none.
	if _, err := mc.PutObject(ctx, "tagged", "copy", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "tagged", "copy", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("tags after an untagged overwrite: %v %v", got, err)
	}
	if _, err := mc.GetObjectTagging(ctx, "tagged", "missing", minio.GetObjectTaggingOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("tags of a missing object: %v", err)
	}
}

func TestS3BucketTagging(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "btags", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.GetBucketTagging(ctx, "btags"); minio.ToErrorResponse(err).Code != "NoSuchTagSet" {
		t.Fatalf("tags of an untagged bucket: %v", err)
	}
	want := map[string]string{}
	for i := range 50 {
		want["key-"+strconv.Itoa(i)] = "value " + strconv.Itoa(i)
	}
	if err := mc.SetBucketTagging(ctx, "btags", mustTags(t, want, false)); err != nil {
		t.Fatal(err)
	}
	got, err := mc.GetBucketTagging(ctx, "btags")
	if err != nil || !maps.Equal(got.ToMap(), want) {
		t.Fatalf("bucket tags: %v %v", got, err)
	}
	if err := mc.RemoveBucketTagging(ctx, "btags"); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.GetBucketTagging(ctx, "btags"); minio.ToErrorResponse(err).Code != "NoSuchTagSet" {
		t.Fatalf("tags after RemoveBucketTagging: %v", err)
	}
	if err := mc.SetBucketTagging(ctx, "nobucket", mustTags(t, map[string]string{"a": "b"}, false)); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Fatalf("tags of a missing bucket: %v", err)
	}
}

// tagDoc builds a Tagging document from key, value pairs.
func tagDoc(kv ...string) []byte {
	var b strings.Builder
	b.WriteString("<Tagging><TagSet>")
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("<Tag><Key>" + kv[i] + "</Key><Value>" + kv[i+1] + "</Value></Tag>")
	}
	b.WriteString("</TagSet></Tagging>")
	return []byte(b.String())
}

// TestS3TaggingErrors: S3's error codes for bad tagging requests, each of
// which leaves the tags as they were.
func TestS3TaggingErrors(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "terr", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "terr", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{UserTags: map[string]string{"keep": "me"}}); err != nil {
		t.Fatal(err)
	}
	obj := "http://" + addr + "/terr/o"
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, "k"+strconv.Itoa(i), "v")
	}
	var fiftyOne []string
	for i := range 51 {
		fiftyOne = append(fiftyOne, "k"+strconv.Itoa(i), "v")
	}
	long := strings.Repeat("x", 129)
	cases := []struct {
		name, method, url string
		body              []byte
		header            map[string]string
		status            int
		code              string
	}{
		{"not XML", "PUT", obj + "?tagging", []byte("<Tagging><TagSet>"), nil, 400, "MalformedXML"},
		{"empty body", "PUT", obj + "?tagging", nil, nil, 400, "MalformedXML"},
		{"another document", "PUT", obj + "?tagging", []byte("<Other/>"), nil, 400, "MalformedXML"},
		{"no TagSet", "PUT", obj + "?tagging", []byte("<Tagging></Tagging>"), nil, 400, "MalformedXML"},
		{"tag without value", "PUT", obj + "?tagging", []byte("<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>"), nil, 400, "MalformedXML"},
		{"eleven tags", "PUT", obj + "?tagging", tagDoc(eleven...), nil, 400, "BadRequest"},
		{"key too long", "PUT", obj + "?tagging", tagDoc(long, "v"), nil, 400, "InvalidTag"},
		{"value too long", "PUT", obj + "?tagging", tagDoc("k", strings.Repeat("v", 257)), nil, 400, "InvalidTag"},
		{"empty key", "PUT", obj + "?tagging", tagDoc("", "v"), nil, 400, "InvalidTag"},
		{"bad character", "PUT", obj + "?tagging", tagDoc("a*b", "v"), nil, 400, "InvalidTag"},
		{"duplicate key", "PUT", obj + "?tagging", tagDoc("a", "1", "a", "2"), nil, 400, "InvalidTag"},
		{"reserved prefix", "PUT", obj + "?tagging", tagDoc("aws:owner", "me"), nil, 400, "InvalidTag"},
		{"wrong Content-MD5", "PUT", obj + "?tagging", tagDoc("a", "1"), map[string]string{"Content-Md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, 400, "BadDigest"},
		{"missing object", "PUT", "http://" + addr + "/terr/nothing?tagging", tagDoc("a", "1"), nil, 404, "NoSuchKey"},
		{"missing bucket", "GET", "http://" + addr + "/nobucket/o?tagging", nil, nil, 404, "NoSuchBucket"},
		{"fifty-one bucket tags", "PUT", "http://" + addr + "/terr?tagging", tagDoc(fiftyOne...), nil, 400, "InvalidTag"},
		{"bad bucket tag XML", "PUT", "http://" + addr + "/terr?tagging", []byte("<Tagging>"), nil, 400, "MalformedXML"},
		{"PUT header: eleven tags", "PUT", obj, []byte("new"), map[string]string{"X-Amz-Tagging": "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11"}, 400, "BadRequest"},
		{"PUT header: duplicate", "PUT", obj, []byte("new"), map[string]string{"X-Amz-Tagging": "a=1&a=2"}, 400, "InvalidTag"},
		{"PUT header: not URL-encoded", "PUT", obj, []byte("new"), map[string]string{"X-Amz-Tagging": "a=%ZZ"}, 400, "InvalidArgument"},
		{"PUT header: bad key", "PUT", obj, []byte("new"), map[string]string{"X-Amz-Tagging": "a%2Ab=1"}, 400, "InvalidTag"},
		{"copy: bad directive", "PUT", obj, nil, map[string]string{"X-Amz-Copy-Source": "/terr/o", "X-Amz-Metadata-Directive": "REPLACE", "X-Amz-Tagging-Directive": "MERGE"}, 400, "InvalidArgument"},
		{"tags on a delete", "DELETE", obj, nil, map[string]string{"X-Amz-Tagging": "a=1"}, 501, "NotImplemented"},
	}
	for _, c := range cases {
		req := newReq(t, c.method, c.url, c.body)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		status, e := send(t, req, rootAccess, rootSecret, true)
		if status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, status, e.Code, e.Message, c.status, c.code)
		}
		got, err := mc.GetObjectTagging(ctx, "terr", "o", minio.GetObjectTaggingOptions{})
		if err != nil || !maps.Equal(got.ToMap(), map[string]string{"keep": "me"}) {
			t.Fatalf("after %s: tags %v %v", c.name, got, err)
		}
		if o, err := mc.GetObject(ctx, "terr", "o", minio.GetObjectOptions{}); err != nil {
			t.Fatal(err)
		} else if data, _ := io.ReadAll(o); string(data) != "x" {
			t.Fatalf("after %s: object holds %q", c.name, data)
		}
	}
	if _, err := mc.GetBucketTagging(ctx, "terr"); minio.ToErrorResponse(err).Code != "NoSuchTagSet" {
		t.Fatalf("bucket tags after refused calls: %v", err)
	}

	// Letters beyond ASCII are letters too.
	if status, _, body := roundTrip(t, newReq(t, "PUT", obj+"?tagging", tagDoc("Ünïcode-ключ", "значение ü"))); status != 200 {
		t.Fatalf("PutObjectTagging with Unicode letters: %d %s", status, body)
	}
	// A right Content-MD5 is accepted; the raw answers are S3's.
	doc := tagDoc("a", "1")
	sum := md5.Sum(doc)
	req := newReq(t, "PUT", obj+"?tagging", doc)
	req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	if status, _, body := roundTrip(t, req); status != 200 {
		t.Fatalf("PutObjectTagging with Content-MD5: %d %s", status, body)
	}
	status, _, body := roundTrip(t, newReq(t, "GET", obj+"?tagging", nil))
	if status != 200 || !strings.Contains(string(body), `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`) {
		t.Fatalf("GetObjectTagging: %d %s", status, body)
	}
	status, hdr, _ := roundTrip(t, newReq(t, "HEAD", obj, nil))
	if status != 200 || hdr.Get("X-Amz-Tagging-Count") != "1" {
		t.Fatalf("HEAD: %d tagging count %q", status, hdr.Get("X-Amz-Tagging-Count"))
	}
	if status, _, body := roundTrip(t, newReq(t, "DELETE", obj+"?tagging", nil)); status != 204 {
		t.Fatalf("DeleteObjectTagging: %d %s", status, body)
	}
	status, _, body = roundTrip(t, newReq(t, "GET", obj+"?tagging", nil))
	if status != 200 || !strings.Contains(string(body), "<TagSet></TagSet>") {
		t.Fatalf("GetObjectTagging of an untagged object: %d %s", status, body)
	}
	if status, _, body := roundTrip(t, newReq(t, "PUT", "http://"+addr+"/terr?tagging", tagDoc("a", "1"))); status != 204 {
		t.Fatalf("PutBucketTagging: %d %s", status, body)
	}
	if status, _, body := roundTrip(t, newReq(t, "DELETE", "http://"+addr+"/terr?tagging", nil)); status != 204 {
		t.Fatalf("DeleteBucketTagging: %d %s", status, body)
	}
}

// TestAWSCLITagging: the AWS CLI's s3api tagging calls.
func TestAWSCLITagging(t *testing.T) {
	aws := need(t, awsCLI)
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "clitags", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s3api := s3apiText(t, aws, addr)
	tagSet := func(out string) map[string]string {
		var doc struct{ TagSet []struct{ Key, Value string } }
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		m := map[string]string{}
		for _, tg := range doc.TagSet {
			m[tg.Key] = tg.Value
		}
		return m
	}
	s3api("put-object", "--bucket", "clitags", "--key", "doc", "--tagging", "color=blue&size=large")
	if got := tagSet(s3api("get-object-tagging", "--bucket", "clitags", "--key", "doc")); !maps.Equal(got, map[string]string{"color": "blue", "size": "large"}) {
		t.Fatalf("tags after put-object --tagging: %v", got)
	}
	if out := s3api("get-object", "--bucket", "clitags", "--key", "doc", filepath.Join(t.TempDir(), "doc")); !strings.Contains(out, `"TagCount": 2`) {
		t.Fatalf("get-object lacks the tag count: %s", out)
	}
	s3api("put-object-tagging", "--bucket", "clitags", "--key", "doc", "--tagging", "TagSet=[{Key=env,Value=prod}]")
	if got := tagSet(s3api("get-object-tagging", "--bucket", "clitags", "--key", "doc")); !maps.Equal(got, map[string]string{"env": "prod"}) {
		t.Fatalf("tags after put-object-tagging: %v", got)
	}
	s3api("copy-object", "--bucket", "clitags", "--key", "copy", "--copy-source", "clitags/doc",
		"--tagging-directive", "REPLACE", "--tagging", "copied=yes")
	if got := tagSet(s3api("get-object-tagging", "--bucket", "clitags", "--key", "copy")); !maps.Equal(got, map[string]string{"copied": "yes"}) {
		t.Fatalf("tags after copy-object REPLACE: %v", got)
	}
	s3api("delete-object-tagging", "--bucket", "clitags", "--key", "doc")
	if got := tagSet(s3api("get-object-tagging", "--bucket", "clitags", "--key", "doc")); len(got) != 0 {
		t.Fatalf("tags after delete-object-tagging: %v", got)
	}
	s3api("put-bucket-tagging", "--bucket", "clitags", "--tagging", "TagSet=[{Key=team,Value=storage},{Key=cost,Value=42}]")
	if got := tagSet(s3api("get-bucket-tagging", "--bucket", "clitags")); !maps.Equal(got, map[string]string{"team": "storage", "cost": "42"}) {
		t.Fatalf("bucket tags: %v", got)
	}
	s3api("delete-bucket-tagging", "--bucket", "clitags")
	if out := s3apiFails(t, aws, addr, "get-bucket-tagging", "--bucket", "clitags"); !strings.Contains(out, "NoSuchTagSet") {
		t.Fatalf("get-bucket-tagging after delete: %s", out)
	}
}

// cliFails runs a command that must fail and returns its output.
func cliFails(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s %s succeeded, want a failure:\n%s", name, strings.Join(args, " "), out)
	}
	return string(out)
}

// TestS3VersionTagging: in a versioned bucket, tags are read, set and
// removed per version with versionId; other versions keep theirs.
func TestS3VersionTagging(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "vtags", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.EnableVersioning(ctx, "vtags"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, body := range []string{"first", "second"} {
		info, err := mc.PutObject(ctx, "vtags", "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.VersionID)
	}
	old, _ := tags.NewTags(map[string]string{"age": "old"}, true)
	if err := mc.PutObjectTagging(ctx, "vtags", "k", old, minio.PutObjectTaggingOptions{VersionID: ids[0]}); err != nil {
		t.Fatalf("PutObjectTagging of the older version: %v", err)
	}
	got, err := mc.GetObjectTagging(ctx, "vtags", "k", minio.GetObjectTaggingOptions{VersionID: ids[0]})
	if err != nil || !maps.Equal(got.ToMap(), map[string]string{"age": "old"}) {
		t.Fatalf("tags of the older version: %v %v", got, err)
	}
	if got, err := mc.GetObjectTagging(ctx, "vtags", "k", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("tags of the newest version: %v %v", got, err)
	}
	if err := mc.RemoveObjectTagging(ctx, "vtags", "k", minio.RemoveObjectTaggingOptions{VersionID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, "vtags", "k", minio.GetObjectTaggingOptions{VersionID: ids[0]}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("tags of the older version after removal: %v %v", got, err)
	}
	_, err = mc.GetObjectTagging(ctx, "vtags", "k", minio.GetObjectTaggingOptions{VersionID: "00000000000000000000000000000001"})
	if code := minio.ToErrorResponse(err).Code; code != "NoSuchVersion" && code != "InvalidArgument" {
		t.Fatalf("tags of a version that does not exist: %v", err)
	}
	// The versions' bytes are untouched.
	for i, want := range []string{"first", "second"} {
		o, err := mc.GetObject(ctx, "vtags", "k", minio.GetObjectOptions{VersionID: ids[i]})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(o)
		o.Close()
		if string(b) != want {
			t.Fatalf("version %d reads %q", i, b)
		}
	}
}
