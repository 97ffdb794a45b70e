package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

// This file decides whether a policy may be put in force: the embedded
// default, an unsigned file (development), or a signed bundle checked
// against the trust set and the store's record of the active version.
// [Source] keeps a bundle current with these checks; commands that
// inspect or dry-run a policy use them through [Inspect].

// EmbeddedDefault is the source of the embedded default policy, used when
// no policy file is configured.
const EmbeddedDefault = "embedded default"

// Config names a policy file and how to check it.
type Config struct {
	// File is the policy file; its signed manifest note is File+NoteSuffix.
	// Empty: the embedded default policy.
	File string
	// Trust is the configured trust set. Once a trust root is pinned it
	// must be the pinned set, or the set a signed rotation names.
	Trust Trust
	// Rotation is the path of a signed trust rotation note that replaces
	// the pinned trust set with Trust; empty if none.
	Rotation string
	// Unsigned loads File without a note or signatures, as version 0
	// (development only).
	Unsigned bool
	// PollInterval is how often [Source.Watch] polls the files; zero means
	// 2s.
	PollInterval time.Duration
}

// Store is what activation needs of the store: the active policy
// activation and the pinned trust root, both monotonic.
type Store interface {
	// ActivePolicy returns the active activation, or an error wrapping
	// brightline.ErrNotFound if none was recorded.
	ActivePolicy(ctx context.Context) (store.PolicyActivation, error)
	// RecordPolicyActivation stores a as the active activation, setting
	// ActivatedAt. It returns an error wrapping store.ErrStale, and
	// records nothing, unless a.Version is above the active version; an
	// ambiguous failure may report ErrStale for the activation the first
	// attempt recorded.
	RecordPolicyActivation(ctx context.Context, a store.PolicyActivation) error
	// TrustRoot returns the trust root in force, or an error wrapping
	// brightline.ErrNotFound if none was pinned.
	TrustRoot(ctx context.Context) (store.TrustRoot, error)
	// PinTrustRoot records r as the trust root in force, setting PinnedAt.
	// It returns an error wrapping store.ErrStale, and records nothing,
	// unless r.Seq is the next sequence number.
	PinTrustRoot(ctx context.Context, r store.TrustRoot) error
}

var _ Store = store.Policies(nil)

// Loaded is a policy that passed every check and may be put in force.
type Loaded struct {
	Policy   *policy.Policy // carries the bundle version and trust hash
	Source   string         // EmbeddedDefault or the policy file's path
	Signers  []string       // distinct trusted signers, sorted; empty unless signed
	Note     []byte         // the signed manifest note; nil unless signed
	Activate time.Time      // the manifest's activation time; zero unless signed
	Unsigned bool
	// Newer is set when the bundle's version is higher than the store's
	// active version: putting it in force must be recorded in the store.
	Newer bool
}

