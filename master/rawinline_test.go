package master_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestRawInline commits and locates inline objects with their bytes raw
// after the JSON (proto.MediaTypeRawInline), checks that plain JSON still
// works both ways, and that malformed raw bodies are refused unapplied.
func TestRawInline(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1})
	cl := c.Client()
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "raw"); err != nil {
		t.Fatal(err)
	}
	data := "line one\n{\"not\":\"json\"}\x00\xff"
	if _, err := cl.Commit(ctx, inline("raw", "k", data)); err != nil { // raw-inline request
		t.Fatal(err)
	}
	l, err := cl.Locate(ctx, "raw", "k") // raw-inline answer
	if err != nil || string(l.Object.Inline) != data || l.Object.Size != int64(len(data)) {
		t.Fatalf("locate: %+v %v", l, err)
	}
	if _, err := cl.Commit(ctx, inline("raw", "empty", "")); err != nil {
		t.Fatal(err)
	}
	if l, err := cl.Locate(ctx, "raw", "empty"); err != nil || len(l.Object.Inline) != 0 {
		t.Fatalf("locate empty: %+v %v", l, err)
	}

	base := "http://" + c.Leader().HTTPAddr
	send := func(method, path, ctype, accept, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testcluster.Secret)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	// A reader that asks for JSON gets the inline bytes in base64.
	resp := send("GET", proto.RouteObjectLocate+"?bucket=raw&key=k", "", "application/json", "")
	var got proto.Located
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || string(got.Object.Inline) != data {
		t.Fatalf("JSON locate: %s %+v %v", resp.Header.Get("Content-Type"), got, err)
	}

	before := c.Leader().Server().AppliedIndex()
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"no newline", `{"object":{"bucket":"raw","key":"z","size":1}}x`, 400},
		{"unknown field", "{\"object\":{\"bucket\":\"raw\",\"key\":\"z\",\"size\":1},\"evil\":1}\nx", 400},
		{"inline twice", "{\"object\":{\"bucket\":\"raw\",\"key\":\"z\",\"size\":1,\"inline\":\"eA==\"}}\nx", 400},
		{"size mismatch", "{\"object\":{\"bucket\":\"raw\",\"key\":\"z\",\"size\":5}}\nx", 400},
		{"too large", "{\"object\":{\"bucket\":\"raw\",\"key\":\"z\"}}\n" + strings.Repeat("x", proto.MaxInlineBytes+1), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := send("POST", proto.RouteObjectCommit, proto.MediaTypeRawInline, "", tc.body)
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tc.status)
			}
		})
	}
	if after := c.Leader().Server().AppliedIndex(); after != before {
		t.Errorf("refused requests moved the applied index from %d to %d", before, after)
	}
}
