package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestS3ObjectLock(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "vault", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	if c, err := mc.GetBucketVersioning(ctx, "vault"); err != nil || c.Status != "Enabled" {
		t.Fatalf("versioning of a locked bucket: %+v %v", c, err)
	}
	if err := mc.SuspendVersioning(ctx, "vault"); err == nil {
		t.Fatal("versioning of a locked bucket was suspended")
	}
	enabled, mode, validity, unit, err := mc.GetObjectLockConfig(ctx, "vault")
	if err != nil || enabled != "Enabled" || mode != nil {
		t.Fatalf("lock configuration of a new locked bucket: %v %v %v %v %v", enabled, mode, validity, unit, err)
	}
	gov, days := minio.Governance, uint(7)
	dayUnit := minio.Days
	if err := mc.SetObjectLockConfig(ctx, "vault", &gov, &days, &dayUnit); err != nil {
		t.Fatal(err)
	}
	if _, mode, validity, unit, err := mc.GetObjectLockConfig(ctx, "vault"); err != nil || *mode != minio.Governance || *validity != 7 || *unit != minio.Days {
		t.Fatalf("lock configuration: %v %v %v %v", mode, validity, unit, err)
	}

	// A PUT takes the default retention; DELETE by version is refused.
	info, err := mc.PutObject(ctx, "vault", "backup", strings.NewReader("precious"), 8, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, until, err := mc.GetObjectRetention(ctx, "vault", "backup", info.VersionID)
	if err != nil || *m != minio.Governance || until.Before(time.Now().AddDate(0, 0, 6)) {
		t.Fatalf("default retention: %v %v %v", m, until, err)
	}
	err = mc.RemoveObject(ctx, "vault", "backup", minio.RemoveObjectOptions{VersionID: info.VersionID})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("delete of a retained version: %v", err)
	}
	// Compliance until a date: not even a bypass deletes it, nor shortens it.
	comp := minio.Compliance
	far := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	info2, err := mc.PutObject(ctx, "vault", "ledger", strings.NewReader("entries"), 7, minio.PutObjectOptions{Mode: comp, RetainUntilDate: far})
	if err != nil {
		t.Fatal(err)
	}
	st, err := mc.StatObject(ctx, "vault", "ledger", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" {
		t.Fatalf("lock headers on HEAD: %v %v", st.Metadata, err)
	}
	err = mc.RemoveObject(ctx, "vault", "ledger", minio.RemoveObjectOptions{VersionID: info2.VersionID, GovernanceBypass: true})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("delete under COMPLIANCE with bypass: %v", err)
	}
	sooner := far.Add(-time.Hour)
	err = mc.PutObjectRetention(ctx, "vault", "ledger", minio.PutObjectRetentionOptions{Mode: &comp, RetainUntilDate: &sooner, VersionID: info2.VersionID, GovernanceBypass: true})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("shortening COMPLIANCE: %v", err)
	}
	later := far.Add(time.Hour)
	if err := mc.PutObjectRetention(ctx, "vault", "ledger", minio.PutObjectRetentionOptions{Mode: &comp, RetainUntilDate: &later, VersionID: info2.VersionID}); err != nil {
		t.Fatalf("extending COMPLIANCE: %v", err)
	}
	// Governance yields to the bypass.
	if err := mc.RemoveObject(ctx, "vault", "backup", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
		t.Fatalf("delete under GOVERNANCE with bypass: %v", err)
	}
	// A legal hold keeps a version whatever else.
	on, off := minio.LegalHoldEnabled, minio.LegalHoldDisabled
	info3, err := mc.PutObject(ctx, "vault", "held", strings.NewReader("x"), 1, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.PutObjectLegalHold(ctx, "vault", "held", minio.PutObjectLegalHoldOptions{VersionID: info3.VersionID, Status: &on}); err != nil {
		t.Fatal(err)
	}
	if s, err := mc.GetObjectLegalHold(ctx, "vault", "held", minio.GetObjectLegalHoldOptions{VersionID: info3.VersionID}); err != nil || *s != on {
		t.Fatalf("legal hold: %v %v", s, err)
	}
	err = mc.RemoveObject(ctx, "vault", "held", minio.RemoveObjectOptions{VersionID: info3.VersionID, GovernanceBypass: true})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("delete under a legal hold: %v", err)
	}
	// DeleteObjects is refused per version too.
	doc := "<Delete><Object><Key>held</Key><VersionId>" + info3.VersionID + "</VersionId></Object></Delete>"
	req := newReq(t, "POST", "http://"+addr+"/vault?delete", []byte(doc))
	req.Header.Set("X-Amz-Bypass-Governance-Retention", "true")
	if status, _, body := roundTrip(t, req); status != 200 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
		t.Fatalf("DeleteObjects of a held version: %d %s", status, body)
	}
	if err := mc.PutObjectLegalHold(ctx, "vault", "held", minio.PutObjectLegalHoldOptions{VersionID: info3.VersionID, Status: &off}); err != nil {
		t.Fatal(err)
	}
	if err := mc.RemoveObject(ctx, "vault", "held", minio.RemoveObjectOptions{VersionID: info3.VersionID, GovernanceBypass: true}); err != nil {
		t.Fatalf("delete after the hold: %v", err)
	}
}

