package gateway

import (
	"net/http"
	"slices"
	"strings"
)

// target is what a request addresses: the service, a bucket or an object.
type target uint8

const (
	onService target = iota
	onBucket
	onObject
)

func (t target) String() string {
	return [...]string{"SERVICE", "BUCKET", "OBJECT"}[t]
}

// op is one S3 operation: a method on a target with a set of subresource
// query keys. An op with no handler is a call S3 defines and Granary does
// not implement: it is refused with NotImplemented and changes nothing.
type op struct {
	name   string
	method string
	target target
	sub    string // the subresource keys present, sorted, joined by "&"
	serve  func(*Server, http.ResponseWriter, *http.Request)
}

// ops is the whole S3 surface the gateway knows, one line an operation.
// A request is classified by method, target and subresources (versionId
// aside, see dispatch) and runs only the handler of its exact line; a
// combination missing from this table is refused, never passed on to a
// neighbour.
var ops = []op{
	{"ListBuckets", "GET", onService, "", (*Server).listBuckets},

	{"ListObjects", "GET", onBucket, "", (*Server).listObjects},
	{"HeadBucket", "HEAD", onBucket, "", (*Server).headBucket},
	{"CreateBucket", "PUT", onBucket, "", (*Server).createBucket},
	{"DeleteBucket", "DELETE", onBucket, "", (*Server).deleteBucket},
	{"PostObject", "POST", onBucket, "", nil},
	{"DeleteObjects", "POST", onBucket, "delete", (*Server).deleteObjects},
	{"GetBucketLocation", "GET", onBucket, "location", (*Server).bucketLocation},
	{"ListMultipartUploads", "GET", onBucket, "uploads", (*Server).listUploads},
	{"GetBucketVersioning", "GET", onBucket, "versioning", (*Server).bucketVersioning},
	{"PutBucketVersioning", "PUT", onBucket, "versioning", (*Server).putBucketVersioning},
	{"ListObjectVersions", "GET", onBucket, "versions", (*Server).listObjectVersions},
	{"GetBucketAccelerateConfiguration", "GET", onBucket, "accelerate", nil},
	{"PutBucketAccelerateConfiguration", "PUT", onBucket, "accelerate", nil},
	{"GetBucketAcl", "GET", onBucket, "acl", nil},
	{"PutBucketAcl", "PUT", onBucket, "acl", nil},
	{"GetBucketAnalyticsConfiguration", "GET", onBucket, "analytics", nil},
	{"PutBucketAnalyticsConfiguration", "PUT", onBucket, "analytics", nil},
	{"DeleteBucketAnalyticsConfiguration", "DELETE", onBucket, "analytics", nil},
	{"GetBucketCors", "GET", onBucket, "cors", (*Server).getBucketCors},
	{"PutBucketCors", "PUT", onBucket, "cors", (*Server).putBucketCors},
	{"DeleteBucketCors", "DELETE", onBucket, "cors", (*Server).deleteBucketCors},
	{"GetBucketEncryption", "GET", onBucket, "encryption", nil},
	{"PutBucketEncryption", "PUT", onBucket, "encryption", nil},
	{"DeleteBucketEncryption", "DELETE", onBucket, "encryption", nil},
	{"GetBucketIntelligentTieringConfiguration", "GET", onBucket, "intelligent-tiering", nil},
	{"PutBucketIntelligentTieringConfiguration", "PUT", onBucket, "intelligent-tiering", nil},
	{"DeleteBucketIntelligentTieringConfiguration", "DELETE", onBucket, "intelligent-tiering", nil},
	{"GetBucketInventoryConfiguration", "GET", onBucket, "inventory", nil},
	{"PutBucketInventoryConfiguration", "PUT", onBucket, "inventory", nil},
	{"DeleteBucketInventoryConfiguration", "DELETE", onBucket, "inventory", nil},
	{"GetBucketLifecycleConfiguration", "GET", onBucket, "lifecycle", (*Server).getBucketLifecycle},
	{"PutBucketLifecycleConfiguration", "PUT", onBucket, "lifecycle", (*Server).putBucketLifecycle},
	{"DeleteBucketLifecycle", "DELETE", onBucket, "lifecycle", (*Server).deleteBucketLifecycle},
	{"GetBucketLogging", "GET", onBucket, "logging", nil},
	{"PutBucketLogging", "PUT", onBucket, "logging", nil},
	{"GetBucketMetadataConfiguration", "GET", onBucket, "metadataConfiguration", nil},
	{"CreateBucketMetadataConfiguration", "POST", onBucket, "metadataConfiguration", nil},
	{"DeleteBucketMetadataConfiguration", "DELETE", onBucket, "metadataConfiguration", nil},
	{"GetBucketMetadataTableConfiguration", "GET", onBucket, "metadataTable", nil},
	{"CreateBucketMetadataTableConfiguration", "POST", onBucket, "metadataTable", nil},
	{"DeleteBucketMetadataTableConfiguration", "DELETE", onBucket, "metadataTable", nil},
	{"GetBucketMetricsConfiguration", "GET", onBucket, "metrics", nil},
	{"PutBucketMetricsConfiguration", "PUT", onBucket, "metrics", nil},
	{"DeleteBucketMetricsConfiguration", "DELETE", onBucket, "metrics", nil},
	{"GetBucketNotificationConfiguration", "GET", onBucket, "notification", nil},
	{"PutBucketNotificationConfiguration", "PUT", onBucket, "notification", nil},
	{"GetObjectLockConfiguration", "GET", onBucket, "object-lock", (*Server).getObjectLockConfig},
	{"PutObjectLockConfiguration", "PUT", onBucket, "object-lock", (*Server).putObjectLockConfig},
	{"GetBucketOwnershipControls", "GET", onBucket, "ownershipControls", nil},
	{"PutBucketOwnershipControls", "PUT", onBucket, "ownershipControls", nil},
	{"DeleteBucketOwnershipControls", "DELETE", onBucket, "ownershipControls", nil},
	{"GetBucketPolicy", "GET", onBucket, "policy", nil},
	{"PutBucketPolicy", "PUT", onBucket, "policy", nil},
	{"DeleteBucketPolicy", "DELETE", onBucket, "policy", nil},
	{"GetBucketPolicyStatus", "GET", onBucket, "policyStatus", nil},
	{"GetPublicAccessBlock", "GET", onBucket, "publicAccessBlock", nil},
	{"PutPublicAccessBlock", "PUT", onBucket, "publicAccessBlock", nil},
	{"DeletePublicAccessBlock", "DELETE", onBucket, "publicAccessBlock", nil},
	{"GetBucketReplication", "GET", onBucket, "replication", nil},
	{"PutBucketReplication", "PUT", onBucket, "replication", nil},
	{"DeleteBucketReplication", "DELETE", onBucket, "replication", nil},
	{"GetBucketRequestPayment", "GET", onBucket, "requestPayment", nil},
	{"PutBucketRequestPayment", "PUT", onBucket, "requestPayment", nil},
	{"GetBucketTagging", "GET", onBucket, "tagging", (*Server).getBucketTagging},
	{"PutBucketTagging", "PUT", onBucket, "tagging", (*Server).putBucketTagging},
	{"DeleteBucketTagging", "DELETE", onBucket, "tagging", (*Server).deleteBucketTagging},
	{"GetBucketWebsite", "GET", onBucket, "website", nil},
	{"PutBucketWebsite", "PUT", onBucket, "website", nil},
	{"DeleteBucketWebsite", "DELETE", onBucket, "website", nil},
	{"CreateSession", "GET", onBucket, "session", nil},

	{"GetObject", "GET", onObject, "", (*Server).getObject},
	{"HeadObject", "HEAD", onObject, "", (*Server).getObject},
	{"PutObject", "PUT", onObject, "", (*Server).putObject}, // CopyObject with x-amz-copy-source
	{"DeleteObject", "DELETE", onObject, "", (*Server).deleteObject},
	{"GetObject", "GET", onObject, "partNumber", (*Server).getObject},
	{"HeadObject", "HEAD", onObject, "partNumber", (*Server).getObject},
	{"CreateMultipartUpload", "POST", onObject, "uploads", (*Server).createMultipart},
	{"CompleteMultipartUpload", "POST", onObject, "uploadId", (*Server).completeMultipart},
	{"UploadPart", "PUT", onObject, "partNumber&uploadId", (*Server).uploadPart}, // UploadPartCopy with x-amz-copy-source
	{"AbortMultipartUpload", "DELETE", onObject, "uploadId", (*Server).abortMultipart},
	{"ListParts", "GET", onObject, "uploadId", (*Server).listParts},
	{"GetObjectAcl", "GET", onObject, "acl", nil},
	{"PutObjectAcl", "PUT", onObject, "acl", nil},
	{"GetObjectAttributes", "GET", onObject, "attributes", (*Server).objectAttributes},
	{"GetObjectLegalHold", "GET", onObject, "legal-hold", (*Server).getObjectLegalHold},
	{"PutObjectLegalHold", "PUT", onObject, "legal-hold", (*Server).putObjectLegalHold},
	{"GetObjectRetention", "GET", onObject, "retention", (*Server).getObjectRetention},
	{"PutObjectRetention", "PUT", onObject, "retention", (*Server).putObjectRetention},
	{"GetObjectTagging", "GET", onObject, "tagging", (*Server).getObjectTagging},
	{"PutObjectTagging", "PUT", onObject, "tagging", (*Server).putObjectTagging},
	{"DeleteObjectTagging", "DELETE", onObject, "tagging", (*Server).deleteObjectTagging},
	{"GetObjectTorrent", "GET", onObject, "torrent", nil},
	{"RestoreObject", "POST", onObject, "restore", nil},
	{"SelectObjectContent", "POST", onObject, "select&select-type", nil},
	{"RenameObject", "PUT", onObject, "renameObject", nil},
	{"UpdateObjectEncryption", "PUT", onObject, "encryption", nil},
}

