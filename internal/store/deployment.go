package store

import (
	"context"
	"time"
)

// DeploymentKey records one of the secrets every gateway of a deployment
// shares (the audit log key, the approval token key, the subject-key
// secret, the body encryption key). The secret itself stays in the data
// directory; the store keeps its fingerprint, so that a gateway that finds
// a key missing or different from the one the deployment was initialised
// with refuses to start instead of making its own.
type DeploymentKey struct {
	Name        string // the key's file name in the data directory
	Fingerprint string // "sha256:<hex>" of the file's contents
	CreatedAt   time.Time
}

// Deployment records which shared keys a deployment was initialised with.
//
// Errors follow the same rules as [Keys].
type Deployment interface {
	// WithInitLock runs fn while holding a lock that every gateway using
	// the same store shares (for PostgreSQL, an advisory lock), so that
	// exactly one of several replicas starting at once makes the keys.
	WithInitLock(ctx context.Context, fn func(context.Context) error) error

	// DeploymentKeys returns the recorded keys in name order; none before
	// the deployment is initialised. Safe to retry.
	DeploymentKeys(ctx context.Context) ([]DeploymentKey, error)

	// RecordDeploymentKeys records keys. The store sets CreatedAt. It
	// returns an error wrapping ErrExists, and records nothing, if any of
	// the names is already recorded.
	RecordDeploymentKeys(ctx context.Context, keys []DeploymentKey) error
}
