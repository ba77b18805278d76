package proto

import (
	"time"
)

// Bucket is a bucket's metadata record.
type Bucket struct {
	Name        string    `json:"name"`
	Created     time.Time `json:"created"`
	Owner       string    `json:"owner,omitempty"`
	Replication int       `json:"replication,omitempty"`
	Location    string    `json:"location,omitempty"`
	// Tags are the bucket's S3 tags (at most MaxBucketTags).
	Tags map[string]string `json:"tags,omitempty"`
	// CORS is the bucket's CORS configuration; none when empty.
	CORS []CORSRule `json:"cors,omitempty"`
	// Versioning is VersioningEnabled, VersioningSuspended, or empty for a
	// bucket never versioned.
	Versioning string `json:"versioning,omitempty"`
	// ObjectLock marks a bucket with object lock (its versioning stays
	// Enabled); LockRule, when set, is its default retention.
	ObjectLock bool      `json:"objectLock,omitempty"`
	LockRule   *LockRule `json:"lockRule,omitempty"`
	// Lifecycle is the bucket's lifecycle configuration; none when empty.
	Lifecycle []LifecycleRule `json:"lifecycle,omitempty"`
	// Policy is the bucket policy document (ValidPolicyDocument); none
	// when empty.
	Policy string `json:"policy,omitempty"`
	// ACL is the bucket's access control list; none when nil.
	ACL *ACL `json:"acl,omitempty"`
	// Ownership is the object ownership setting (Ownership* constants);
	// "" when not configured.
	Ownership string `json:"ownership,omitempty"`
	// PublicAccessBlock is the bucket's public access block; none when nil.
	PublicAccessBlock *PublicAccessBlock `json:"publicAccessBlock,omitempty"`
	// DataPolicy is how the bucket's chunks are stored (ParseDataPolicy:
	// rep-N or rs-K-M), fixed when the bucket is created; "" means
	// rep-Replication, as for buckets made before data policies.
	DataPolicy string `json:"dataPolicy,omitempty"`
	// Convert, when set, is the bucket's background conversion of cold
	// data (it overrides the cluster's).
	Convert *ConvertRule `json:"convert,omitempty"`
	// Usage is the bucket's contents as the leader last counted them; the
	// buckets API adds it (nil until counted), it is never stored.
	Usage *BucketUsage `json:"usage,omitempty"`
}

// Stripe makes an extent erasure-coded: its bytes are cut into K data
// shards and M parity shards with internal/erasure's cell-striped layout
// (cells of Cell bytes), each shard an ordinary chunk on its own server.
// Shards lists the K+M chunk ids, data shards first; the extent's Chunk is
// Shards[0] and its ChunkOffset is 0.
type Stripe struct {
	K      int       `json:"k"`
	M      int       `json:"m"`
	Cell   int64     `json:"cell"`
	Shards []ChunkID `json:"shards"`
}

// Chunks returns the chunk ids an extent's bytes live in: its stripe's
// shards, or its one chunk.
func (e Extent) Chunks() []ChunkID {
	if e.Stripe != nil {
		return e.Stripe.Shards
	}
	return []ChunkID{e.Chunk}
}

// Extent places the object bytes [Offset, Offset+Length) in a chunk,
// starting at ChunkOffset within the chunk.
type Extent struct {
	Chunk       ChunkID `json:"chunk"`
	Offset      int64   `json:"offset"`
	Length      int64   `json:"length"`
	ChunkOffset int64   `json:"chunkOffset,omitempty"`
	// Stripe, when set, makes the extent an erasure-coded stripe of
	// Length data bytes (see Stripe).
	Stripe *Stripe `json:"stripe,omitempty"`
}

// Object is an object's metadata record: either Inline data or Extents.
type Object struct {
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Modified    time.Time         `json:"modified"`
	Version     uint64            `json:"version"`
	Inline      []byte            `json:"inline,omitempty"`
	Extents     []Extent          `json:"extents,omitempty"`
	Dir         bool              `json:"dir,omitempty"`
	// Parts lists the parts of an object made by a multipart completion,
	// in part order, as the completion named them; it is empty on every
	// other object (a commit that carries Parts is refused). The bytes of
	// Parts[i] start at the sum of the sizes of Parts[:i], and the sizes
	// add up to Size. A rename keeps them; an overwrite replaces them.
	// The master leaves them out of listings: only Stat and Locate (the
	// client's Stat and Open) return them.
	Parts []ObjectPart `json:"parts,omitempty"`
	// VersionID is the S3 version id: VersionIDFor(Version) for a version
	// made in a versioning-enabled bucket, NullVersion for one made while
	// suspended, empty for one made unversioned.
	VersionID string `json:"versionId,omitempty"`
	// DeleteMarker marks a version that records a deletion: it has no
	// data, and while it is the newest version the key reads as missing.
	DeleteMarker bool `json:"deleteMarker,omitempty"`
	ObjectHeaders
}

