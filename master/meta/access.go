package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/access"
	"github.com/granary-store/granary/master/meta/kv"
)

// The identity and access commands and reads; package access keeps their
// records (users, access keys, access policies).

func applyPutUser(txn *badger.Txn, _ uint64, c *PutUser) (any, error) {
	return nil, access.PutUser(txn, c.User)
}

func applyDeleteUser(txn *badger.Txn, _ uint64, c *DeleteUser) (any, error) {
	return nil, access.DeleteUser(txn, c.Name)
}

func applyPutKey(txn *badger.Txn, _ uint64, c *PutKey) (any, error) {
	return nil, access.PutKey(txn, c.Key)
}

func applyDeleteKey(txn *badger.Txn, _ uint64, c *DeleteKey) (any, error) {
	return nil, access.DeleteKey(txn, c.AccessKey)
}

func applySetKeyStatus(txn *badger.Txn, _ uint64, c *SetKeyStatus) (any, error) {
	return nil, access.SetKeyStatus(txn, c.AccessKey, c.Status)
}

func applyPutAccessPolicy(txn *badger.Txn, _ uint64, c *PutAccessPolicy) (any, error) {
	return nil, access.PutPolicy(txn, c.Policy)
}

func applyDeleteAccessPolicy(txn *badger.Txn, _ uint64, c *DeleteAccessPolicy) (any, error) {
	return nil, access.DeletePolicy(txn, c.Name)
}

func applyAttachPolicy(txn *badger.Txn, _ uint64, c *AttachPolicy) (any, error) {
	return nil, access.Attach(txn, c.User, c.Policy, c.Detach)
}

// applyPutObjectACL replaces the ACL of an object's newest version or of
// one version; like tags, it makes no new version.
func applyPutObjectACL(txn *badger.Txn, _ uint64, c *PutObjectACL) (any, error) {
	if err := proto.ValidACL(c.ACL); err != nil {
		return nil, fmt.Errorf("object %s/%s: %w: %w", c.Bucket, c.Key, ErrInvalid, err)
	}
	if err := requireBucket(txn, c.Bucket); err != nil {
		return nil, err
	}
	rec, current, err := findVersion(txn, c.Bucket, c.Key, c.VersionID)
	if err != nil {
		return nil, err
	}
	if rec.DeleteMarker {
		return nil, fmt.Errorf("version %s of %s/%s is a delete marker: %w", rec.VersionName(), c.Bucket, c.Key, ErrInvalid)
	}
	acl := c.ACL
	rec.ACL = &acl
	if current {
		return nil, kv.Put(txn, objectKey(c.Bucket, c.Key), rec)
	}
	return nil, kv.Put(txn, versionKey(c.Bucket, c.Key, rec.Version), rec)
}

// viewed returns what read returns in a read transaction.
func viewed[T any](f *FSM, read func(txn *badger.Txn) (T, error)) (T, error) {
	var v T
	err := f.view(func(txn *badger.Txn) error {
		var err error
		v, err = read(txn)
		return err
	})
	return v, err
}

// User returns a user.
func (f *FSM) User(name string) (proto.User, error) {
	u, err := viewed(f, func(txn *badger.Txn) (*proto.User, error) { return access.User(txn, name) })
	if err != nil {
		return proto.User{}, err
	}
	return *u, nil
}

// Users returns every user.
func (f *FSM) Users() ([]proto.User, error) { return viewed(f, access.Users) }

// Keys returns the access keys of user (every user's when user is empty),
// sorted by access key, without their secrets.
func (f *FSM) Keys(user string) ([]proto.AccessKey, error) {
	return viewed(f, func(txn *badger.Txn) ([]proto.AccessKey, error) { return access.Keys(txn, user) })
}

// AccessKey returns an access key.
func (f *FSM) AccessKey(id string) (proto.AccessKey, error) {
	return viewed(f, func(txn *badger.Txn) (proto.AccessKey, error) { return access.Key(txn, id) })
}

// AccessPolicy returns an access policy.
func (f *FSM) AccessPolicy(name string) (proto.AccessPolicy, error) {
	return viewed(f, func(txn *badger.Txn) (proto.AccessPolicy, error) { return access.Policy(txn, name) })
}

// AccessPolicies returns every access policy in name order.
func (f *FSM) AccessPolicies() ([]proto.AccessPolicy, error) { return viewed(f, access.Policies) }

// Identity returns an access key with its secret, its user, and the user's
// attached policies, read at one point in time.
func (f *FSM) Identity(id string) (proto.Identity, error) {
	return viewed(f, func(txn *badger.Txn) (proto.Identity, error) { return access.Identity(txn, id) })
}
