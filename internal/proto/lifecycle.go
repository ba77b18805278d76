package proto

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// S3's lifecycle limits.
const (
	MaxLifecycleRules          = 1000
	MaxLifecycleIDLen          = 255
	MaxNewerNoncurrentVersions = 100
	LifecycleEnabled           = "Enabled"
	LifecycleDisabled          = "Disabled"
)

// LifecycleRule is one rule of a bucket's lifecycle configuration, as S3
// defines it. The struct carries both its stored form (JSON) and S3's XML
// element names, so a configuration reads back as it was put. Filter (or,
// in S3's older form, Prefix) selects the objects; the actions say what
// happens to them. Transitions name storage classes, which the operator
// maps to data policies (--storage-class); the master refuses a class
// that is not mapped (ValidTransitionClasses).
type LifecycleRule struct {
	ID     string `json:"id,omitempty" xml:"ID,omitempty"`
	Status string `json:"status" xml:"Status"`
	// Prefix is S3's older rule-level filter; a rule has it or Filter.
	Prefix *string          `json:"prefix,omitempty" xml:"Prefix"`
	Filter *LifecycleFilter `json:"filter,omitempty" xml:"Filter"`

	Expiration                     *LifecycleExpiration   `json:"expiration,omitempty" xml:"Expiration"`
	NoncurrentVersionExpiration    *NoncurrentExpiration  `json:"noncurrentExpiration,omitempty" xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *AbortIncompleteUpload `json:"abortUpload,omitempty" xml:"AbortIncompleteMultipartUpload"`
	Transitions                    []LifecycleTransition  `json:"transitions,omitempty" xml:"Transition"`
	NoncurrentVersionTransitions   []NoncurrentTransition `json:"noncurrentTransitions,omitempty" xml:"NoncurrentVersionTransition"`
}

// LifecycleTransition moves current versions to StorageClass Days after
// they were made, or on Date (midnight UTC): the object is rewritten
// under the class's data policy and reports the class from then on.
type LifecycleTransition struct {
	Days         *int   `json:"days,omitempty" xml:"Days"`
	Date         string `json:"date,omitempty" xml:"Date,omitempty"`
	StorageClass string `json:"storageClass" xml:"StorageClass"`
}

// NoncurrentTransition moves noncurrent versions to StorageClass
// NoncurrentDays after they became noncurrent, except the
// NewerNoncurrentVersions newest noncurrent ones.
type NoncurrentTransition struct {
	NoncurrentDays          *int   `json:"noncurrentDays,omitempty" xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int   `json:"newerNoncurrent,omitempty" xml:"NewerNoncurrentVersions"`
	StorageClass            string `json:"storageClass" xml:"StorageClass"`
}

// LifecycleFilter selects objects: at most one of its predicates, or And
// (an empty filter selects every object).
type LifecycleFilter struct {
	Prefix                *string       `json:"prefix,omitempty" xml:"Prefix"`
	Tag                   *Tag          `json:"tag,omitempty" xml:"Tag"`
	ObjectSizeGreaterThan *int64        `json:"sizeGreaterThan,omitempty" xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64        `json:"sizeLessThan,omitempty" xml:"ObjectSizeLessThan"`
	And                   *LifecycleAnd `json:"and,omitempty" xml:"And"`
}

// LifecycleAnd selects the objects that match all its predicates.
type LifecycleAnd struct {
	Prefix                *string `json:"prefix,omitempty" xml:"Prefix"`
	Tags                  []Tag   `json:"tags,omitempty" xml:"Tag"`
	ObjectSizeGreaterThan *int64  `json:"sizeGreaterThan,omitempty" xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64  `json:"sizeLessThan,omitempty" xml:"ObjectSizeLessThan"`
}

// Tag is one S3 tag of a lifecycle filter.
type Tag struct {
	Key   string `json:"key" xml:"Key"`
	Value string `json:"value" xml:"Value"`
}

// LifecycleExpiration expires current versions Days after they were
// made, or on Date (midnight UTC, RFC 3339); or, with
// ExpiredObjectDeleteMarker, removes delete markers that have no other
// version left.
type LifecycleExpiration struct {
	Days                      *int   `json:"days,omitempty" xml:"Days"`
	Date                      string `json:"date,omitempty" xml:"Date,omitempty"`
	ExpiredObjectDeleteMarker *bool  `json:"expiredDeleteMarker,omitempty" xml:"ExpiredObjectDeleteMarker"`
}

