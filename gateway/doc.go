// Package gateway serves an S3-compatible HTTP API on top of the client
// library: AWS Signature V4 (headers, presigned URLs, aws-chunked streaming
// payloads), buckets, objects with ranges and conditions, listings. It
// keeps no state of its own: any number of gateways can serve one cluster.
//
// This package holds the Server, the dispatch table and the handlers; a
// handler decodes a request with a subpackage, makes one call to the
// cluster and encodes the answer. Authentication is gateway/authn,
// authorization gateway/authz, S3's documents and headers gateway/s3acl,
// s3cors, s3tags, s3lock, s3lifecycle, s3checksum, s3hdr and s3xml,
// listing pages gateway/s3list, the metrics gateway/s3metrics, the
// connection limit gateway/connlimit, body streaming gateway/stream, and
// every refusal an *s3err.Error (gateway/s3err); none of them imports
// this package.
package gateway
