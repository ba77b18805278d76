package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
)

// fakeCluster is an in-memory Cluster for handler tests and the
// benchmark (the browser test uses a real in-process cluster).
type fakeCluster struct {
	mu      sync.Mutex
	status  client.Status
	health  map[string]client.Health // by address
	buckets []client.Bucket
	users   []client.User
	keys    map[string]client.AccessKey
	down    error // when set, every call fails with it
	calls   int
}

const (
	rootAccess = "GRROOTACCESSKEY0001"
	rootSecret = "root-secret-DO-NOT-LEAK-0123456789abcdef"
	bobAccess  = "GRBOBACCESSKEY00001"
	bobSecret  = "bob-secret-DO-NOT-LEAK-0123456789abcdef"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFake() *fakeCluster {
	return &fakeCluster{
		health: map[string]client.Health{},
		users:  []client.User{{Name: "bob", Created: t0}, {Name: "root", Created: t0}},
		keys: map[string]client.AccessKey{
			rootAccess: {AccessKey: rootAccess, SecretKey: rootSecret, User: "root", Created: t0},
			bobAccess:  {AccessKey: bobAccess, SecretKey: bobSecret, User: "bob", Created: t0},
		},
	}
}

// healthy gives the fake a leader, three members and n live servers.
// Call it before the fake is shared, or inside set.
func (f *fakeCluster) healthy(n int) *fakeCluster {
	f.status = client.Status{Leader: "m1", Term: 3, CommitIndex: 120, AppliedIndex: 120, Chunks: client.ChunkCounts{Total: 40}}
	for i := 1; i <= 3; i++ {
		m := client.Member{ID: client.NodeID(fmt.Sprintf("m%d", i)), Address: fmt.Sprintf("127.0.0.1:70%02d", i), RaftAddr: fmt.Sprintf("127.0.0.1:71%02d", i), State: "follower"}
		if i == 1 {
			m.State = "leader"
		}
		f.status.Members = append(f.status.Members, m)
		f.health[m.Address] = client.Health{ID: m.ID, Applied: uint64(121 - i)}
	}
	for i := 1; i <= n; i++ {
		f.status.ChunkServers = append(f.status.ChunkServers, client.ChunkServer{
			ID: client.NodeID(fmt.Sprintf("cs%d", i)), Address: fmt.Sprintf("127.0.0.1:80%02d", i%100), Rack: fmt.Sprintf("r%d", i%3+1),
			State: "alive", Chunks: 40, UsedBytes: int64(i) << 30, CapacityBytes: 100 << 30, LastHeartbeatAgeMs: 150,
		})
	}
	return f
}

func (f *fakeCluster) set(fn func(*fakeCluster)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeCluster) enter() error {
	f.mu.Lock()
	f.calls++
	return f.down
}

func (f *fakeCluster) Status(ctx context.Context) (client.Status, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return client.Status{}, err
	}
	st := f.status
	st.ChunkServers = slices.Clone(st.ChunkServers)
	st.Members = slices.Clone(st.Members)
	return st, nil
}

func (f *fakeCluster) Health(ctx context.Context, addr string) (client.Health, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return client.Health{}, err
	}
	h, ok := f.health[addr]
	if !ok {
		return h, fmt.Errorf("health %s: %w", addr, client.ErrUnavailable)
	}
	return h, nil
}

func (f *fakeCluster) Buckets(ctx context.Context) ([]client.Bucket, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	return slices.Clone(f.buckets), nil
}

func (f *fakeCluster) Users(ctx context.Context) ([]client.User, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	return slices.Clone(f.users), nil
}

func (f *fakeCluster) Keys(ctx context.Context, user string) ([]client.AccessKey, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	out := []client.AccessKey{}
	for _, k := range f.keys {
		if user == "" || k.User == user {
			out = append(out, k) // with its secret: the dashboard must drop it
		}
	}
	slices.SortFunc(out, func(a, b client.AccessKey) int { return strings.Compare(a.AccessKey, b.AccessKey) })
	return out, nil
}

func (f *fakeCluster) Key(ctx context.Context, access string) (client.AccessKey, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return client.AccessKey{}, err
	}
	k, ok := f.keys[access]
	if !ok {
		return k, fmt.Errorf("key %s: %w", access, client.ErrNotFound)
	}
	return k, nil
}

func (f *fakeCluster) CreateBucket(ctx context.Context, name string) error {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	if len(name) < 3 || strings.ContainsAny(name, " /<>\"") {
		return fmt.Errorf("create bucket %q: %w", name, client.ErrInvalidName)
	}
	for _, b := range f.buckets {
		if b.Name == name {
			return fmt.Errorf("create bucket %s: %w", name, client.ErrBucketExists)
		}
	}
	f.buckets = append(f.buckets, client.Bucket{Name: name, Created: t0})
	slices.SortFunc(f.buckets, func(a, b client.Bucket) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

func (f *fakeCluster) DeleteBucket(ctx context.Context, name string) error {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	for i, b := range f.buckets {
		if b.Name == name {
			f.buckets = slices.Delete(f.buckets, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("delete bucket %s: %w", name, client.ErrNoSuchBucket)
}

func (f *fakeCluster) CreateUser(ctx context.Context, name string) (client.User, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return client.User{}, err
	}
	u := client.User{Name: name, Created: t0}
	f.users = append(f.users, u)
	return u, nil
}

func (f *fakeCluster) CreateKey(ctx context.Context, user, access, secret string) (client.AccessKey, error) {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return client.AccessKey{}, err
	}
	n := len(f.keys)
	k := client.AccessKey{AccessKey: fmt.Sprintf("GRNEWKEY%011d", n), SecretKey: fmt.Sprintf("new-secret-%029d", n), User: user, Created: t0}
	f.keys[k.AccessKey] = k
	return k, nil
}

func (f *fakeCluster) DeleteKey(ctx context.Context, access string) error {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	if _, ok := f.keys[access]; !ok {
		return fmt.Errorf("delete key: %w", client.ErrNotFound)
	}
	delete(f.keys, access)
	return nil
}

func (f *fakeCluster) Decommission(ctx context.Context, id client.NodeID) error {
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	for i, cs := range f.status.ChunkServers {
		if cs.ID == id {
			f.status.ChunkServers[i].State = "draining"
			return nil
		}
	}
	return fmt.Errorf("decommission %s: %w", id, client.ErrNotFound)
}
