package metaapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/meta/validate"
	"github.com/granary-store/granary/master/wire"
)

// The identity and access calls: users, key states, access policies and
// their attachments, the gateway's identity lookup, and object ACLs.

// withID fills in a user's canonical id, which is derived, not stored.
func withID(u proto.User) proto.User {
	u.ID = proto.CanonicalID(u.Name)
	return u
}

// validPolicy checks a policy document (an access policy's or a bucket
// policy) before it is proposed: its form (proto.ValidPolicyDocument) and
// its grammar (policy.Parse, whose message the 400 carries). The state
// machine checks only the form, so that replaying old entries never
// depends on the grammar of the build that replays them.
func validPolicy(doc string) error {
	if err := proto.ValidPolicyDocument(doc); err != nil {
		return fmt.Errorf("%w: %w", meta.ErrInvalid, err)
	}
	if _, err := policy.Parse([]byte(doc)); err != nil {
		return fmt.Errorf("%w: %v", meta.ErrInvalid, err)
	}
	return nil
}

func (a *API) handleGetUser(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	a.read(w, r, func() (any, error) {
		u, err := a.fsm.User(name)
		return withID(u), err
	})
}

func (a *API) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	a.change(w, r, meta.OpDeleteUser, meta.DeleteUser{Name: mux.Vars(r)["name"]})
}

func (a *API) handleKeyStatus(w http.ResponseWriter, r *http.Request) {
	var req proto.KeyStatusRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.change(w, r, meta.OpSetKeyStatus, meta.SetKeyStatus{AccessKey: mux.Vars(r)["key"], Status: req.Status})
}

func (a *API) handleListAccessPolicies(w http.ResponseWriter, r *http.Request) {
	a.read(w, r, func() (any, error) { return a.fsm.AccessPolicies() })
}

func (a *API) handleGetAccessPolicy(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	a.read(w, r, func() (any, error) { return a.fsm.AccessPolicy(name) })
}

func (a *API) handlePutAccessPolicy(w http.ResponseWriter, r *http.Request) {
	var req proto.AccessPolicyRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	p := proto.AccessPolicy{Name: req.Name, Document: req.Document, Updated: a.now().UTC().Truncate(time.Millisecond)}
	if err := validate.AccessPolicy(p); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validPolicy(p.Document); err != nil {
		wire.WriteError(w, fmt.Errorf("access policy %s: %w", p.Name, err))
		return
	}
	a.change(w, r, meta.OpPutAccessPolicy, meta.PutAccessPolicy{Policy: p})
}

func (a *API) handleDeleteAccessPolicy(w http.ResponseWriter, r *http.Request) {
	a.change(w, r, meta.OpDeleteAccessPolicy, meta.DeleteAccessPolicy{Name: mux.Vars(r)["name"]})
}

func (a *API) handleAttach(w http.ResponseWriter, r *http.Request) {
	var req proto.AttachRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.change(w, r, meta.OpAttachPolicy, meta.AttachPolicy{User: req.User, Policy: req.Policy, Detach: req.Detach})
}

// handleIdentity answers the gateway's lookup of an access key: the key
// with its secret, its user and the user's policy documents.
func (a *API) handleIdentity(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["key"]
	a.read(w, r, func() (any, error) {
		ident, err := a.fsm.Identity(id)
		ident.User = withID(ident.User)
		return ident, err
	})
}

func (a *API) handleObjectACL(w http.ResponseWriter, r *http.Request) {
	var req proto.ObjectACLRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidACL(req.ACL); err != nil {
		wire.WriteError(w, fmt.Errorf("object %s/%s: %w: %w", req.Bucket, req.Key, meta.ErrInvalid, err))
		return
	}
	a.change(w, r, meta.OpPutObjectACL, meta.PutObjectACL{Bucket: req.Bucket, Key: req.Key, VersionID: req.VersionID, ACL: req.ACL})
}
