package bundle

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

	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

// This file is the activation state machine of a configured policy file:
// the first load, reloads on SIGHUP, the debounced poll of the files, the
// follow-the-fleet rule, and the atomic swap of the policy in force.

// Journal appends policy events to the audit log.
type Journal interface {
	// RecordPolicy appends an activation or a refused activation. An
	// activation is recorded before it is put in force; an error refuses
	// it.
	RecordPolicy(ctx context.Context, ev Event) error
	// RecordTrustRoot appends the pinning of trust root r, whose set is
	// t. r.Rotation is the signed rotation note, nil for the first pin.
	RecordTrustRoot(ctx context.Context, r store.TrustRoot, t Trust) error
}

// Event is an activation of a policy or a refused one.
type Event struct {
	Result    string // "activated" or "refused"
	Version   int64  // for a refusal, the version the bundle claims, if readable
	Hash      string // hash of the policy bytes, if read
	TrustHash string // activated: the trust set that verified it; "" if unsigned or default
	Note      []byte // activated: the signed manifest note; nil if unsigned or default
	Signers   []string
	Class     string // refused: the short reason class (see LoadError)
	Reason    string // refused: why, in full
}

// Status describes the policy in force and the last activation that was
// refused.
type Status struct {
	Source      string // EmbeddedDefault or the policy file's path
	Version     int64
	Hash        string
	Signers     []string
	Unsigned    bool // development mode: loaded without signatures
	ActivatedAt time.Time
	LastRefusal *Refusal
}

// Refusal is an activation that was refused; the previous policy stayed
// in force.
type Refusal struct {
	At      time.Time
	Version int64
	Reason  string
}

// Source keeps the policy of a configured policy file in force. It checks
// the bundle at [Source.Start] and reloads it on SIGHUP and when the files
// change ([Source.Watch]). A policy that fails a check is refused: the
// previous one stays in force and Status reports the refusal.
//
// Set the exported fields before Start and don't change them after.
type Source struct {
	Config Config // File must be set
	// Plan says which trust set verifies bundles (see EstablishTrust);
	// nil means Config.Trust, with nothing pinned. Guarded by mu.
	Plan  *TrustPlan
	Store Store        // unused when unsigned
	Log   *slog.Logger // required
	// Journal, if set, records each activation before the policy is put
	// in force (an error refuses it), each refused activation, and the
	// trust root when the first signed activation pins it.
	Journal Journal
	// OnEvent, if set, is told of every activation after the policy is
	// in force, and of every refused activation after Status says so.
	OnEvent func(Event)
	// Now is the clock for activation times and activation checks; nil
	// means time.Now.
	Now func() time.Time

	// state is swapped whole, so a reader sees a policy and its status
	// together.
	state atomic.Pointer[sourceState]

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
	// polled, if set, is called at the end of every poll (tests).
	polled func()
}

// sourceState is a policy in force and its status.
type sourceState struct {
	policy *policy.Policy
	status Status
}

// Current returns the policy in force. A request holds the one it got
// for its whole life; a reload swaps in another for later requests.
func (s *Source) Current() *policy.Policy { return s.state.Load().policy }

// Status returns the policy in force and the last refusal.
func (s *Source) Status() Status {
	st := s.state.Load().status
	st.Signers = append([]string{}, st.Signers...)
	return st
}

func (s *Source) clock() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// recordEvent appends ev to the audit log. An activation that cannot be
// recorded must not be put in force: the caller refuses it.
func (s *Source) recordEvent(ctx context.Context, ev Event) error {
	if s.Journal == nil {
		return nil
	}
	err := s.Journal.RecordPolicy(ctx, ev)
	if err != nil && ev.Result == "activated" {
		return &LoadError{"audit", fmt.Errorf("couldn't record the policy activation in the audit log: %w", err)}
	}
	if err != nil {
		s.Log.Error("couldn't record a refused policy activation in the audit log", "err", err)
	}
	return nil
}