// subresources are the query keys that name an S3 subresource or select
// an operation: a request carrying one is a different call from the same
// request without it.
var subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true,
	"delete": true, "encryption": true, "intelligent-tiering": true, "inventory": true,
	"legal-hold": true, "lifecycle": true, "location": true, "logging": true,
	"metadataConfiguration": true, "metadataTable": true, "metrics": true,
	"notification": true, "object-lock": true, "ownershipControls": true, "partNumber": true,
	"policy": true, "policyStatus": true, "publicAccessBlock": true, "renameObject": true,
	"replication": true, "requestPayment": true, "restore": true, "retention": true,
	"select": true, "select-type": true, "session": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true, "versions": true,
	"website": true,
}

// plainParams are the query keys that modify an operation without naming
// a different one: listing and paging controls, GET response overrides,
// presigned-URL authentication, and SDK operation hints.
var plainParams = map[string]bool{
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "list-type": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true, "encoding-type": true,
	"key-marker": true, "upload-id-marker": true, "version-id-marker": true, "max-uploads": true,
	"max-parts": true, "part-number-marker": true, "max-buckets": true, "bucket-region": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "x-id": true,
}

var opIndex = func() map[string]*op {
	m := make(map[string]*op, len(ops))
	for i := range ops {
		o := &ops[i]
		k := opKey(o.method, o.target, o.sub)
		if m[k] != nil {
			panic("gateway: dispatch table lists " + k + " twice")
		}
		m[k] = o
	}
	return m
}()