// ObjectPart is one part of a completed multipart object, as S3 reports it
// for GET ?partNumber and GetObjectAttributes.
type ObjectPart struct {
	// Number is the part number the upload gave it (1 to MaxPartNumber;
	// numbers may skip, as a completion need not name every part).
	Number int   `json:"number"`
	Size   int64 `json:"size"`
	// Checksum is the part's base64 checksum in the object's
	// ChecksumAlgorithm, when the part was uploaded with one.
	Checksum string `json:"checksum,omitempty"`
}

// ObjectHeaders are the attributes S3 stores with an object, beyond its
// content type and user metadata, and gives back on reads. Embedded in
// Object and Upload, their JSON is flattened into the record and empty
// fields are left out, so records written without them are unchanged.
// The master keeps the header values as sent; it checks only their size
// (MaxObjectHeaders), UTF-8, and the checksum names.
type ObjectHeaders struct {
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	// Expires is the Expires header as sent (S3 keeps unparsable values).
	Expires         string `json:"expires,omitempty"`
	StorageClass    string `json:"storageClass,omitempty"`
	WebsiteRedirect string `json:"websiteRedirect,omitempty"`
	// ChecksumAlgorithm is one of the Checksum* algorithm names.
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	// ChecksumType is ChecksumFullObject or ChecksumComposite.
	ChecksumType string `json:"checksumType,omitempty"`
	// Checksum is the base64 value; a composite one ends in "-<parts>".
	// It requires ChecksumAlgorithm. On an Upload it is unused: the
	// completion sets the object's (CompleteRequest.Checksum).
	Checksum string `json:"checksum,omitempty"`
	// Tagging is the object's S3 tag set in URL query form, as
	// EncodeTags writes it (at most MaxObjectTags tags, by ValidTags). A
	// tagging call replaces it without making a new version. It is not
	// counted in MaxObjectHeaders.
	Tagging string `json:"tagging,omitempty"`
	// LockMode (LockGovernance or LockCompliance) and LockUntil (RFC 3339,
	// UTC) are the version's object lock retention; LegalHold is
	// LegalHoldOn or LegalHoldOff. Only a bucket with object lock takes
	// them; a copy does not inherit them.
	LockMode  string `json:"lockMode,omitempty"`
	LockUntil string `json:"lockUntil,omitempty"`
	LegalHold string `json:"legalHold,omitempty"`
	// Owner is the user name of the object's writer; ACL is the object's
	// access control list (ValidACL). Neither is counted in
	// MaxObjectHeaders; an ACL call replaces ACL without a new version.
	Owner string `json:"owner,omitempty"`
	ACL   *ACL   `json:"acl,omitempty"`
}

// Checksum algorithms and types of ObjectHeaders, spelled as S3 does.
const (
	ChecksumCRC32     = "CRC32"
	ChecksumCRC32C    = "CRC32C"
	ChecksumCRC64NVME = "CRC64NVME"
	ChecksumSHA1      = "SHA1"
	ChecksumSHA256    = "SHA256"
	ChecksumMD5       = "MD5"
	ChecksumSHA512    = "SHA512"

	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// CommitRequest asks the master to make an object visible atomically.
// IfVersion, when non-zero, makes the commit conditional on the current
// version (use MustNotExist for "must not exist", S3's If-None-Match: *).
// IfETag, when set, makes it conditional on the current object's ETag
// (S3's If-Match; surrounding quotes are ignored): a different ETag fails
// with CodePrecondition, a missing object with CodeNoSuchKey. The master
// checks both inside the replicated commit, so two writers that read the
// same ETag cannot both succeed.
type CommitRequest struct {
	Object    Object `json:"object"`
	IfVersion uint64 `json:"ifVersion,omitempty"`
	IfETag    string `json:"ifETag,omitempty"`
	// Written tells the leader which servers the pipelines wrote each
	// chunk to, so reads find the replicas before the next heartbeats.
	Written []ChunkTargets `json:"written,omitempty"`
}

// MustNotExist is the IfVersion value for a create-only commit.
const MustNotExist = ^uint64(0)

// KeyRequest names one object.
type KeyRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// DeleteRequest removes one object, optionally only when every condition
// given holds on the current record (else CodePrecondition): IfETag (S3's
// If-Match, quotes ignored), IfSize (x-amz-if-match-size) and IfModified
// (x-amz-if-match-last-modified-time, compared to the second). Deleting a
// missing object fails with CodeNoSuchKey.
type DeleteRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// VersionID, when set, removes that version for good (in any bucket),
	// unless an object lock keeps it (CodeLocked); BypassGovernance lifts
	// a GOVERNANCE retention.
	VersionID        string     `json:"versionId,omitempty"`
	BypassGovernance bool       `json:"bypassGovernance,omitempty"`
	IfETag           string     `json:"ifETag,omitempty"`
	IfSize           *int64     `json:"ifSize,omitempty"`
	IfModified       *time.Time `json:"ifModified,omitempty"`
}

