package web

import "errors"

var (
	// ErrBadLogin means the access key is unknown, the secret is wrong,
	// or the key's user may not administer. The three are not told apart.
	ErrBadLogin = errors.New("web: invalid access key or secret")
	// ErrCSRF means a state-changing request came without the session's
	// token, with another one, or from another origin.
	ErrCSRF = errors.New("web: missing or invalid CSRF token")
)
