package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

// This file decides which policy is in force: the embedded default, an
// unsigned file (development), or a signed bundle checked against the
// trust config and the store's record of the active version. serve keeps
// a bundle current with a policySource; the policy, check and replay
// commands use the same checks through loadConfiguredPolicy.

const embeddedDefaultSource = "embedded default"

// loadedPolicy is a policy that passed every check and may be put in force.
type loadedPolicy struct {
	policy   *policy.Policy // carries the bundle version
	source   string         // "embedded default" or the policy file's path
	signers  []string       // distinct trusted signers, sorted; empty unless signed
	note     []byte         // the signed manifest note; nil unless signed
	activate time.Time      // the manifest's activation time; zero unless signed
	unsigned bool
	// newer is set when the bundle's version is higher than the store's
	// active version: putting it in force must be recorded in the store.
	newer bool
}

// loadError is why a policy could not be put in force. Class is the short
// reason counted in brightline_policy_activations_total: threshold, hash,
// rollback, not_yet_active, compile, malformed, signature, io or store.
type loadError struct {
	Class string
	Err   error
}

func (e *loadError) Error() string { return e.Err.Error() }
func (e *loadError) Unwrap() error { return e.Err }

// reasonClass returns the class of a loadError in err's chain, or "other".
func reasonClass(err error) string {
	if e, ok := errors.AsType[*loadError](err); ok {
		return e.Class
	}
	return "other"
}

// changedVersionError means a bundle claims the active version but holds a
// different policy. Restarting with the active bundle is fine; changing the
// policy without a new version is a rollback in disguise, since parties
// signed the version for other bytes.
type changedVersionError struct {
	Version    int64
	Hash       string // the bundle's policy hash
	ActiveHash string // the hash recorded for the active version
}

func (e *changedVersionError) Error() string {
	return fmt.Sprintf("policy bundle version %d is the active version but its policy differs (%s, active %s); a changed policy needs a new version",
		e.Version, e.Hash, e.ActiveHash)
}

// readPolicyFiles reads the configured policy file and, unless unsigned,
// its manifest note.
func readPolicyFiles(pc *PolicyConfig) (pol, note []byte, err error) {
	if pc.Unsigned {
		pol, err = os.ReadFile(pc.File)
		if err != nil {
			return nil, nil, &loadError{"io", fmt.Errorf("couldn't read policy file: %w", err)}
		}
		return pol, nil, nil
	}
	pol, note, err = bundle.LoadFiles(pc.File)
	if err != nil {
		return nil, nil, &loadError{"io", err}
	}
	return pol, note, nil
}

// checkPolicy decides whether the policy bytes pol (and, unless pc is
// unsigned, the manifest note, verified against trust) may be put in
// force, given active, the store's active activation (zero if none), at
// time now.
//
// A bundle is accepted if it verifies against the trust config with a
// version newer than the active one, or if it is exactly the active
// bundle again: the same version with the same policy hash, as after a
// restart. The same version with a different policy is refused as a
// rollback (*changedVersionError).
func checkPolicy(pc *PolicyConfig, trust bundle.Trust, pol, note []byte, active store.PolicyActivation, now time.Time) (*loadedPolicy, error) {
	lp := &loadedPolicy{source: pc.File, unsigned: pc.Unsigned}
	var version int64 // 0 when unsigned
	if !pc.Unsigned {
		// Verify refuses versions not above the one it is given; pass one
		// less so that the active bundle itself can be loaded again, and
		// tell the two cases apart by hash below.
		v, err := bundle.Verify(pol, note, trust, max(active.Version-1, 0), now)
		if e, ok := errors.AsType[*bundle.RollbackError](err); ok {
			err = &bundle.RollbackError{Version: e.Version, Active: active.Version}
		}
		if err != nil {
			return nil, &loadError{verifyClass(err), fmt.Errorf("%s: %w", pc.File, err)}
		}
		if hash := policy.HashSource(pol); v.Manifest.Version == active.Version && hash != active.Hash {
			return nil, &loadError{"rollback", fmt.Errorf("%s: %w", pc.File,
				&changedVersionError{Version: active.Version, Hash: hash, ActiveHash: active.Hash})}
		}
		version = v.Manifest.Version
		lp.signers = v.Signers
		lp.note = note
		lp.activate = v.Manifest.Activate
		lp.newer = v.Manifest.Version > active.Version
	}
	p, err := policy.Load(pc.File, pol)
	if err != nil {
		return nil, &loadError{"compile", fmt.Errorf("couldn't compile policy:\n%w", err)}
	}
	lp.policy = p.WithVersion(version)
	if !pc.Unsigned {
		lp.policy = lp.policy.WithTrust(trust.Hash())
	}
	return lp, nil
}