// LoadError is why a policy could not be put in force. Class is the short
// reason counted in brightline_policy_activations_total: threshold, hash,
// rollback, not_yet_active, compile, malformed, signature, io, store or
// audit.
type LoadError struct {
	Class string
	Err   error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// Class returns the class of a [LoadError] in err's chain, or "other".
func Class(err error) string {
	if e, ok := errors.AsType[*LoadError](err); ok {
		return e.Class
	}
	return "other"
}

// ChangedVersionError means a bundle claims the active version but holds a
// different policy. Restarting with the active bundle is fine; changing the
// policy without a new version is a rollback in disguise, since parties
// signed the version for other bytes.
type ChangedVersionError struct {
	Version    int64
	Hash       string // the bundle's policy hash
	ActiveHash string // the hash recorded for the active version
}

func (e *ChangedVersionError) Error() string {
	return fmt.Sprintf("policy bundle version %d is the active version but its policy differs (%s, active %s); a changed policy needs a new version",
		e.Version, e.Hash, e.ActiveHash)
}

// ReadFiles reads the policy file and, unless c is unsigned, its manifest
// note. Errors are *[LoadError] of class io.
func (c *Config) ReadFiles() (pol, note []byte, err error) {
	if c.Unsigned {
		pol, err = os.ReadFile(c.File)
		if err != nil {
			return nil, nil, &LoadError{"io", fmt.Errorf("couldn't read policy file: %w", err)}
		}
		return pol, nil, nil
	}
	pol, note, err = LoadFiles(c.File)
	if err != nil {
		return nil, nil, &LoadError{"io", err}
	}
	return pol, note, nil
}

// Check decides whether the policy bytes pol (and, unless c is unsigned,
// the manifest note, verified against trust) may be put in force, given
// active, the store's active activation (zero if none), at time now.
// Errors are *[LoadError].
//
// A bundle is accepted if it verifies against the trust set with a
// version newer than the active one, or if it is exactly the active
// bundle again: the same version with the same policy hash, as after a
// restart. The same version with a different policy is refused as a
// rollback (*[ChangedVersionError]).
func Check(c *Config, trust Trust, pol, note []byte, active store.PolicyActivation, now time.Time) (*Loaded, error) {
	lp := &Loaded{Source: c.File, Unsigned: c.Unsigned}
	var version int64 // 0 when unsigned
	if !c.Unsigned {
		// Verify refuses versions not above the one it is given; pass one
		// less so that the active bundle itself can be loaded again, and
		// tell the two cases apart by hash below.
		v, err := Verify(pol, note, trust, max(active.Version-1, 0), now)
		if e, ok := errors.AsType[*RollbackError](err); ok {
			err = &RollbackError{Version: e.Version, Active: active.Version}
		}
		if err != nil {
			return nil, &LoadError{verifyClass(err), fmt.Errorf("%s: %w", c.File, err)}
		}
		if hash := policy.HashSource(pol); v.Manifest.Version == active.Version && hash != active.Hash {
			return nil, &LoadError{"rollback", fmt.Errorf("%s: %w", c.File,
				&ChangedVersionError{Version: active.Version, Hash: hash, ActiveHash: active.Hash})}
		}
		version = v.Manifest.Version
		lp.Signers = v.Signers
		lp.Note = note
		lp.Activate = v.Manifest.Activate
		lp.Newer = v.Manifest.Version > active.Version
	}
	p, err := policy.Load(c.File, pol)
	if err != nil {
		return nil, &LoadError{"compile", fmt.Errorf("couldn't compile policy:\n%w", err)}
	}
	lp.Policy = p.WithVersion(version)
	if !c.Unsigned {
		lp.Policy = lp.Policy.WithTrust(trust.Hash())
	}
	return lp, nil
}

// verifyClass classifies an error from Verify.
func verifyClass(err error) string {
	if _, ok := errors.AsType[*ThresholdError](err); ok {
		return "threshold"
	}
	if _, ok := errors.AsType[*RollbackError](err); ok {
		return "rollback"
	}
	if _, ok := errors.AsType[*NotYetActiveError](err); ok {
		return "not_yet_active"
	}
	switch {
	case errors.Is(err, ErrPolicyHashMismatch):
		return "hash"
	case errors.Is(err, ErrInvalidSignature):
		return "signature"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other"
}

// activeActivation returns the store's active policy activation, or the
// zero activation if none was recorded.
func activeActivation(ctx context.Context, st Store) (store.PolicyActivation, error) {
	a, err := st.ActivePolicy(ctx)
	if errors.Is(err, brightline.ErrNotFound) {
		return store.PolicyActivation{}, nil
	}
	if err != nil {
		return a, &LoadError{"store", err}
	}
	return a, nil
}

// ReadState returns the store's active policy activation and trust root;
// each is zero if none was recorded. Errors are *[LoadError] of class
// store.
func ReadState(ctx context.Context, st Store) (store.PolicyActivation, store.TrustRoot, error) {
	a, err := activeActivation(ctx, st)
	if err != nil {
		return a, store.TrustRoot{}, err
	}
	r, err := st.TrustRoot(ctx)
	if err != nil && !errors.Is(err, brightline.ErrNotFound) {
		return a, r, &LoadError{"store", err}
	}
	return a, r, nil
}

// Inspect returns the policy a [Source] would put in force with c, for
// the commands that inspect or dry-run it, given the store's active
// activation and trust root (zero: none, or not checked). where names the
// data directory in errors. It records nothing.
//
// A pinned trust root also decides which trust set verifies the bundle,
// as [EstablishTrust] would: the embedded default and unsigned files are
// refused, and a configured trust set that differs from the pinned one is
// a *[TrustRootError] unless c names a rotation, in which case the bundle
// is verified against the set the rotation would put in force (the
// rotation itself is checked only by EstablishTrust).
func Inspect(c *Config, active store.PolicyActivation, root store.TrustRoot, where string, now time.Time) (*Loaded, error) {
	trust := c.Trust
	if root.Seq > 0 {
		switch {
		case c.File == "" || c.Unsigned:
			return nil, &TrustRootError{fmt.Sprintf("%s has pinned trust root %s, so neither the embedded default nor an unsigned policy is allowed there; configure the signed bundle", where, root.Hash)}
		case trust.Hash() != root.Hash && c.Rotation == "":
			return nil, &TrustRootError{fmt.Sprintf("policy.trust differs from the trust root pinned in %s: it %s", where, PinnedTrust(root).Diff(trust))}
		case trust.Hash() != root.Hash:
			// serve would check the rotation; a dry run verifies against
			// the set the rotation would put in force.
		default:
			trust = PinnedTrust(root)
		}
	}
	if c.File == "" {
		return &Loaded{Policy: policy.Default(), Source: EmbeddedDefault}, nil
	}
	pol, note, err := c.ReadFiles()
	if err != nil {
		return nil, err
	}
	return Check(c, trust, pol, note, active, now)
}
