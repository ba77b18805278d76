package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
)

// Every action below runs after authed checked the session and its CSRF
// token; on success it drops the shared snapshot and redirects (303) to
// the page that shows the result, on failure it renders that page with
// the error and a matching status.

func (h *Handler) postBucket(w http.ResponseWriter, r *http.Request, ss *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	err := h.call(r.Context(), func(ctx context.Context) error { return h.cfg.Cluster.CreateBucket(ctx, name) })
	if err != nil {
		h.bucketsPage(w, r, ss, clientStatus(err), "create bucket "+name+": "+err.Error())
		return
	}
	h.done(w, r, ss, "/buckets", "bucket "+name+" created", "create bucket", "bucket", name)
}

func (h *Handler) postDeleteBucket(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	err := h.call(r.Context(), func(ctx context.Context) error { return h.cfg.Cluster.DeleteBucket(ctx, name) })
	if err != nil {
		h.bucketsPage(w, r, ss, clientStatus(err), "delete bucket "+name+": "+err.Error())
		return
	}
	h.done(w, r, ss, "/buckets", "bucket "+name+" deleted", "delete bucket", "bucket", name)
}

func (h *Handler) postUser(w http.ResponseWriter, r *http.Request, ss *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	err := h.call(r.Context(), func(ctx context.Context) error { _, err := h.cfg.Cluster.CreateUser(ctx, name); return err })
	if err != nil {
		h.accessPage(w, r, ss, clientStatus(err), "create user "+name+": "+err.Error(), nil)
		return
	}
	h.done(w, r, ss, "/access", "user "+name+" created", "create user", "user", name)
}

// postKey creates a key and shows its secret on this response only: it is
// not redirected, not cached, and not kept anywhere by the dashboard.
func (h *Handler) postKey(w http.ResponseWriter, r *http.Request, ss *session) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	var k client.AccessKey
	err := h.call(r.Context(), func(ctx context.Context) (err error) {
		k, err = h.cfg.Cluster.CreateKey(ctx, user, "", "")
		return err
	})
	if err != nil {
		h.accessPage(w, r, ss, clientStatus(err), "create a key for "+user+": "+err.Error(), nil)
		return
	}
	h.track.invalidate()
	h.log.Info("dashboard: create key", "by", ss.user, "user", user, "access_key", k.AccessKey)
	h.accessPage(w, r, ss, http.StatusOK, "", &k)
}

func (h *Handler) postRevokeKey(w http.ResponseWriter, r *http.Request, ss *session) {
	key := strings.TrimSpace(r.PostFormValue("access_key"))
	err := h.call(r.Context(), func(ctx context.Context) error { return h.cfg.Cluster.DeleteKey(ctx, key) })
	if err != nil {
		h.accessPage(w, r, ss, clientStatus(err), "revoke key "+key+": "+err.Error(), nil)
		return
	}
	n := h.sessions.removeKey(key)
	if key == ss.accessKey {
		setCookie(w, r, sessionCookie, "", 0)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	h.done(w, r, ss, "/access", "key "+key+" revoked", "revoke key", "access_key", key, "sessions_ended", n)
}

func (h *Handler) postDecommission(w http.ResponseWriter, r *http.Request, ss *session) {
	id := client.NodeID(r.PathValue("id"))
	if r.PostFormValue("confirm") != string(id) {
		h.decommissionPage(w, r, ss, http.StatusBadRequest, "type the server's id to confirm")
		return
	}
	err := h.call(r.Context(), func(ctx context.Context) error { return h.cfg.Cluster.Decommission(ctx, id) })
	if err != nil {
		h.decommissionPage(w, r, ss, clientStatus(err), "decommission "+string(id)+": "+err.Error())
		return
	}
	h.done(w, r, ss, "/servers", "decommission of "+string(id)+" started: its chunks are being copied elsewhere", "decommission", "server", string(id))
}

// done finishes a successful action: log, fresh data, flash, redirect.
func (h *Handler) done(w http.ResponseWriter, r *http.Request, ss *session, to, flash, action string, args ...any) {
	h.track.invalidate()
	h.log.Info("dashboard: "+action, append([]any{"by", ss.user}, args...)...)
	ss.setFlash(flash)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
