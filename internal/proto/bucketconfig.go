package proto

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// S3's tagging limits.
const (
	MaxObjectTags   = 10
	MaxBucketTags   = 50
	MaxTagKeyLen    = 128 // characters
	MaxTagValueLen  = 256 // characters
	MaxCORSRules    = 100
	MaxCORSRuleLen  = 64 << 10 // bytes of strings in one configuration
	reservedTagSpan = "aws:"
)

// CORSRule is one rule of a bucket's CORS configuration, as S3 defines it.
// A request matches the rule when its origin matches one of
// AllowedOrigins (each may hold one '*' wildcard), its method (or the
// preflight's requested method) is in AllowedMethods, and, for a
// preflight, every requested header matches one of AllowedHeaders (each
// may hold one '*').
type CORSRule struct {
	ID             string   `json:"id,omitempty"`
	AllowedOrigins []string `json:"allowedOrigins"`
	AllowedMethods []string `json:"allowedMethods"`
	AllowedHeaders []string `json:"allowedHeaders,omitempty"`
	ExposeHeaders  []string `json:"exposeHeaders,omitempty"`
	// MaxAgeSeconds, when set, is how long a browser may cache a preflight
	// answer.
	MaxAgeSeconds *int `json:"maxAgeSeconds,omitempty"`
}

// BucketConfigRequest changes parts of a bucket's configuration. A nil
// field leaves that part as it is; a non-nil empty one removes it.
type BucketConfigRequest struct {
	Bucket string             `json:"bucket"`
	Tags   *map[string]string `json:"tags,omitempty"`
	CORS   *[]CORSRule        `json:"cors,omitempty"`
	// Lock, when set, turns object lock on (a versioning-enabled bucket)
	// and sets its default retention (a nil Rule: none).
	Lock *LockConfig `json:"lock,omitempty"`
	// Lifecycle replaces the lifecycle rules (ValidLifecycle); empty
	// removes them.
	Lifecycle *[]LifecycleRule `json:"lifecycle,omitempty"`
	// DataPolicy, when set, changes the data policy of the bucket\'s later
	// writes (rep-N also sets the replication of its replicated chunks).
	DataPolicy *string `json:"dataPolicy,omitempty"`
	// Convert, when set, replaces the bucket's background conversion rule:
	// Policy (rs-K-M) after AfterSeconds; AfterSeconds 0 turns conversion
	// off for the bucket, a negative one removes its rule (the cluster's
	// setting applies again).
	Convert *ConvertRule `json:"convert,omitempty"`
	// Policy replaces the bucket policy document; "" removes it.
	Policy *string `json:"policy,omitempty"`
	// ACL replaces the bucket's ACL.
	ACL *ACL `json:"acl,omitempty"`
	// Ownership replaces the object ownership setting; "" removes it.
	Ownership *string `json:"ownership,omitempty"`
	// PublicAccessBlock replaces the public access block;
	// ClearPublicAccessBlock removes it (and wins over PublicAccessBlock).
	PublicAccessBlock      *PublicAccessBlock `json:"publicAccessBlock,omitempty"`
	ClearPublicAccessBlock bool               `json:"clearPublicAccessBlock,omitempty"`
}

// LockConfig is a bucket's object lock configuration.
type LockConfig struct {
	Rule *LockRule `json:"rule,omitempty"`
}

// Routes of the bucket configuration and object tagging calls.
const (
	// RouteBucketConfig is POSTed a BucketConfigRequest.
	RouteBucketConfig = APIPrefix + "/bucketconfig"
	// RouteObjectTags is POSTed a TagsRequest.
	RouteObjectTags = APIPrefix + "/objects/tags"
)

// TagsRequest replaces an object's tag set (Tagging in EncodeTags form;
// empty: removes it).
type TagsRequest struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Tagging string `json:"tagging,omitempty"`
	// VersionID, when set, names the version whose tags change.
	VersionID string `json:"versionId,omitempty"`
}

// EncodeTags writes a tag set in URL query form, sorted by key ("" for
// none): the form of ObjectHeaders.Tagging and S3's x-amz-tagging.
func EncodeTags(tags map[string]string) string {
	v := url.Values{}
	for k, val := range tags {
		v.Set(k, val)
	}
	return v.Encode()
}

// ParseTags reads a tag set in URL query form. A key given twice, or text
// that is not URL query form, is an error.
func ParseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	if s == "" {
		return tags, nil
	}
	for _, kv := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(kv, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("tag set is not URL-encoded: %w", ErrInvalidName)
		}
		if _, dup := tags[key]; dup {
			return nil, &TagError{Key: key, Duplicate: true}
		}
		tags[key] = val
	}
	return tags, nil
}

// TagError says which S3 tagging rule a tag set breaks.
type TagError struct {
	// TooMany: more tags than the limit. Otherwise Key names the tag, and
	// Value tells whether its value (not its key) is at fault.
	TooMany bool
	Limit   int
	Key     string
	Value   bool
	System  bool // the key uses the prefix S3 reserves ("aws:")
	// Duplicate: the key is given twice.
	Duplicate bool
}

