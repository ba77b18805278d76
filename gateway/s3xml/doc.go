// Package s3xml holds the XML documents of the S3 API that the gateway
// reads and writes for listings, multipart uploads, copies, object
// attributes, DeleteObjects and the bucket-level documents without rules
// of their own (location, policy status, ownership controls, public access
// block), and the plumbing every document shares: the namespace, times,
// owners, the checksum elements, answering a document, and reading a
// configuration body (size bound, Content-MD5, MalformedXML). It knows
// nothing of the gateway's server; refusals are *s3err.Error values.
package s3xml
