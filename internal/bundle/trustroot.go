package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// This file decides, at start, which trust set verifies policy bundles.
//
// The first signed activation pins the configured trust set (keys and
// threshold) in the store and in the audit log. From then on the config's
// trust set must equal the pinned one, unless a rotation signed by a
// threshold of the pinned set names the config's set as its successor
// (Config.Rotation). The embedded default and unsigned files are allowed
// only in a data directory that never pinned a trust root, and an
// unsigned file needs the caller's explicit allowance as well.
//
// The store is checked against the log: a store whose newest signed
// activation or trust root is older than the log's (a restored database)
// is refused, so a rollback cannot hide behind a backup.

// Anchor is what the audit log says of policy: the newest signed
// activation and trust root it records. The zero Anchor is a log with
// none.
type Anchor struct {
	Size          uint64 // the log's checkpoint size; 0 for a log with none yet
	PolicyVersion int64  // the highest signed policy version activated
	PolicyHash    string // its policy hash
	TrustSeq      int64  // the newest trust root's sequence number (1 for the first pin)
	TrustHash     string // its hash
}

// TrustPlan is what [EstablishTrust] decided.
type TrustPlan struct {
	// trust verifies bundles: the pinned set, or the configured one when
	// nothing is pinned yet.
	trust Trust
	// pinned is the trust root in force; zero Seq if none.
	pinned store.TrustRoot
	// pinOnActivation is set when nothing is pinned: the first signed
	// activation pins trust.
	pinOnActivation bool
}

// PinnedTrust converts a store trust root back to a [Trust].
func PinnedTrust(r store.TrustRoot) Trust {
	return Trust{Keys: slices.Clone(r.Keys), Threshold: r.Threshold}
}

// TrustRootError is a refusal to start because of the trust root; its
// message says what differs and what would be accepted.
type TrustRootError struct{ Msg string }

func (e *TrustRootError) Error() string { return e.Msg }

// EstablishTrust checks c against the store's trust root and the log's
// anchor, and returns which trust set verifies bundles. It records a
// signed rotation if c names one that applies, and a trust root the log
// lacks, through j (store first, then log); j may be nil. allowUnsigned
// is the operator's explicit allowance of an unsigned policy file.
func EstablishTrust(ctx context.Context, c *Config, st Store, anchor Anchor, allowUnsigned bool, j Journal) (*TrustPlan, error) {
	root, err := st.TrustRoot(ctx)
	if err != nil && !errors.Is(err, brightline.ErrNotFound) {
		return nil, err
	}
	active, err := activeActivation(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := checkAnchor(anchor, root, active); err != nil {
		return nil, err
	}
	if root.Seq == 0 && active.Version > 0 {
		// A store from before trust roots existed: its active bundle was
		// verified against the configured set, which is pinned now.
		if c.File == "" || c.Unsigned {
			return nil, &TrustRootError{fmt.Sprintf(
				"this data directory has signed policy version %d in force, so it cannot run the embedded default or an unsigned policy; configure policy.file and policy.trust", active.Version)}
		}
		p := &TrustPlan{trust: c.Trust}
		if err := p.trust.Validate(); err != nil {
			return nil, fmt.Errorf("policy.trust: %w", err)
		}
		if err := p.pin(ctx, st, nil, j); err != nil {
			return nil, err
		}
		return p, nil
	}
	if root.Seq == 0 {
		switch {
		case c.File == "":
			return &TrustPlan{}, nil
		case c.Unsigned && !allowUnsigned:
			return nil, &TrustRootError{"policy.unsigned is set, which lets anyone who can edit the policy file change the safeguards; " +
				"it is for development only and needs serve -allow-unsigned-policy as well"}
		case c.Unsigned:
			return &TrustPlan{}, nil
		}
		p := &TrustPlan{trust: c.Trust, pinOnActivation: true}
		if err := p.trust.Validate(); err != nil {
			return nil, fmt.Errorf("policy.trust: %w", err)
		}
		return p, nil
	}

	// A trust root is pinned. If the log lacks it (the store recorded it,
	// then the append failed or the process died), record it again.
	if anchor.TrustSeq < root.Seq && j != nil {
		if err := j.RecordTrustRoot(ctx, root, PinnedTrust(root)); err != nil {
			return nil, fmt.Errorf("couldn't record the trust root in the audit log: %w", err)
		}
	}
	pinned := PinnedTrust(root)
	since := fmt.Sprintf("trust root %s (%d of %d keys) has been pinned in this data directory since %s",
		root.Hash, root.Threshold, len(root.Keys), root.PinnedAt.UTC().Format("2006-01-02T15:04:05Z"))
	switch {
	case c.File == "":
		return nil, &TrustRootError{"no policy.file is configured, but a " + since +
			"; the embedded default policy is allowed only before the first signed activation. Configure the signed bundle in force"}
	case c.Unsigned:
		return nil, &TrustRootError{"policy.unsigned is set, but a " + since +
			"; an unsigned policy is allowed only before the first signed activation. Configure the signed bundle"}
	}
	want := c.Trust
	if want.Hash() == root.Hash {
		return &TrustPlan{trust: pinned, pinned: root}, nil
	}
	if c.Rotation == "" {
		return nil, &TrustRootError{fmt.Sprintf("policy.trust differs from the pinned trust root: it %s. The %s; "+
			"changing it needs a rotation signed by %d of the pinned parties (brightline policy rotate-trust), named in policy.trust.rotation",
			pinned.Diff(want), since, root.Threshold)}
	}
	note, err := os.ReadFile(c.Rotation)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the trust rotation: %w", err)
	}
	r, signers, err := VerifyRotation(note, pinned)
	if err != nil {
		return nil, &TrustRootError{fmt.Sprintf("policy.trust differs from the pinned trust root (it %s), and the rotation %s does not allow it: %v",
			pinned.Diff(want), c.Rotation, err)}
	}
	if r.To.Hash() != want.Hash() {
		return nil, &TrustRootError{fmt.Sprintf("the rotation %s, signed by %v, replaces the pinned trust set with %s, but policy.trust is %s (it %s)",
			c.Rotation, signers, r.To.Hash(), want.Hash(), r.To.Diff(want))}
	}
	p := &TrustPlan{trust: want, pinned: root}
	if err := p.pin(ctx, st, note, j); err != nil {
		return nil, err
	}
	return p, nil
}

