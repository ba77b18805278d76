package bucketconf

import (
	"errors"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/validate"
)

func TestApply(t *testing.T) {
	str := func(s string) *string { return &s }
	b := proto.Bucket{Name: "bkt", Tags: map[string]string{"a": "1"}, Replication: 3}
	c := &Change{Bucket: "bkt", Tags: &map[string]string{}, DataPolicy: str("rep-2"), Convert: &proto.ConvertRule{Policy: "rs-4-2", AfterSeconds: 60}}
	if err := Validate(c); err != nil {
		t.Fatal(err)
	}
	if err := Apply(&b, c); err != nil {
		t.Fatal(err)
	}
	if b.Tags != nil || b.Replication != 2 || b.DataPolicy != "" || b.Convert == nil || b.Convert.Policy != "rs-4-2" {
		t.Errorf("after the change: %+v", b)
	}
	if err := Apply(&b, &Change{Bucket: "bkt", DataPolicy: str("rs-4-2"), Convert: &proto.ConvertRule{AfterSeconds: -1}}); err != nil {
		t.Fatal(err)
	}
	if b.DataPolicy != "rs-4-2" || b.Replication != 2 || b.Convert != nil {
		t.Errorf("after the second change: %+v", b)
	}
	lock := &Change{Bucket: "bkt", Lock: &proto.LockConfig{}}
	if err := Apply(&b, lock); !errors.Is(err, validate.ErrInvalid) || b.ObjectLock {
		t.Errorf("object lock without versioning: %v, lock %v", err, b.ObjectLock)
	}
	b.Versioning = proto.VersioningEnabled
	if err := Apply(&b, lock); err != nil || !b.ObjectLock {
		t.Errorf("object lock with versioning: %v, lock %v", err, b.ObjectLock)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []*Change{
		{Bucket: "B!"},
		{Bucket: "bkt", Convert: &proto.ConvertRule{Policy: "rep-3", AfterSeconds: 60}},
		{Bucket: "bkt", DataPolicy: new(string)},
	} {
		if err := Validate(c); !errors.Is(err, validate.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c, err)
		}
	}
}