// TestS3ObjectLockErrors: S3's errors for object lock requests, none of
// which changes anything.
func TestS3ObjectLockErrors(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "plainbk", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "lockbk", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "lockbk", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cfg := func(inner string) []byte {
		return []byte("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>" + inner + "</ObjectLockConfiguration>")
	}
	ret := func(mode, date string) []byte {
		return []byte("<Retention><Mode>" + mode + "</Mode><RetainUntilDate>" + date + "</RetainUntilDate></Retention>")
	}
	for _, c := range []struct {
		name, method, url string
		body              []byte
		header            map[string]string
		status            int
		code              string
	}{
		{"no lock configuration", "GET", "/plainbk?object-lock", nil, nil, 404, "ObjectLockConfigurationNotFoundError"},
		{"lock on an unversioned bucket", "PUT", "/plainbk?object-lock", cfg(""), nil, 409, "InvalidBucketState"},
		{"bad lock XML", "PUT", "/lockbk?object-lock", []byte("<ObjectLockConfiguration>"), nil, 400, "MalformedXML"},
		{"lock not Enabled", "PUT", "/lockbk?object-lock", []byte("<ObjectLockConfiguration><ObjectLockEnabled>On</ObjectLockEnabled></ObjectLockConfiguration>"), nil, 400, "MalformedXML"},
		{"days and years", "PUT", "/lockbk?object-lock", cfg("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule>"), nil, 400, "MalformedXML"},
		{"zero days", "PUT", "/lockbk?object-lock", cfg("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule>"), nil, 400, "InvalidArgument"},
		{"bad mode", "PUT", "/lockbk?object-lock", cfg("<Rule><DefaultRetention><Mode>STRICT</Mode><Days>1</Days></DefaultRetention></Rule>"), nil, 400, "MalformedXML"},
		{"retention without lock", "PUT", "/plainbk/o?retention", ret("GOVERNANCE", future), nil, 400, "InvalidRequest"},
		{"retention bad date", "PUT", "/lockbk/o?retention", ret("GOVERNANCE", "next tuesday"), nil, 400, "InvalidArgument"},
		{"retention past date", "PUT", "/lockbk/o?retention", ret("GOVERNANCE", past), nil, 400, "InvalidArgument"},
		{"retention bad mode", "PUT", "/lockbk/o?retention", ret("FOREVER", future), nil, 400, "MalformedXML"},
		{"retention bad XML", "PUT", "/lockbk/o?retention", []byte("<Retention>"), nil, 400, "MalformedXML"},
		{"no retention yet", "GET", "/lockbk/o?retention", nil, nil, 404, "NoSuchObjectLockConfiguration"},
		{"no legal hold yet", "GET", "/lockbk/o?legal-hold", nil, nil, 404, "NoSuchObjectLockConfiguration"},
		{"legal hold bad status", "PUT", "/lockbk/o?legal-hold", []byte("<LegalHold><Status>MAYBE</Status></LegalHold>"), nil, 400, "MalformedXML"},
		{"retention of no version", "GET", "/lockbk/o?retention&versionId=00000000000000ff", nil, nil, 404, "NoSuchVersion"},
		{"PUT lock headers without lock", "PUT", "/plainbk/o", []byte("x"), map[string]string{"X-Amz-Object-Lock-Mode": "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date": future}, 400, "InvalidRequest"},
		{"PUT mode without date", "PUT", "/lockbk/o2", []byte("x"), map[string]string{"X-Amz-Object-Lock-Mode": "GOVERNANCE"}, 400, "InvalidArgument"},
		{"PUT bad date", "PUT", "/lockbk/o2", []byte("x"), map[string]string{"X-Amz-Object-Lock-Mode": "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date": "2030-13-45"}, 400, "InvalidArgument"},
		{"PUT past date", "PUT", "/lockbk/o2", []byte("x"), map[string]string{"X-Amz-Object-Lock-Mode": "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date": past}, 400, "InvalidArgument"},
		{"PUT bad legal hold", "PUT", "/lockbk/o2", []byte("x"), map[string]string{"X-Amz-Object-Lock-Legal-Hold": "YES"}, 400, "InvalidArgument"},
		{"lock headers on a part", "PUT", "/lockbk/o2?partNumber=1&uploadId=AAAAAAAAAAAAAAAA", []byte("x"), map[string]string{"X-Amz-Object-Lock-Legal-Hold": "ON"}, 501, "NotImplemented"},
	} {
		req := newReq(t, c.method, "http://"+addr+c.url, c.body)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		if status, e := send(t, req, rootAccess, rootSecret, true); status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, status, e.Code, e.Message, c.status, c.code)
		}
	}
	if enabled, mode, _, _, err := mc.GetObjectLockConfig(ctx, "lockbk"); err != nil || enabled != "Enabled" || mode != nil {
		t.Fatalf("lock configuration after refused calls: %v %v %v", enabled, mode, err)
	}
	if _, err := mc.StatObject(ctx, "lockbk", "o2", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("a refused PUT stored o2: %v", err)
	}
}

