// Package gateway serves an S3-compatible HTTP API on top of the client
// library: AWS Signature V4 (headers, presigned URLs, aws-chunked streaming
// payloads), buckets, objects with ranges and conditions, listings. It
// keeps no state of its own: any number of gateways can serve one cluster.
package gateway
