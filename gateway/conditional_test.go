package gateway_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/granary-store/granary/internal/chaos"
)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// put sends a signed PUT with extra headers and returns status and code.
func put(t *testing.T, u string, body []byte, hdr map[string]string) (int, s3Err) {
	t.Helper()
	req := newReq(t, "PUT", u, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return send(t, req, rootAccess, rootSecret, true)
}

func TestS3ConditionalWrites(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "cond", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	u := "http://" + addr + "/cond/"
	expect := func(what string, status int, e s3Err, want int, code string) {
		t.Helper()
		if status != want || (code != "" && e.Code != code) {
			t.Fatalf("%s: %d %s, want %d %s", what, status, e.Code, want, code)
		}
	}
	st, e := put(t, u+"k", []byte("v1"), map[string]string{"If-None-Match": "*"})
	expect("create-only PUT of a new key", st, e, 200, "")
	st, e = put(t, u+"k", []byte("v2"), map[string]string{"If-None-Match": "*"})
	expect("create-only PUT of an existing key", st, e, 412, "PreconditionFailed")
	st, e = put(t, u+"k", []byte("v2"), map[string]string{"If-Match": `"` + md5hex([]byte("other")) + `"`})
	expect("PUT If-Match another ETag", st, e, 412, "PreconditionFailed")
	st, e = put(t, u+"absent", []byte("v2"), map[string]string{"If-Match": md5hex([]byte("v1"))})
	expect("PUT If-Match on a missing key", st, e, 404, "NoSuchKey")
	st, e = put(t, u+"k", []byte("v2"), map[string]string{"If-None-Match": `"abc"`})
	expect("PUT If-None-Match with an ETag", st, e, 501, "NotImplemented")
	st, e = put(t, u+"k", []byte("v2"), map[string]string{"If-Match": `"` + md5hex([]byte("v1")) + `"`})
	expect("PUT If-Match the current ETag", st, e, 200, "")
	if got := readObject(t, mc, "cond", "k"); string(got) != "v2" {
		t.Fatalf("after the conditional PUTs: %q", got)
	}

	// CopyObject onto an existing destination, create-only.
	req := newReq(t, "PUT", u+"k", nil)
	req.Header.Set("X-Amz-Copy-Source", "/cond/k")
	req.Header.Set("X-Amz-Metadata-Directive", "REPLACE")
	req.Header.Set("If-None-Match", "*")
	st, e = send(t, req, rootAccess, rootSecret, true)
	expect("create-only CopyObject onto an existing key", st, e, 412, "PreconditionFailed")

	// Multipart completion, create-only, over an existing key; the upload
	// survives the refusal.
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "cond", "k", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := core.PutObjectPart(ctx, "cond", "k", id, 1, strings.NewReader("mp"), 2, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + p.ETag + "</ETag></Part></CompleteMultipartUpload>")
	req = newReq(t, "POST", u+"k?uploadId="+id, body)
	req.Header.Set("If-None-Match", "*")
	st, e = send(t, req, rootAccess, rootSecret, true)
	expect("create-only completion over an existing key", st, e, 412, "PreconditionFailed")
	req = newReq(t, "POST", u+"k?uploadId="+id, body)
	req.Header.Set("If-Match", md5hex([]byte("v2")))
	st, e = send(t, req, rootAccess, rootSecret, true)
	expect("completion If-Match the current ETag", st, e, 200, "")
	if got := readObject(t, mc, "cond", "k"); string(got) != "mp" {
		t.Fatalf("after the conditional completion: %q", got)
	}

	// Conditional deletes.
	if _, err := mc.PutObject(ctx, "cond", "d", strings.NewReader("del"), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	del := func(key string, hdr map[string]string) (int, s3Err) {
		req := newReq(t, "DELETE", u+key, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return send(t, req, rootAccess, rootSecret, true)
	}
	st, e = del("d", map[string]string{"If-Match": md5hex([]byte("x"))})
	expect("DELETE If-Match another ETag", st, e, 412, "PreconditionFailed")
	st, e = del("d", map[string]string{"X-Amz-If-Match-Size": "4"})
	expect("DELETE if size 4", st, e, 412, "PreconditionFailed")
	st, e = del("d", map[string]string{"X-Amz-If-Match-Last-Modified-Time": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)})
	expect("DELETE if modified an hour ago", st, e, 412, "PreconditionFailed")
	if got := readObject(t, mc, "cond", "d"); string(got) != "del" {
		t.Fatalf("refused deletes changed the object: %q", got)
	}
	st, e = del("d", map[string]string{"If-Match": `"` + md5hex([]byte("del")) + `"`, "X-Amz-If-Match-Size": "3"})
	expect("DELETE with conditions that hold", st, e, 204, "")
	st, e = del("d", map[string]string{"If-Match": "*"})
	expect("DELETE If-Match * of a missing key", st, e, 404, "NoSuchKey")
	st, e = del("d", nil)
	expect("unconditional DELETE of a missing key", st, e, 204, "")

	// DeleteObjects entries carry their own conditions.
	for _, k := range []string{"b1", "b2"} {
		if _, err := mc.PutObject(ctx, "cond", k, strings.NewReader(k), 2, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	batch := "<Delete><Object><Key>b1</Key><ETag>\"" + md5hex([]byte("no")) + "\"</ETag></Object>" +
		"<Object><Key>b2</Key><ETag>\"" + md5hex([]byte("b2")) + "\"</ETag><Size>2</Size></Object></Delete>"
	st, raw := call(t, "POST", "http://"+addr+"/cond?delete", []byte(batch))
	var res struct {
		Deleted []string                     `xml:"Deleted>Key"`
		Errors  []struct{ Key, Code string } `xml:"Error"`
	}
	decode(t, raw, &res)
	if st != 200 || len(res.Deleted) != 1 || res.Deleted[0] != "b2" || len(res.Errors) != 1 || res.Errors[0].Key != "b1" || res.Errors[0].Code != "PreconditionFailed" {
		t.Fatalf("conditional DeleteObjects: %d %s", st, raw)
	}
	if got := readObject(t, mc, "cond", "b1"); string(got) != "b1" {
		t.Fatalf("b1 after a refused batch delete: %q", got)
	}
}

// TestS3ConditionalWritesUnderConcurrency: writers increment one counter
// object with If-Match read-modify-write cycles through the gateway. No
// update is lost (the final value counts the successful writes) and the
// history is linearizable as a compare-and-set register.
func TestS3ConditionalWritesUnderConcurrency(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "counter", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	u := "http://" + addr + "/counter/n"
	start := time.Now()
	if st, e := put(t, u, []byte("0"), map[string]string{"If-None-Match": "*"}); st != 200 {
		t.Fatalf("initial PUT: %d %s", st, e.Code)
	}
	const writers, each = 4, 8
	var mu sync.Mutex
	history := []porcupine.Operation{{ClientId: writers, Input: chaos.CASInput{CAS: true, From: "", To: "0"}, Output: true,
		Call: 0, Return: int64(time.Since(start))}}
	record := func(client int, in chaos.CASInput, out any, call, ret time.Time) {
		mu.Lock()
		history = append(history, porcupine.Operation{ClientId: client, Input: in, Output: out,
			Call: int64(call.Sub(start)), Return: int64(ret.Sub(start))})
		mu.Unlock()
	}
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for c := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 30 * time.Second}
			do := func(req *http.Request) (*http.Response, []byte, error) {
				req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
				resp, err := hc.Do(req)
				if err != nil {
					return nil, nil, err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp, b, err
			}
			for done := 0; done < each; {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("X-Amz-Content-Sha256", sha256hex(nil))
				resp, cur, err := do(req)
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("GET: %v %v: %s", err, resp, cur)
					return
				}
				record(c, chaos.CASInput{}, string(cur), t0, time.Now())
				n, _ := strconv.Atoi(string(cur))
				next := []byte(strconv.Itoa(n + 1))
				t1 := time.Now()
				req, _ = http.NewRequest("PUT", u, bytes.NewReader(next))
				req.Header.Set("X-Amz-Content-Sha256", sha256hex(next))
				req.Header.Set("If-Match", `"`+md5hex(cur)+`"`)
				resp, _, err = do(req)
				if err != nil || resp.StatusCode != 200 && resp.StatusCode != 412 {
					errs <- fmt.Errorf("conditional PUT: %v %v", err, resp)
					return
				}
				ok := resp.StatusCode == 200
				record(c, chaos.CASInput{CAS: true, From: string(cur), To: string(next)}, ok, t1, time.Now())
				if ok {
					done++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := readObject(t, mc, "counter", "n"); string(got) != strconv.Itoa(writers*each) {
		t.Fatalf("counter is %s after %d successful increments: an update was lost", got, writers*each)
	}
	if res := porcupine.CheckOperations(chaos.CASModel, history); !res {
		t.Fatalf("the history of %d operations is not linearizable as a compare-and-set register", len(history))
	}
	t.Logf("%d operations, linearizable", len(history))
}

func TestS3StoredHeaders(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "hdrs", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{
		"Cache-Control": "max-age=60", "Content-Disposition": `attachment; filename="a.txt"`,
		"Content-Encoding": "gzip", "Content-Language": "de-CH", "Expires": "Thu, 01 Dec 2044 16:00:00 GMT",
		"Content-Type": "text/x-granary", "X-Amz-Storage-Class": "STANDARD_IA",
		"X-Amz-Website-Redirect-Location": "/elsewhere", "X-Amz-Meta-Mixed-Case": "Value",
	}
	check := func(what, key string, want map[string]string) {
		t.Helper()
		for _, method := range []string{"HEAD", "GET"} {
			req := signer.SignV4(*newReq(t, method, "http://"+addr+"/hdrs/"+key, nil), rootAccess, rootSecret, "", "us-east-1")
			req.Header.Set("Accept-Encoding", "identity") // or net/http unzips and drops Content-Encoding
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Fatalf("%s: %s %s: %s is %q, want %q", what, method, key, k, got, v)
				}
			}
		}
	}
	if st, e := put(t, "http://"+addr+"/hdrs/obj", []byte("stored"), stored); st != 200 {
		t.Fatalf("PUT with stored headers: %d %s %s", st, e.Code, e.Message)
	}
	check("PUT", "obj", stored)
	// net/http canonicalizes the names it reads, so read the head raw: S3
	// sends user metadata names lower-case.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	head := signer.SignV4(*newReq(t, "HEAD", "http://"+addr+"/hdrs/obj", nil), rootAccess, rootSecret, "", "us-east-1")
	if err := head.Write(conn); err != nil {
		t.Fatal(err)
	}
	raw, _ := bufio.NewReader(conn).Peek(2048)
	if !bytes.Contains(raw, []byte("\r\nx-amz-meta-mixed-case: Value\r\n")) {
		t.Fatalf("user metadata not sent lower-case:\n%s", raw)
	}

	// GET response overrides.
	req := signer.SignV4(*newReq(t, "GET", "http://"+addr+"/hdrs/obj?response-content-type=text%2Fplain&response-cache-control=no-cache&response-content-disposition=inline", nil), rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Disposition") != "inline" {
		t.Fatalf("response overrides: %v", resp.Header)
	}

	// CopyObject: COPY keeps them, REPLACE replaces them.
	creq := newReq(t, "PUT", "http://"+addr+"/hdrs/copied", nil)
	creq.Header.Set("X-Amz-Copy-Source", "/hdrs/obj")
	if st, e := send(t, creq, rootAccess, rootSecret, true); st != 200 {
		t.Fatalf("CopyObject: %d %s", st, e.Code)
	}
	check("CopyObject COPY", "copied", stored)
	creq = newReq(t, "PUT", "http://"+addr+"/hdrs/replaced", nil)
	creq.Header.Set("X-Amz-Copy-Source", "/hdrs/obj")
	creq.Header.Set("X-Amz-Metadata-Directive", "REPLACE")
	creq.Header.Set("Cache-Control", "no-store")
	creq.Header.Set("Content-Type", "text/replaced")
	if st, e := send(t, creq, rootAccess, rootSecret, true); st != 200 {
		t.Fatalf("CopyObject REPLACE: %d %s", st, e.Code)
	}
	check("CopyObject REPLACE", "replaced", map[string]string{"Cache-Control": "no-store", "Content-Type": "text/replaced",
		"Content-Encoding": "", "X-Amz-Storage-Class": "", "X-Amz-Website-Redirect-Location": ""})

	// Multipart uploads keep what CreateMultipartUpload was given.
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "hdrs", "mp", minio.PutObjectOptions{
		CacheControl: "max-age=60", ContentDisposition: `attachment; filename="a.txt"`, ContentEncoding: "gzip",
		ContentLanguage: "de-CH", Expires: time.Date(2044, 12, 1, 16, 0, 0, 0, time.UTC), ContentType: "text/x-granary",
		StorageClass: "STANDARD_IA", WebsiteRedirectLocation: "/elsewhere", UserMetadata: map[string]string{"Mixed-Case": "Value"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := core.PutObjectPart(ctx, "hdrs", "mp", id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CompleteMultipartUpload(ctx, "hdrs", "mp", id, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	check("multipart", "mp", stored)

	// Storage classes outside S3's list, and bad redirects, are refused.
	if st, e := put(t, "http://"+addr+"/hdrs/bad", []byte("x"), map[string]string{"X-Amz-Storage-Class": "COLD"}); st != 400 || e.Code != "InvalidStorageClass" {
		t.Fatalf("storage class COLD: %d %s", st, e.Code)
	}
	if st, e := put(t, "http://"+addr+"/hdrs/bad", []byte("x"), map[string]string{"X-Amz-Website-Redirect-Location": "ftp://x"}); st != 400 || e.Code != "InvalidRedirectLocation" {
		t.Fatalf("redirect ftp://x: %d %s", st, e.Code)
	}
}
