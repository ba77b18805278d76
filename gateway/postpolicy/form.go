// Package postpolicy implements S3 browser-based uploads (POST Object):
// reading the multipart/form-data form up to its file, the form's
// signature (Signature Version 4 or 2, over the base64 policy), and the
// POST policy that restricts the form's fields and the file's size. It
// does no storage and knows nothing of keys: the gateway looks up the
// secret, streams Form.File into the store within the sizes Policy.Check
// returns, and answers as Redirect says. Refusals are *Error values with
// S3 error codes.
//
// The order of work for the gateway:
//
//	f, err := ReadForm(r, 0)             // fields, then File unread
//	a, err := ParseAuth(f)               // nil: anonymous
//	err = VerifySignature(a, secret, region)
//	p, err := ParsePolicy(a.Policy)
//	min, max, err := p.Check(f, bucket, now)
//	put Key(f) from CheckedReader(f.File, min, max)
//	status, location := Redirect(f, bucket, key, etag)
package postpolicy

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// DefaultMaxFieldBytes bounds the form's fields before the file when
// ReadForm is given no limit.
const DefaultMaxFieldBytes = 1 << 20

// partOverhead is what each part costs against the field budget besides
// its name and value, so that a stream of empty parts ends too.
const partOverhead = 64

// Form is a POST upload form read up to its file.
//
// Fields holds every field before the file, keyed by lower-cased name:
// S3 matches form field names case-insensitively, and that includes
// x-amz-meta-* names, which S3 stores lower-case anyway. Values are as
// sent. Fields after the file are not read, as in S3.
//
// File is the file part's content, streamed from the request body: read
// it once, after the checks, and before anything else reads the body.
type Form struct {
	Fields   map[string]string
	FileName string
	File     io.Reader
}

// ReadForm reads the fields of a multipart/form-data POST up to the part
// named "file", whose content it leaves unread in Form.File. Field names
// and values together may take maxFieldBytes (<= 0: DefaultMaxFieldBytes).
// A form must name a key and carry a file.
func ReadForm(r *http.Request, maxFieldBytes int64) (*Form, error) {
	if maxFieldBytes <= 0 {
		maxFieldBytes = DefaultMaxFieldBytes
	}
	mr, err := multipartReader(r)
	if err != nil {
		return nil, err
	}
	f := &Form{Fields: map[string]string{}}
	budget := maxFieldBytes
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, errorf(codeIncorrectNumberOfFiles, "POST requires exactly one file upload per request")
		}
		if err != nil {
			return nil, errorf(codeMalformedPOSTRequest, "the body of your POST request is not well-formed multipart/form-data: %v", err)
		}
		name := strings.ToLower(part.FormName())
		if name == "file" {
			f.FileName, f.File = part.FileName(), part
			break
		}
		if budget, err = readField(f, part, name, budget); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Fields["key"]; !ok {
		return nil, errorf(codeInvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	return f, nil
}

func multipartReader(r *http.Request) (*multipart.Reader, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, errorf(codeMalformedPOSTRequest, "the body of your POST request is not well-formed multipart/form-data")
	}
	if r.Body == nil {
		return nil, errorf(codeMalformedPOSTRequest, "the POST request has no body")
	}
	return multipart.NewReader(r.Body, params["boundary"]), nil
}

// readField adds one field to f and returns what is left of the budget.
func readField(f *Form, part *multipart.Part, name string, budget int64) (int64, error) {
	budget -= int64(len(name)) + partOverhead
	if budget < 0 {
		return 0, tooLong()
	}
	value, err := io.ReadAll(io.LimitReader(part, budget+1))
	if err != nil {
		return 0, errorf(codeMalformedPOSTRequest, "read form field %q: %v", name, err)
	}
	if budget -= int64(len(value)); budget < 0 {
		return 0, tooLong()
	}
	if name == "" {
		return budget, nil // a part without a name is no field
	}
	if _, dup := f.Fields[name]; dup {
		return 0, errorf(codeInvalidArgument, "form field %q appears more than once", name)
	}
	f.Fields[name] = string(value)
	return budget, nil
}

func tooLong() error {
	return errorf(codeMaxPostPreDataLengthExceed, "your POST request fields preceding the upload file were too large")
}

// Key is the object key the form names, with ${filename} replaced by the
// file's name as the browser sent it. Only the key is expanded.
func Key(f *Form) string {
	return strings.ReplaceAll(f.Fields["key"], "${filename}", f.FileName)
}
