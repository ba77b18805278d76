package pki

import "errors"

// ErrExists means a file pki would write is already there: it never
// overwrites a CA or a node's certificate.
var ErrExists = errors.New("pki: file exists")

// ErrNoCertificate means a PEM file held no certificate or no key.
var ErrNoCertificate = errors.New("pki: no certificate or key in PEM data")