// verifyClass classifies an error from bundle.Verify.
func verifyClass(err error) string {
	if _, ok := errors.AsType[*bundle.ThresholdError](err); ok {
		return "threshold"
	}
	if _, ok := errors.AsType[*bundle.RollbackError](err); ok {
		return "rollback"
	}
	if _, ok := errors.AsType[*bundle.NotYetActiveError](err); ok {
		return "not_yet_active"
	}
	switch {
	case errors.Is(err, bundle.ErrPolicyHashMismatch):
		return "hash"
	case errors.Is(err, bundle.ErrInvalidSignature):
		return "signature"
	case errors.Is(err, bundle.ErrMalformed):
		return "malformed"
	}
	return "other"
}

// activeActivation returns the store's active policy activation, or the
// zero activation if none was recorded.
func activeActivation(ctx context.Context, st store.Policies) (store.PolicyActivation, error) {
	a, err := st.ActivePolicy(ctx)
	if errors.Is(err, brightline.ErrNotFound) {
		return store.PolicyActivation{}, nil
	}
	if err != nil {
		return a, &loadError{"store", err}
	}
	return a, nil
}

// loadConfiguredPolicy returns the policy serve would put in force with
// cfg, for the commands that inspect or dry-run it. The rollback check uses
// the active version recorded in the data directory, if there is a
// database there; checkRollback false skips it. It creates nothing.
//
// With checkRollback, a data directory that has pinned a trust root also
// decides which trust set verifies the bundle, as serve would: the
// embedded default and unsigned files are refused there, and a configured
// trust set that differs from the pinned one is an error.
func loadConfiguredPolicy(ctx context.Context, cfg *Config, checkRollback bool) (*loadedPolicy, error) {
	pc := &cfg.Policy
	var active store.PolicyActivation
	var root store.TrustRoot
	if checkRollback {
		var err error
		if active, root, err = storedPolicyState(ctx, cfg); err != nil {
			return nil, err
		}
	}
	trust := pc.trust()
	if root.Seq > 0 {
		switch {
		case pc.File == "" || pc.Unsigned:
			return nil, &trustRootError{fmt.Sprintf("%s has pinned trust root %s, so neither the embedded default nor an unsigned policy is allowed there; configure the signed bundle", cfg.DataDir, root.Hash)}
		case trust.Hash() != root.Hash && pc.Trust.Rotation == "":
			return nil, &trustRootError{fmt.Sprintf("policy.trust differs from the trust root pinned in %s: it %s", cfg.DataDir, pinnedTrust(root).Diff(trust))}
		case trust.Hash() != root.Hash:
			// serve would check the rotation; a dry run verifies against
			// the set the rotation would put in force.
		default:
			trust = pinnedTrust(root)
		}
	}
	if pc.File == "" {
		return &loadedPolicy{policy: policy.Default(), source: embeddedDefaultSource}, nil
	}
	pol, note, err := readPolicyFiles(pc)
	if err != nil {
		return nil, err
	}
	return checkPolicy(pc, trust, pol, note, active, time.Now())
}

