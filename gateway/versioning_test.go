package gateway_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// versionsOf lists a key's versions through minio-go as "id", "id*" for
// the latest and "dm:" before delete markers.
func versionsOf(t *testing.T, mc *minio.Client, bucket, key string) []string {
	t.Helper()
	var out []string
	for o := range mc.ListObjects(ctxT(t, time.Minute), bucket, minio.ListObjectsOptions{Prefix: key, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key != key {
			continue
		}
		s := o.VersionID
		if o.IsDeleteMarker {
			s = "dm:" + s
		}
		if o.IsLatest {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func getVersion(t *testing.T, mc *minio.Client, bucket, key, vid string) (string, error) {
	t.Helper()
	o, err := mc.GetObject(ctxT(t, time.Minute), bucket, key, minio.GetObjectOptions{VersionID: vid})
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(o)
	return string(b), err
}

func TestS3Versioning(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "vers", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) minio.UploadInfo {
		t.Helper()
		info, err := mc.PutObject(ctx, "vers", key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	if info := put("doc", "unversioned"); info.VersionID != "" {
		t.Fatalf("a PUT in a bucket never versioned has version id %q", info.VersionID)
	}
	if c, err := mc.GetBucketVersioning(ctx, "vers"); err != nil || c.Status != "" {
		t.Fatalf("versioning of a new bucket: %+v %v", c, err)
	}
	if err := mc.EnableVersioning(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	if c, err := mc.GetBucketVersioning(ctx, "vers"); err != nil || c.Status != "Enabled" {
		t.Fatalf("versioning after enable: %+v %v", c, err)
	}
	v1 := put("doc", "first").VersionID
	v2 := put("doc", "second").VersionID
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if got := versionsOf(t, mc, "vers", "doc"); !slices.Equal(got, []string{v2 + "*", v1, "null"}) {
		t.Fatalf("versions: %q", got)
	}
	for vid, want := range map[string]string{"": "second", v1: "first", v2: "second", "null": "unversioned"} {
		if got, err := getVersion(t, mc, "vers", "doc", vid); err != nil || got != want {
			t.Fatalf("GET version %q: %q %v, want %q", vid, got, err, want)
		}
	}
	st, err := mc.StatObject(ctx, "vers", "doc", minio.StatObjectOptions{VersionID: v1})
	if err != nil || st.VersionID != v1 || st.Size != 5 {
		t.Fatalf("HEAD of version 1: %+v %v", st, err)
	}

	// A delete makes a marker: the key reads as missing, its versions stay.
	if err := mc.RemoveObject(ctx, "vers", "doc", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	got := versionsOf(t, mc, "vers", "doc")
	if len(got) != 4 || !strings.HasPrefix(got[0], "dm:") || !strings.HasSuffix(got[0], "*") {
		t.Fatalf("versions after a delete: %q", got)
	}
	marker := strings.TrimSuffix(strings.TrimPrefix(got[0], "dm:"), "*")
	status, h, body := roundTrip(t, newReq(t, "GET", "http://"+addr+"/vers/doc", nil))
	if status != 404 || h.Get("X-Amz-Delete-Marker") != "true" || h.Get("X-Amz-Version-Id") != marker || !strings.Contains(string(body), "NoSuchKey") {
		t.Fatalf("GET under a marker: %d %v %s", status, h, body)
	}
	status, h, body = roundTrip(t, newReq(t, "GET", "http://"+addr+"/vers/doc?versionId="+marker, nil))
	if status != 405 || h.Get("X-Amz-Delete-Marker") != "true" || !strings.Contains(string(body), "MethodNotAllowed") {
		t.Fatalf("GET of the marker: %d %v %s", status, h, body)
	}
	if got, err := getVersion(t, mc, "vers", "doc", v1); err != nil || got != "first" {
		t.Fatalf("an old version under a marker: %q %v", got, err)
	}
	if objs := listKeys(t, mc, "vers"); slices.Contains(objs, "doc") {
		t.Fatalf("a deleted key is listed: %q", objs)
	}

	// Restoring: remove the marker, then copy an old version over.
	status, h, _ = roundTrip(t, newReq(t, "DELETE", "http://"+addr+"/vers/doc?versionId="+marker, nil))
	if status != 204 || h.Get("X-Amz-Delete-Marker") != "true" || h.Get("X-Amz-Version-Id") != marker {
		t.Fatalf("DELETE of the marker: %d %v", status, h)
	}
	if got, err := getVersion(t, mc, "vers", "doc", ""); err != nil || got != "second" {
		t.Fatalf("after removing the marker: %q %v", got, err)
	}
	cp, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "vers", Object: "doc"}, minio.CopySrcOptions{Bucket: "vers", Object: "doc", VersionID: v1})
	if err != nil || cp.VersionID == "" || cp.VersionID == v1 {
		t.Fatalf("copy of version 1: %+v %v", cp, err)
	}
	if got, err := getVersion(t, mc, "vers", "doc", ""); err != nil || got != "first" {
		t.Fatalf("after restoring version 1: %q %v", got, err)
	}
	// Removing a version for good; a missing one is NoSuchVersion to read.
	if err := mc.RemoveObject(ctx, "vers", "doc", minio.RemoveObjectOptions{VersionID: v2}); err != nil {
		t.Fatal(err)
	}
	if _, err := getVersion(t, mc, "vers", "doc", v2); minio.ToErrorResponse(err).Code != "NoSuchVersion" {
		t.Fatalf("GET of a removed version: %v", err)
	}
	if _, err := getVersion(t, mc, "vers", "doc", "not-a-version"); minio.ToErrorResponse(err).Code != "InvalidArgument" {
		t.Fatalf("GET of a malformed version id: %v", err)
	}

	// Suspended: writes are the null version, replaced in place.
	if err := mc.SuspendVersioning(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	status, h, _ = roundTrip(t, newReq(t, "PUT", "http://"+addr+"/vers/doc", []byte("null one")))
	if status != 200 || h.Get("X-Amz-Version-Id") != "null" {
		t.Fatalf("suspended PUT: %d %v", status, h)
	}
	put("doc", "null two")
	got = versionsOf(t, mc, "vers", "doc")
	if len(got) != 3 || got[0] != "null*" || got[1] != cp.VersionID || got[2] != v1 {
		t.Fatalf("versions while suspended: %q", got)
	}
	if got, err := getVersion(t, mc, "vers", "doc", "null"); err != nil || got != "null two" {
		t.Fatalf("the null version: %q %v", got, err)
	}

	// A multipart completion makes a version.
	if err := mc.EnableVersioning(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "vers", "doc", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part, err := core.PutObjectPart(ctx, "vers", "doc", id, 1, strings.NewReader("multi"), 5, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done, err := core.CompleteMultipartUpload(ctx, "vers", "doc", id, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, minio.PutObjectOptions{})
	if err != nil || done.VersionID == "" || done.VersionID == "null" {
		t.Fatalf("completion: %+v %v", done, err)
	}
	if got := versionsOf(t, mc, "vers", "doc"); len(got) != 4 || got[0] != done.VersionID+"*" || got[1] != "null" {
		t.Fatalf("versions after a completion: %q", got)
	}
}

func listKeys(t *testing.T, mc *minio.Client, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range mc.ListObjects(ctxT(t, time.Minute), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

type listVersionsXML struct {
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIdMarker string
	Entries             []struct {
		XMLName   xml.Name
		Key       string
		VersionId string
		IsLatest  bool
	} `xml:",any"`
	CommonPrefixes []struct{ Prefix string }
}

// TestS3ListObjectVersionsRaw: the XML of ListObjectVersions (versions and
// delete markers in order), its paging markers, delimiter and encoding,
// its errors; DeleteObjects with versions.
func TestS3ListObjectVersionsRaw(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "lvers", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.EnableVersioning(ctx, "lvers"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "a", "b/x", "b/y", "c d", "c d"} {
		if _, err := mc.PutObject(ctx, "lvers", k, bytes.NewReader([]byte(k)), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := mc.RemoveObject(ctx, "lvers", "a", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	list := func(query string) listVersionsXML {
		t.Helper()
		status, _, body := roundTrip(t, newReq(t, "GET", "http://"+addr+"/lvers?versions"+query, nil))
		if status != 200 {
			t.Fatalf("list ?versions%s: %d %s", query, status, body)
		}
		var res listVersionsXML
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	all := list("")
	var names []string
	for _, e := range all.Entries {
		if e.XMLName.Local == "Version" || e.XMLName.Local == "DeleteMarker" {
			names = append(names, e.XMLName.Local+":"+e.Key)
		}
	}
	want := []string{"DeleteMarker:a", "Version:a", "Version:a", "Version:b/x", "Version:b/y", "Version:c d", "Version:c d"}
	if !slices.Equal(names, want) || all.IsTruncated {
		t.Fatalf("listing: %q (truncated %v)", names, all.IsTruncated)
	}
	// Pages of two follow the markers to the same entries.
	var paged []string
	q := "&max-keys=2"
	for n := 0; ; n++ {
		res := list(q)
		for _, e := range res.Entries {
			if e.XMLName.Local == "Version" || e.XMLName.Local == "DeleteMarker" {
				paged = append(paged, e.XMLName.Local+":"+e.Key)
			}
		}
		if !res.IsTruncated || n > 10 {
			break
		}
		q = "&max-keys=2&key-marker=" + urlQuery(res.NextKeyMarker) + "&version-id-marker=" + res.NextVersionIdMarker
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged: %q", paged)
	}
	res := list("&delimiter=/&encoding-type=url")
	if len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "b%2F" { // as ListObjects encodes it
		t.Fatalf("delimiter: %+v", res.CommonPrefixes)
	}
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Key, "c") && e.Key != "c%20d" {
			t.Fatalf("url encoding: %q", e.Key)
		}
	}
	for _, c := range []struct{ query, code string }{
		{"&version-id-marker=null", "InvalidArgument"},
		{"&key-marker=a&version-id-marker=bogus", "InvalidArgument"},
		{"&max-keys=-1", "InvalidArgument"},
		{"&encoding-type=base64", "InvalidArgument"},
	} {
		if status, e := send(t, newReq(t, "GET", "http://"+addr+"/lvers?versions"+c.query, nil), rootAccess, rootSecret, true); status != 400 || e.Code != c.code {
			t.Errorf("?versions%s: %d %s, want 400 %s", c.query, status, e.Code, c.code)
		}
	}
	if status, e := send(t, newReq(t, "GET", "http://"+addr+"/nobucket?versions", nil), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchBucket" {
		t.Fatalf("versions of a missing bucket: %d %s", status, e.Code)
	}

	// DeleteObjects with versions: one version for good, a marker, a bad id.
	var bx string
	for _, e := range all.Entries {
		if e.Key == "b/x" {
			bx = e.VersionId
		}
	}
	doc := "<Delete><Object><Key>b/x</Key><VersionId>" + bx + "</VersionId></Object><Object><Key>b/y</Key></Object>" +
		"<Object><Key>c d</Key><VersionId>bogus</VersionId></Object></Delete>"
	status, _, body := roundTrip(t, newReq(t, "POST", "http://"+addr+"/lvers?delete", []byte(doc)))
	if status != 200 {
		t.Fatalf("DeleteObjects: %d %s", status, body)
	}
	var dr struct {
		Deleted []struct {
			Key, VersionId, DeleteMarkerVersionId string
			DeleteMarker                          bool
		}
		Error []struct{ Key, VersionId, Code string }
	}
	if err := xml.Unmarshal(body, &dr); err != nil {
		t.Fatal(err)
	}
	if len(dr.Deleted) != 2 || dr.Deleted[0].VersionId != bx || dr.Deleted[0].DeleteMarker ||
		!dr.Deleted[1].DeleteMarker || dr.Deleted[1].DeleteMarkerVersionId == "" ||
		len(dr.Error) != 1 || dr.Error[0].Code != "InvalidArgument" {
		t.Fatalf("DeleteObjects answer: %s", body)
	}
	if got := versionsOf(t, mc, "lvers", "b/x"); len(got) != 0 {
		t.Fatalf("b/x after its only version went: %q", got)
	}
	if got := versionsOf(t, mc, "lvers", "b/y"); len(got) != 2 || !strings.HasPrefix(got[0], "dm:") {
		t.Fatalf("b/y after a delete: %q", got)
	}
}

func urlQuery(s string) string { return strings.ReplaceAll(s, " ", "%20") }

// TestS3VersioningErrors: bad versioning requests are refused and change
// nothing.
func TestS3VersioningErrors(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "verr", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	u := "http://" + addr + "/verr?versioning"
	for _, c := range []struct {
		name, body string
		header     map[string]string
		status     int
		code       string
	}{
		{"not XML", "<VersioningConfiguration>", nil, 400, "MalformedXML"},
		{"bad status", "<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", nil, 400, "MalformedXML"},
		{"no status", "<VersioningConfiguration></VersioningConfiguration>", nil, 400, "MalformedXML"},
		{"MFA delete", "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>", nil, 501, "NotImplemented"},
		{"MFA header", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", map[string]string{"X-Amz-Mfa": "123 456"}, 501, "NotImplemented"},
		{"bad MfaDelete", "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Maybe</MfaDelete></VersioningConfiguration>", nil, 400, "MalformedXML"},
	} {
		req := newReq(t, "PUT", u, []byte(c.body))
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		if status, e := send(t, req, rootAccess, rootSecret, true); status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, e.Code, c.status, c.code)
		}
		if conf, err := mc.GetBucketVersioning(ctx, "verr"); err != nil || conf.Status != "" {
			t.Fatalf("after %s: %+v %v", c.name, conf, err)
		}
	}
	if status, e := send(t, newReq(t, "PUT", "http://"+addr+"/nobucket?versioning",
		[]byte("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchBucket" {
		t.Fatalf("versioning of a missing bucket: %d %s", status, e.Code)
	}
	// In a bucket never versioned a delete answers no version headers.
	if status, _, body := roundTrip(t, newReq(t, "PUT", "http://"+addr+"/verr/k", []byte("x"))); status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	for range 2 { // the second finds no key: still 204
		status, h, body := roundTrip(t, newReq(t, "DELETE", "http://"+addr+"/verr/k", nil))
		if status != 204 || h.Get("X-Amz-Version-Id") != "" || h.Get("X-Amz-Delete-Marker") != "" {
			t.Fatalf("unversioned DELETE: %d %v %s", status, h, body)
		}
	}
	// The tags of a version that is not there: NoSuchVersion.
	if status, e := send(t, newReq(t, "GET", "http://"+addr+"/verr/k?tagging&versionId=null", nil), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchVersion" {
		t.Fatalf("tagging of a version: %d %s", status, e.Code)
	}
}

// TestAWSCLIVersioning: enable versioning, list and restore old versions
// with the AWS CLI's s3api calls.
func TestAWSCLIVersioning(t *testing.T) {
	aws := need(t, awsCLI)
	_, _, addr := startS3(t)
	dir := t.TempDir()
	s3api := s3apiJSON(t, aws, addr)
	s3api("create-bucket", "--bucket", "cliver")
	s3api("put-bucket-versioning", "--bucket", "cliver", "--versioning-configuration", "Status=Enabled")
	if m := s3api("get-bucket-versioning", "--bucket", "cliver"); m["Status"] != "Enabled" {
		t.Fatalf("get-bucket-versioning: %v", m)
	}
	file := dir + "/body"
	var ids []string
	for _, body := range []string{"one", "two"} {
		if err := writeFile(file, body); err != nil {
			t.Fatal(err)
		}
		m := s3api("put-object", "--bucket", "cliver", "--key", "f", "--body", file)
		id, _ := m["VersionId"].(string)
		if id == "" {
			t.Fatalf("put-object without a version id: %v", m)
		}
		ids = append(ids, id)
	}
	m := s3api("delete-object", "--bucket", "cliver", "--key", "f")
	if m["DeleteMarker"] != true {
		t.Fatalf("delete-object: %v", m)
	}
	m = s3api("list-object-versions", "--bucket", "cliver")
	vs, _ := m["Versions"].([]any)
	dms, _ := m["DeleteMarkers"].([]any)
	if len(vs) != 2 || len(dms) != 1 {
		t.Fatalf("list-object-versions: %v", m)
	}
	// Restore the first version by copying it over.
	s3api("copy-object", "--bucket", "cliver", "--key", "f", "--copy-source", "cliver/f?versionId="+ids[0])
	out := dir + "/out"
	s3api("get-object", "--bucket", "cliver", "--key", "f", out)
	if b, _ := readFile(out); b != "one" {
		t.Fatalf("after restoring: %q", b)
	}
	s3api("get-object", "--bucket", "cliver", "--key", "f", "--version-id", ids[1], out)
	if b, _ := readFile(out); b != "two" {
		t.Fatalf("version two: %q", b)
	}
	s3api("delete-object", "--bucket", "cliver", "--key", "f", "--version-id", ids[1])
	if out := s3apiFails(t, aws, addr, "head-object", "--bucket", "cliver", "--key", "f", "--version-id", ids[1]); !strings.Contains(out, "404") {
		t.Fatalf("head-object of a removed version: %s", out)
	}
	s3api("put-bucket-versioning", "--bucket", "cliver", "--versioning-configuration", "Status=Suspended")
	if m := s3api("get-bucket-versioning", "--bucket", "cliver"); m["Status"] != "Suspended" {
		t.Fatalf("get-bucket-versioning: %v", m)
	}
}

func writeFile(name, body string) error { return os.WriteFile(name, []byte(body), 0o600) }

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

// TestRcloneVersions: rclone's --s3-versions lists old versions of a
// versioned bucket beside the current ones, and reads an old one.
func TestRcloneVersions(t *testing.T) {
	rclone := need(t, "rclone")
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "rcver", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.EnableVersioning(ctx, "rcver"); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"old body", "new body!"} {
		if _, err := mc.PutObject(ctx, "rcver", "f.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	env := []string{"RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_G_TYPE=s3", "RCLONE_CONFIG_G_PROVIDER=Other",
		"RCLONE_CONFIG_G_ACCESS_KEY_ID=" + rootAccess, "RCLONE_CONFIG_G_SECRET_ACCESS_KEY=" + rootSecret,
		"RCLONE_CONFIG_G_ENDPOINT=http://" + addr, "RCLONE_CONFIG_G_REGION=us-east-1", "HOME=" + dir}
	ls := runCLI(t, env, rclone, "ls", "--s3-versions", "--retries=1", "--low-level-retries=1", "g:rcver")
	var old string
	for _, line := range strings.Split(strings.TrimSpace(ls), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && strings.HasPrefix(f[1], "f-v") && strings.HasSuffix(f[1], ".txt") && f[0] == "8" {
			old = f[1]
		}
	}
	if old == "" || !strings.Contains(ls, " f.txt") {
		t.Fatalf("rclone ls --s3-versions:\n%s", ls)
	}
	if got := runCLI(t, env, rclone, "cat", "--s3-versions", "--retries=1", "g:rcver/"+old); got != "old body" {
		t.Fatalf("rclone cat of the old version: %q", got)
	}
}
