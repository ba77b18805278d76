package postpolicy

import (
	"net/http"
	"net/url"
)

// Redirect says how to answer a successful POST of key in bucket with
// etag (as the ETag header carries it, quoted). With a valid absolute
// success_action_redirect (or the older redirect) field it is 303 See
// Other to that URL with bucket, key and etag added to its query. Else
// success_action_status picks 200 or 201 (the caller writes the
// PostResponse XML document) and anything else, or nothing, gives 204.
func Redirect(f *Form, bucket, key, etag string) (status int, location string) {
	target := f.Fields["success_action_redirect"]
	if target == "" {
		target = f.Fields["redirect"]
	}
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		q := u.Query()
		q.Set("bucket", bucket)
		q.Set("key", key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		return http.StatusSeeOther, u.String()
	}
	switch f.Fields["success_action_status"] {
	case "200":
		return http.StatusOK, ""
	case "201":
		return http.StatusCreated, ""
	default:
		return http.StatusNoContent, ""
	}
}
