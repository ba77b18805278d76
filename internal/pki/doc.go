// Package pki is the cluster's small certificate authority and the TLS
// configurations built on it, standard library only.
//
// A cluster CA (ECDSA P-256, valid ten years) signs node certificates
// (ECDSA P-256, valid ten years, no longer than the CA) that name a node
// and carry its DNS names and IP addresses; each is usable both to serve
// and to call (ExtKeyUsage ServerAuth and ClientAuth), since every Granary
// process does both. LoadCluster turns the files into the two
// *tls.Config of mutual TLS: servers require and verify a client
// certificate from the CA, clients verify servers against it and present
// their own.
//
// Files (PEM; private keys are written 0600 and never logged):
//
//	DIR/ca.pem          the CA certificate: every node and client trusts it
//	DIR/ca-key.pem      the CA key: only where certificates are issued
//	DIR/NAME.pem        a node certificate
//	DIR/NAME-key.pem    its key
//
// A Reloader serves a certificate and key from files and re-reads them
// when they change, so a renewed certificate takes effect without a
// restart.
package pki
