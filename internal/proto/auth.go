package proto

import (
	"time"
)

// User is an account that owns access keys.
type User struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// ID is the user's canonical id (CanonicalID of Name), filled in by
	// the master when it answers; it is not stored.
	ID string `json:"id,omitempty"`
	// Policies are the names of the access policies attached to the
	// user, sorted.
	Policies []string `json:"policies,omitempty"`
}

// AccessKey is an S3 key pair owned by a user.
type AccessKey struct {
	AccessKey string    `json:"accessKey"`
	SecretKey string    `json:"secretKey,omitempty"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
	// Status is KeyActive or KeyInactive; empty (a key made before key
	// states) is active. See Active.
	Status string `json:"status,omitempty"`
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Name string `json:"name"`
}

// CreateKeyRequest creates an access key for a user; empty key fields are
// generated.
type CreateKeyRequest struct {
	User      string `json:"user"`
	AccessKey string `json:"accessKey,omitempty"`
	SecretKey string `json:"secretKey,omitempty"`
}