// checkAnchor refuses a store that is behind the audit log.
func checkAnchor(a Anchor, root store.TrustRoot, active store.PolicyActivation) error {
	behind := func(what string) error {
		return &TrustRootError{fmt.Sprintf("the store is behind the audit log: the log (checkpoint of size %d) records %s. "+
			"Was brightline.db restored from a backup or replaced? Refusing to start, so that an older policy or trust set cannot come back into force; "+
			"restore the newest database", a.Size, what)}
	}
	switch {
	case a.TrustSeq > root.Seq:
		return behind(fmt.Sprintf("trust root %d (%s), the store only %d", a.TrustSeq, a.TrustHash, root.Seq))
	case a.TrustSeq == root.Seq && a.TrustSeq > 0 && a.TrustHash != root.Hash:
		return behind(fmt.Sprintf("trust root %d as %s, the store as %s", a.TrustSeq, a.TrustHash, root.Hash))
	case a.PolicyVersion > active.Version:
		return behind(fmt.Sprintf("signed policy version %d (%s), the store only version %d", a.PolicyVersion, a.PolicyHash, active.Version))
	}
	return nil
}

// pin records p.trust as the next trust root: in the store, then in the
// log through j (nil: the store only). rotation is the signed rotation
// note, nil for the first pin.
func (p *TrustPlan) pin(ctx context.Context, st Store, rotation []byte, j Journal) error {
	r := store.TrustRoot{Seq: p.pinned.Seq + 1, Hash: p.trust.Hash(), Keys: sortedKeys(p.trust), Threshold: p.trust.Threshold, Rotation: rotation}
	if err := st.PinTrustRoot(ctx, r); err != nil {
		return fmt.Errorf("couldn't pin the trust root: %w", err)
	}
	p.pinned, p.pinOnActivation = r, false
	if j == nil {
		return nil
	}
	if err := j.RecordTrustRoot(ctx, r, p.trust); err != nil {
		return fmt.Errorf("couldn't record the trust root in the audit log: %w", err)
	}
	return nil
}

// sortedKeys returns t's distinct keys, sorted, as the store records them.
func sortedKeys(t Trust) []string {
	k := slices.Clone(t.Keys)
	slices.Sort(k)
	return slices.Compact(k)
}