// NoncurrentExpiration removes versions NoncurrentDays after they became
// noncurrent, keeping the NewerNoncurrentVersions newest noncurrent ones.
type NoncurrentExpiration struct {
	NoncurrentDays          *int `json:"noncurrentDays,omitempty" xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int `json:"newerNoncurrent,omitempty" xml:"NewerNoncurrentVersions"`
}

// AbortIncompleteUpload aborts multipart uploads DaysAfterInitiation days
// after they were created.
type AbortIncompleteUpload struct {
	DaysAfterInitiation *int `json:"daysAfterInitiation,omitempty" xml:"DaysAfterInitiation"`
}

// LifecycleErrorKind is the S3 error class a lifecycle configuration
// breaks: the schema (MalformedXML), a value (InvalidArgument), or a
// combination S3 does not allow (InvalidRequest).
type LifecycleErrorKind int

// The lifecycle error kinds.
const (
	LifecycleMalformed LifecycleErrorKind = iota
	LifecycleInvalidArgument
	LifecycleInvalidRequest
)

// LifecycleError says which S3 lifecycle rule a configuration breaks.
type LifecycleError struct {
	Kind LifecycleErrorKind
	Why  string
}

func (e *LifecycleError) Error() string {
	return fmt.Sprintf("lifecycle configuration: %s: %v", e.Why, ErrInvalidName)
}

// Unwrap makes a LifecycleError an ErrInvalidName.
func (e *LifecycleError) Unwrap() error { return ErrInvalidName }

func lcErr(k LifecycleErrorKind, format string, args ...any) error {
	return &LifecycleError{Kind: k, Why: fmt.Sprintf(format, args...)}
}

// ValidLifecycle checks a lifecycle configuration as S3 does: 1 to
// MaxLifecycleRules rules with unique IDs of at most MaxLifecycleIDLen
// characters, each Enabled or Disabled, with one filter form, at least
// one action, positive day counts, dates at midnight UTC. The error is a
// *LifecycleError.
func ValidLifecycle(rules []LifecycleRule) error {
	if len(rules) == 0 || len(rules) > MaxLifecycleRules {
		return lcErr(LifecycleMalformed, "%d rules, want 1 to %d", len(rules), MaxLifecycleRules)
	}
	ids := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		if len(r.ID) > MaxLifecycleIDLen {
			return lcErr(LifecycleInvalidArgument, "ID length should not exceed allowed limit of %d", MaxLifecycleIDLen)
		}
		if r.ID != "" && ids[r.ID] {
			return lcErr(LifecycleInvalidArgument, "rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
		if err := validRule(r); err != nil {
			return err
		}
	}
	return nil
}

func validRule(r *LifecycleRule) error {
	if r.Status != LifecycleEnabled && r.Status != LifecycleDisabled {
		return lcErr(LifecycleMalformed, "status %q is not Enabled or Disabled", truncate(r.Status))
	}
	if (r.Prefix == nil) == (r.Filter == nil) {
		return lcErr(LifecycleMalformed, "a rule needs exactly one of Filter and Prefix")
	}
	tags, err := validFilter(r.Filter)
	if err != nil {
		return err
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil &&
		len(r.Transitions) == 0 && len(r.NoncurrentVersionTransitions) == 0 {
		return lcErr(LifecycleInvalidRequest, "at least one action needs to be specified in a rule")
	}
	if err := validExpiration(r.Expiration, tags); err != nil {
		return err
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		if n.NoncurrentDays == nil || *n.NoncurrentDays <= 0 {
			return lcErr(LifecycleInvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if v := n.NewerNoncurrentVersions; v != nil && (*v <= 0 || *v > MaxNewerNoncurrentVersions) {
			return lcErr(LifecycleInvalidArgument, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to %d", MaxNewerNoncurrentVersions)
		}
	}
	if err := validTransitions(r); err != nil {
		return err
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return lcErr(LifecycleInvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if tags {
			return lcErr(LifecycleInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags")
		}
	}
	return nil
}

func validExpiration(e *LifecycleExpiration, tags bool) error {
	if e == nil {
		return nil
	}
	marker := e.ExpiredObjectDeleteMarker != nil
	n := 0
	for _, set := range []bool{e.Days != nil, e.Date != "", marker} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return lcErr(LifecycleMalformed, "an Expiration needs Days, Date or ExpiredObjectDeleteMarker")
	case marker && n > 1:
		return lcErr(LifecycleInvalidArgument, "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy")
	case n > 1:
		return lcErr(LifecycleMalformed, "an Expiration has either Days or Date")
	case e.Days != nil && *e.Days <= 0:
		return lcErr(LifecycleInvalidArgument, "'Days' for Expiration action must be a positive integer")
	case marker && *e.ExpiredObjectDeleteMarker && tags:
		return lcErr(LifecycleInvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags")
	}
	if e.Date != "" {
		if _, err := LifecycleDate(e.Date); err != nil {
			return err
		}
	}
	return nil
}

// validTransitions checks a rule's transitions as S3 does: each with a
// storage class and Days (not negative) or a Date, all by Days or all by
// Date, one per storage class.
func validTransitions(r *LifecycleRule) error {
	classes := map[string]bool{}
	byDays, byDate := false, false
	for _, t := range r.Transitions {
		switch {
		case t.StorageClass == "":
			return lcErr(LifecycleMalformed, "a Transition needs a StorageClass")
		case (t.Days != nil) == (t.Date != ""):
			return lcErr(LifecycleMalformed, "a Transition has either Days or Date")
		case t.Days != nil && *t.Days < 0:
			return lcErr(LifecycleInvalidArgument, "'Days' in Transition action must be nonnegative")
		case classes[t.StorageClass]:
			return lcErr(LifecycleInvalidRequest, "'StorageClass' must be different for '%s' actions in same 'Rule'", "Transition")
		}
		if t.Date != "" {
			if _, err := LifecycleDate(t.Date); err != nil {
				return err
			}
		}
		classes[t.StorageClass] = true
		byDays, byDate = byDays || t.Days != nil, byDate || t.Date != ""
	}
	if byDays && byDate {
		return lcErr(LifecycleInvalidRequest, "found mixed 'Date' and 'Days' based Transition actions in lifecycle rule")
	}
	clear(classes)
	for _, t := range r.NoncurrentVersionTransitions {
		switch {
		case t.StorageClass == "":
			return lcErr(LifecycleMalformed, "a NoncurrentVersionTransition needs a StorageClass")
		case t.NoncurrentDays == nil || *t.NoncurrentDays < 0:
			return lcErr(LifecycleInvalidArgument, "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative")
		case t.NewerNoncurrentVersions != nil && (*t.NewerNoncurrentVersions <= 0 || *t.NewerNoncurrentVersions > MaxNewerNoncurrentVersions):
			return lcErr(LifecycleInvalidArgument, "'NewerNoncurrentVersions' for NoncurrentVersionTransition action must be a positive integer up to %d", MaxNewerNoncurrentVersions)
		case classes[t.StorageClass]:
			return lcErr(LifecycleInvalidRequest, "'StorageClass' must be different for '%s' actions in same 'Rule'", "NoncurrentVersionTransition")
		}
		classes[t.StorageClass] = true
	}
	return nil
}

// TransitionClasses lists the storage classes a configuration's
// transitions name, sorted, each once.
func TransitionClasses(rules []LifecycleRule) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		for _, t := range r.Transitions {
			if !seen[t.StorageClass] {
				seen[t.StorageClass] = true
				out = append(out, t.StorageClass)
			}
		}
		for _, t := range r.NoncurrentVersionTransitions {
			if !seen[t.StorageClass] {
				seen[t.StorageClass] = true
				out = append(out, t.StorageClass)
			}
		}
	}
	slices.Sort(out)
	return out
}

// LifecycleDate reads an Expiration Date: ISO 8601, at midnight UTC.
func LifecycleDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02", s)
	}
	if err != nil {
		return time.Time{}, lcErr(LifecycleInvalidArgument, "'Date' must be in ISO 8601 format")
	}
	t = t.UTC()
	if !t.Equal(t.Truncate(24 * time.Hour)) {
		return time.Time{}, lcErr(LifecycleInvalidArgument, "'Date' must be at midnight GMT")
	}
	return t, nil
}

// validFilter checks a filter's form; tags reports whether it tests tags.
func validFilter(f *LifecycleFilter) (tags bool, err error) {
	if f == nil {
		return false, nil
	}
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return false, lcErr(LifecycleMalformed, "a Filter has at most one predicate; use And to combine them")
	}
	if f.Tag != nil {
		return true, validFilterTags([]Tag{*f.Tag})
	}
	if f.And != nil {
		return validAnd(f.And)
	}
	return false, validSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan)
}

func validAnd(a *LifecycleAnd) (bool, error) {
	n := len(a.Tags)
	for _, set := range []bool{a.Prefix != nil, a.ObjectSizeGreaterThan != nil, a.ObjectSizeLessThan != nil} {
		if set {
			n++
		}
	}
	if n < 2 {
		return false, lcErr(LifecycleMalformed, "an And needs two or more predicates")
	}
	if err := validFilterTags(a.Tags); err != nil {
		return false, err
	}
	return len(a.Tags) > 0, validSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan)
}

func validFilterTags(tags []Tag) error {
	set := map[string]string{}
	for _, t := range tags {
		if _, dup := set[t.Key]; dup {
			return lcErr(LifecycleInvalidRequest, "duplicate Tag Keys are not allowed")
		}
		set[t.Key] = t.Value
	}
	if err := ValidTags(set, MaxObjectTags); err != nil {
		return lcErr(LifecycleInvalidArgument, "%v", err)
	}
	return nil
}

func validSizes(gt, lt *int64) error {
	switch {
	case gt != nil && *gt < 0, lt != nil && *lt <= 0:
		return lcErr(LifecycleInvalidArgument, "'ObjectSizeGreaterThan' must not be negative and 'ObjectSizeLessThan' must be positive")
	case gt != nil && lt != nil && *gt >= *lt:
		return lcErr(LifecycleInvalidArgument, "'ObjectSizeGreaterThan' must be less than 'ObjectSizeLessThan'")
	}
	return nil
}

// Matches reports whether r's filter selects an object of this key,
// size and tag set (URL query form, as ObjectHeaders.Tagging).
func (r *LifecycleRule) Matches(key string, size int64, tagging string) bool {
	if r.Prefix != nil {
		return strings.HasPrefix(key, *r.Prefix)
	}
	f := r.Filter
	if f == nil {
		return true
	}
	if f.And != nil {
		a := f.And
		return matchPrefix(a.Prefix, key) && matchSize(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan, size) && matchTags(a.Tags, tagging)
	}
	var tags []Tag
	if f.Tag != nil {
		tags = []Tag{*f.Tag}
	}
	return matchPrefix(f.Prefix, key) && matchSize(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan, size) && matchTags(tags, tagging)
}

// HasTagFilter reports whether r selects objects by tag.
func (r *LifecycleRule) HasTagFilter() bool {
	return r.Filter != nil && (r.Filter.Tag != nil || r.Filter.And != nil && len(r.Filter.And.Tags) > 0)
}

// HasSizeFilter reports whether r selects objects by size.
func (r *LifecycleRule) HasSizeFilter() bool {
	f := r.Filter
	return f != nil && (f.ObjectSizeGreaterThan != nil || f.ObjectSizeLessThan != nil ||
		f.And != nil && (f.And.ObjectSizeGreaterThan != nil || f.And.ObjectSizeLessThan != nil))
}

// KeyPrefix is the key prefix r's filter needs ("" for none).
func (r *LifecycleRule) KeyPrefix() string {
	switch {
	case r.Prefix != nil:
		return *r.Prefix
	case r.Filter == nil:
		return ""
	case r.Filter.Prefix != nil:
		return *r.Filter.Prefix
	case r.Filter.And != nil && r.Filter.And.Prefix != nil:
		return *r.Filter.And.Prefix
	}
	return ""
}

func matchPrefix(p *string, key string) bool { return p == nil || strings.HasPrefix(key, *p) }

func matchSize(gt, lt *int64, size int64) bool {
	return (gt == nil || size > *gt) && (lt == nil || size < *lt)
}

func matchTags(want []Tag, tagging string) bool {
	if len(want) == 0 {
		return true
	}
	have, err := ParseTags(tagging)
	if err != nil {
		return false
	}
	for _, t := range want {
		if v, ok := have[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

// LifecycleStats describe the leader's lifecycle worker since this member
// became leader (a new leader starts again from zero and from the first
// bucket; what its predecessor removed is gone, so nothing is applied
// twice).
type LifecycleStats struct {
	// Scanned counts the versions and uploads evaluated.
	Scanned int64 `json:"scanned"`
	// Expired counts current versions expired (removed, or hidden behind
	// a delete marker in a versioned bucket).
	Expired int64 `json:"expired"`
	// NoncurrentExpired counts noncurrent versions removed for good.
	NoncurrentExpired int64 `json:"noncurrentExpired"`
	// MarkersRemoved counts expired object delete markers removed.
	MarkersRemoved int64 `json:"markersRemoved"`
	// UploadsAborted counts incomplete multipart uploads aborted.
	UploadsAborted int64 `json:"uploadsAborted"`
	// TransitionsQueued counts versions handed to the converter because
	// a transition to another storage class was due.
	TransitionsQueued int64 `json:"transitionsQueued"`
	// Skipped counts due actions not applied: a locked version, or one
	// changed after the worker looked.
	Skipped int64 `json:"skipped"`
	// Passes counts full passes over every bucket with rules.
	Passes int64 `json:"passes"`
	// LastPass is when the last full pass ended (zero: none yet).
	LastPass string `json:"lastPass,omitempty"`
}