// RenameRequest moves an object to a new key in the same bucket.
type RenameRequest struct {
	Bucket string `json:"bucket"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// ListRequest selects a page of keys in byte order.
type ListRequest struct {
	Bucket     string `json:"bucket"`
	Prefix     string `json:"prefix,omitempty"`
	Delimiter  string `json:"delimiter,omitempty"`
	StartAfter string `json:"startAfter,omitempty"`
	MaxKeys    int    `json:"maxKeys,omitempty"`
}

// ListResult is one page of a listing.
type ListResult struct {
	Objects        []Object `json:"objects"`
	CommonPrefixes []string `json:"commonPrefixes"`
	IsTruncated    bool     `json:"isTruncated"`
	// NextStartAfter is the last key or common prefix of the page; pass it
	// as StartAfter to get the next page.
	NextStartAfter string `json:"nextStartAfter,omitempty"`
	// Examined counts the index entries the master looked at (for tests
	// and metrics: it must stay proportional to the page).
	Examined int `json:"examined"`
}

// Multipart upload limits (S3's).
const (
	MaxPartNumber = 10000
	MinPartSize   = 5 << 20
)

// Upload is an in-progress multipart upload.
type Upload struct {
	ID          string            `json:"id"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Created     time.Time         `json:"created"`
	ContentType string            `json:"contentType,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// ObjectHeaders are copied to the object on completion (Checksum
	// aside: the completion names the object's).
	ObjectHeaders
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number   int       `json:"number"`
	ETag     string    `json:"etag"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Extents  []Extent  `json:"extents,omitempty"`
	// Checksum is the part's base64 checksum in its upload's algorithm,
	// when it has one (at most MaxChecksumLen bytes).
	Checksum string `json:"checksum,omitempty"`
}

// PartRequest commits an uploaded part (its chunks are written).
type PartRequest struct {
	Bucket   string         `json:"bucket"`
	UploadID string         `json:"uploadId"`
	Part     Part           `json:"part"`
	Written  []ChunkTargets `json:"written,omitempty"`
}

// CompletePart names a part, with the ETag the client saw, in a completion.
type CompletePart struct {
	Number int    `json:"number"`
	ETag   string `json:"etag"`
}

// CompleteRequest stitches parts into an object. IfETag and IfNoneMatch
// make it conditional on the object the upload would replace, checked in
// the same replicated step that completes it: IfETag (S3's If-Match,
// quotes ignored) requires the current object to have that ETag
// (CodeNoSuchKey when there is none), IfNoneMatch (If-None-Match: *)
// requires that there is none. A failed condition leaves the upload as it
// was.
type CompleteRequest struct {
	Bucket      string         `json:"bucket"`
	UploadID    string         `json:"uploadId"`
	Parts       []CompletePart `json:"parts"`
	IfETag      string         `json:"ifETag,omitempty"`
	IfNoneMatch bool           `json:"ifNoneMatch,omitempty"`
	// Checksum becomes the object's checksum value, in the algorithm and
	// type its upload was created with (the caller computes it from the
	// parts' checksums; the master stores it as given).
	Checksum string `json:"checksum,omitempty"`
}

// UploadRef names an upload.
type UploadRef struct {
	Bucket   string `json:"bucket"`
	UploadID string `json:"uploadId"`
}

// ReplaceExtentsRequest lays an object's current version out anew (a
// conversion to another data policy): if it is still at IfVersion its
// extents become Extents, which cover the same bytes in freshly written
// chunks (Written says where, as a commit's does); everything else about
// the object stays.
type ReplaceExtentsRequest struct {
	Bucket    string         `json:"bucket"`
	Key       string         `json:"key"`
	IfVersion uint64         `json:"ifVersion"`
	Extents   []Extent       `json:"extents"`
	Written   []ChunkTargets `json:"written,omitempty"`
}

// SetMetaRequest replaces the user metadata of an object, if its ETag is
// still IfETag, without rewriting its bytes (unversioned buckets only).
type SetMetaRequest struct {
	Bucket string            `json:"bucket"`
	Key    string            `json:"key"`
	IfETag string            `json:"ifETag"`
	Meta   map[string]string `json:"meta,omitempty"`
}
