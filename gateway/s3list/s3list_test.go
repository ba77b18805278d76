package s3list

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3xml"
)

func TestUploads(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := func(key, id string, at int) client.Upload {
		return client.Upload{Key: key, ID: id, Created: t0.Add(time.Duration(at) * time.Second)}
	}
	all := func() []client.Upload {
		return []client.Upload{up("b", "u3", 3), up("a", "u2", 2), up("a", "u1", 1), up("d/x", "u4", 4), up("d/y", "u5", 5), up("e", "u6", 6)}
	}
	page := func(res s3xml.ListMultipartUploadsResult) string {
		s := ""
		for _, u := range res.Uploads {
			s += u.Key + ":" + u.UploadID + " "
		}
		for _, p := range res.CommonPrefixes {
			s += p.Prefix + " "
		}
		return fmt.Sprintf("%s| truncated %v next %q %q", s, res.IsTruncated, res.NextKeyMarker, res.NextUploadIDMarker)
	}
	for _, c := range []struct {
		res  s3xml.ListMultipartUploadsResult
		want string
	}{
		{s3xml.ListMultipartUploadsResult{MaxUploads: 1000}, `a:u1 a:u2 b:u3 d/x:u4 d/y:u5 e:u6 | truncated false next "" ""`},
		{s3xml.ListMultipartUploadsResult{MaxUploads: 2}, `a:u1 a:u2 | truncated true next "a" "u2"`},
		{s3xml.ListMultipartUploadsResult{MaxUploads: 2, KeyMarker: "a", UploadIDMarker: "u1"}, `a:u2 b:u3 | truncated true next "b" "u3"`},
		{s3xml.ListMultipartUploadsResult{MaxUploads: 1000, KeyMarker: "a"}, `b:u3 d/x:u4 d/y:u5 e:u6 | truncated false next "" ""`},
		{s3xml.ListMultipartUploadsResult{MaxUploads: 4, Delimiter: "/"}, `a:u1 a:u2 b:u3 d/ | truncated true next "d/" ""`},
		{s3xml.ListMultipartUploadsResult{MaxUploads: 1000, Delimiter: "/", KeyMarker: "d/"}, `e:u6 | truncated false next "" ""`},
	} {
		res := c.res
		Uploads(&res, all(), client.Bucket{Name: "b", Owner: "alice"})
		if got := page(res); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.res, got, c.want)
		}
	}
}

func TestParts(t *testing.T) {
	parts := []client.Part{{Number: 1, Size: 5}, {Number: 2, Size: 6}, {Number: 4, Size: 7}}
	res := s3xml.ListPartsResult{PartNumberMarker: 1, MaxParts: 1}
	Parts(&res, parts)
	if len(res.Parts) != 1 || res.Parts[0].PartNumber != 2 || !res.IsTruncated || res.NextPartNumberMarker != 2 {
		t.Errorf("%+v", res)
	}
}

func TestRequests(t *testing.T) {
	q := url.Values{"list-type": {"2"}, "continuation-token": {base64.RawURLEncoding.EncodeToString([]byte("k5"))}, "start-after": {"k1"}, "prefix": {"k"}}
	req, res, v2, err := ObjectsRequest(q, "b")
	if err != nil || !v2 || req.StartAfter != "k5" || res.StartAfter != "k1" || req.Prefix != "k" || req.MaxKeys != 1000 {
		t.Errorf("V2: %+v %+v %v %v", req, res, v2, err)
	}
	q.Set("continuation-token", "!")
	if _, _, _, err := ObjectsRequest(q, "b"); err == nil {
		t.Error("a bad continuation token was accepted")
	}
	req, res, v2, err = ObjectsRequest(url.Values{"marker": {"m"}}, "b")
	if err != nil || v2 || req.StartAfter != "m" || res.Marker == nil || *res.Marker != "m" {
		t.Errorf("V1: %+v %+v %v %v", req, res, v2, err)
	}
	if _, _, err := VersionsRequest(url.Values{"version-id-marker": {"0000000000000001"}}, "b"); err == nil {
		t.Error("a version-id marker without a key marker was accepted")
	}
	if _, _, err := VersionsRequest(url.Values{"prefix": {strings.Repeat("p", 1025)}}, "b"); err == nil {
		t.Error("a prefix longer than a key was accepted")
	}
	vreq, vres, err := VersionsRequest(url.Values{"key-marker": {"k"}, "max-keys": {"3"}}, "b")
	if err != nil || vreq.KeyMarker != "k" || vres.MaxKeys != 3 || vreq.MaxKeys != 3 {
		t.Errorf("versions: %+v %+v %v", vreq, vres, err)
	}
}

func TestAttributes(t *testing.T) {
	o := client.ObjectInfo{Size: 30}
	o.ETag, o.Checksum, o.ChecksumAlgorithm = "e", "c", "CRC32"
	o.Parts = []client.ObjectPart{{Size: 10, Checksum: "p1"}, {Size: 20, Checksum: "p2"}}
	res := Attributes(o, map[string]bool{"ETag": true, "ObjectParts": true, "StorageClass": true}, 1, 0)
	if res.ETag != "e" || res.Checksum != nil || res.StorageClass != "STANDARD" || res.ObjectSize != nil {
		t.Errorf("%+v", res)
	}
	if p := res.ObjectParts; p == nil || p.PartsCount != 2 || len(p.Parts) != 1 || !p.IsTruncated || p.NextPartNumberMarker != 1 || p.Parts[0].ChecksumCRC32 != "p1" {
		t.Errorf("parts: %+v", res.ObjectParts)
	}
}

func TestBucketsRequest(t *testing.T) {
	max, after, prefix, err := BucketsRequest(url.Values{"max-buckets": {"5"}, "prefix": {"p"},
		"continuation-token": {base64.RawURLEncoding.EncodeToString([]byte("photos"))}})
	if err != nil || max != 5 || after != "photos" || prefix != "p" {
		t.Errorf("%d %q %q %v", max, after, prefix, err)
	}
	for _, q := range []url.Values{{"max-buckets": {"0"}}, {"max-buckets": {"10001"}}, {"continuation-token": {base64.RawURLEncoding.EncodeToString([]byte("NO"))}}} {
		if _, _, _, err := BucketsRequest(q); err == nil {
			t.Errorf("%v accepted", q)
		}
	}
}
