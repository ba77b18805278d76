// Package web is Granary's dashboard: server-rendered HTML pages that
// answer the operator's first question (is my data safe right now, and if
// not, when will it be?) and let an operator act (create and delete
// buckets, users and keys, decommission chunk servers).
//
// New returns an http.Handler that every master mounts beside its API
// (the API keeps /v1, /metrics and /debug; the dashboard takes the rest).
// It reaches the cluster only through client.Admin (the Cluster interface
// here), which finds the leader, so a follower shows the leader's view.
//
// Pages are html/template, every asset is embedded, and the only script
// (static/app.js) re-fetches the live part of a page as an HTML fragment
// every few seconds; pages work without it. Charts are inline SVG drawn by
// the server. Every response carries a Content-Security-Policy that allows
// scripts, styles and connections from the dashboard's own origin only and
// no inline script or style.
//
// Security: a login takes an S3 access key and secret of an admin user
// (Config.AdminUsers, "root" by default). The session lives in the
// handler's memory (so a login is per master), its cookie is HttpOnly,
// SameSite=Strict, Secure over TLS, and expires after Config.SessionTTL.
// Every state-changing request is a POST carrying the session's CSRF
// token, and is refused when the browser says it is cross-origin. No
// secret is rendered except a newly created key's, once.
//
// Live data: the handler keeps one snapshot of the cluster (status,
// members' health, buckets, users) shared by every viewer and refreshed at
// most once per Config.Refresh, so a hundred open dashboards cost the
// master what one does. From successive snapshots it derives the repair
// rate and ETA, a short history for the charts and a bounded list of the
// state changes it has seen (servers dead or back, leader changes, repair
// started and finished, safe mode, decommissions, gateways starting or
// stopping to report). Live S3 rates come from the gateways' cumulative
// counters in the status: each gateway's difference between two of its
// reports over the time between them, summed over gateways. The buckets'
// counts are the leader's (client.Bucket.Usage, with the time they were
// taken). It runs no goroutine of its own: snapshots are taken by the
// requests that need them.
package web
