package s3tags

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/proto"
)

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestRead(t *testing.T) {
	doc := func(tags ...string) string {
		var b strings.Builder
		b.WriteString("<Tagging><TagSet>")
		for i := 0; i+1 < len(tags); i += 2 {
			b.WriteString("<Tag><Key>" + tags[i] + "</Key><Value>" + tags[i+1] + "</Value></Tag>")
		}
		b.WriteString("</TagSet></Tagging>")
		return b.String()
	}
	for _, c := range []struct {
		name, doc string
		limit     int
		err       string
	}{
		{"two", doc("a", "1", "b", ""), proto.MaxObjectTags, ""},
		{"duplicate", doc("a", "1", "a", "2"), proto.MaxObjectTags, "InvalidTag"},
		{"system", doc("aws:x", "1"), proto.MaxObjectTags, "InvalidTag"},
		{"too many object tags", doc(strings.Split(strings.Repeat("k,v,", 11), ",")...), proto.MaxObjectTags, "InvalidTag"},
		{"no tag set", "<Tagging></Tagging>", proto.MaxObjectTags, "MalformedXML"},
		{"no value", "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", proto.MaxObjectTags, "MalformedXML"},
	} {
		_, err := Read(httptest.NewRequest("PUT", "/b/k?tagging", strings.NewReader(c.doc)), c.limit)
		if code(err) != c.err {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
	many := make([]string, 0, 22)
	for i := range 11 {
		many = append(many, "k"+string(rune('a'+i)), "v")
	}
	if _, err := Read(httptest.NewRequest("PUT", "/b/k?tagging", strings.NewReader(doc(many...))), proto.MaxObjectTags); code(err) != "BadRequest" {
		t.Errorf("11 object tags: %v, want BadRequest", err)
	}
}

func TestHeadersAndDocument(t *testing.T) {
	h := http.Header{"X-Amz-Tagging": {"b=2&a=1"}}
	stored, err := FromHeader(h)
	if err != nil || stored != proto.EncodeTags(map[string]string{"a": "1", "b": "2"}) || Count(stored) != 2 {
		t.Fatalf("header: %q %v", stored, err)
	}
	var src client.ObjectInfo
	src.Tagging = "x=y"
	if got, _ := ForCopy(http.Header{}, src); got != "x=y" {
		t.Errorf("COPY directive: %q", got)
	}
	h.Set("X-Amz-Tagging-Directive", "REPLACE")
	if got, _ := ForCopy(h, src); got != stored {
		t.Errorf("REPLACE directive: %q", got)
	}
	h.Set("X-Amz-Tagging-Directive", "MERGE")
	if _, err := ForCopy(h, src); code(err) != "InvalidArgument" {
		t.Errorf("unknown directive: %v", err)
	}
	out, err := xml.Marshal(Document(map[string]string{"b": "2", "a": "1"}))
	if err != nil || !strings.Contains(string(out), "<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key>") {
		t.Errorf("document: %s %v", out, err)
	}
	if got, err := FromForm(string(out)); err != nil || got != stored {
		t.Errorf("form: %q %v", got, err)
	}
}
