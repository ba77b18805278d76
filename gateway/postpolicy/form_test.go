package postpolicy

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

type field struct{ name, value string }

// postRequest builds a multipart/form-data POST with fields, then (unless
// fileName is "-") the file part, then after.
func postRequest(t *testing.T, fields []field, fileName, content string, after ...field) *http.Request {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := w.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "-" {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	for _, f := range after {
		w.WriteField(f.name, f.value)
	}
	w.Close()
	r, err := http.NewRequest("POST", "http://s3.local/bucket", &body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestReadForm(t *testing.T) {
	r := postRequest(t, []field{{"Key", "user/${filename}"}, {"Content-Type", "image/png"}, {"X-Amz-Meta-Color", "Blue"}},
		"photo.png", "PNGDATA", field{"after", "ignored"})
	f, err := ReadForm(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"key": "user/${filename}", "content-type": "image/png", "x-amz-meta-color": "Blue"}
	if len(f.Fields) != len(want) {
		t.Fatalf("fields %v, want %v", f.Fields, want)
	}
	for k, v := range want {
		if f.Fields[k] != v {
			t.Fatalf("field %s = %q, want %q", k, f.Fields[k], v)
		}
	}
	if f.FileName != "photo.png" || Key(f) != "user/photo.png" {
		t.Fatalf("file name %q, key %q", f.FileName, Key(f))
	}
	data, err := io.ReadAll(f.File)
	if err != nil || string(data) != "PNGDATA" {
		t.Fatalf("file %q, %v", data, err)
	}
}

// TestReadFormStreams reads the fields of a form whose file is still
// arriving: the file is not buffered.
func TestReadFormStreams(t *testing.T) {
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	r, _ := http.NewRequest("POST", "http://s3.local/bucket", pr)
	r.Header.Set("Content-Type", w.FormDataContentType())
	go func() {
		w.WriteField("key", "k")
		fw, _ := w.CreateFormFile("file", "f")
		fw.Write([]byte("first"))
		// The rest of the file waits for the reader.
		fw.Write([]byte("-second"))
		w.Close()
		pw.Close()
	}()
	f, err := ReadForm(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f.File)
	if err != nil || string(data) != "first-second" {
		t.Fatalf("file %q, %v", data, err)
	}
}

func TestReadFormErrors(t *testing.T) {
	many := make([]field, 2000)
	for i := range many {
		many[i] = field{"", ""}
	}
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		max  int64
		code string
	}{
		{"no file", func(t *testing.T) *http.Request { return postRequest(t, []field{{"key", "k"}}, "-", "") }, 0, "IncorrectNumberOfFilesInPostRequest"},
		{"no key", func(t *testing.T) *http.Request { return postRequest(t, []field{{"acl", "private"}}, "f", "x") }, 0, "InvalidArgument"},
		{"key after file", func(t *testing.T) *http.Request { return postRequest(t, nil, "f", "x", field{"key", "k"}) }, 0, "InvalidArgument"},
		{"duplicate field", func(t *testing.T) *http.Request {
			return postRequest(t, []field{{"key", "a"}, {"KEY", "b"}}, "f", "x")
		}, 0, "InvalidArgument"},
		{"fields too large", func(t *testing.T) *http.Request {
			return postRequest(t, []field{{"key", "k"}, {"x-amz-meta-big", strings.Repeat("x", 2000)}}, "f", "x")
		}, 1000, "MaxPostPreDataLengthExceededError"},
		{"many empty parts", func(t *testing.T) *http.Request { return postRequest(t, many, "f", "x") }, 1000, "MaxPostPreDataLengthExceededError"},
		{"not multipart", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("POST", "http://s3.local/b", strings.NewReader("key=k"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 0, "MalformedPOSTRequest"},
		{"no boundary", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("POST", "http://s3.local/b", strings.NewReader("x"))
			r.Header.Set("Content-Type", "multipart/form-data")
			return r
		}, 0, "MalformedPOSTRequest"},
		{"truncated", func(t *testing.T) *http.Request {
			r := postRequest(t, []field{{"key", "k"}}, "f", "x")
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b[:len(b)/3]))
			return r
		}, 0, "MalformedPOSTRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadForm(tt.req(t), tt.max)
			if err == nil {
				t.Fatalf("read %+v", f)
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestRedirect(t *testing.T) {
	tests := []struct {
		fields   map[string]string
		status   int
		location string
	}{
		{nil, 204, ""},
		{map[string]string{"success_action_status": "200"}, 200, ""},
		{map[string]string{"success_action_status": "201"}, 201, ""},
		{map[string]string{"success_action_status": "204"}, 204, ""},
		{map[string]string{"success_action_status": "302"}, 204, ""},
		{map[string]string{"success_action_status": "x"}, 204, ""},
		{map[string]string{"success_action_redirect": "https://example.com/done?a=1", "success_action_status": "201"}, 303,
			"https://example.com/done?a=1&bucket=b&etag=%22abc%22&key=dir%2Fk+1"},
		{map[string]string{"redirect": "http://example.com/"}, 303, "http://example.com/?bucket=b&etag=%22abc%22&key=dir%2Fk+1"},
		{map[string]string{"success_action_redirect": "not a url", "success_action_status": "200"}, 200, ""},
		{map[string]string{"success_action_redirect": "javascript:alert(1)"}, 204, ""},
		{map[string]string{"success_action_redirect": "/relative"}, 204, ""},
	}
	for _, tt := range tests {
		status, location := Redirect(&Form{Fields: tt.fields}, "b", "dir/k 1", `"abc"`)
		if status != tt.status || location != tt.location {
			t.Errorf("Redirect(%v) = %d %q, want %d %q", tt.fields, status, location, tt.status, tt.location)
		}
	}
}
