// Package client is Granary's Go client library: it writes objects through
// chunk-server replication pipelines, reads them back verified from any
// replica, and offers an io/fs view of a bucket. It is what the CLI, the S3
// gateway and the FUSE mount are built on, and it imports no server
// package: it speaks the master's and chunk servers' HTTP APIs.
//
// Client reads and writes objects (Put, or a streaming Writer from
// NewWriter; Get, Open, FS) and runs multipart uploads; Admin manages the
// cluster (status, members, chunk servers, users, keys, buckets). Their
// records (ObjectInfo, ListResult, Upload, Status, ...) are named in this
// package, and errors from the cluster match this package's sentinels
// (ErrNoSuchKey, ErrNoSuchBucket, ErrPrecondition, ...) with errors.Is.
// The S3 gateway and the CLI reach the cluster through this package only.
//
// A Client, and an Admin, is safe for concurrent use by many goroutines.
package client