// storedPolicyState reads the active policy activation and the trust root
// from cfg's store, without creating a SQLite database: no database means
// neither yet.
func storedPolicyState(ctx context.Context, cfg *Config) (store.PolicyActivation, store.TrustRoot, error) {
	if ok, err := storeExists(cfg); !ok {
		if err != nil {
			return store.PolicyActivation{}, store.TrustRoot{}, &loadError{"store", err}
		}
		return store.PolicyActivation{}, store.TrustRoot{}, nil
	}
	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return store.PolicyActivation{}, store.TrustRoot{}, &loadError{"store", err}
	}
	defer db.Close()
	a, err := activeActivation(ctx, db)
	if err != nil {
		return a, store.TrustRoot{}, err
	}
	r, err := db.TrustRoot(ctx)
	if err != nil && !errors.Is(err, brightline.ErrNotFound) {
		return a, r, &loadError{"store", err}
	}
	return a, r, nil
}

// servePolicy returns the policy source for serve and a function that
// keeps it current until ctx is done, reloading on each value from hup and
// when the files change. Without a policy file the source is the embedded
// default and the function only logs that there is nothing to reload. An
// error means the gateway must not start.
//
// plan says which trust set verifies bundles (see establishTrust); nil
// means the configured one, with nothing pinned. record, if set, appends
// to the audit log: every activation before the policy is put in force
// (an error refuses the activation), every refused activation, and the
// trust root's entry when the first signed activation pins it.
func servePolicy(ctx context.Context, cfg *Config, st store.Policies, plan *trustPlan, log *slog.Logger, m *gateway.Metrics,
	record func(context.Context, auditlog.Entry) error) (gateway.PolicySource, func(context.Context, <-chan os.Signal), error) {
	if plan == nil {
		plan = &trustPlan{trust: cfg.Policy.trust()}
	}
	if cfg.Policy.File == "" {
		log.Info("policy in force", "source", embeddedDefaultSource, "hash", policy.Default().Hash())
		if record != nil {
			if err := record(ctx, policyEntry(policyEvent{Result: "activated", Hash: policy.Default().Hash()})); err != nil {
				return nil, nil, fmt.Errorf("couldn't record the policy activation in the audit log: %w", err)
			}
		}
		return gateway.StaticPolicy{Policy: policy.Default(), Source: embeddedDefaultSource},
			func(ctx context.Context, hup <-chan os.Signal) {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						log.Info("SIGHUP: no policy file is configured, so there is nothing to reload")
					}
				}
			}, nil
	}
	s := &policySource{cfg: cfg.Policy, plan: plan, store: st, log: log, metrics: m, record: record}
	if err := s.start(ctx); err != nil {
		return nil, nil, fmt.Errorf("couldn't put the policy in force: %w", err)
	}
	return s, s.watch, nil
}

// policySource is the gateway.PolicySource of a configured policy file. It
// checks the bundle at start and reloads it on SIGHUP and when the files
// change. A policy that fails a check is refused: the previous one stays
// in force and Status reports the refusal.
type policySource struct {
	cfg     PolicyConfig
	plan    *trustPlan       // which trust set verifies bundles; guarded by mu
	store   store.Policies   // unused when unsigned
	log     *slog.Logger     // required
	metrics *gateway.Metrics // nil: count nothing
	// now is the clock for activation times; nil means time.Now.
	now func() time.Time
	// record, if set, appends to the audit log: each activation before
	// the policy is put in force (an error refuses it), each refused
	// activation, and the trust root when the first activation pins it.
	record func(context.Context, auditlog.Entry) error
	// onEvent, if set, is told of every activation after the policy is in
	// force, and of every refused activation after the status says so.
	onEvent func(policyEvent)

	// state is swapped whole, so a reader sees a policy and its status
	// together.
	state atomic.Pointer[policyState]

	mu sync.Mutex // serialises loads; guards the fields below
	// observed is what the last poll saw of the files.
	observed bundleFiles
	// attempted is the content of the files at the last load, successful
	// or not: polling loads again only when the content changes.
	attempted bundleFiles
	// pending is a change seen at the last poll. It is loaded once a poll
	// sees the same content again, so that a half-written bundle (a new
	// policy next to the old note) is not refused on the way.
	pending    bundleFiles
	hasPending bool
	// retryAt, if set, is when a bundle refused as not yet active becomes
	// active; polling loads it again from then.
	retryAt time.Time
	// fleetSeen is the newest version another gateway sharing the store
	// was seen to activate, so that each is acted on once.
	fleetSeen int64
}

