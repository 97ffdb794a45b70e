// Package store declares the storage interfaces the gateway consumes and the
// records they keep. Implementations live in subpackages named after their
// technology (sqlite/, postgres/), and every implementation must pass the
// conformance suite in storetest/.
//
// Domain types live with their domain: an approval and the interface that
// keeps it are package approval's (approval.Store), shadow statistics are
// package shadow's, key hashing is the root package's. Consumers declare
// the narrower interfaces they call (gateway.KeyStore, shadow.ResultRecorder,
// exposure.Reader, subjects.Merger, ...), which these stores implement.
//
// # API keys and principals
//
// Each API key authenticates exactly one [brightline.Principal], and the
// principal's ID is the key's ID ("key_" followed by a ULID, see
// [brightline.NewKeyID]).
// There is no principal without a key and no key shared by principals, so
// revoking a key retires its principal. Rotating a caller's key therefore
// means creating a new principal with the same Name, Org, Purpose and Roles;
// decisions recorded against the old ID stay attributable to it.
//
// Keys are stored only as SHA-256 hashes ([brightline.HashKey]); the
// plaintext is shown once, when [brightline.NewKey] mints it. The first
// [brightline.PrefixLen] characters are kept for display so that an
// operator can tell keys apart.
//
// # Time
//
// Stores stamp every time field with their own clock, never with a time the
// caller supplies, and keep times with microsecond precision in UTC so that
// SQLite and PostgreSQL agree.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightline/brightline"
)

// ErrExists is returned when a record cannot be created because one with
// the same identity already exists.
var ErrExists = errors.New("already exists")

// Key is an API key as the store keeps it: everything but the secret.
type Key struct {
	// ID identifies the key and is also Principal.ID.
	ID string
	// Prefix is the first brightline.PrefixLen characters of the
	// plaintext, for display (see [brightline.DisplayPrefix]).
	Prefix string
	// Principal is the caller the key authenticates.
	Principal brightline.Principal
	// CreatedAt is when the store created the key.
	CreatedAt time.Time
	// RevokedAt is when the key was first revoked, or nil if it is active.
	RevokedAt *time.Time
	// LastUsedAt is when the key was last recorded as used (see
	// [Keys.TouchKeys]), or nil if never. It lags real use by the flush
	// interval of whoever batches the uses.
	LastUsedAt *time.Time
}

// Active reports whether k has not been revoked.
func (k Key) Active() bool { return k.RevokedAt == nil }

// Keys stores API keys and the principals they authenticate.
//
// Every method may return an error wrapping the context's error when ctx is
// done, and other errors for storage failures; those are never ErrNotFound
// or ErrExists, so a failed lookup cannot be mistaken for an unknown key.
//
// Changes are visible to every later call once the changing call returns:
// a revoked key stops authenticating immediately, with no cache to expire.
// Principals come back with ID set to the key ID and Roles in the order
// given, duplicates kept; no roles may come back as nil or as empty.
type Keys interface {
	// CreateKey stores k under hash, the SHA-256 of the plaintext key.
	//
	// The store sets CreatedAt from its own clock and ignores k.CreatedAt,
	// k.RevokedAt and k.LastUsedAt. k.Principal.ID must be empty (it is set
	// to k.ID) or equal to k.ID. An empty ID, an all-zero hash, or text that
	// is not valid UTF-8 or contains NUL is an error that wraps neither
	// ErrExists nor ErrNotFound (see [Key.Validate]).
	//
	// It returns an error wrapping ErrExists if a key with the same ID or
	// the same hash was ever created, revoked or not; hashes are never
	// reused. Retrying after an ambiguous failure (a timeout during commit)
	// may report ErrExists for the key the first attempt created; callers
	// that retry should treat that as success only after checking ListKeys.
	CreateKey(ctx context.Context, k Key, hash [32]byte) error

	// PrincipalByKeyHash returns the principal of the active key whose
	// plaintext hashes to hash. It returns an error wrapping
	// brightline.ErrNotFound if no key has that hash or the key has been
	// revoked; callers cannot tell which, on purpose. It is the hot path of
	// every request: it reads, never writes, and is safe to retry.
	PrincipalByKeyHash(ctx context.Context, hash [32]byte) (brightline.Principal, error)

	// ListKeys returns every key, revoked ones included, in the order they
	// were created (insertion order, which does not depend on the clock).
	// An empty store gives an empty slice and no error. Safe to retry.
	ListKeys(ctx context.Context) ([]Key, error)

	// RevokeKey marks the key id revoked at the store's current time.
	// Revoking a revoked key succeeds and keeps the first RevokedAt, so it
	// is safe to retry. It returns an error wrapping brightline.ErrNotFound
	// if no key has that id.
	RevokeKey(ctx context.Context, id string) error

	// CountActiveKeys returns the number of keys not revoked. Safe to retry.
	CountActiveKeys(ctx context.Context) (int, error)

	// TouchKeys sets LastUsedAt to the store's current time for each of the
	// active keys in ids, in one write. Unknown and revoked ids are ignored
	// and an empty ids is a no-op. It is meant to be called periodically
	// with a batch of uses (see gateway.UsageBatcher), never once per
	// request.
	// Safe to retry.
	TouchKeys(ctx context.Context, ids []string) error
}