// emit logs and hands on one activation event, once it has taken effect.
// It is the only place such events are produced.
func (s *Source) emit(ev Event) {
	attrs := []any{"result", ev.Result, "version", ev.Version, "hash", ev.Hash,
		"signers", nonNil(ev.Signers), "unsigned", s.Config.Unsigned, "source", s.Config.File}
	if ev.Result == "refused" {
		s.Log.Error("policy activation", append(attrs, "reason", ev.Reason, "class", ev.Class)...)
	} else {
		s.Log.Info("policy activation", attrs...)
	}
	if s.OnEvent != nil {
		s.OnEvent(ev)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Start loads the policy for the first time. On error nothing is in force
// and the Source must not be used.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Plan == nil {
		s.Plan = &TrustPlan{trust: s.Config.Trust}
	}
	if s.Config.Unsigned {
		s.Log.Warn("UNSIGNED POLICY: development mode; the policy file is loaded without signatures, so safeguards can be changed by anyone who can edit it",
			"file", s.Config.File)
	}
	if err := s.loadLocked(ctx); err != nil {
		return err
	}
	s.observed = s.observe()
	return nil
}

// loadLocked reads and checks the files and puts the policy in force, or
// refuses it. s.mu must be held.
func (s *Source) loadLocked(ctx context.Context) error {
	s.retryAt = time.Time{}
	s.hasPending = false
	pol, note, err := s.Config.ReadFiles()
	if err != nil {
		// Remember which file is missing as a poll would see it, so that
		// polling doesn't refuse the same missing file over and over.
		s.attempted = s.observe()
		s.refuse(ctx, err, pol, note)
		return err
	}
	s.attempted = bundleFiles{policy: fileState{sum: sha256.Sum256(pol)}}
	if !s.Config.Unsigned {
		s.attempted.note = fileState{sum: sha256.Sum256(note)}
	}
	lp, err := s.check(ctx, pol, note)
	if err != nil {
		if e, ok := errors.AsType[*NotYetActiveError](err); ok {
			s.retryAt = e.Activate
		}
		s.refuse(ctx, err, pol, note)
		return err
	}
	cur := s.state.Load()
	if cur != nil && cur.policy.Hash() == lp.Policy.Hash() && cur.policy.Version() == lp.Policy.Version() {
		s.Log.Info("policy unchanged", "version", lp.Policy.Version(), "hash", lp.Policy.Hash())
		return nil
	}
	activatedAt := s.clock()
	if lp.Note != nil && s.Plan.pinOnActivation {
		// The first signed activation pins the trust set it was verified
		// against, in the store and the log, before it is recorded.
		if err := s.Plan.pin(ctx, s.Store, nil, s.Journal); err != nil {
			err = &LoadError{"store", err}
			s.refuse(ctx, err, pol, note)
			return err
		}
	}
	if lp.Newer {
		err := s.Store.RecordPolicyActivation(ctx, store.PolicyActivation{
			Version: lp.Policy.Version(), Hash: lp.Policy.Hash(), Signers: lp.Signers, TrustHash: lp.Policy.TrustHash(),
		})
		if errors.Is(err, store.ErrStale) {
			// Another gateway sharing the store may have recorded this very
			// bundle since check read the store; only a different bundle
			// is a refusal.
			_, err = s.check(ctx, pol, note)
		}
		if err != nil {
			if _, ok := errors.AsType[*LoadError](err); !ok {
				err = &LoadError{"store", fmt.Errorf("couldn't record the policy activation: %w", err)}
			}
			s.refuse(ctx, err, pol, note)
			return err
		}
	} else if !lp.Unsigned {
		if a, err := s.Store.ActivePolicy(ctx); err == nil {
			activatedAt = a.ActivatedAt
		}
	}
	next := &sourceState{policy: lp.Policy, status: Status{
		Source:      lp.Source,
		Version:     lp.Policy.Version(),
		Hash:        lp.Policy.Hash(),
		Signers:     nonNil(lp.Signers),
		Unsigned:    lp.Unsigned,
		ActivatedAt: activatedAt,
	}}
	if cur != nil {
		next.status.LastRefusal = cur.status.LastRefusal
	}
	ev := Event{Result: "activated", Version: lp.Policy.Version(), Hash: lp.Policy.Hash(),
		TrustHash: lp.Policy.TrustHash(), Note: lp.Note, Signers: lp.Signers}
	if err := s.recordEvent(ctx, ev); err != nil {
		s.refuse(ctx, err, pol, note)
		return err
	}
	s.state.Store(next)
	s.emit(ev)
	return nil
}