var _ gateway.PolicySource = (*policySource)(nil)

// policyState is a policy in force and its status.
type policyState struct {
	policy *policy.Policy
	status gateway.PolicyStatus
}

// Current implements gateway.PolicySource.
func (s *policySource) Current() *policy.Policy { return s.state.Load().policy }

// Status implements gateway.PolicySource.
func (s *policySource) Status() gateway.PolicyStatus {
	st := s.state.Load().status
	st.Signers = append([]string{}, st.Signers...)
	return st
}

func (s *policySource) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// policyEvent is an activation of a policy or a refused one.
type policyEvent struct {
	Result    string // "activated" or "refused"
	Version   int64  // for a refusal, the version the bundle claims, if readable
	Hash      string // hash of the policy bytes, if read
	TrustHash string // activated: the trust set that verified it; "" if unsigned or default
	Note      []byte // activated: the signed manifest note; nil if unsigned or default
	Signers   []string
	Class     string // refused: the short reason class (see loadError)
	Reason    string // refused: why, in full
}

// recordEvent appends ev to the audit log. An activation that cannot be
// recorded must not be put in force: the caller refuses it.
func (s *policySource) recordEvent(ctx context.Context, ev policyEvent) error {
	if s.record == nil {
		return nil
	}
	err := s.record(ctx, policyEntry(ev))
	if err != nil && ev.Result == "activated" {
		return &loadError{"audit", fmt.Errorf("couldn't record the policy activation in the audit log: %w", err)}
	}
	if err != nil {
		s.log.Error("couldn't record a refused policy activation in the audit log", "err", err)
	}
	return nil
}

// emit logs, counts and hands on one activation event, once it has taken
// effect. It is the only place such events are produced.
func (s *policySource) emit(ev policyEvent) {
	attrs := []any{"result", ev.Result, "version", ev.Version, "hash", ev.Hash,
		"signers", nonNil(ev.Signers), "unsigned", s.cfg.Unsigned, "source", s.cfg.File}
	if ev.Result == "refused" {
		s.log.Error("policy activation", append(attrs, "reason", ev.Reason, "class", ev.Class)...)
	} else {
		s.log.Info("policy activation", attrs...)
	}
	if s.metrics != nil {
		s.metrics.PolicyActivation(ev.Result, ev.Class)
	}
	if s.onEvent != nil {
		s.onEvent(ev)
	}
}

// start loads the policy for the first time. On error nothing is in force.
func (s *policySource) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Unsigned {
		s.log.Warn("UNSIGNED POLICY: development mode; the policy file is loaded without signatures, so safeguards can be changed by anyone who can edit it",
			"file", s.cfg.File)
	}
	if err := s.loadLocked(ctx); err != nil {
		return err
	}
	s.observed = s.observe()
	return nil
}

