package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
)

func TestAdmin(t *testing.T) {
	c, cl := startData(t, 2)
	ctx := ctxT(t, 30*time.Second)
	adm, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	st, err := adm.Status(ctx)
	if err != nil || st.Leader == "" || len(st.ChunkServers) != 2 {
		t.Fatalf("status %+v, %v", st, err)
	}
	ms, err := adm.Members(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members %+v, %v", ms, err)
	}
	if h, err := adm.Health(ctx, ms[0].Address); err != nil || h.ID != ms[0].ID {
		t.Fatalf("health %+v, %v", h, err)
	}
	cs, err := adm.ChunkServers(ctx)
	if err != nil || len(cs) != 2 {
		t.Fatalf("chunk servers %+v, %v", cs, err)
	}
	if err := adm.Decommission(ctx, "no-such-server"); err == nil {
		t.Error("decommissioned a server that does not exist")
	}
	if _, err := adm.CreateUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	us, err := adm.Users(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "alice" {
		t.Fatalf("users %+v, %v", us, err)
	}
	k, err := adm.CreateKey(ctx, "alice", "", "")
	if err != nil || k.AccessKey == "" || k.SecretKey == "" {
		t.Fatalf("key %+v, %v", k, err)
	}
	if got, err := adm.Key(ctx, k.AccessKey); err != nil || got.SecretKey != k.SecretKey || got.User != "alice" {
		t.Fatalf("key lookup %+v, %v", got, err)
	}
	if _, err := adm.CreateUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	kb, err := adm.CreateKey(ctx, "bob", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := adm.Keys(ctx, "alice")
	if err != nil || len(ks) != 1 || ks[0].AccessKey != k.AccessKey || ks[0].User != "alice" || ks[0].SecretKey != "" || ks[0].Created.IsZero() {
		t.Fatalf("alice's keys %+v, %v (want one, without its secret)", ks, err)
	}
	if all, err := adm.Keys(ctx, ""); err != nil || len(all) != 2 || all[0].SecretKey != "" || all[1].SecretKey != "" {
		t.Fatalf("every key %+v, %v", all, err)
	}
	if _, err := adm.Keys(ctx, "bad name!"); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("keys of an invalid user name: %v", err)
	}
	if err := adm.DeleteKey(ctx, kb.AccessKey); err != nil {
		t.Fatal(err)
	}
	if err := adm.DeleteKey(ctx, k.AccessKey); err != nil {
		t.Fatal(err)
	}
	if ks, err := adm.Keys(ctx, ""); err != nil || len(ks) != 0 {
		t.Fatalf("keys after deleting both: %+v, %v", ks, err)
	}
	if _, err := adm.Key(ctx, k.AccessKey); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := cl.Admin().CreateBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := adm.CreateBucket(ctx, "other"); !errors.Is(err, client.ErrBucketExists) {
		t.Fatalf("second create: %v", err)
	}
	bs, err := adm.Buckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != "data" || bs[1].Name != "other" {
		t.Fatalf("buckets %+v, %v", bs, err)
	}
	if err := adm.DeleteBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.Bucket(ctx, "other"); !errors.Is(err, client.ErrNoSuchBucket) {
		t.Fatalf("deleted bucket: %v", err)
	}
}
