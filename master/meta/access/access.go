// Package access is the identity and access part of the replicated state:
// users, their access keys and the access policies attached to them, as
// master/meta's state machine applies and reads them inside one of its
// transactions. Its records (values as in master/meta/kv):
//
//	u/<user>          proto.User (Policies: the attached names, sorted)
//	k/<access key>    proto.AccessKey (Status: its state)
//	a/<policy name>   proto.AccessPolicy
//
// DeleteUser also reads the state's bucket records (b/<bucket>,
// proto.Bucket) to refuse deleting a bucket's owner. Each change validates
// and reads first, then writes, so a refused change leaves no partial
// effects; refusals are metaerr sentinels.
package access

import (
	"errors"
	"fmt"
	"slices"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/metaerr"
	"github.com/granary-store/granary/master/meta/validate"
)

func policyKey(name string) []byte { return []byte("a/" + name) }
func userKey(name string) []byte   { return []byte("u/" + name) }
func accessKey(id string) []byte   { return []byte("k/" + id) }

// bucketPrefix is where master/meta keeps its bucket records.
var bucketPrefix = []byte("b/")

// User returns a user, or metaerr.ErrNotFound.
func User(txn *kv.Txn, name string) (*proto.User, error) {
	var u proto.User
	if err := kv.Get(txn, userKey(name), &u); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("user %s: %w", name, metaerr.ErrNotFound))
	}
	return &u, nil
}

// PutUser creates or replaces a user; a user made again without policies
// keeps its attached ones.
func PutUser(txn *kv.Txn, u proto.User) error {
	if err := proto.ValidID("user", u.Name); err != nil {
		return fmt.Errorf("%w: %v", metaerr.ErrInvalid, err)
	}
	if u.Policies == nil {
		old, err := User(txn, u.Name)
		if err != nil && !errors.Is(err, metaerr.ErrNotFound) {
			return err
		}
		if old != nil {
			u.Policies = old.Policies
		}
	}
	u.ID = ""
	return kv.Put(txn, userKey(u.Name), u)
}

// DeleteUser deletes a user and its keys; it refuses the root user and a
// user that owns a bucket.
func DeleteUser(txn *kv.Txn, name string) error {
	if name == proto.RootUser {
		return fmt.Errorf("user %s cannot be deleted: %w", name, metaerr.ErrInvalid)
	}
	if _, err := User(txn, name); err != nil {
		return err
	}
	var owned string
	err := kv.Scan(txn, bucketPrefix, func(k, v []byte) error {
		var b proto.Bucket
		if err := kv.Decode(k, v, &b); err != nil {
			return err
		}
		if owned == "" && b.Owner == name {
			owned = b.Name
		}
		return nil
	})
	if err != nil {
		return err
	}
	if owned != "" {
		return fmt.Errorf("user %s owns bucket %s: %w", name, owned, metaerr.ErrConflict)
	}
	var keys [][]byte
	err = kv.Scan(txn, []byte("k/"), func(k, v []byte) error {
		var ak proto.AccessKey
		if err := kv.Decode(k, v, &ak); err != nil {
			return err
		}
		if ak.User == name {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := kv.Del(txn, k); err != nil {
			return err
		}
	}
	return kv.Del(txn, userKey(name))
}

// PutKey creates or replaces an access key of an existing user.
func PutKey(txn *kv.Txn, k proto.AccessKey) error {
	if k.Status != "" && k.Status != proto.KeyActive && k.Status != proto.KeyInactive {
		return fmt.Errorf("access key %q: status %q is not Active or Inactive: %w", k.AccessKey, k.Status, metaerr.ErrInvalid)
	}
	if err := proto.ValidID("access key", k.AccessKey); err != nil || len(k.SecretKey) < 8 || len(k.SecretKey) > 128 {
		return fmt.Errorf("access key %q: id must be a valid id and the secret 8 to 128 bytes: %w", k.AccessKey, metaerr.ErrInvalid)
	}
	found, err := kv.Exists(txn, userKey(k.User))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("user %s: %w", k.User, metaerr.ErrNotFound)
	}
	return kv.Put(txn, accessKey(k.AccessKey), k)
}

// DeleteKey deletes an access key.
func DeleteKey(txn *kv.Txn, id string) error {
	found, err := kv.Exists(txn, accessKey(id))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("access key %s: %w", id, metaerr.ErrNotFound)
	}
	return kv.Del(txn, accessKey(id))
}

// SetKeyStatus sets an access key's status, proto.KeyActive or
// proto.KeyInactive.
func SetKeyStatus(txn *kv.Txn, id, status string) error {
	if status != proto.KeyActive && status != proto.KeyInactive {
		return fmt.Errorf("access key status %q is not Active or Inactive: %w", status, metaerr.ErrInvalid)
	}
	var k proto.AccessKey
	if err := kv.Get(txn, accessKey(id), &k); err != nil {
		return kv.NotFoundAs(err, fmt.Errorf("access key %s: %w", id, metaerr.ErrNotFound))
	}
	k.Status = status
	return kv.Put(txn, accessKey(id), k)
}

