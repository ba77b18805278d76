package gateway_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// The test computes checksums with the standard library, independently of
// the gateway's own table.
func b64sum(alg string, data []byte) string {
	var h hash.Hash
	switch alg {
	case "CRC32":
		h = crc32.NewIEEE()
	case "CRC32C":
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		h = crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case "SHA1":
		h = sha1.New()
	case "SHA256":
		h = sha256.New()
	case "MD5":
		h = md5.New()
	case "SHA512":
		h = sha512.New()
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// head returns the headers of a HEAD (checksum mode on) of key.
func head(t *testing.T, addr, path string, hdr map[string]string) http.Header {
	t.Helper()
	req := newReq(t, "HEAD", "http://"+addr+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 206 { // 206 for ?partNumber of a multipart object
		t.Fatalf("HEAD %s: %d", path, resp.StatusCode)
	}
	return resp.Header
}

var checksumOn = map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}

func TestS3Checksums(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "sums", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/sums/"
	data := bytes.Repeat([]byte("checksummed bytes "), 5000)
	for _, alg := range []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5", "SHA512"} {
		name := "x-amz-checksum-" + strings.ToLower(alg)
		key := "obj-" + strings.ToLower(alg)
		wrong := b64sum(alg, []byte("other bytes"))
		if st, e := put(t, base+key, data, map[string]string{name: wrong}); st != 400 || e.Code != "BadDigest" {
			t.Fatalf("%s wrong: %d %s", alg, st, e.Code)
		}
		if _, err := mc.StatObject(ctx, "sums", key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Fatalf("%s: a PUT with a wrong checksum stored something: %v", alg, err)
		}
		req := newReq(t, "PUT", base+key, data)
		req.Header.Set(name, b64sum(alg, data))
		resp, err := http.DefaultClient.Do(signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get(name) != b64sum(alg, data) || resp.Header.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
			t.Fatalf("%s right: %d %v", alg, resp.StatusCode, resp.Header)
		}
		h := head(t, addr, "/sums/"+key, checksumOn)
		if h.Get(name) != b64sum(alg, data) || h.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
			t.Fatalf("%s: HEAD with checksum mode: %v", alg, h)
		}
		if h := head(t, addr, "/sums/"+key, nil); h.Get(name) != "" {
			t.Fatalf("%s: HEAD without checksum mode returned the checksum", alg)
		}
	}
	// No checksum sent: S3 stores CRC64NVME.
	if st, e := put(t, base+"plain", data, nil); st != 200 {
		t.Fatalf("plain PUT: %d %s", st, e.Code)
	}
	if h := head(t, addr, "/sums/plain", checksumOn); h.Get("X-Amz-Checksum-Crc64nvme") != b64sum("CRC64NVME", data) {
		t.Fatalf("default checksum: %v", h)
	}
	// Two checksums, or a malformed one.
	if st, e := put(t, base+"two", data, map[string]string{"X-Amz-Checksum-Crc32": b64sum("CRC32", data), "X-Amz-Checksum-Sha1": b64sum("SHA1", data)}); st != 400 || e.Code != "InvalidRequest" {
		t.Fatalf("two checksums: %d %s", st, e.Code)
	}
	if st, e := put(t, base+"bad", data, map[string]string{"X-Amz-Checksum-Sha256": "not base64"}); st != 400 || e.Code != "InvalidRequest" {
		t.Fatalf("malformed checksum: %d %s", st, e.Code)
	}
	// Checksums the gateway cannot verify are refused, never stored unchecked.
	if st, e := put(t, base+"xx", data, map[string]string{"X-Amz-Checksum-Xxhash64": "AAAAAAAAAAA="}); st != 501 || e.Code != "NotImplemented" {
		t.Fatalf("xxhash64: %d %s", st, e.Code)
	}
	if st, e := put(t, base+"xx", data, map[string]string{"X-Amz-Checksum-Foo": "AAAA"}); st != 400 || e.Code != "InvalidRequest" {
		t.Fatalf("x-amz-checksum-foo: %d %s", st, e.Code)
	}
	req, _ := http.NewRequest("PUT", base+"xx", bytes.NewReader(unsignedTrailerBody(data, "AAAA")))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-xxhash3")
	req.Header.Set("Content-Encoding", "aws-chunked")
	if st, e := send(t, req, rootAccess, rootSecret, true); st != 501 {
		t.Fatalf("xxhash3 trailer: %d %s", st, e.Code)
	}
	// A trailing checksum is stored as sent.
	crc := b64sum("CRC32", data)
	req, _ = http.NewRequest("PUT", base+"trailer", bytes.NewReader(unsignedTrailerBody(data, crc)))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	req.Header.Set("Content-Encoding", "aws-chunked")
	if st, e := send(t, req, rootAccess, rootSecret, true); st != 200 {
		t.Fatalf("trailer PUT: %d %s", st, e.Code)
	}
	if h := head(t, addr, "/sums/trailer", checksumOn); h.Get("X-Amz-Checksum-Crc32") != crc || h.Get("Content-Encoding") != "" {
		t.Fatalf("trailer checksum: %v", h)
	}
	// CopyObject keeps a full-object algorithm and computes it anew.
	creq := newReq(t, "PUT", base+"copied", nil)
	creq.Header.Set("X-Amz-Copy-Source", "/sums/obj-sha1")
	if st, e := send(t, creq, rootAccess, rootSecret, true); st != 200 {
		t.Fatalf("copy: %d %s", st, e.Code)
	}
	if h := head(t, addr, "/sums/copied", checksumOn); h.Get("X-Amz-Checksum-Sha1") != b64sum("SHA1", data) {
		t.Fatalf("copied checksum: %v", h)
	}
}

