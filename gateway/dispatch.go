package gateway

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/proto"
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
	// action is the IAM action a policy names to allow or deny the
	// operation (the s3: actions of the S3 authorization reference; a
	// versioned call may check its Version twin, see actionFor).
	action string
	serve  func(*Server, http.ResponseWriter, *http.Request)
}

// ops is the whole S3 surface the gateway knows, one line an operation.
// A request is classified by method, target and subresources (versionId
// aside, see dispatch) and runs only the handler of its exact line; a
// combination missing from this table is refused, never passed on to a
// neighbour.
var ops = []op{
	{"ListBuckets", "GET", onService, "", "s3:ListAllMyBuckets", (*Server).listBuckets},

	{"ListObjects", "GET", onBucket, "", "s3:ListBucket", (*Server).listObjects},
	{"HeadBucket", "HEAD", onBucket, "", "s3:ListBucket", (*Server).headBucket},
	{"CreateBucket", "PUT", onBucket, "", "s3:CreateBucket", (*Server).createBucket},
	{"DeleteBucket", "DELETE", onBucket, "", "s3:DeleteBucket", (*Server).deleteBucket},
	{"PostObject", "POST", onBucket, "", "s3:PutObject", (*Server).postObject},
	{"DeleteObjects", "POST", onBucket, "delete", "s3:DeleteObject", (*Server).deleteObjects},
	{"GetBucketLocation", "GET", onBucket, "location", "s3:GetBucketLocation", (*Server).bucketLocation},
	{"ListMultipartUploads", "GET", onBucket, "uploads", "s3:ListBucketMultipartUploads", (*Server).listUploads},
	{"GetBucketVersioning", "GET", onBucket, "versioning", "s3:GetBucketVersioning", (*Server).bucketVersioning},
	{"PutBucketVersioning", "PUT", onBucket, "versioning", "s3:PutBucketVersioning", (*Server).putBucketVersioning},
	{"ListObjectVersions", "GET", onBucket, "versions", "s3:ListBucketVersions", (*Server).listObjectVersions},
	{"GetBucketAccelerateConfiguration", "GET", onBucket, "accelerate", "s3:GetAccelerateConfiguration", nil},
	{"PutBucketAccelerateConfiguration", "PUT", onBucket, "accelerate", "s3:PutAccelerateConfiguration", nil},
	{"GetBucketAcl", "GET", onBucket, "acl", "s3:GetBucketAcl", (*Server).getBucketACL},
	{"PutBucketAcl", "PUT", onBucket, "acl", "s3:PutBucketAcl", (*Server).putBucketACL},
	{"GetBucketAnalyticsConfiguration", "GET", onBucket, "analytics", "s3:GetAnalyticsConfiguration", nil},
	{"PutBucketAnalyticsConfiguration", "PUT", onBucket, "analytics", "s3:PutAnalyticsConfiguration", nil},
	{"DeleteBucketAnalyticsConfiguration", "DELETE", onBucket, "analytics", "s3:PutAnalyticsConfiguration", nil},
	{"GetBucketCors", "GET", onBucket, "cors", "s3:GetBucketCORS", (*Server).getBucketCors},
	{"PutBucketCors", "PUT", onBucket, "cors", "s3:PutBucketCORS", (*Server).putBucketCors},
	{"DeleteBucketCors", "DELETE", onBucket, "cors", "s3:PutBucketCORS", (*Server).deleteBucketCors},
	{"GetBucketEncryption", "GET", onBucket, "encryption", "s3:GetEncryptionConfiguration", nil},
	{"PutBucketEncryption", "PUT", onBucket, "encryption", "s3:PutEncryptionConfiguration", nil},
	{"DeleteBucketEncryption", "DELETE", onBucket, "encryption", "s3:PutEncryptionConfiguration", nil},
	{"GetBucketIntelligentTieringConfiguration", "GET", onBucket, "intelligent-tiering", "s3:GetIntelligentTieringConfiguration", nil},
	{"PutBucketIntelligentTieringConfiguration", "PUT", onBucket, "intelligent-tiering", "s3:PutIntelligentTieringConfiguration", nil},
	{"DeleteBucketIntelligentTieringConfiguration", "DELETE", onBucket, "intelligent-tiering", "s3:PutIntelligentTieringConfiguration", nil},
	{"GetBucketInventoryConfiguration", "GET", onBucket, "inventory", "s3:GetInventoryConfiguration", nil},
	{"PutBucketInventoryConfiguration", "PUT", onBucket, "inventory", "s3:PutInventoryConfiguration", nil},
	{"DeleteBucketInventoryConfiguration", "DELETE", onBucket, "inventory", "s3:PutInventoryConfiguration", nil},
	{"GetBucketLifecycleConfiguration", "GET", onBucket, "lifecycle", "s3:GetLifecycleConfiguration", (*Server).getBucketLifecycle},
	{"PutBucketLifecycleConfiguration", "PUT", onBucket, "lifecycle", "s3:PutLifecycleConfiguration", (*Server).putBucketLifecycle},
	{"DeleteBucketLifecycle", "DELETE", onBucket, "lifecycle", "s3:PutLifecycleConfiguration", (*Server).deleteBucketLifecycle},
	{"GetBucketLogging", "GET", onBucket, "logging", "s3:GetBucketLogging", nil},
	{"PutBucketLogging", "PUT", onBucket, "logging", "s3:PutBucketLogging", nil},
	{"GetBucketMetadataConfiguration", "GET", onBucket, "metadataConfiguration", "s3:GetBucketMetadataTableConfiguration", nil},
	{"CreateBucketMetadataConfiguration", "POST", onBucket, "metadataConfiguration", "s3:CreateBucketMetadataTableConfiguration", nil},
	{"DeleteBucketMetadataConfiguration", "DELETE", onBucket, "metadataConfiguration", "s3:DeleteBucketMetadataTableConfiguration", nil},
	{"GetBucketMetadataTableConfiguration", "GET", onBucket, "metadataTable", "s3:GetBucketMetadataTableConfiguration", nil},
	{"CreateBucketMetadataTableConfiguration", "POST", onBucket, "metadataTable", "s3:CreateBucketMetadataTableConfiguration", nil},
	{"DeleteBucketMetadataTableConfiguration", "DELETE", onBucket, "metadataTable", "s3:DeleteBucketMetadataTableConfiguration", nil},
	{"GetBucketMetricsConfiguration", "GET", onBucket, "metrics", "s3:GetMetricsConfiguration", nil},
	{"PutBucketMetricsConfiguration", "PUT", onBucket, "metrics", "s3:PutMetricsConfiguration", nil},
	{"DeleteBucketMetricsConfiguration", "DELETE", onBucket, "metrics", "s3:PutMetricsConfiguration", nil},
	{"GetBucketNotificationConfiguration", "GET", onBucket, "notification", "s3:GetBucketNotification", nil},
	{"PutBucketNotificationConfiguration", "PUT", onBucket, "notification", "s3:PutBucketNotification", nil},
	{"GetObjectLockConfiguration", "GET", onBucket, "object-lock", "s3:GetBucketObjectLockConfiguration", (*Server).getObjectLockConfig},
	{"PutObjectLockConfiguration", "PUT", onBucket, "object-lock", "s3:PutBucketObjectLockConfiguration", (*Server).putObjectLockConfig},
	{"GetBucketOwnershipControls", "GET", onBucket, "ownershipControls", "s3:GetBucketOwnershipControls", (*Server).getOwnershipControls},
	{"PutBucketOwnershipControls", "PUT", onBucket, "ownershipControls", "s3:PutBucketOwnershipControls", (*Server).putOwnershipControls},
	{"DeleteBucketOwnershipControls", "DELETE", onBucket, "ownershipControls", "s3:PutBucketOwnershipControls", (*Server).deleteOwnershipControls},
	{"GetBucketPolicy", "GET", onBucket, "policy", "s3:GetBucketPolicy", (*Server).getBucketPolicy},
	{"PutBucketPolicy", "PUT", onBucket, "policy", "s3:PutBucketPolicy", (*Server).putBucketPolicy},
	{"DeleteBucketPolicy", "DELETE", onBucket, "policy", "s3:DeleteBucketPolicy", (*Server).deleteBucketPolicy},
	{"GetBucketPolicyStatus", "GET", onBucket, "policyStatus", "s3:GetBucketPolicyStatus", (*Server).getBucketPolicyStatus},
	{"GetPublicAccessBlock", "GET", onBucket, "publicAccessBlock", "s3:GetBucketPublicAccessBlock", (*Server).getPublicAccessBlock},
	{"PutPublicAccessBlock", "PUT", onBucket, "publicAccessBlock", "s3:PutBucketPublicAccessBlock", (*Server).putPublicAccessBlock},
	{"DeletePublicAccessBlock", "DELETE", onBucket, "publicAccessBlock", "s3:PutBucketPublicAccessBlock", (*Server).deletePublicAccessBlock},
	{"GetBucketReplication", "GET", onBucket, "replication", "s3:GetReplicationConfiguration", nil},
	{"PutBucketReplication", "PUT", onBucket, "replication", "s3:PutReplicationConfiguration", nil},
	{"DeleteBucketReplication", "DELETE", onBucket, "replication", "s3:PutReplicationConfiguration", nil},
	{"GetBucketRequestPayment", "GET", onBucket, "requestPayment", "s3:GetBucketRequestPayment", nil},
	{"PutBucketRequestPayment", "PUT", onBucket, "requestPayment", "s3:PutBucketRequestPayment", nil},
	{"GetBucketTagging", "GET", onBucket, "tagging", "s3:GetBucketTagging", (*Server).getBucketTagging},
	{"PutBucketTagging", "PUT", onBucket, "tagging", "s3:PutBucketTagging", (*Server).putBucketTagging},
	{"DeleteBucketTagging", "DELETE", onBucket, "tagging", "s3:PutBucketTagging", (*Server).deleteBucketTagging},
	{"GetBucketWebsite", "GET", onBucket, "website", "s3:GetBucketWebsite", nil},
	{"PutBucketWebsite", "PUT", onBucket, "website", "s3:PutBucketWebsite", nil},
	{"DeleteBucketWebsite", "DELETE", onBucket, "website", "s3:DeleteBucketWebsite", nil},
	{"CreateSession", "GET", onBucket, "session", "s3express:CreateSession", nil},

	{"GetObject", "GET", onObject, "", "s3:GetObject", (*Server).getObject},
	{"HeadObject", "HEAD", onObject, "", "s3:GetObject", (*Server).getObject},
	{"PutObject", "PUT", onObject, "", "s3:PutObject", (*Server).putObject}, // CopyObject with x-amz-copy-source
	{"DeleteObject", "DELETE", onObject, "", "s3:DeleteObject", (*Server).deleteObject},
	{"GetObject", "GET", onObject, "partNumber", "s3:GetObject", (*Server).getObject},
	{"HeadObject", "HEAD", onObject, "partNumber", "s3:GetObject", (*Server).getObject},
	{"CreateMultipartUpload", "POST", onObject, "uploads", "s3:PutObject", (*Server).createMultipart},
	{"CompleteMultipartUpload", "POST", onObject, "uploadId", "s3:PutObject", (*Server).completeMultipart},
	{"UploadPart", "PUT", onObject, "partNumber&uploadId", "s3:PutObject", (*Server).uploadPart}, // UploadPartCopy with x-amz-copy-source
	{"AbortMultipartUpload", "DELETE", onObject, "uploadId", "s3:AbortMultipartUpload", (*Server).abortMultipart},
	{"ListParts", "GET", onObject, "uploadId", "s3:ListMultipartUploadParts", (*Server).listParts},
	{"GetObjectAcl", "GET", onObject, "acl", "s3:GetObjectAcl", (*Server).getObjectACL},
	{"PutObjectAcl", "PUT", onObject, "acl", "s3:PutObjectAcl", (*Server).putObjectACL},
	{"GetObjectAttributes", "GET", onObject, "attributes", "s3:GetObject", (*Server).objectAttributes},
	{"GetObjectLegalHold", "GET", onObject, "legal-hold", "s3:GetObjectLegalHold", (*Server).getObjectLegalHold},
	{"PutObjectLegalHold", "PUT", onObject, "legal-hold", "s3:PutObjectLegalHold", (*Server).putObjectLegalHold},
	{"GetObjectRetention", "GET", onObject, "retention", "s3:GetObjectRetention", (*Server).getObjectRetention},
	{"PutObjectRetention", "PUT", onObject, "retention", "s3:PutObjectRetention", (*Server).putObjectRetention},
	{"GetObjectTagging", "GET", onObject, "tagging", "s3:GetObjectTagging", (*Server).getObjectTagging},
	{"PutObjectTagging", "PUT", onObject, "tagging", "s3:PutObjectTagging", (*Server).putObjectTagging},
	{"DeleteObjectTagging", "DELETE", onObject, "tagging", "s3:DeleteObjectTagging", (*Server).deleteObjectTagging},
	{"GetObjectTorrent", "GET", onObject, "torrent", "s3:GetObjectTorrent", nil},
	{"RestoreObject", "POST", onObject, "restore", "s3:RestoreObject", nil},
	{"SelectObjectContent", "POST", onObject, "select&select-type", "s3:GetObject", nil},
	{"RenameObject", "PUT", onObject, "renameObject", "s3:PutObject", nil},
	{"UpdateObjectEncryption", "PUT", onObject, "encryption", "s3:PutObject", nil},
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
				return nil, s3err.New(s3err.NotImplemented, "the query parameter %q is not supported", k)
			}
		}
	}
	slices.Sort(subs)
	sub := strings.Join(subs, "&")
	o := opIndex[opKey(r.Method, t, sub)]
	switch {
	case o == nil && knownSub(t, sub):
		return nil, methodNotAllowed(t.String())
	case o == nil:
		return nil, s3err.New(s3err.NotImplemented, "%s on a %s with ?%s is not an operation this gateway implements", r.Method, strings.ToLower(t.String()), sub)
	case o.serve == nil:
		return nil, s3err.New(s3err.NotImplemented, "%s is not implemented", o.name)
	case q.Has("versionId") && !byVersion[o.name]:
		return nil, s3err.New(s3err.NotImplemented, "%s of an object version is not implemented", o.name)
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
	"GetObjectRetention": true, "PutObjectRetention": true, "GetObjectLegalHold": true, "PutObjectLegalHold": true,
	"GetObjectAcl": true, "PutObjectAcl": true,
	"GetObjectTagging": true, "PutObjectTagging": true, "DeleteObjectTagging": true}

