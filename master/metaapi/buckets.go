package metaapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/wire"
)

func (a *API) handleCreateBucket(w http.ResponseWriter, r *http.Request) {
	b := proto.Bucket{}
	if r.ContentLength != 0 {
		if err := wire.Decode(r, &b); err != nil && !errors.Is(err, io.EOF) {
			wire.WriteError(w, err)
			return
		}
	}
	b.Name = mux.Vars(r)["bucket"]
	b.Tags, b.CORS, b.LockRule, b.Versioning = nil, nil, nil, "" // set by their own calls
	b.Lifecycle, b.Policy, b.PublicAccessBlock = nil, "", nil
	b.Usage = nil // counted by the leader, never stored
	if b.ObjectLock {
		b.Versioning = proto.VersioningEnabled // object lock keeps versions
	}
	b.Created = a.now().UTC().Truncate(time.Millisecond)
	if b.Replication == 0 {
		b.Replication = a.cfg.Replication
		if b.DataPolicy == "" {
			b.DataPolicy = a.cfg.DataPolicy // the cluster's default
		}
	}
	if b.DataPolicy != "" {
		p, err := proto.ParseDataPolicy(b.DataPolicy)
		if err != nil {
			wire.WriteError(w, fmt.Errorf("bucket %s: %w: %w", b.Name, meta.ErrInvalid, err))
			return
		}
		if p.IsErasure() {
			// Stripes are healed as stripes; Replication stays the target
			// of any replicated chunks the bucket gets (storage classes).
			if recs, err := a.fsm.Nodes(); err != nil || len(recs) < p.Servers() {
				wire.WriteError(w, fmt.Errorf("bucket %s: policy %s needs %d chunk servers, the cluster has %d registered: %w", b.Name, p, p.Servers(), len(recs), wire.ErrNoServers))
				return
			}
		} else {
			b.Replication, b.DataPolicy = p.Copies, "" // rep-N is Replication N
		}
	}
	if err := proto.ValidBucketName(b.Name); err != nil {
		wire.WriteError(w, err)
		return
	}
	if b.Replication < 1 || b.Replication > 16 || len(b.Location) > 64 || len(b.Owner) > proto.MaxUserNameLen {
		wire.WriteError(w, fmt.Errorf("bucket %s: replication must be 1 to 16, location and owner short: %w", b.Name, meta.ErrInvalid))
		return
	}
	if b.Owner != "" {
		if err := proto.ValidID("owner", b.Owner); err != nil {
			wire.WriteError(w, fmt.Errorf("bucket %s: %w", b.Name, err))
			return
		}
	}
	if err := proto.ValidOwnership(b.Ownership); err != nil {
		wire.WriteError(w, fmt.Errorf("bucket %s: %w: %w", b.Name, meta.ErrInvalid, err))
		return
	}
	if b.ACL != nil {
		if err := proto.ValidACL(*b.ACL); err != nil {
			wire.WriteError(w, fmt.Errorf("bucket %s: %w: %w", b.Name, meta.ErrInvalid, err))
			return
		}
	}
	if _, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), meta.OpCreateBucket, meta.CreateBucket{Bucket: b}); err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, b)
}

func (a *API) handleGetBucket(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	b, err := a.fsm.Bucket(mux.Vars(r)["bucket"])
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	one := []proto.Bucket{b}
	a.cfg.Usage.Attach(one)
	wire.WriteJSON(w, http.StatusOK, one[0])
}

func (a *API) handleListBuckets(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	bs, err := a.fsm.Buckets()
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	a.cfg.Usage.Attach(bs)
	wire.WriteJSON(w, http.StatusOK, bs)
}

func (a *API) handleDeleteBucket(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["bucket"]
	if err := proto.ValidBucketName(name); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.change(w, r, meta.OpDeleteBucket, meta.DeleteBucket{Name: name})
}

// handleBucketConfig replaces parts of a bucket's configuration (tags,
// CORS rules).
func (a *API) handleBucketConfig(w http.ResponseWriter, r *http.Request) {
	var req proto.BucketConfigRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.PutBucketConf{Bucket: req.Bucket, Tags: req.Tags, CORS: req.CORS, Lock: req.Lock, Lifecycle: req.Lifecycle,
		Policy: req.Policy, ACL: req.ACL, Ownership: req.Ownership,
		PublicAccessBlock: req.PublicAccessBlock, ClearPublicAccessBlock: req.ClearPublicAccessBlock, DataPolicy: req.DataPolicy,
		Convert: req.Convert}
	if err := meta.ValidateBucketConf(&cmd); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := a.checkConversionConf(&cmd); err != nil {
		wire.WriteError(w, err)
		return
	}
	if cmd.DataPolicy != nil {
		p, _ := proto.ParseDataPolicy(*cmd.DataPolicy) // validated
		if recs, err := a.fsm.Nodes(); err != nil || len(recs) < p.Servers() {
			wire.WriteError(w, fmt.Errorf("bucket %s: policy %s needs %d chunk servers, the cluster has %d registered: %w", req.Bucket, p, p.Servers(), len(recs), wire.ErrNoServers))
			return
		}
	}
	if cmd.Policy != nil && *cmd.Policy != "" {
		if err := validPolicy(*cmd.Policy); err != nil {
			wire.WriteError(w, fmt.Errorf("bucket %s: policy: %w", req.Bucket, err))
			return
		}
	}
	a.change(w, r, meta.OpPutBucketConf, cmd)
}

// handleLock changes a version's retention or legal hold, judged at the
// leader's clock.
func (a *API) handleLock(w http.ResponseWriter, r *http.Request) {
	var req proto.LockRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.SetLock{Req: req, At: a.now().UTC().Truncate(time.Millisecond)}
	a.change(w, r, meta.OpSetLock, cmd)
}

// checkConversionConf refuses a bucket configuration whose lifecycle
// transitions name a storage class no --storage-class maps to a policy,
// or whose conversion target needs more chunk servers than registered.
func (a *API) checkConversionConf(c *meta.PutBucketConf) error {
	if c.Lifecycle != nil {
		for _, class := range proto.TransitionClasses(*c.Lifecycle) {
			if _, ok := a.cfg.StorageClasses[class]; !ok {
				return fmt.Errorf("bucket %s: lifecycle transition to storage class %s: no --storage-class maps it to a data policy: %w", c.Bucket, class, meta.ErrInvalid)
			}
		}
	}
	if r := c.Convert; r != nil && r.AfterSeconds > 0 {
		p, err := proto.ParseDataPolicy(r.Policy)
		if err != nil {
			return fmt.Errorf("bucket %s: conversion: %w: %w", c.Bucket, meta.ErrInvalid, err)
		}
		if recs, err := a.fsm.Nodes(); err != nil || len(recs) < p.Servers() {
			return fmt.Errorf("bucket %s: conversion to %s needs %d chunk servers, the cluster has %d registered: %w", c.Bucket, p, p.Servers(), len(recs), wire.ErrNoServers)
		}
	}
	return nil
}
