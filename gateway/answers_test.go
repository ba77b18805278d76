package gateway_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// call sends a signed request and returns the status and the body.
func call(t *testing.T, method, u string, body []byte) (int, []byte) {
	t.Helper()
	req := signer.SignV4(*newReq(t, method, u, body), rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

func decode(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := xml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
}

type listEcho struct {
	Prefix, Delimiter, Marker, StartAfter, ContinuationToken, EncodingType string
	Contents                                                               []struct {
		Key   string
		Owner *struct{ ID string }
	}
}

func TestS3AnswersToTheLetter(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	base := "http://" + addr
	if err := mc.MakeBucket(ctx, "letter", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a b/1", "a b/2", "zz"} {
		if _, err := mc.PutObject(ctx, "letter", k, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Listings echo their parameters as sent; URL-encoded only on request.
	var l listEcho
	_, raw := call(t, "GET", base+"/letter?prefix=a%20b&delimiter=%2F&marker=a", nil)
	decode(t, raw, &l)
	if l.Prefix != "a b" || l.Delimiter != "/" || l.Marker != "a" || l.EncodingType != "" {
		t.Fatalf("V1 echo: %+v", l)
	}
	_, raw = call(t, "GET", base+"/letter?prefix=a%20b/&marker=a", nil)
	l = listEcho{}
	decode(t, raw, &l)
	if len(l.Contents) != 2 || l.Contents[0].Owner == nil || l.Contents[0].Owner.ID == "" {
		t.Fatalf("V1 listing lacks Owner: %s", raw)
	}
	_, raw = call(t, "GET", base+"/letter?list-type=2&prefix=a%20b/&start-after=a%20b/1&encoding-type=url", nil)
	l = listEcho{}
	decode(t, raw, &l)
	if l.Prefix != "a%20b%2F" || l.StartAfter != "a%20b%2F1" || l.EncodingType != "url" || len(l.Contents) != 1 || l.Contents[0].Key != "a%20b%2F2" || l.Contents[0].Owner != nil {
		t.Fatalf("V2 url-encoded echo: %s", raw)
	}
	_, raw = call(t, "GET", base+"/letter?list-type=2&max-keys=1&fetch-owner=true", nil)
	var page struct {
		NextContinuationToken string
		Contents              []struct{ Owner *struct{ ID string } }
	}
	decode(t, raw, &page)
	if page.NextContinuationToken == "" || len(page.Contents) != 1 || page.Contents[0].Owner == nil {
		t.Fatalf("V2 with fetch-owner: %s", raw)
	}
	_, raw = call(t, "GET", base+"/letter?list-type=2&continuation-token="+url.QueryEscape(page.NextContinuationToken), nil)
	l = listEcho{}
	decode(t, raw, &l)
	if l.ContinuationToken != page.NextContinuationToken {
		t.Fatalf("continuation token not echoed: %s", raw)
	}

	// ListBuckets pages.
	for _, b := range []string{"pg-1", "pg-2", "pg-3", "pg-4", "pg-5"} {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		u := base + "/?prefix=pg-&max-buckets=2"
		if token != "" {
			u += "&continuation-token=" + url.QueryEscape(token)
		}
		_, raw := call(t, "GET", u, nil)
		var res struct {
			Buckets           []string `xml:"Buckets>Bucket>Name"`
			ContinuationToken string
			Prefix            string
		}
		decode(t, raw, &res)
		if len(res.Buckets) > 2 || res.Prefix != "pg-" || pages > 3 {
			t.Fatalf("ListBuckets page: %s", raw)
		}
		names = append(names, res.Buckets...)
		if token = res.ContinuationToken; token == "" {
			break
		}
	}
	if !slices.Equal(names, []string{"pg-1", "pg-2", "pg-3", "pg-4", "pg-5"}) {
		t.Fatalf("ListBuckets pages gave %v", names)
	}
	if status, raw := call(t, "GET", base+"/?max-buckets=0", nil); status != 400 || !strings.Contains(string(raw), "InvalidArgument") {
		t.Fatalf("max-buckets=0: %d %s", status, raw)
	}

	// Error documents name the bucket and key.
	var e struct{ Code, BucketName, Key, Resource string }
	_, raw = call(t, "GET", base+"/letter/no/such/key", nil)
	decode(t, raw, &e)
	if e.Code != "NoSuchKey" || e.Key != "no/such/key" || e.Resource != "/letter/no/such/key" {
		t.Fatalf("NoSuchKey document: %s", raw)
	}
	_, raw = call(t, "GET", base+"/no-such-bucket?list-type=2", nil)
	decode(t, raw, &e)
	if e.Code != "NoSuchBucket" || e.BucketName != "no-such-bucket" {
		t.Fatalf("NoSuchBucket document: %s", raw)
	}
	_, raw = call(t, "PATCH", base+"/letter/zz", nil)
	var na struct{ Code, Method, ResourceType string }
	decode(t, raw, &na)
	if na.Code != "MethodNotAllowed" || na.Method != "PATCH" || na.ResourceType != "OBJECT" {
		t.Fatalf("MethodNotAllowed document: %s", raw)
	}

	// Location constraints.
	for loc, code := range map[string]string{"eu-west-1": "IllegalLocationConstraintException", "us-east-1": "InvalidLocationConstraint"} {
		body := []byte("<CreateBucketConfiguration><LocationConstraint>" + loc + "</LocationConstraint></CreateBucketConfiguration>")
		if status, raw := call(t, "PUT", base+"/loc-bucket", body); status != 400 || !strings.Contains(string(raw), "<Code>"+code+"</Code>") {
			t.Fatalf("LocationConstraint %s: %d %s", loc, status, raw)
		}
	}

	// Multipart: part copy ranges, a part listed twice, upload listings.
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "letter", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for rg, want := range map[string]string{"bytes=0-1": "Range specified is not valid", "bytes=1-0": "must be of the form", "0-0": "must be of the form", "bytes=0-": "must be of the form"} {
		req := newReq(t, "PUT", base+"/letter/mp?partNumber=1&uploadId="+id, nil)
		req.Header.Set("X-Amz-Copy-Source", "/letter/zz")
		req.Header.Set("X-Amz-Copy-Source-Range", rg)
		status, e := send(t, req, rootAccess, rootSecret, true)
		if status != 400 || e.Code != "InvalidArgument" || !strings.Contains(e.Message, want) {
			t.Fatalf("copy range %q: %d %s %q", rg, status, e.Code, e.Message)
		}
	}
	p, err := core.PutObjectPart(ctx, "letter", "mp", id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	twice := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + p.ETag + "</ETag></Part><Part><PartNumber>1</PartNumber><ETag>" + p.ETag + "</ETag></Part></CompleteMultipartUpload>"
	if status, raw := call(t, "POST", base+"/letter/mp?uploadId="+id, []byte(twice)); status != 400 || !strings.Contains(string(raw), "InvalidPartOrder") {
		t.Fatalf("part listed twice: %d %s", status, raw)
	}
	for _, k := range []string{"d/a", "d/b", "e", "f", "f"} {
		if _, err := core.NewMultipartUpload(ctx, "letter", k, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	type uploadsPage struct {
		Delimiter, EncodingType, NextKeyMarker, NextUploadIdMarker string
		IsTruncated                                                bool
		Keys                                                       []string `xml:"Upload>Key"`
		Prefixes                                                   []string `xml:"CommonPrefixes>Prefix"`
	}
	var all []string
	km, um := "", ""
	for pages := 0; ; pages++ {
		_, raw := call(t, "GET", base+"/letter?uploads&delimiter=%2F&max-uploads=2&encoding-type=url&key-marker="+url.QueryEscape(km)+"&upload-id-marker="+url.QueryEscape(um), nil)
		var pg uploadsPage
		decode(t, raw, &pg)
		if pg.Delimiter != "%2F" || pg.EncodingType != "url" || len(pg.Keys)+len(pg.Prefixes) > 2 || pages > 5 {
			t.Fatalf("ListMultipartUploads page: %s", raw)
		}
		all = append(all, pg.Prefixes...)
		all = append(all, pg.Keys...)
		if !pg.IsTruncated {
			break
		}
		km, um = pg.NextKeyMarker, pg.NextUploadIdMarker
	}
	slices.Sort(all)
	if !slices.Equal(all, []string{"d%2F", "e", "f", "f", "mp"}) {
		t.Fatalf("ListMultipartUploads pages gave %v", all)
	}
}