// takesACL are the operations that read x-amz-acl and x-amz-grant-*.
var takesACL = map[string]bool{"PutObject": true, "CreateMultipartUpload": true, "CreateBucket": true,
	"PutBucketAcl": true, "PutObjectAcl": true}

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
		if op := noteOf(r); op != nil {
			op.bucket, op.key, op.version = mux.Vars(r)["bucket"], mux.Vars(r)["key"], r.URL.Query().Get("versionId")
		}
		if err == nil {
			nameOp(r, o.name)
			err = refuseUnsupportedHeaders(r, o)
		}
		if err == nil {
			err = s.authorizeOp(r, o, t)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		o.serve(s, w, r)
	}
}

// authorizeOp decides whether the request's principal may run o (see
// gateway/authz). DeleteObjects and PostObject decide in their handlers (per
// key; from the form's signature), CopyObject and UploadPartCopy check
// their source there too.
func (s *Server) authorizeOp(r *http.Request, o *op, t target) error {
	p := principalOf(r)
	switch {
	case p.Root:
		return nil
	case o.name == "PostObject":
		return nil
	case t == onService:
		if p.Anonymous {
			return authz.Denied()
		}
		return nil // ListBuckets shows the caller what it owns or is granted
	}
	bucket, err := bucketName(r)
	if err != nil {
		return nil // the handler refuses the name
	}
	a := authz.Access{P: p, Action: o.action, Bucket: bucket, Key: mux.Vars(r)["key"], Version: r.URL.Query().Get("versionId")}
	if a.Version != "" {
		a.Action = versionAction(a.Action)
	}
	switch o.name {
	case "DeleteObjects":
		return nil // each key is decided in the handler
	case "CreateBucket":
		if p.Anonymous {
			return authz.Denied()
		}
		// Only the caller's own policies can allow creating a bucket.
		return s.authz.AuthorizeIn(r, a, client.Bucket{Name: bucket, Owner: proto.RootUser})
	}
	if err := s.authz.Authorize(r, a); err != nil {
		return err
	}
	if (o.name == "DeleteObject" || o.name == "PutObjectRetention") &&
		strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		a.Action = "s3:BypassGovernanceRetention"
		return s.authz.Authorize(r, a)
	}
	return nil
}

// versionAction is the action that checks a call on a specific object
// version, where S3 has one.
func versionAction(action string) string {
	switch action {
	case "s3:GetObject", "s3:DeleteObject", "s3:GetObjectAcl", "s3:PutObjectAcl",
		"s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging":
		return strings.Replace(action, "Object", "ObjectVersion", 1)
	}
	return action
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
		case (lower == "x-amz-acl" || strings.HasPrefix(lower, "x-amz-grant-")) && takesACL[o.name]: // acl.go
		case lower == "x-amz-object-ownership" && o.name == "CreateBucket" && v != "" && proto.ValidOwnership(v) == nil:
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
			return s3err.New(s3err.NotImplemented, "a header you provided implies functionality that is not implemented: %s", lower)
		}
	}
	return nil
}
