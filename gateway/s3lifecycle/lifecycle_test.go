package s3lifecycle

import (
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/gateway/s3err"
)

func TestRead(t *testing.T) {
	read := func(doc string) error {
		rules, err := Read(httptest.NewRequest("PUT", "/b?lifecycle", strings.NewReader(doc)))
		if err == nil {
			out, _ := xml.Marshal(Document(rules))
			if !strings.Contains(string(out), "<Date>2030-01-01T00:00:00.000Z</Date>") {
				t.Errorf("date not normalized: %s", out)
			}
		}
		return err
	}
	ok := `<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>` +
		`<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`
	if err := read(ok); err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]string{
		strings.Replace(ok, "<ID>a</ID>", "<ID>a</ID><Unknown/>", 1):                           "MalformedXML",
		`<LifecycleConfiguration><Rule><Status>Maybe</Status></Rule></LifecycleConfiguration>`: "MalformedXML",
		`<Tagging/>`: "MalformedXML",
	} {
		var se *s3err.Error
		if err := read(doc); !errors.As(err, &se) || se.Code != want {
			t.Errorf("%s: %v, want %s", doc, err, want)
		}
	}
}