func TestS3MultipartChecksums(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "mpsums", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/mpsums/"
	parts := [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("the last part is small")}
	whole := bytes.Join(parts, nil)
	for _, c := range []struct{ alg, typ string }{{"SHA256", "COMPOSITE"}, {"CRC32C", "FULL_OBJECT"}, {"CRC64NVME", ""}} {
		key := "mp-" + strings.ToLower(c.alg)
		name := "x-amz-checksum-" + strings.ToLower(c.alg)
		req := newReq(t, "POST", base+key+"?uploads", nil)
		req.Header.Set("X-Amz-Checksum-Algorithm", c.alg)
		if c.typ != "" {
			req.Header.Set("X-Amz-Checksum-Type", c.typ)
		}
		st, raw := callReq(t, req)
		var init struct{ UploadId string }
		decode(t, raw, &init)
		if st != 200 || init.UploadId == "" {
			t.Fatalf("%s create: %d %s", c.alg, st, raw)
		}
		// A part checksummed with another algorithm is refused.
		if st, e := put(t, base+key+"?partNumber=1&uploadId="+init.UploadId, parts[0], map[string]string{"X-Amz-Checksum-Crc32": b64sum("CRC32", parts[0])}); st != 400 || e.Code != "InvalidRequest" {
			t.Fatalf("%s: part with a CRC32: %d %s", c.alg, st, e.Code)
		}
		var list strings.Builder
		list.WriteString("<CompleteMultipartUpload>")
		var raws []byte
		for i, p := range parts {
			hdr := map[string]string{}
			if i == 0 { // the first part carries its checksum, the second lets the gateway compute it
				hdr[name] = b64sum(c.alg, p)
			}
			u := fmt.Sprintf("%s%s?partNumber=%d&uploadId=%s", base, key, i+1, init.UploadId)
			if st, e := put(t, u, p, hdr); st != 200 {
				t.Fatalf("%s part %d: %d %s", c.alg, i+1, st, e.Code)
			}
			r, _ := base64.StdEncoding.DecodeString(b64sum(c.alg, p))
			raws = append(raws, r...)
			fmt.Fprintf(&list, "<Part><PartNumber>%d</PartNumber><ETag>%q</ETag><Checksum%s>%s</Checksum%s></Part>", i+1, md5hex(p), c.alg, b64sum(c.alg, p), c.alg)
		}
		list.WriteString("</CompleteMultipartUpload>")
		// A completion listing a wrong part checksum is refused.
		bad := strings.Replace(list.String(), b64sum(c.alg, parts[1]), b64sum(c.alg, []byte("x")), 1)
		if st, raw := call(t, "POST", base+key+"?uploadId="+init.UploadId, []byte(bad)); st != 400 || !strings.Contains(string(raw), "InvalidPart") {
			t.Fatalf("%s: completion with a wrong part checksum: %d %s", c.alg, st, raw)
		}
		st, raw = call(t, "POST", base+key+"?uploadId="+init.UploadId, []byte(list.String()))
		if st != 200 {
			t.Fatalf("%s complete: %d %s", c.alg, st, raw)
		}
		want, typ := b64sum(c.alg, whole), "FULL_OBJECT"
		if c.typ == "COMPOSITE" {
			want, typ = b64sum(c.alg, raws)+"-2", "COMPOSITE"
		}
		if !strings.Contains(string(raw), ">"+want+"<") {
			t.Fatalf("%s: completion answer lacks %s: %s", c.alg, want, raw)
		}
		h := head(t, addr, "/mpsums/"+key, checksumOn)
		if h.Get(name) != want || h.Get("X-Amz-Checksum-Type") != typ {
			t.Fatalf("%s: HEAD: %v, want %s %s", c.alg, h, want, typ)
		}
		// Parts by number, and the object's attributes.
		h = head(t, addr, "/mpsums/"+key+"?partNumber=2", nil)
		if h.Get("X-Amz-Mp-Parts-Count") != "2" || h.Get("Content-Length") != fmt.Sprint(len(parts[1])) {
			t.Fatalf("%s: HEAD part 2: %v", c.alg, h)
		}
		obj, err := mc.GetObject(ctx, "mpsums", key, minio.GetObjectOptions{PartNumber: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := new(bytes.Buffer)
		got.ReadFrom(obj)
		if !bytes.Equal(got.Bytes(), parts[1]) {
			t.Fatalf("%s: GET part 2 gave %d bytes", c.alg, got.Len())
		}
		areq := newReq(t, "GET", base+key+"?attributes", nil)
		areq.Header.Set("X-Amz-Object-Attributes", "ETag,Checksum,ObjectParts,StorageClass,ObjectSize")
		areq.Header.Set("X-Amz-Max-Parts", "1")
		st, raw = callReq(t, areq)
		var attrs struct {
			ETag       string
			ObjectSize int64
			Checksum   struct{ ChecksumType string }
			Parts      struct {
				PartsCount           int
				IsTruncated          bool
				NextPartNumberMarker int
				Part                 []struct {
					PartNumber int
					Size       int64
				}
			} `xml:"ObjectParts"`
		}
		decode(t, raw, &attrs)
		if st != 200 || attrs.ObjectSize != int64(len(whole)) || attrs.Checksum.ChecksumType != typ || attrs.Parts.PartsCount != 2 ||
			!attrs.Parts.IsTruncated || len(attrs.Parts.Part) != 1 || attrs.Parts.Part[0].Size != int64(len(parts[0])) || attrs.ETag == "" || strings.Contains(attrs.ETag, `"`) {
			t.Fatalf("%s: GetObjectAttributes: %d %s", c.alg, st, raw)
		}
	}
	// partNumber on a plain object: 1 is the whole object, 2 is refused.
	if _, err := mc.PutObject(ctx, "mpsums", "single", strings.NewReader("one part"), 8, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if h := head(t, addr, "/mpsums/single?partNumber=1", nil); h.Get("Content-Length") != "8" {
		t.Fatalf("partNumber=1 of a plain object: %v", h)
	}
	st, e := send(t, newReq(t, "GET", base+"single?partNumber=2", nil), rootAccess, rootSecret, true)
	if st != 416 || e.Code != "InvalidPartNumber" {
		t.Fatalf("partNumber=2 of a plain object: %d %s", st, e.Code)
	}
}

// callReq signs and sends req, returning status and body.
func callReq(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}