func (e *TagError) Error() string {
	switch {
	case e.TooMany:
		return fmt.Sprintf("more than %d tags: %v", e.Limit, ErrInvalidName)
	case e.Duplicate:
		return fmt.Sprintf("tag key %q is given twice: %v", truncate(e.Key), ErrInvalidName)
	case e.System:
		return fmt.Sprintf("tag key %q uses the reserved prefix aws: %v", truncate(e.Key), ErrInvalidName)
	case e.Value:
		return fmt.Sprintf("the value of tag %q is invalid: %v", truncate(e.Key), ErrInvalidName)
	}
	return fmt.Sprintf("tag key %q is invalid: %v", truncate(e.Key), ErrInvalidName)
}

// Unwrap makes a TagError an ErrInvalidName.
func (e *TagError) Unwrap() error { return ErrInvalidName }

// ValidTags checks a tag set against S3's rules: at most limit tags
// (MaxObjectTags or MaxBucketTags), keys of 1 to 128 and values of 0 to
// 256 characters of valid UTF-8 drawn from letters, digits, spaces and
// + - = . _ : / @, and no key starting with the reserved "aws:". The
// error is a *TagError.
func ValidTags(tags map[string]string, limit int) error {
	if len(tags) > limit {
		return &TagError{TooMany: true, Limit: limit}
	}
	for k, v := range tags {
		if !validTagText(k, 1, MaxTagKeyLen) {
			return &TagError{Key: k}
		}
		if strings.HasPrefix(strings.ToLower(k), reservedTagSpan) {
			return &TagError{Key: k, System: true}
		}
		if !validTagText(v, 0, MaxTagValueLen) {
			return &TagError{Key: k, Value: true}
		}
	}
	return nil
}

func validTagText(s string, minLen, maxLen int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < minLen || n > maxLen {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !unicode.IsMark(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

// corsMethods are the methods a CORS rule may allow.
var corsMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "HEAD": true}

// ValidCORSMethod reports whether a CORS rule may allow method.
func ValidCORSMethod(method string) bool { return corsMethods[method] }

// CORSError says which S3 CORS rule a configuration breaks.
type CORSError struct {
	// Method, when set, is an AllowedMethod S3 does not support;
	// otherwise Why describes the problem (S3's MalformedXML class).
	Method string
	Why    string
}

func (e *CORSError) Error() string {
	if e.Method != "" {
		return fmt.Sprintf("unsupported CORS method %q: %v", truncate(e.Method), ErrInvalidName)
	}
	return fmt.Sprintf("CORS configuration: %s: %v", e.Why, ErrInvalidName)
}

// Unwrap makes a CORSError an ErrInvalidName.
func (e *CORSError) Unwrap() error { return ErrInvalidName }

// ValidCORS checks a CORS configuration as S3 does: 1 to MaxCORSRules
// rules, each with at least one origin and one method, methods among
// GET, PUT, POST, DELETE and HEAD, at most one '*' in an origin or
// allowed header, a non-negative max age, and at most MaxCORSRuleLen
// bytes of text in all. The error is a *CORSError.
func ValidCORS(rules []CORSRule) error {
	if len(rules) == 0 || len(rules) > MaxCORSRules {
		return &CORSError{Why: fmt.Sprintf("%d rules, want 1 to %d", len(rules), MaxCORSRules)}
	}
	total := 0
	for i, r := range rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return &CORSError{Why: fmt.Sprintf("rule %d needs an AllowedOrigin and an AllowedMethod", i+1)}
		}
		for _, m := range r.AllowedMethods {
			if !corsMethods[m] {
				return &CORSError{Method: m}
			}
		}
		for _, list := range [][]string{r.AllowedOrigins, r.AllowedHeaders} {
			for _, s := range list {
				if strings.Count(s, "*") > 1 {
					return &CORSError{Why: fmt.Sprintf("%q has more than one wildcard", truncate(s))}
				}
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return &CORSError{Why: "MaxAgeSeconds is negative"}
		}
		for _, list := range [][]string{{r.ID}, r.AllowedOrigins, r.AllowedMethods, r.AllowedHeaders, r.ExposeHeaders} {
			for _, s := range list {
				if !utf8.ValidString(s) {
					return &CORSError{Why: "text must be valid UTF-8"}
				}
				total += len(s)
			}
		}
	}
	if total > MaxCORSRuleLen {
		return &CORSError{Why: fmt.Sprintf("%d bytes of rules exceed %d", total, MaxCORSRuleLen)}
	}
	return nil
}

// WildcardMatch reports whether s matches pattern, in which one '*'
// stands for any run of characters. S3 matches origins case-sensitively
// and header names case-insensitively; the caller folds case as needed.
func WildcardMatch(pattern, s string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}
