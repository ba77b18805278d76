package meta

import (
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/validate"
)

// Identity and access state: access policies live under a/<name>
// (proto.AccessPolicy); the names attached to a user are in its record
// (proto.User.Policies, sorted); a key's status is in its record
// (proto.AccessKey.Status).

func policyKey(name string) []byte { return []byte("a/" + name) }
func userKey(name string) []byte   { return []byte("u/" + name) }
func accessKey(id string) []byte   { return []byte("k/" + id) }

func getUser(txn *badger.Txn, name string) (*proto.User, error) {
	var u proto.User
	if err := kv.Get(txn, userKey(name), &u); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("user %s: %w", name, ErrNotFound))
	}
	return &u, nil
}

func applySetKeyStatus(txn *badger.Txn, _ uint64, c *SetKeyStatus) (any, error) {
	if c.Status != proto.KeyActive && c.Status != proto.KeyInactive {
		return nil, fmt.Errorf("access key status %q is not Active or Inactive: %w", c.Status, ErrInvalid)
	}
	var k proto.AccessKey
	if err := kv.Get(txn, accessKey(c.AccessKey), &k); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("access key %s: %w", c.AccessKey, ErrNotFound))
	}
	k.Status = c.Status
	return nil, kv.Put(txn, accessKey(c.AccessKey), k)
}

// applyDeleteUser deletes a user and its keys; it refuses the root user and
// a user that owns a bucket.
func applyDeleteUser(txn *badger.Txn, _ uint64, c *DeleteUser) (any, error) {
	if c.Name == proto.RootUser {
		return nil, fmt.Errorf("user %s cannot be deleted: %w", c.Name, ErrInvalid)
	}
	if _, err := getUser(txn, c.Name); err != nil {
		return nil, err
	}
	var owned string
	err := kv.Scan(txn, []byte("b/"), func(k, v []byte) error {
		var b proto.Bucket
		if err := kv.Decode(k, v, &b); err != nil {
			return err
		}
		if owned == "" && b.Owner == c.Name {
			owned = b.Name
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if owned != "" {
		return nil, fmt.Errorf("user %s owns bucket %s: %w", c.Name, owned, ErrConflict)
	}
	var keys [][]byte
	err = kv.Scan(txn, []byte("k/"), func(k, v []byte) error {
		var ak proto.AccessKey
		if err := kv.Decode(k, v, &ak); err != nil {
			return err
		}
		if ak.User == c.Name {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := kv.Del(txn, k); err != nil {
			return nil, err
		}
	}
	return nil, kv.Del(txn, userKey(c.Name))
}

func applyPutAccessPolicy(txn *badger.Txn, _ uint64, c *PutAccessPolicy) (any, error) {
	if err := validate.AccessPolicy(c.Policy); err != nil {
		return nil, err
	}
	return nil, kv.Put(txn, policyKey(c.Policy.Name), c.Policy)
}

// applyDeleteAccessPolicy deletes a policy no user has attached.
func applyDeleteAccessPolicy(txn *badger.Txn, _ uint64, c *DeleteAccessPolicy) (any, error) {
	found, err := kv.Exists(txn, policyKey(c.Name))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("access policy %s: %w", c.Name, ErrNotFound)
	}
	var user string
	err = kv.Scan(txn, []byte("u/"), func(k, v []byte) error {
		var u proto.User
		if err := kv.Decode(k, v, &u); err != nil {
			return err
		}
		if user == "" && slices.Contains(u.Policies, c.Name) {
			user = u.Name
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if user != "" {
		return nil, fmt.Errorf("access policy %s is attached to user %s: %w", c.Name, user, ErrConflict)
	}
	return nil, kv.Del(txn, policyKey(c.Name))
}

// applyAttachPolicy attaches (or detaches) a policy to a user; attaching
// an attached policy, or detaching one that is not, changes nothing.
func applyAttachPolicy(txn *badger.Txn, _ uint64, c *AttachPolicy) (any, error) {
	u, err := getUser(txn, c.User)
	if err != nil {
		return nil, err
	}
	found, err := kv.Exists(txn, policyKey(c.Policy))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("access policy %s: %w", c.Policy, ErrNotFound)
	}
	i, attached := slices.BinarySearch(u.Policies, c.Policy)
	switch {
	case attached == !c.Detach:
		return nil, nil
	case c.Detach:
		u.Policies = slices.Delete(u.Policies, i, i+1)
	default:
		u.Policies = slices.Insert(u.Policies, i, c.Policy)
	}
	if len(u.Policies) == 0 {
		u.Policies = nil
	}
	return nil, kv.Put(txn, userKey(c.User), u)
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

// User returns a user.
func (f *FSM) User(name string) (proto.User, error) {
	var u proto.User
	err := f.view(func(txn *badger.Txn) error {
		p, err := getUser(txn, name)
		if err == nil {
			u = *p
		}
		return err
	})
	return u, err
}

// AccessPolicy returns an access policy.
func (f *FSM) AccessPolicy(name string) (proto.AccessPolicy, error) {
	var p proto.AccessPolicy
	err := f.view(func(txn *badger.Txn) error {
		return kv.NotFoundAs(kv.Get(txn, policyKey(name), &p), fmt.Errorf("access policy %s: %w", name, ErrNotFound))
	})
	return p, err
}

// AccessPolicies returns every access policy in name order.
func (f *FSM) AccessPolicies() ([]proto.AccessPolicy, error) {
	out := []proto.AccessPolicy{}
	err := scan(f, []byte("a/"), func(k, v []byte) error {
		var p proto.AccessPolicy
		if err := kv.Decode(k, v, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// Identity returns an access key with its secret, its user, and the user's
// attached policies, read at one point in time.
func (f *FSM) Identity(id string) (proto.Identity, error) {
	var out proto.Identity
	err := f.view(func(txn *badger.Txn) error {
		if err := kv.Get(txn, accessKey(id), &out.Key); err != nil {
			return kv.NotFoundAs(err, fmt.Errorf("access key %s: %w", id, ErrNotFound))
		}
		u, err := getUser(txn, out.Key.User)
		if err != nil {
			return err
		}
		out.User = *u
		for _, name := range u.Policies {
			var p proto.AccessPolicy
			if err := kv.Get(txn, policyKey(name), &p); err != nil {
				return kv.NotFoundAs(err, fmt.Errorf("access policy %s of user %s: %w", name, u.Name, ErrNotFound))
			}
			out.Policies = append(out.Policies, p)
		}
		return nil
	})
	return out, err
}