// PutPolicy creates or replaces an access policy.
func PutPolicy(txn *kv.Txn, p proto.AccessPolicy) error {
	if err := validate.AccessPolicy(p); err != nil {
		return err
	}
	return kv.Put(txn, policyKey(p.Name), p)
}

// DeletePolicy deletes a policy no user has attached.
func DeletePolicy(txn *kv.Txn, name string) error {
	found, err := kv.Exists(txn, policyKey(name))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("access policy %s: %w", name, metaerr.ErrNotFound)
	}
	var user string
	err = kv.Scan(txn, []byte("u/"), func(k, v []byte) error {
		var u proto.User
		if err := kv.Decode(k, v, &u); err != nil {
			return err
		}
		if user == "" && slices.Contains(u.Policies, name) {
			user = u.Name
		}
		return nil
	})
	if err != nil {
		return err
	}
	if user != "" {
		return fmt.Errorf("access policy %s is attached to user %s: %w", name, user, metaerr.ErrConflict)
	}
	return kv.Del(txn, policyKey(name))
}

// Attach attaches (or with detach, detaches) a policy to a user; attaching
// an attached policy, or detaching one that is not, changes nothing.
func Attach(txn *kv.Txn, user, policy string, detach bool) error {
	u, err := User(txn, user)
	if err != nil {
		return err
	}
	found, err := kv.Exists(txn, policyKey(policy))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("access policy %s: %w", policy, metaerr.ErrNotFound)
	}
	i, attached := slices.BinarySearch(u.Policies, policy)
	switch {
	case attached == !detach:
		return nil
	case detach:
		u.Policies = slices.Delete(u.Policies, i, i+1)
	default:
		u.Policies = slices.Insert(u.Policies, i, policy)
	}
	if len(u.Policies) == 0 {
		u.Policies = nil
	}
	return kv.Put(txn, userKey(user), u)
}

// Policy returns an access policy.
func Policy(txn *kv.Txn, name string) (proto.AccessPolicy, error) {
	var p proto.AccessPolicy
	err := kv.Get(txn, policyKey(name), &p)
	return p, kv.NotFoundAs(err, fmt.Errorf("access policy %s: %w", name, metaerr.ErrNotFound))
}

// Policies returns every access policy in name order.
func Policies(txn *kv.Txn) ([]proto.AccessPolicy, error) {
	out := []proto.AccessPolicy{}
	err := kv.Scan(txn, []byte("a/"), func(k, v []byte) error {
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
// attached policies.
func Identity(txn *kv.Txn, id string) (proto.Identity, error) {
	var out proto.Identity
	if err := kv.Get(txn, accessKey(id), &out.Key); err != nil {
		return out, kv.NotFoundAs(err, fmt.Errorf("access key %s: %w", id, metaerr.ErrNotFound))
	}
	u, err := User(txn, out.Key.User)
	if err != nil {
		return out, err
	}
	out.User = *u
	for _, name := range u.Policies {
		var p proto.AccessPolicy
		if err := kv.Get(txn, policyKey(name), &p); err != nil {
			return out, kv.NotFoundAs(err, fmt.Errorf("access policy %s of user %s: %w", name, u.Name, metaerr.ErrNotFound))
		}
		out.Policies = append(out.Policies, p)
	}
	return out, nil
}

// Users returns every user in name order.
func Users(txn *kv.Txn) ([]proto.User, error) {
	out := []proto.User{}
	err := kv.Scan(txn, []byte("u/"), func(k, v []byte) error {
		var u proto.User
		if err := kv.Decode(k, v, &u); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// Keys returns the access keys of user (every user's when user is empty),
// sorted by access key, without their secrets.
func Keys(txn *kv.Txn, user string) ([]proto.AccessKey, error) {
	out := []proto.AccessKey{}
	err := kv.Scan(txn, []byte("k/"), func(k, v []byte) error {
		var ak proto.AccessKey
		if err := kv.Decode(k, v, &ak); err != nil {
			return err
		}
		if user == "" || ak.User == user {
			ak.SecretKey = ""
			out = append(out, ak)
		}
		return nil
	})
	return out, err
}

// Key returns an access key with its secret.
func Key(txn *kv.Txn, id string) (proto.AccessKey, error) {
	var k proto.AccessKey
	err := kv.Get(txn, accessKey(id), &k)
	return k, kv.NotFoundAs(err, fmt.Errorf("access key %s: %w", id, metaerr.ErrNotFound))
}