// Validate reports what is wrong with creating k under hash, or nil.
// Implementations of [Keys.CreateKey] call it so that they all reject the
// same inputs.
func (k Key) Validate(hash [32]byte) error {
	if k.ID == "" {
		return errors.New("key id is empty")
	}
	if k.Principal.ID != "" && k.Principal.ID != k.ID {
		return fmt.Errorf("principal id %q differs from key id %q", k.Principal.ID, k.ID)
	}
	if hash == [32]byte{} {
		return fmt.Errorf("key %q has an all-zero hash", k.ID)
	}
	// PostgreSQL text holds neither invalid UTF-8 nor NUL, and JSON would
	// silently replace invalid bytes; reject both so every store round-trips
	// what it accepts.
	p := k.Principal
	fields := append([]string{k.ID, k.Prefix, p.Name, p.Org, p.Purpose}, p.Roles...)
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
			return fmt.Errorf("key %q has a field that is not valid UTF-8 text: %q", k.ID, f)
		}
	}
	return nil
}

// ErrStale is returned when a write would move a monotonic value backwards,
// such as activating a policy version that is not newer than the active one.
var ErrStale = errors.New("not newer than the current value")

// PolicyActivation records that a policy bundle became active.
type PolicyActivation struct {
	Version     int64    // the bundle's version; > 0
	Hash        string   // "sha256:<hex>" of the policy bytes
	Signers     []string // names of the distinct trusted signers
	TrustHash   string   // hash of the trust set the bundle was verified against
	ActivatedAt time.Time
}

// TrustRoot is a pinned trust set: the verifier keys whose signatures a
// policy bundle needs, and how many. The first signed activation pins one;
// each rotation, signed by a threshold of the set before, pins the next.
type TrustRoot struct {
	Seq       int64    // 1 for the first pin, one more for each rotation
	Hash      string   // bundle.Trust.Hash of the set
	Keys      []string // verifier keys, sorted
	Threshold int
	Rotation  []byte // the signed rotation note; nil for the first pin
	PinnedAt  time.Time
}

// Policies remembers which signed policy bundle is active, so that an
// older bundle is refused even after a restart.
//
// Errors follow the same rules as [Keys]: storage failures are never
// brightline.ErrNotFound or ErrStale.
type Policies interface {
	// ActivePolicy returns the activation with the highest version, or an
	// error wrapping brightline.ErrNotFound if none was recorded. Safe to
	// retry.
	ActivePolicy(ctx context.Context) (PolicyActivation, error)

	// RecordPolicyActivation stores a as the active policy. The store sets
	// ActivatedAt from its own clock. It returns an error wrapping ErrStale,
	// and records nothing, unless a.Version is greater than every version
	// recorded before; the check and the write are atomic. Retrying after
	// an ambiguous failure may report ErrStale for the activation the first
	// attempt recorded.
	RecordPolicyActivation(ctx context.Context, a PolicyActivation) error

	// TrustRoot returns the trust root in force (the highest Seq), or an
	// error wrapping brightline.ErrNotFound if none was pinned. Safe to
	// retry.
	TrustRoot(ctx context.Context) (TrustRoot, error)

	// PinTrustRoot records r as the trust root in force. The store sets
	// PinnedAt. It returns an error wrapping ErrStale, and records
	// nothing, unless r.Seq is one more than the Seq in force (1 for the
	// first); the check and the write are atomic.
	PinTrustRoot(ctx context.Context, r TrustRoot) error
}
