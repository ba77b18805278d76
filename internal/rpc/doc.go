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
package rpc
