package proto

import (
	"fmt"
	"strconv"
)

// Bucket versioning states (Bucket.Versioning); a bucket never versioned
// has none. Once versioned, a bucket is Enabled or Suspended for good.
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

// NullVersion is the version id of an object written while its bucket
// was unversioned or suspended: a key has at most one null version.
const NullVersion = "null"

// RouteVersioning is POSTed a VersioningRequest; RouteObjectVersions
// lists object versions (GET, the parameters of VersionsRequest).
const (
	RouteVersioning     = APIPrefix + "/versioning"
	RouteObjectVersions = APIPrefix + "/objects/versions"
)

// VersionIDFor is the version id of a version the state machine made at
// Raft index index: 16 hex digits, so ids sort as they were made.
func VersionIDFor(index uint64) string { return fmt.Sprintf("%016x", index) }

// ParseVersionID reads a version id: NullVersion, or one VersionIDFor
// made. ok is false for anything else.
func ParseVersionID(id string) (index uint64, null, ok bool) {
	if id == NullVersion {
		return 0, true, true
	}
	if len(id) != 16 {
		return 0, false, false
	}
	n, err := strconv.ParseUint(id, 16, 64)
	if err != nil || n == 0 {
		return 0, false, false
	}
	return n, false, true
}

// IsNullVersion reports whether o is its key's null version (written
// unversioned, VersionID empty, or while suspended, NullVersion).
func (o *Object) IsNullVersion() bool { return o.VersionID == "" || o.VersionID == NullVersion }

// VersionName is the id S3 shows for o: its VersionID, or "null".
func (o *Object) VersionName() string {
	if o.VersionID == "" {
		return NullVersion
	}
	return o.VersionID
}

// VersioningRequest sets a bucket's versioning state.
type VersioningRequest struct {
	Bucket string `json:"bucket"`
	Status string `json:"status"`
}

// DeleteResult is what a delete did in a versioned bucket (or by
// version id): the version it made (a delete marker) or removed, and
// whether that version is a delete marker.
type DeleteResult struct {
	VersionID    string `json:"versionId,omitempty"`
	DeleteMarker bool   `json:"deleteMarker,omitempty"`
}

// VersionsRequest selects a page of object versions: keys in byte order,
// each key's versions newest first. KeyMarker (and VersionIDMarker, a
// version of that key) name where the previous page stopped.
type VersionsRequest struct {
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix,omitempty"`
	Delimiter       string `json:"delimiter,omitempty"`
	KeyMarker       string `json:"keyMarker,omitempty"`
	VersionIDMarker string `json:"versionIdMarker,omitempty"`
	MaxKeys         int    `json:"maxKeys,omitempty"`
}

// ObjectVersion is one version in a listing.
type ObjectVersion struct {
	Object
	IsLatest bool `json:"isLatest,omitempty"`
}

// VersionsResult is one page of versions and common prefixes.
type VersionsResult struct {
	Versions            []ObjectVersion `json:"versions"`
	CommonPrefixes      []string        `json:"commonPrefixes"`
	IsTruncated         bool            `json:"isTruncated"`
	NextKeyMarker       string          `json:"nextKeyMarker,omitempty"`
	NextVersionIDMarker string          `json:"nextVersionIdMarker,omitempty"`
}
