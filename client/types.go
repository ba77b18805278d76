package client

import "github.com/granary-store/granary/internal/proto"

// The records the client takes and returns. They are the cluster's wire
// records under the client's names: a program outside this module names
// them here, and their fields and JSON encoding are the wire's.

// ObjectInfo is an object's metadata record: either Inline data or
// Extents, plus its headers (the embedded ObjectHeaders). Object, the open
// handle, returns it from Info.
type ObjectInfo = proto.Object

// ObjectHeaders are the attributes S3 stores with an object beyond its
// content type and user metadata (cache control, disposition, encoding,
// language, expires, storage class, redirect, checksum).
type ObjectHeaders = proto.ObjectHeaders

// Extent places object bytes in a chunk.
type Extent = proto.Extent

// ObjectPart is one part of an object made by a multipart completion.
type ObjectPart = proto.ObjectPart

// ListRequest selects a page of keys in byte order.
type ListRequest = proto.ListRequest

// ListResult is one page of a listing; pass NextStartAfter as the next
// request's StartAfter while IsTruncated.
type ListResult = proto.ListResult

// Upload is an in-progress multipart upload.
type Upload = proto.Upload

// Part is an uploaded part of a multipart upload.
type Part = proto.Part

// CompletePart names a part (number and ETag) in a completion.
type CompletePart = proto.CompletePart

// Bucket is a bucket's record.
type Bucket = proto.Bucket

// Status is the cluster status (the JSON of `granary admin status --json`).
type Status = proto.Status

// Member is one voter of the master group as Status reports it.
type Member = proto.Member

// ChunkServer is a chunk server's registry record and soft state.
type ChunkServer = proto.ChunkServer

// ChunkCounts are the cluster's chunk health counters.
type ChunkCounts = proto.ChunkCounts

// RepairStats describe the self-healing loop.
type RepairStats = proto.RepairStats

// Health is one master's view of itself.
type Health = proto.Health

// User is an account that owns access keys.
type User = proto.User

// AccessKey is an S3 key pair owned by a user.
type AccessKey = proto.AccessKey

// ChunkID names a chunk (an extent's bytes, or one shard of a stripe).
type ChunkID = proto.ChunkID

// NodeID names a chunk server or a master.
type NodeID = proto.NodeID

// MustNotExist is the PutOptions.IfVersion of a create-only Put (S3's
// If-None-Match: *).
const MustNotExist = ^uint64(0)

// MaxPartNumber is the largest part number of a multipart upload.
const MaxPartNumber = 10000

// Checksum algorithms (ObjectHeaders.ChecksumAlgorithm) and types
// (ObjectHeaders.ChecksumType), spelled as S3 does.
const (
	ChecksumCRC32      = "CRC32"
	ChecksumCRC32C     = "CRC32C"
	ChecksumCRC64NVME  = "CRC64NVME"
	ChecksumSHA1       = "SHA1"
	ChecksumSHA256     = "SHA256"
	ChecksumMD5        = "MD5"
	ChecksumSHA512     = "SHA512"
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// Stripe is one erasure-coded stripe of an object: its K data and M
// parity shards.
type Stripe = proto.Stripe

// PolicyStorage is the data stored under one policy (rep-N or rs-K-M), as
// Status reports it.
type PolicyStorage = proto.PolicyStorage

// ConversionStats is the leader's background conversion progress, as
// Status reports it.
type ConversionStats = proto.ConversionStats

// ConvertRule is a bucket's background conversion rule.
type ConvertRule = proto.ConvertRule

// LifecycleStats describe the leader's lifecycle worker, as Status
// reports it.
type LifecycleStats = proto.LifecycleStats
