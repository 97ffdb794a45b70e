package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/store"
)

// This file decides, at start, which trust set verifies policy bundles.
//
// The first signed activation pins the configured trust set (keys and
// threshold) in the store and in the audit log. From then on the config's
// trust set must equal the pinned one, unless a rotation signed by a
// threshold of the pinned set names the config's set as its successor
// (policy.trust.rotation). The embedded default and unsigned files are
// allowed only in a data directory that never pinned a trust root, and an
// unsigned file needs serve -allow-unsigned-policy as well.
//
// The store is checked against the log: a store whose newest signed
// activation or trust root is older than the log's (a restored database)
// is refused, so a rollback cannot hide behind a backup.

// trustPlan is what establishTrust decided.
type trustPlan struct {
	// trust verifies bundles: the pinned set, or the configured one when
	// nothing is pinned yet.
	trust bundle.Trust
	// pinned is the trust root in force; zero Seq if none.
	pinned store.TrustRoot
	// pinOnActivation is set when nothing is pinned: the first signed
	// activation pins trust.
	pinOnActivation bool
}

// pinnedTrust converts a store trust root back to a bundle.Trust.
func pinnedTrust(r store.TrustRoot) bundle.Trust {
	return bundle.Trust{Keys: slices.Clone(r.Keys), Threshold: r.Threshold}
}

// trustRootError is a refusal to start because of the trust root; its
// message says what differs and what would be accepted.
type trustRootError struct{ msg string }

func (e *trustRootError) Error() string { return e.msg }

// establishTrust checks cfg's policy settings against the store's trust
// root and the log's anchor. It records a signed rotation if the config
// names one that applies, through pin (store first, then log).
func establishTrust(ctx context.Context, pc *PolicyConfig, st store.Policies, anchor auditlog.Anchor, allowUnsigned bool,
	record func(context.Context, auditlog.Entry) error) (*trustPlan, error) {
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
		if pc.File == "" || pc.Unsigned {
			return nil, &trustRootError{fmt.Sprintf(
				"this data directory has signed policy version %d in force, so it cannot run the embedded default or an unsigned policy; configure policy.file and policy.trust", active.Version)}
		}
		p := &trustPlan{trust: pc.trust()}
		if err := p.trust.Validate(); err != nil {
			return nil, fmt.Errorf("policy.trust: %w", err)
		}
		if err := p.pin(ctx, st, nil, record); err != nil {
			return nil, err
		}
		return p, nil
	}
	if root.Seq == 0 {
		switch {
		case pc.File == "":
			return &trustPlan{}, nil
		case pc.Unsigned && !allowUnsigned:
			return nil, &trustRootError{"policy.unsigned is set, which lets anyone who can edit the policy file change the safeguards; " +
				"it is for development only and needs serve -allow-unsigned-policy as well"}
		case pc.Unsigned:
			return &trustPlan{}, nil
		}
		p := &trustPlan{trust: pc.trust(), pinOnActivation: true}
		if err := p.trust.Validate(); err != nil {
			return nil, fmt.Errorf("policy.trust: %w", err)
		}
		return p, nil
	}

	// A trust root is pinned. If the log lacks it (the store recorded it,
	// then the append failed or the process died), record it again.
	if anchor.TrustSeq < root.Seq && record != nil {
		if err := record(ctx, trustRootEntry(root, pinnedTrust(root))); err != nil {
			return nil, fmt.Errorf("couldn't record the trust root in the audit log: %w", err)
		}
	}
	pinned := pinnedTrust(root)
	since := fmt.Sprintf("trust root %s (%d of %d keys) has been pinned in this data directory since %s",
		root.Hash, root.Threshold, len(root.Keys), root.PinnedAt.UTC().Format("2006-01-02T15:04:05Z"))
	switch {
	case pc.File == "":
		return nil, &trustRootError{"no policy.file is configured, but a " + since +
			"; the embedded default policy is allowed only before the first signed activation. Configure the signed bundle in force"}
	case pc.Unsigned:
		return nil, &trustRootError{"policy.unsigned is set, but a " + since +
			"; an unsigned policy is allowed only before the first signed activation. Configure the signed bundle"}
	}
	want := pc.trust()
	if want.Hash() == root.Hash {
		return &trustPlan{trust: pinned, pinned: root}, nil
	}
	if pc.Trust.Rotation == "" {
		return nil, &trustRootError{fmt.Sprintf("policy.trust differs from the pinned trust root: it %s. The %s; "+
			"changing it needs a rotation signed by %d of the pinned parties (brightline policy rotate-trust), named in policy.trust.rotation",
			pinned.Diff(want), since, root.Threshold)}
	}
	note, err := os.ReadFile(pc.Trust.Rotation)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the trust rotation: %w", err)
	}
	r, signers, err := bundle.VerifyRotation(note, pinned)
	if err != nil {
		return nil, &trustRootError{fmt.Sprintf("policy.trust differs from the pinned trust root (it %s), and the rotation %s does not allow it: %v",
			pinned.Diff(want), pc.Trust.Rotation, err)}
	}
	if r.To.Hash() != want.Hash() {
		return nil, &trustRootError{fmt.Sprintf("the rotation %s, signed by %v, replaces the pinned trust set with %s, but policy.trust is %s (it %s)",
			pc.Trust.Rotation, signers, r.To.Hash(), want.Hash(), r.To.Diff(want))}
	}
	p := &trustPlan{trust: want, pinned: root}
	if err := p.pin(ctx, st, note, record); err != nil {
		return nil, err
	}
	return p, nil
}

// checkAnchor refuses a store that is behind the audit log.
func checkAnchor(a auditlog.Anchor, root store.TrustRoot, active store.PolicyActivation) error {
	behind := func(what string) error {
		return &trustRootError{fmt.Sprintf("the store is behind the audit log: the log (checkpoint of size %d) records %s. "+
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
// log. rotation is the signed rotation note, nil for the first pin.
func (p *trustPlan) pin(ctx context.Context, st store.Policies, rotation []byte, record func(context.Context, auditlog.Entry) error) error {
	r := store.TrustRoot{Seq: p.pinned.Seq + 1, Hash: p.trust.Hash(), Keys: sortedKeys(p.trust), Threshold: p.trust.Threshold, Rotation: rotation}
	if err := st.PinTrustRoot(ctx, r); err != nil {
		return fmt.Errorf("couldn't pin the trust root: %w", err)
	}
	p.pinned, p.pinOnActivation = r, false
	if record == nil {
		return nil
	}
	if err := record(ctx, trustRootEntry(r, p.trust)); err != nil {
		return fmt.Errorf("couldn't record the trust root in the audit log: %w", err)
	}
	return nil
}

// sortedKeys returns t's distinct keys, sorted.
func sortedKeys(t bundle.Trust) []string {
	k := slices.Clone(t.Keys)
	slices.Sort(k)
	return slices.Compact(k)
}

// trustRootEntry is the log entry that records trust root r, whose set
// is t. A rotation carries its signed note, so that auditors can check it
// against the set before.
func trustRootEntry(r store.TrustRoot, t bundle.Trust) auditlog.Entry {
	e := auditlog.Entry{Kind: auditlog.KindTrustRoot, Action: "pinned", TrustHash: r.Hash, Detail: map[string]string{
		"seq": fmt.Sprint(r.Seq), "trust_hash": r.Hash, "trust": t.Text(),
	}}
	if r.Rotation != nil {
		e.Action = "rotated"
		e.Detail["rotation"] = string(r.Rotation)
	}
	return e
}
