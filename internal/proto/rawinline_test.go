package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRawInlineRoundTrip(t *testing.T) {
	for _, inline := range [][]byte{nil, []byte("x"), []byte("\n{\"a\":1}\n"), bytes.Repeat([]byte{0, 0xff, '\n'}, 5000)} {
		l := Located{Object: Object{Bucket: "b", Key: "k", Size: int64(len(inline))}}
		body, err := AppendRawInline(nil, l, inline)
		if err != nil {
			t.Fatal(err)
		}
		var got Located
		r := bytes.NewReader(body)
		raw, err := ReadRawInline(json.NewDecoder(r), r, &got, MaxInlineBytes)
		if err != nil {
			t.Fatalf("%d inline bytes: %v", len(inline), err)
		}
		if !bytes.Equal(raw, inline) || got.Object.Key != "k" || got.Object.Size != int64(len(inline)) {
			t.Fatalf("%d inline bytes: got %+v and %d bytes", len(inline), got, len(raw))
		}
	}
}

func TestRawInlineRejectsMalformedBodies(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		limit      int64
		want       error
	}{
		{"no newline", `{"key":"k"}`, 10, ErrRawInline},
		{"space instead of newline", `{"key":"k"} abc`, 10, ErrRawInline},
		{"over the limit", "{\"key\":\"k\"}\n" + strings.Repeat("x", 11), 10, ErrRawInlineTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Object
			r := strings.NewReader(tc.body)
			if _, err := ReadRawInline(json.NewDecoder(r), r, &o, tc.limit); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	var o Object
	r := strings.NewReader(`{"key":`)
	if _, err := ReadRawInline(json.NewDecoder(r), r, &o, 10); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}
