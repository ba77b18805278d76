package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/granary-store/granary/gateway"
)

// rawRequest writes req's head as signed, with the Content-Length given,
// and then body (which may be shorter), on a fresh connection.
func rawRequest(t *testing.T, addr string, req *http.Request, contentLength int64, body []byte, expectContinue bool) (*bufio.Reader, net.Conn) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.ContentLength = contentLength
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Method, req.URL.RequestURI(), req.URL.Host, contentLength)
	if expectContinue {
		head.WriteString("Expect: 100-continue\r\n")
	}
	req.Header.Write(&head)
	head.WriteString("\r\n")
	head.Write(body)
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	return bufio.NewReader(conn), conn
}

func readS3Error(t *testing.T, br *bufio.Reader) (int, s3Err) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e s3Err
	if resp.StatusCode >= 300 {
		if err := xml.Unmarshal(raw, &e); err != nil {
			t.Fatalf("status %d with a body that is not S3 XML: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, e
}

func TestRefuseEarlyAnswerAlways(t *testing.T) {
	c, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "limits", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	// Over 5 GiB in one PUT: refused from the headers, no 100 Continue.
	req, _ := http.NewRequest("PUT", "http://"+addr+"/limits/huge", nil)
	br, _ := rawRequest(t, addr, req, 5<<30+1, nil, true)
	status, e := readS3Error(t, br)
	if status != 400 || e.Code != "EntityTooLarge" {
		t.Fatalf("PUT of 5 GiB + 1: %d %s (a 100 Continue first would show here as 100)", status, e.Code)
	}

	// A body shorter than its Content-Length.
	req, _ = http.NewRequest("PUT", "http://"+addr+"/limits/short", nil)
	br, conn := rawRequest(t, addr, req, 100<<10, bytes.Repeat([]byte("s"), 50<<10), false)
	conn.(*net.TCPConn).CloseWrite()
	if status, e := readS3Error(t, br); status != 400 || e.Code != "IncompleteBody" {
		t.Fatalf("short body: %d %s %s", status, e.Code, e.Message)
	}
	if _, err := mc.StatObject(ctx, "limits", "short", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("a short body stored an object: %v", err)
	}

	// Keys with control characters are keys like any other.
	key := "ctl\x01line\nbreak\ttab"
	if _, err := mc.PutObject(ctx, "limits", key, strings.NewReader("ctl"), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PUT of a key with control characters: %v", err)
	}
	if got := readObject(t, mc, "limits", key); string(got) != "ctl" {
		t.Fatalf("key with control characters reads %q", got)
	}

	// A GET whose data cannot be read before the first byte: an S3 error
	// with a status, not a cut connection.
	data := bytes.Repeat([]byte("d"), 600<<10) // chunked, not inline
	if _, err := mc.PutObject(ctx, "limits", "unreadable", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.ChunkServers() {
		c.KillChunkServer(n)
	}
	get := newReq(t, "GET", "http://"+addr+"/limits/unreadable", nil)
	if status, e := send(t, get, rootAccess, rootSecret, true); status != 503 || e.Code != "ServiceUnavailable" {
		t.Fatalf("GET with every chunk server down: %d %s %s", status, e.Code, e.Message)
	}
}

// TestSlowClientsCannotLockOut opens many more idle and half-sent
// connections than the gateway's bound: the gateway closes the surplus and
// a well-behaved client is still served.
func TestSlowClientsCannotLockOut(t *testing.T) {
	const limit, attackers = 20, 200
	_, mc, addr := startS3With(t, func(cfg *gateway.Config) {
		cfg.MaxConns = limit
		cfg.HeaderTimeout = time.Minute // eviction, not the timeout, must do the work here
	})
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "slow", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var closed atomic.Int32
	done := make(chan struct{}, attackers)
	for i := range attackers {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if i%2 == 0 { // half send part of a request head and stall
			conn.Write([]byte("GET /slow HTTP/1.1\r\nHost: " + addr + "\r\n"))
		}
		go func() {
			defer func() { done <- struct{}{} }()
			conn.SetReadDeadline(time.Now().Add(45 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err == io.EOF {
				closed.Add(1)
			}
		}()
	}
	// A well-behaved client on a fresh connection.
	for i := range 3 {
		put := newReq(t, "PUT", "http://"+addr+"/slow/ok", []byte("served"))
		req := signer.SignV4(*put, rootAccess, rootSecret, "", "us-east-1")
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("well-behaved request %d under a slow-client attack: %v", i, err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 {
			t.Fatalf("well-behaved request %d: %d", i, resp.StatusCode)
		}
	}
	timeout := time.After(40 * time.Second)
wait:
	for closed.Load() < attackers-limit {
		select {
		case <-done:
		case <-timeout:
			break wait
		}
	}
	if n := closed.Load(); n < attackers-limit {
		t.Fatalf("the gateway closed %d of %d surplus connections", n, attackers-limit)
	}
}