// TestAWSCLIObjectLock: lock an object so that no one can delete it
// before its retention date, with the AWS CLI.
func TestAWSCLIObjectLock(t *testing.T) {
	aws := need(t, awsCLI)
	_, _, addr := startS3(t)
	dir := t.TempDir()
	s3api := s3apiJSON(t, aws, addr)
	s3api("create-bucket", "--bucket", "clilock", "--object-lock-enabled-for-bucket")
	s3api("put-object-lock-configuration", "--bucket", "clilock", "--object-lock-configuration",
		`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}`)
	m := s3api("get-object-lock-configuration", "--bucket", "clilock")
	if !strings.Contains(jsonText(m), `"Days":1`) || !strings.Contains(jsonText(m), "COMPLIANCE") {
		t.Fatalf("get-object-lock-configuration: %v", m)
	}
	file := dir + "/body"
	if err := writeFile(file, "keep me"); err != nil {
		t.Fatal(err)
	}
	put := s3api("put-object", "--bucket", "clilock", "--key", "k", "--body", file)
	vid, _ := put["VersionId"].(string)
	if m := s3api("get-object-retention", "--bucket", "clilock", "--key", "k", "--version-id", vid); !strings.Contains(jsonText(m), "COMPLIANCE") {
		t.Fatalf("get-object-retention: %v", m)
	}
	if out := s3apiFails(t, aws, addr, "delete-object", "--bucket", "clilock", "--key", "k", "--version-id", vid, "--bypass-governance-retention"); !strings.Contains(out, "AccessDenied") {
		t.Fatalf("delete-object of a locked version: %s", out)
	}
	until := time.Now().AddDate(0, 0, 3).UTC().Format(time.RFC3339)
	s3api("put-object-retention", "--bucket", "clilock", "--key", "k", "--version-id", vid, "--retention", "Mode=COMPLIANCE,RetainUntilDate="+until)
	s3api("put-object-legal-hold", "--bucket", "clilock", "--key", "k", "--version-id", vid, "--legal-hold", "Status=ON")
	if m := s3api("get-object-legal-hold", "--bucket", "clilock", "--key", "k", "--version-id", vid); !strings.Contains(jsonText(m), `"Status":"ON"`) {
		t.Fatalf("get-object-legal-hold: %v", m)
	}
	if m := s3api("get-object", "--bucket", "clilock", "--key", "k", dir+"/out"); m["ObjectLockMode"] != "COMPLIANCE" || m["ObjectLockLegalHoldStatus"] != "ON" {
		t.Fatalf("get-object lock fields: %v", m)
	}
}

func jsonText(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}
