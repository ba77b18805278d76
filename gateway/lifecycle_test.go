package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

func TestS3BucketLifecycle(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "aging", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.GetBucketLifecycle(ctx, "aging"); minio.ToErrorResponse(err).Code != "NoSuchLifecycleConfiguration" {
		t.Fatalf("lifecycle of a new bucket: %v", err)
	}
	conf := lifecycle.NewConfiguration()
	conf.Rules = []lifecycle.Rule{
		{ID: "logs", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "logs/"},
			Expiration:                     lifecycle.Expiration{Days: 30},
			AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 7}},
		{ID: "tmp", Status: "Disabled", RuleFilter: lifecycle.Filter{And: lifecycle.And{Prefix: "tmp/",
			Tags: []lifecycle.Tag{{Key: "kind", Value: "scratch"}}, ObjectSizeGreaterThan: 1024}},
			Expiration: lifecycle.Expiration{Date: lifecycle.ExpirationDate{Time: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{ID: "old", Status: "Enabled", NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 10, NewerNoncurrentVersions: 3}},
		{ID: "markers", Status: "Enabled", RuleFilter: lifecycle.Filter{Tag: lifecycle.Tag{Key: "k", Value: "v"}},
			Expiration: lifecycle.Expiration{DeleteMarker: false, Days: 5}},
	}
	if err := mc.SetBucketLifecycle(ctx, "aging", conf); err != nil {
		t.Fatal(err)
	}
	got, err := mc.GetBucketLifecycle(ctx, "aging")
	if err != nil || len(got.Rules) != 4 {
		t.Fatalf("lifecycle read back: %+v %v", got, err)
	}
	r0, r1, r2, r3 := got.Rules[0], got.Rules[1], got.Rules[2], got.Rules[3]
	if r0.ID != "logs" || r0.Status != "Enabled" || r0.RuleFilter.Prefix != "logs/" || r0.Expiration.Days != 30 ||
		r0.AbortIncompleteMultipartUpload.DaysAfterInitiation != 7 ||
		r1.Status != "Disabled" || r1.RuleFilter.And.Prefix != "tmp/" || len(r1.RuleFilter.And.Tags) != 1 ||
		r1.RuleFilter.And.Tags[0].Value != "scratch" || r1.RuleFilter.And.ObjectSizeGreaterThan != 1024 ||
		!r1.Expiration.Date.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		r2.NoncurrentVersionExpiration.NoncurrentDays != 10 || r2.NoncurrentVersionExpiration.NewerNoncurrentVersions != 3 ||
		r3.RuleFilter.Tag.Key != "k" || r3.Expiration.Days != 5 {
		t.Fatalf("lifecycle read back: %+v", got.Rules)
	}

	url := "http://" + addr + "/aging?lifecycle"
	rule := func(body string) string {
		return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>` + body + `</Rule></LifecycleConfiguration>`
	}
	long := strings.Repeat("i", 256)
	for _, c := range []struct{ name, body, code string }{
		{"not XML", "<LifecycleConfiguration", "MalformedXML"},
		{"empty", "", "MalformedXML"},
		{"no rules", "<LifecycleConfiguration></LifecycleConfiguration>", "MalformedXML"},
		{"bad status", rule("<Status>On</Status><Filter/><Expiration><Days>1</Days></Expiration>"), "MalformedXML"},
		{"no filter", rule("<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "MalformedXML"},
		{"filter and prefix", rule("<Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "MalformedXML"},
		{"two predicates", rule("<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "MalformedXML"},
		{"And of one", rule("<Filter><And><Prefix>a</Prefix></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "MalformedXML"},
		{"days not a number", rule("<Filter/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration>"), "MalformedXML"},
		{"days and date", rule("<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2031-01-01T00:00:00Z</Date></Expiration>"), "MalformedXML"},
		{"empty expiration", rule("<Filter/><Status>Enabled</Status><Expiration></Expiration>"), "MalformedXML"},
		{"unknown element", rule("<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><Frobnicate/>"), "MalformedXML"},
		{"zero days", rule("<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>"), "InvalidArgument"},
		{"date not at midnight", rule("<Filter/><Status>Enabled</Status><Expiration><Date>2031-01-01T10:00:00Z</Date></Expiration>"), "InvalidArgument"},
		{"bad date", rule("<Filter/><Status>Enabled</Status><Expiration><Date>soon</Date></Expiration>"), "InvalidArgument"},
		{"marker with days", rule("<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"), "InvalidArgument"},
		{"long id", rule("<ID>" + long + "</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "InvalidArgument"},
		{"zero noncurrent days", rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>"), "InvalidArgument"},
		{"too many newer versions", rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>"), "InvalidArgument"},
		{"zero days after initiation", rule("<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>"), "InvalidArgument"},
		{"sizes crossed", rule("<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "InvalidArgument"},
		{"negative size", rule("<Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "InvalidArgument"},
		{"no action", rule("<Filter/><Status>Enabled</Status>"), "InvalidRequest"},
		{"abort with tags", rule("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"), "InvalidRequest"},
		{"marker with tags", rule("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"), "InvalidRequest"},
		{"duplicate tag keys", rule("<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"), "InvalidRequest"},
		{"transition to an unmapped class", rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>"), "InvalidStorageClass"},
		{"noncurrent transition to an unmapped class", rule("<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>"), "InvalidStorageClass"},
		{"transition without a class", rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days></Transition>"), "MalformedXML"},
		{"transition by days and date", rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><Date>2031-01-01T00:00:00Z</Date><StorageClass>GLACIER</StorageClass></Transition>"), "MalformedXML"},
		{"transition days negative", rule("<Filter/><Status>Enabled</Status><Transition><Days>-1</Days><StorageClass>GLACIER</StorageClass></Transition>"), "InvalidArgument"},
		{"transition date not at midnight", rule("<Filter/><Status>Enabled</Status><Transition><Date>2031-01-01T10:00:00Z</Date><StorageClass>GLACIER</StorageClass></Transition>"), "InvalidArgument"},
		{"transitions by days and by date", rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition><Transition><Date>2031-01-01T00:00:00Z</Date><StorageClass>STANDARD_IA</StorageClass></Transition>"), "InvalidRequest"},
		{"two transitions to one class", rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition><Transition><Days>60</Days><StorageClass>GLACIER</StorageClass></Transition>"), "InvalidRequest"},
		{"noncurrent transition without days", rule("<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>"), "InvalidArgument"},
		{"duplicate ids", `<LifecycleConfiguration><Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
			`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
	} {
		status, e := send(t, newReq(t, "PUT", url, []byte(c.body)), rootAccess, rootSecret, true)
		if status/100 != 4 && status != 501 || e.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %s", c.name, status, e.Code, e.Message, c.code)
		}
	}
	if got, err := mc.GetBucketLifecycle(ctx, "aging"); err != nil || len(got.Rules) != 4 {
		t.Fatalf("a refused configuration changed the stored one: %+v %v", got, err)
	}
	ok := rule("<ID>p</ID><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Date>2020-01-01</Date></Expiration>")
	if status, e := send(t, newReq(t, "PUT", "http://"+addr+"/nobucket?lifecycle", []byte(ok)), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchBucket" {
		t.Fatalf("missing bucket: %d %s", status, e.Code)
	}

	// A rule whose date has passed expires what it selects, in the
	// background, and nothing else.
	for _, k := range []string{"old/a", "old/b", "new/c"} {
		if _, err := mc.PutObject(ctx, "aging", k, strings.NewReader("data"), 4, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if status, e := send(t, newReq(t, "PUT", url, []byte(ok)), rootAccess, rootSecret, true); status != 200 {
		t.Fatalf("put lifecycle: %d %s %s", status, e.Code, e.Message)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, errA := mc.StatObject(ctx, "aging", "old/a", minio.StatObjectOptions{})
		_, errB := mc.StatObject(ctx, "aging", "old/b", minio.StatObjectOptions{})
		if minio.ToErrorResponse(errA).Code == "NoSuchKey" && minio.ToErrorResponse(errB).Code == "NoSuchKey" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old/ not expired: %v %v", errA, errB)
		}
		time.Sleep(20 * time.Millisecond) // poll: the worker runs once a second
	}
	if _, err := mc.StatObject(ctx, "aging", "new/c", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("new/c: %v", err)
	}

	if status, e := send(t, newReq(t, "DELETE", url, nil), rootAccess, rootSecret, true); status != 204 {
		t.Fatalf("delete lifecycle: %d %s", status, e.Code)
	}
	status, e := send(t, newReq(t, "GET", url, nil), rootAccess, rootSecret, true)
	if status != 404 || e.Code != "NoSuchLifecycleConfiguration" {
		t.Fatalf("get after delete: %d %s", status, e.Code)
	}
}

// TestAWSCLILifecycle: the AWS CLI's s3api lifecycle calls.
func TestAWSCLILifecycle(t *testing.T) {
	aws := need(t, awsCLI)
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "clilife", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s3api := s3apiText(t, aws, addr)
	conf := `{"Rules":[{"ID":"expire-logs","Status":"Enabled","Filter":{"Prefix":"logs/"},"Expiration":{"Days":30},` +
		`"NoncurrentVersionExpiration":{"NoncurrentDays":7,"NewerNoncurrentVersions":2},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":3}}]}`
	s3api("put-bucket-lifecycle-configuration", "--bucket", "clilife", "--lifecycle-configuration", conf)
	var got struct {
		Rules []struct {
			ID                          string
			Status                      string
			Filter                      struct{ Prefix string }
			Expiration                  struct{ Days int }
			NoncurrentVersionExpiration struct {
				NoncurrentDays          int
				NewerNoncurrentVersions int
			}
			AbortIncompleteMultipartUpload struct{ DaysAfterInitiation int }
		}
	}
	out := s3api("get-bucket-lifecycle-configuration", "--bucket", "clilife")
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Rules) != 1 {
		t.Fatalf("get-bucket-lifecycle-configuration: %v %s", err, out)
	}
	r := got.Rules[0]
	if r.ID != "expire-logs" || r.Status != "Enabled" || r.Filter.Prefix != "logs/" || r.Expiration.Days != 30 ||
		r.NoncurrentVersionExpiration.NoncurrentDays != 7 || r.NoncurrentVersionExpiration.NewerNoncurrentVersions != 2 ||
		r.AbortIncompleteMultipartUpload.DaysAfterInitiation != 3 {
		t.Fatalf("get-bucket-lifecycle-configuration: %+v", r)
	}
	if out := s3apiFails(t, aws, addr, "put-bucket-lifecycle-configuration", "--bucket", "clilife", "--lifecycle-configuration",
		`{"Rules":[{"Status":"Enabled","Filter":{},"Transitions":[{"Days":30,"StorageClass":"GLACIER"}]}]}`); !strings.Contains(out, "InvalidStorageClass") {
		t.Fatalf("put-bucket-lifecycle-configuration with a transition: %s", out)
	}
	s3api("delete-bucket-lifecycle", "--bucket", "clilife")
	if out := s3apiFails(t, aws, addr, "get-bucket-lifecycle-configuration", "--bucket", "clilife"); !strings.Contains(out, "NoSuchLifecycleConfiguration") {
		t.Fatalf("get-bucket-lifecycle-configuration after delete: %s", out)
	}
}