func opKey(method string, t target, sub string) string {
	return method + " " + t.String() + " " + sub
}

// classify finds the operation a request asks for. A nil op comes with the
// S3 error that refuses the request.
func classify(r *http.Request, t target) (*op, error) {
	q := r.URL.Query()
	var subs []string
	for k := range q {
		switch {
		case k == "versionId": // a modifier of an operation, checked below
		case subresources[k]:
			subs = append(subs, k)
		case plainParams[k], isPresignParam(k):
		default:
			if unsafeMethod(r.Method) {
				return nil, errorf(ErrNotImplemented, "the query parameter %q is not supported", k)
			}
		}
	}
	slices.Sort(subs)
	sub := strings.Join(subs, "&")
	o := opIndex[opKey(r.Method, t, sub)]
	switch {
	case o == nil && knownSub(t, sub):
		return nil, &apiError{S3Error: ErrMethodNotAllowed, Message: "the specified method is not allowed against this resource", ResourceType: t.String()}
	case o == nil:
		return nil, errorf(ErrNotImplemented, "%s on a %s with ?%s is not an operation this gateway implements", r.Method, strings.ToLower(t.String()), sub)
	case o.serve == nil:
		return nil, errorf(ErrNotImplemented, "%s is not implemented", o.name)
	case q.Has("versionId") && !byVersion[o.name]:
		return nil, errorf(ErrNotImplemented, "%s of an object version is not implemented", o.name)
	}
	return o, nil
}

