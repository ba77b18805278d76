package proto

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestErrorFromResponse(t *testing.T) {
	resp := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(strings.NewReader(body))}
	}
	e := ErrorFromResponse(resp(404, `{"code":"NoSuchKey","message":"gone","server":"cs2"}`))
	if e.Code != CodeNoSuchKey || e.Message != "gone" || e.Server != "cs2" || e.Status != 404 || e.Retryable {
		t.Errorf("API error body: %+v", e)
	}
	e = ErrorFromResponse(resp(503, "<html>busy</html>\n"))
	if e.Code != CodeInternal || !e.Retryable || !strings.Contains(e.Message, "<html>busy</html>") {
		t.Errorf("proxy page on 503: %+v", e)
	}
	if e = ErrorFromResponse(resp(500, `{"message":"no code"}`)); e.Code != CodeInternal || e.Retryable {
		t.Errorf("body without a code on 500: %+v", e)
	}
}
