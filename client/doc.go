// Package client is Granary's Go client library: it writes objects through
// chunk-server replication pipelines, reads them back verified from any
// replica, and offers an io/fs view of a bucket. It is what the CLI, the S3
// gateway and the FUSE mount are built on, and it imports no server
// package: it speaks the master's and chunk servers' HTTP APIs.
//
// A Client is safe for concurrent use by many goroutines.
package client