// loadLocked reads and checks the files and puts the policy in force, or
// refuses it. s.mu must be held.
func (s *policySource) loadLocked(ctx context.Context) error {
	s.retryAt = time.Time{}
	s.hasPending = false
	pol, note, err := readPolicyFiles(&s.cfg)
	if err != nil {
		// Remember which file is missing as a poll would see it, so that
		// polling doesn't refuse the same missing file over and over.
		s.attempted = s.observe()
		s.refuse(ctx, err, pol, note)
		return err
	}
	s.attempted = bundleFiles{policy: fileState{sum: sha256.Sum256(pol)}}
	if !s.cfg.Unsigned {
		s.attempted.note = fileState{sum: sha256.Sum256(note)}
	}
	lp, err := s.check(ctx, pol, note)
	if err != nil {
		if e, ok := errors.AsType[*bundle.NotYetActiveError](err); ok {
			s.retryAt = e.Activate
		}
		s.refuse(ctx, err, pol, note)
		return err
	}
	cur := s.state.Load()
	if cur != nil && cur.policy.Hash() == lp.policy.Hash() && cur.policy.Version() == lp.policy.Version() {
		s.log.Info("policy unchanged", "version", lp.policy.Version(), "hash", lp.policy.Hash())
		return nil
	}
	activatedAt := s.clock()
	if lp.note != nil && s.plan.pinOnActivation {
		// The first signed activation pins the trust set it was verified
		// against, in the store and the log, before it is recorded.
		if err := s.plan.pin(ctx, s.store, nil, s.record); err != nil {
			err = &loadError{"store", err}
			s.refuse(ctx, err, pol, note)
			return err
		}
	}
	if lp.newer {
		err := s.store.RecordPolicyActivation(ctx, store.PolicyActivation{
			Version: lp.policy.Version(), Hash: lp.policy.Hash(), Signers: lp.signers, TrustHash: lp.policy.TrustHash(),
		})
		if errors.Is(err, store.ErrStale) {
			// Another gateway sharing the store may have recorded this very
			// bundle since check read the store; only a different bundle
			// is a refusal.
			_, err = s.check(ctx, pol, note)
		}
		if err != nil {
			if _, ok := errors.AsType[*loadError](err); !ok {
				err = &loadError{"store", fmt.Errorf("couldn't record the policy activation: %w", err)}
			}
			s.refuse(ctx, err, pol, note)
			return err
		}
	} else if !lp.unsigned {
		if a, err := s.store.ActivePolicy(ctx); err == nil {
			activatedAt = a.ActivatedAt
		}
	}
	next := &policyState{policy: lp.policy, status: gateway.PolicyStatus{
		Source:      lp.source,
		Version:     lp.policy.Version(),
		Hash:        lp.policy.Hash(),
		Signers:     nonNil(lp.signers),
		Unsigned:    lp.unsigned,
		ActivatedAt: activatedAt,
	}}
	if cur != nil {
		next.status.LastRefusal = cur.status.LastRefusal
	}
	ev := policyEvent{Result: "activated", Version: lp.policy.Version(), Hash: lp.policy.Hash(),
		TrustHash: lp.policy.TrustHash(), Note: lp.note, Signers: lp.signers}
	if err := s.recordEvent(ctx, ev); err != nil {
		s.refuse(ctx, err, pol, note)
		return err
	}
	s.state.Store(next)
	s.emit(ev)
	return nil
}

// check checks the bundle against the store's active version.
func (s *policySource) check(ctx context.Context, pol, note []byte) (*loadedPolicy, error) {
	var active store.PolicyActivation
	if !s.cfg.Unsigned {
		var err error
		if active, err = activeActivation(ctx, s.store); err != nil {
			return nil, err
		}
	}
	return checkPolicy(&s.cfg, s.plan.trust, pol, note, active, s.clock())
}

// refuse reports a refused activation and records it in the status; the
// policy in force, if any, stays.
func (s *policySource) refuse(ctx context.Context, err error, pol, note []byte) {
	ev := policyEvent{Result: "refused", Class: reasonClass(err), Reason: err.Error()}
	if pol != nil {
		ev.Hash = policy.HashSource(pol)
	}
	if m, _ := bundle.ClaimedManifest(note); m.Version > 0 {
		// What the bundle claims to be, even if the note is malformed.
		ev.Version = m.Version
	}
	if e, ok := errors.AsType[*bundle.ThresholdError](err); ok {
		ev.Signers = e.Have
	}
	// The status first, so that whoever hears of the event sees it.
	if cur := s.state.Load(); cur != nil {
		next := *cur
		next.status.LastRefusal = &gateway.PolicyRefusal{At: s.clock(), Version: ev.Version, Reason: ev.Reason}
		s.state.Store(&next)
	}
	s.recordEvent(ctx, ev) // a refusal is never itself refused
	s.emit(ev)
}

// watch reloads on every value from hup and polls the files every
// cfg.PollInterval until ctx is done.
func (s *policySource) watch(ctx context.Context, hup <-chan os.Signal) {
	interval := s.cfg.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.log.Info("SIGHUP: reloading the policy", "file", s.cfg.File)
			s.reload(ctx)
		case <-t.C:
			s.poll(ctx)
		}
	}
}