// knownSub reports whether some method has an operation on t with sub.
func knownSub(t target, sub string) bool {
	for _, m := range []string{"GET", "HEAD", "PUT", "POST", "DELETE"} {
		if opIndex[opKey(m, t, sub)] != nil {
			return true
		}
	}
	return false
}

// byVersion are the operations that take a versionId.
var byVersion = map[string]bool{"GetObject": true, "HeadObject": true, "DeleteObject": true,
	"GetObjectRetention": true, "PutObjectRetention": true, "GetObjectLegalHold": true, "PutObjectLegalHold": true}

// storesTags are the operations that store the x-amz-tagging header
// (PutObject includes CopyObject, which honours it under
// x-amz-tagging-directive: REPLACE), and the object lock headers.
var storesTags = map[string]bool{"PutObject": true, "CreateMultipartUpload": true}

func unsafeMethod(m string) bool { return m != http.MethodGet && m != http.MethodHead }

func isPresignParam(k string) bool {
	return strings.HasPrefix(k, "X-Amz-") || strings.HasPrefix(k, "x-amz-")
}

// dispatch serves one target: it classifies the request and runs its
// operation, or refuses it. An OPTIONS request on a bucket or object is a
// CORS preflight (front lets it through unsigned); any other request on
// one, from a browser, gets the CORS headers of the bucket's rules.
func (s *Server) dispatch(t target) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t != onService && r.Method == http.MethodOptions {
			nameOp(r, "Preflight")
			s.preflight(w, r)
			return
		}
		if t != onService {
			s.corsHeaders(w, r)
		}
		o, err := classify(r, t)
		if err == nil {
			nameOp(r, o.name)
			err = refuseUnsupportedHeaders(r, o)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		o.serve(s, w, r)
	}
}

// refuseUnsupportedHeaders refuses requests whose headers ask for
// behaviour the gateway does not provide (encryption, object lock,
// grants, tags on a call that does not store them): storing the object
// without it would silently break the caller's expectation.
func refuseUnsupportedHeaders(r *http.Request, o *op) error {
	if !unsafeMethod(r.Method) {
		return nil
	}
	for name, vs := range r.Header {
		lower := strings.ToLower(name)
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		switch {
		case lower == "x-amz-acl" && (v == "private" || v == "bucket-owner-full-control"):
		case lower == "x-amz-object-ownership" && v == "BucketOwnerEnforced":
		case lower == "x-amz-bucket-object-lock-enabled" && (strings.EqualFold(v, "false") || strings.EqualFold(v, "true") && o.name == "CreateBucket"):
		case strings.HasPrefix(lower, "x-amz-object-lock-") && storesTags[o.name]: // stored with the version (objectlock.go)
		case lower == "x-amz-tagging-directive" && v == "COPY":
		case lower == "x-amz-tagging" && storesTags[o.name]:
		case lower == "x-amz-tagging-directive" && o.name == "PutObject" && r.Header.Get("X-Amz-Copy-Source") != "":
		case lower == "x-amz-acl", lower == "x-amz-object-ownership",
			lower == "x-amz-bucket-object-lock-enabled", lower == "x-amz-tagging-directive",
			lower == "x-amz-tagging", lower == "x-amz-write-offset-bytes",
			lower == "x-amz-mfa", strings.HasPrefix(lower, "x-amz-grant-"),
			strings.HasPrefix(lower, "x-amz-object-lock-"),
			strings.HasPrefix(lower, "x-amz-server-side-encryption"),
			strings.HasPrefix(lower, "x-amz-copy-source-server-side-encryption"):
			return errorf(ErrNotImplemented, "a header you provided implies functionality that is not implemented: %s", lower)
		}
	}
	return nil
}
