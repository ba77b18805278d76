// Package s3hdr reads and writes the headers and query parameters of S3
// object requests: the headers S3 stores with an object (and the storage
// classes it knows), user metadata, response-* overrides, the conditions
// of reads (If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since), writes and deletes, byte ranges and ?partNumber,
// the copy source with its conditions, range and options, version ids,
// and GetObjectAttributes' headers. It knows nothing of the gateway's
// server; refusals are *s3err.Error values.
package s3hdr