// reload loads the files now. A refusal has been reported when it returns.
func (s *policySource) reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx)
}

// poll loads the files if their content changed and has stayed the same
// since the previous poll, or if a bundle refused as not yet active has
// become active.
func (s *policySource) poll(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observed = s.observe()
	switch {
	case s.observed.sameContent(s.attempted):
		s.hasPending = false
		if !s.retryAt.IsZero() && !s.clock().Before(s.retryAt) {
			s.log.Info("policy bundle activation time reached; loading it", "file", s.cfg.File)
			s.loadLocked(ctx)
		} else if v, ok := s.fleetAhead(ctx); ok && v != s.fleetSeen {
			// Another gateway sharing the store put a newer bundle in
			// force. Load the files again: if they hold it, this replica
			// follows; if they hold an older one, the load is refused as a
			// rollback (once per newer version), and the status shows it.
			s.fleetSeen = v
			s.log.Warn("another gateway sharing the store activated a newer policy; loading the policy files again",
				"active_version", v, "version_in_force", s.state.Load().policy.Version(), "file", s.cfg.File)
			s.loadLocked(ctx)
		}
	case s.hasPending && s.observed.sameContent(s.pending):
		s.log.Info("policy files changed; reloading", "file", s.cfg.File)
		s.loadLocked(ctx)
	default:
		s.pending, s.hasPending = s.observed, true
	}
}

// fleetAhead reports whether the store's active policy version is newer
// than the one in force here, as when another replica sharing the store
// activated a newer bundle, and that version.
func (s *policySource) fleetAhead(ctx context.Context) (int64, bool) {
	if s.cfg.Unsigned || s.store == nil {
		return 0, false
	}
	a, err := s.store.ActivePolicy(ctx)
	if err != nil {
		return 0, false
	}
	return a.Version, a.Version > s.state.Load().policy.Version()
}

// fileState is what a poll knows of one file. Files are compared by
// content, read in full at every poll: they are small, and a modification
// time can't be trusted to change (file times are coarse, so a rewrite of
// the same size soon after the last one could go unnoticed).
type fileState struct {
	sum [32]byte
	err string // why the file couldn't be read; "" if it was
}

// bundleFiles is the state of a policy file and its note.
type bundleFiles struct{ policy, note fileState }

func (b bundleFiles) sameContent(o bundleFiles) bool {
	return b.policy.sum == o.policy.sum && b.policy.err == o.policy.err &&
		b.note.sum == o.note.sum && b.note.err == o.note.err
}

// observe returns the current state of the files.
func (s *policySource) observe() bundleFiles {
	b := bundleFiles{policy: observeFile(s.cfg.File)}
	if !s.cfg.Unsigned {
		b.note = observeFile(s.cfg.File + bundle.NoteSuffix)
	}
	return b
}

func observeFile(path string) fileState {
	data, err := os.ReadFile(path)
	if err != nil {
		return fileState{err: err.Error()}
	}
	return fileState{sum: sha256.Sum256(data)}
}

// policyEntry is the audit-log entry of a policy activation or refused
// activation. A signed activation carries its manifest note, so that an
// auditor can check its signatures against the trust set they expect
// (brightline audit verify -trust); an unsigned one says so.
func policyEntry(ev policyEvent) auditlog.Entry {
	kind := auditlog.KindPolicyActivation
	if ev.Result == "refused" {
		kind = auditlog.KindPolicyRefused
	}
	e := auditlog.Entry{Kind: kind, PolicyHash: ev.Hash, PolicyVersion: ev.Version, TrustHash: ev.TrustHash, Action: ev.Result,
		Detail: map[string]string{}}
	if len(ev.Signers) > 0 {
		e.Detail["signers"] = fmt.Sprint(ev.Signers)
	}
	if ev.Class != "" {
		e.Detail["reason"] = ev.Class
	}
	if ev.Note != nil {
		e.Detail["note"] = string(ev.Note)
	}
	if ev.Result == "activated" && ev.Note == nil {
		e.Detail["signed"] = "false"
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return e
}
