package s3acl

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/client"
)

func TestBucketDocuments(t *testing.T) {
	p, err := ReadPublicAccessBlock(httptest.NewRequest("PUT", "/b?publicAccessBlock", strings.NewReader(
		`<PublicAccessBlockConfiguration><BlockPublicAcls>TRUE</BlockPublicAcls><RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>`)))
	if err != nil || *p != (client.PublicAccessBlock{BlockPublicAcls: true}) {
		t.Fatalf("%+v %v", p, err)
	}
	if doc := PublicAccessBlockDocument(*p); doc.BlockPublicAcls != "true" || doc.IgnorePublicAcls != "false" {
		t.Errorf("document: %+v", doc)
	}
	if _, err := ReadPublicAccessBlock(httptest.NewRequest("PUT", "/b", strings.NewReader(
		`<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>`))); code(err) != "MalformedXML" {
		t.Errorf("yes: %v", err)
	}
	o, err := ReadOwnership(httptest.NewRequest("PUT", "/b?ownershipControls", strings.NewReader(
		`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`)))
	if err != nil || o != OwnershipWriter {
		t.Errorf("ownership: %q %v", o, err)
	}
	if _, err := ReadOwnership(httptest.NewRequest("PUT", "/b?ownershipControls", strings.NewReader(
		`<OwnershipControls><Rule><ObjectOwnership>Mine</ObjectOwnership></Rule></OwnershipControls>`))); code(err) != "MalformedXML" {
		t.Errorf("unknown ownership: %v", err)
	}
}