// check checks the bundle against the store's active version.
func (s *Source) check(ctx context.Context, pol, note []byte) (*Loaded, error) {
	var active store.PolicyActivation
	if !s.Config.Unsigned {
		var err error
		if active, err = activeActivation(ctx, s.Store); err != nil {
			return nil, err
		}
	}
	return Check(&s.Config, s.Plan.trust, pol, note, active, s.clock())
}

// refuse reports a refused activation and records it in the status; the
// policy in force, if any, stays.
func (s *Source) refuse(ctx context.Context, err error, pol, note []byte) {
	ev := Event{Result: "refused", Class: Class(err), Reason: err.Error()}
	if pol != nil {
		ev.Hash = policy.HashSource(pol)
	}
	if m, _ := ClaimedManifest(note); m.Version > 0 {
		// What the bundle claims to be, even if the note is malformed.
		ev.Version = m.Version
	}
	if e, ok := errors.AsType[*ThresholdError](err); ok {
		ev.Signers = e.Have
	}
	// The status first, so that whoever hears of the event sees it.
	if cur := s.state.Load(); cur != nil {
		next := *cur
		next.status.LastRefusal = &Refusal{At: s.clock(), Version: ev.Version, Reason: ev.Reason}
		s.state.Store(&next)
	}
	s.recordEvent(ctx, ev) // a refusal is never itself refused
	s.emit(ev)
}

// Watch reloads on every value from hup and polls the files every
// Config.PollInterval until ctx is done.
func (s *Source) Watch(ctx context.Context, hup <-chan os.Signal) {
	interval := s.Config.PollInterval
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
			s.Log.Info("SIGHUP: reloading the policy", "file", s.Config.File)
			s.Reload(ctx)
		case <-t.C:
			s.Poll(ctx)
		}
	}
}

// Reload loads the files now, as on SIGHUP. A refusal has been reported
// when it returns.
func (s *Source) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx)
}

// Poll loads the files if their content changed and has stayed the same
// since the previous poll, if a bundle refused as not yet active has
// become active, or if another gateway sharing the store put a newer
// version in force. Watch calls it every Config.PollInterval.
func (s *Source) Poll(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.polled != nil {
		defer s.polled()
	}
	s.observed = s.observe()
	switch {
	case s.observed.sameContent(s.attempted):
		s.hasPending = false
		if !s.retryAt.IsZero() && !s.clock().Before(s.retryAt) {
			s.Log.Info("policy bundle activation time reached; loading it", "file", s.Config.File)
			s.loadLocked(ctx)
		} else if v, ok := s.fleetAhead(ctx); ok && v != s.fleetSeen {
			// Another gateway sharing the store put a newer bundle in
			// force. Load the files again: if they hold it, this replica
			// follows; if they hold an older one, the load is refused as a
			// rollback (once per newer version), and the status shows it.
			s.fleetSeen = v
			s.Log.Warn("another gateway sharing the store activated a newer policy; loading the policy files again",
				"active_version", v, "version_in_force", s.state.Load().policy.Version(), "file", s.Config.File)
			s.loadLocked(ctx)
		}
	case s.hasPending && s.observed.sameContent(s.pending):
		s.Log.Info("policy files changed; reloading", "file", s.Config.File)
		s.loadLocked(ctx)
	default:
		s.pending, s.hasPending = s.observed, true
	}
}

// fleetAhead reports whether the store's active policy version is newer
// than the one in force here, as when another replica sharing the store
// activated a newer bundle, and that version.
func (s *Source) fleetAhead(ctx context.Context) (int64, bool) {
	if s.Config.Unsigned || s.Store == nil {
		return 0, false
	}
	a, err := s.Store.ActivePolicy(ctx)
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
func (s *Source) observe() bundleFiles {
	b := bundleFiles{policy: observeFile(s.Config.File)}
	if !s.Config.Unsigned {
		b.note = observeFile(s.Config.File + NoteSuffix)
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
