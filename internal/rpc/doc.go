// Package rpc is the one place that says how Granary processes call each
// other over HTTP: the scheme (http, or https when a *tls.Config is set),
// the bearer credential carrying the cluster secret, the shared
// *http.Client with its timeouts, the server-side middleware that checks
// the credential, and error bodies. The wire types themselves (routes,
// proto.Error) stay in internal/proto.
//
// Outgoing calls:
//
//	rc := rpc.Config{Secret: secret}
//	hc := rpc.NewClient(rc, rpc.ClientOptions{ResponseHeaderTimeout: 30 * time.Second})
//	req, err := rc.NewRequest(ctx, http.MethodGet, addr, proto.RouteHealth, nil)
//	resp, err := hc.Do(req)
//
// Incoming calls:
//
//	mux.Handle(route, rc.Authenticate(handler))
//	srv.Serve(rc.Listener(ln))
//
// With cluster mutual TLS (rc.TLS from internal/pki's LoadCluster) both
// checks apply: the listener refuses a caller without a certificate from
// the cluster CA, and Authenticate one without the secret.
//
// Request ids: the clients NewClient builds send the request id of each
// call's context (internal/reqid) in reqid.Header, and Authenticate puts
// the id a caller sent into the context of the call it passes on, so the
// S3 request id a gateway answers with reaches every master and chunk
// server call the request causes, and every call those cause in turn.
// Trace, around a server's handler, writes a Debug line per call served
// with the id as request_id and, with tracing on (internal/tracing), joins
// the caller's trace; the clients send the traceparent of the context's
// span. TraceRoot starts a trace per S3 request at the gateway.
package rpc
