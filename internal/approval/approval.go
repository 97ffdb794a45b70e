// Package approval holds tool calls that need a human decision, such as a
// use-of-force call under the rule human-control-of-force, until the
// required people approve that exact call, and issues a signed, single-use
// token that lets the call run once.
//
// # States
//
// An approval is created pending. Approvers vote: one denial (with a
// reason) denies it; approvals by Require.Count distinct persons (see
// [brightline.Principal.Who]; two keys of one person count once) approve
// it. The requester's person may not vote, with any key. One person may
// have at most [Request.MaxPending] approvals pending at once. A pending
// approval still undecided at ExpiresAt becomes expired, which is recorded
// as expiry and never as a denial. An approved approval is consumed when
// its token is used, once, before ExpiresAt; after that time an unused
// approval stays approved but can no longer be consumed.
//
//	pending ──votes──► approved ──token──► consumed
//	   │ └──denial──► denied
//	   └───time─────► expired
//
// The store makes each change atomic ([Store.UpdateApproval],
// [Store.ConsumeApproval]), deciding with its own clock, so that
// of two racing changes exactly one wins: two approvers voting at once are
// both counted, once each, and an approval at the instant of expiry either
// approves or expires, never both.
//
// # Audit
//
// Every state change is passed to [Config.Record] as an [Event] after the
// store commits it and while this process holds the approval's lock. If
// Record fails the change is undone and refused, so that no change takes
// effect unrecorded (fail closed). Record is called without any store lock
// held, so it may write to the same database.
//
// # Tokens
//
// A token is base64url(claims JSON) "." base64url(Ed25519 signature); see
// [TokenClaims]. It binds the approval id, the upstream where the call may
// run, the argument digest (see [Digest]), the requester's person and
// delegates, the expiry and the approvers. It is not a bearer token:
// [Service.Consume] runs it only for the requester's person or a named
// delegate, only at its upstream and only while the requester's key is
// active; it recomputes the digest of the call about to run, so changed
// arguments are refused, and consumes the approval with a compare-and-swap,
// so a replay is refused. The consumed event names who presented it.
package approval

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// DefaultTTL is how long an approval waits for its decision when
// [Request.TTL] is zero.
const DefaultTTL = 15 * time.Minute

// maxExcerpt is the most bytes of conversation excerpt kept.
const maxExcerpt = 4000

// DefaultMaxPending is the most approvals one person may have pending at
// once when [Request.MaxPending] is zero. It matches the policy's default
// (policy.Policy.MaxPendingPerRequester).
const DefaultMaxPending = 20

// ExcerptAuthor says who wrote [Approval.Excerpt]: the requester, whose
// conversation it comes from, and so not a statement Brightline checked.
// The API and the console show it next to every excerpt.
const ExcerptAuthor = "written by the requester"

// Upstream identities. An approval runs only where it is bound (see
// [Request.Upstream]): the MCP proxy binds its calls to
// MCPUpstream(name, server) and consumes only approvals bound to exactly
// that, so a call approved for one MCP server never runs at another. The
// gateway binds the calls it withholds to GatewayUpstream(route), or to
// UpstreamGateway when it names no route; no MCP upstream's identity
// matches either, so a call the gateway held never runs through the MCP
// proxy: it runs only through the gateway's own re-submission path, which
// consumes the approval with [Service.Consume] and the same upstream.
const (
	mcpUpstreamPrefix     = "mcp:"
	gatewayUpstreamPrefix = "gateway:"
	// UpstreamGateway is the upstream of a call held with no Upstream.
	UpstreamGateway = "gateway"
)

// TimeLeft describes how long until t, rounded to the second, or
// "expired".
func TimeLeft(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return d.Round(time.Second).String()
}

// MCPUpstream is the identity of the MCP upstream named name whose server
// is server (its URL, or its command line).
func MCPUpstream(name, server string) string {
	return mcpUpstreamPrefix + name + " " + server
}

// GatewayUpstream is the identity of the gateway route (provider and
// model) that produced a withheld tool call.
func GatewayUpstream(route string) string {
	return gatewayUpstreamPrefix + route
}

// Errors the service returns, wrapped with detail. An unknown id is
// brightline.ErrNotFound. Those made with [brightline.NewCodedError] carry
// the code the HTTP API answers them with, and their text is shown to the
// client, wrapping included.
var (
	ErrNotPending     = brightline.NewCodedError(brightline.CodeConflict, "approval is no longer pending")
	ErrNotApproved    = brightline.NewCodedError(brightline.CodeConflict, "approval is not approved")
	ErrExpired        = brightline.NewCodedError(brightline.CodeConflict, "approval has expired")
	ErrConsumed       = brightline.NewCodedError(brightline.CodeConflict, "approval has already been used")
	ErrForbidden      = brightline.NewCodedError(brightline.CodePermissionDenied, "not allowed to decide this approval")
	ErrReasonRequired = brightline.NewCodedError(brightline.CodeInvalidRequest, "a denial needs a reason")
	ErrDigestMismatch = brightline.NewCodedError(brightline.CodePermissionDenied, "the call differs from the approved call")
	ErrInvalidToken   = brightline.NewCodedError(brightline.CodePermissionDenied, "invalid approval token")
	// ErrNotRecorded: the audit log could not record a change, so it was
	// not made. The API answers 503 without the detail (see
	// [ClientError]).
	ErrNotRecorded = errors.New("couldn't record the change in the audit log")
	// ErrWrongUpstream: the approval is bound to another upstream.
	ErrWrongUpstream = brightline.NewCodedError(brightline.CodePermissionDenied, "the approval is for another upstream")
	// ErrNotPresenter: only the requester's person or a delegate named
	// in the approval may use its token.
	ErrNotPresenter = brightline.NewCodedError(brightline.CodePermissionDenied, "only the requester or a named delegate may run this approved call")
	// ErrRequesterRevoked: the requester's key was revoked, so its
	// approvals can no longer be used.
	ErrRequesterRevoked = brightline.NewCodedError(brightline.CodePermissionDenied, "the requester's key has been revoked")
	// ErrTooManyPending: the requester's person already has the most
	// pending approvals the policy allows. [Service.Create] returns it
	// inside a *brightline.Error with code rate_limited (HTTP 429).
	ErrTooManyPending = errors.New("too many pending approvals")
)

// Request asks for a tool call to be held for approval.
type Request struct {
	RequestID string
	Principal brightline.Principal // the requester
	// Upstream is where the call may run, and nowhere else: see
	// [MCPUpstream] and [GatewayUpstream]. Empty means UpstreamGateway.
	Upstream string
	// Delegates are persons, besides the requester's, who may run the
	// call once it is approved. Approvers see them.
	Delegates     []string
	Tool          string
	Class         string          // effect class
	Arguments     json.RawMessage // must be a JSON object
	PolicyVersion int64
	Rule          string // the policy rule that required approval
	Require       Requirement
	TTL           time.Duration // zero means DefaultTTL
	// Excerpt is a short conversation excerpt for the approver page. It
	// is kept in the store, never in the audit log. The requester wrote
	// it; approvers are told so (see [ExcerptAuthor]).
	Excerpt string
	// MaxPending is the most approvals the requester's person may have
	// pending at once, from the signed policy
	// (policy.Policy.MaxPendingPerRequester). Zero means
	// DefaultMaxPending; there is no way to ask for no cap. Past it Create
	// refuses with ErrTooManyPending (code rate_limited, HTTP 429).
	MaxPending int
}

// Event is one state change, for the audit log.
type Event struct {
	Approval Approval
	// Type is created, vote (a vote that left it pending), approved,
	// denied, expired or consumed.
	Type string
	// By is the deciding principal's id, or "" for the system; for a
	// consumed event, the principal who presented the call.
	By string
	// Upstream is where a consumed call runs (the approval's upstream).
	Upstream string
}

// Event types.
const (
	EventCreated  = "created"
	EventVote     = "vote"
	EventApproved = "approved"
	EventDenied   = "denied"
	EventExpired  = "expired"
	EventConsumed = "consumed"
)

// Config configures a [Service].
type Config struct {
	// Store keeps the approvals. Required.
	Store Store
	// Signer signs approval tokens. Required; see [LoadOrCreateKey].
	Signer ed25519.PrivateKey
	// Now is the service's clock, used to tell when a token may be issued
	// and when to wake waiters. Nil means time.Now. State changes are
	// decided with the store's clock.
	Now func() time.Time
	// Record receives every state change. If it returns an error the
	// change is undone and refused. Required.
	Record func(context.Context, Event) error
	// Keys reads API keys, so that the token of a requester whose key
	// was revoked is refused. Required (*sqlite.DB).
	Keys Keys
	// BaseURL is the gateway's address, for status URLs, e.g.
	// "http://127.0.0.1:8080".
	BaseURL string
	// PollInterval is how often [Service.Wait] re-reads the store for
	// changes made by other processes. Zero means 2s.
	PollInterval time.Duration
	// Logger receives the detail of failed sweeps and of API errors
	// answered with 500 or more. nil discards.
	Logger *slog.Logger
}

// Keys is the part of the key store the service reads.
type Keys interface {
	// GetKey returns key id, revoked or not, or an error wrapping
	// brightline.ErrNotFound. Safe to retry.
	GetKey(ctx context.Context, id string) (store.Key, error)
}

// Service runs the approval state machine. It is safe for concurrent use.
type Service struct {
	store   Store
	keys    Keys
	signer  ed25519.PrivateKey
	pub     ed25519.PublicKey
	now     func() time.Time
	record  func(context.Context, Event) error
	baseURL string
	poll    time.Duration
	log     *slog.Logger

	// locks serialise the changes to one approval in this process, so that
	// no reader here sees a change between its commit and its audit record
	// (or its undoing). Indexed by a hash of the id.
	locks [64]sync.Mutex
	seed  maphash.Seed

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change; guarded by mu
}

// New returns a service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("couldn't start approvals: no store")
	case len(cfg.Signer) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("couldn't start approvals: signing key has %d bytes, want %d", len(cfg.Signer), ed25519.PrivateKeySize)
	case cfg.Record == nil:
		return nil, errors.New("couldn't start approvals: no audit recorder")
	case cfg.Keys == nil:
		return nil, errors.New("couldn't start approvals: no key store")
	}
	s := &Service{
		store:   cfg.Store,
		keys:    cfg.Keys,
		signer:  cfg.Signer,
		pub:     cfg.Signer.Public().(ed25519.PublicKey),
		now:     cfg.Now,
		record:  cfg.Record,
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		poll:    cfg.PollInterval,
		log:     cfg.Logger,
		seed:    maphash.MakeSeed(),
		changed: make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Now returns the time by the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// PublicKey returns the key that verifies this service's tokens.
func (s *Service) PublicKey() ed25519.PublicKey { return s.pub }

// StatusURL returns where the requester can follow approval id.
func (s *Service) StatusURL(id string) string {
	return s.baseURL + "/brightline/v1/approvals/" + url.PathEscape(id)
}

func (s *Service) lock(id string) *sync.Mutex {
	return &s.locks[maphash.String(s.seed, id)%uint64(len(s.locks))]
}

func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Service) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Create holds the call r describes and returns the pending approval. If
// the requester's person already has r.MaxPending approvals pending, it
// refuses with a *brightline.Error of code rate_limited wrapping
// ErrTooManyPending.
func (s *Service) Create(ctx context.Context, r Request) (Approval, error) {
	digest, err := Digest(r.Tool, r.Arguments)
	if err != nil {
		return Approval{}, fmt.Errorf("couldn't hold call to %q: %w", r.Tool, err)
	}
	if r.Upstream == "" {
		r.Upstream = UpstreamGateway
	}
	maxPending := r.MaxPending
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	id, err := newID()
	if err != nil {
		return Approval{}, err
	}
	ttl := r.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	excerpt := r.Excerpt
	if len(excerpt) > maxExcerpt {
		excerpt = strings.ToValidUTF8(excerpt[:maxExcerpt], "") + "…"
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	a, err := s.store.CreateApproval(ctx, Approval{
		ID: id, RequestID: r.RequestID, Principal: r.Principal, Upstream: r.Upstream, Delegates: r.Delegates,
		Tool: r.Tool, Class: r.Class, Arguments: r.Arguments, ArgsDigest: digest, PolicyVersion: r.PolicyVersion,
		Rule: r.Rule, Require: r.Require, Excerpt: excerpt,
	}, ttl, maxPending)
	if errors.Is(err, ErrLimit) {
		return Approval{}, &brightline.Error{Code: brightline.CodeRateLimited, RetryAfter: time.Minute,
			Message: fmt.Sprintf("%s already has %d tool calls waiting for approval, the most the policy allows; "+
				"wait for a decision on them before asking for more", r.Principal.Who(), maxPending),
			Err: fmt.Errorf("couldn't hold call to %q: %w: %w", r.Tool, ErrTooManyPending, err)}
	}
	if err != nil {
		return Approval{}, fmt.Errorf("couldn't hold call to %q: %w", r.Tool, err)
	}
	if err := s.record(ctx, Event{Approval: a, Type: EventCreated}); err != nil {
		// Nobody may act on an approval the log never saw: retire it. It
		// is unusable whether or not this succeeds, since it never reached
		// the requester.
		_, uerr := s.store.UpdateApproval(context.WithoutCancel(ctx), id, func(a *Approval, now time.Time) error {
			a.Status, a.DecidedAt = StatusExpired, &now
			return nil
		})
		return Approval{}, fmt.Errorf("couldn't hold call to %q: %w: %w", r.Tool, ErrNotRecorded, errors.Join(err, uerr))
	}
	s.notify()
	return a, nil
}

// Get returns approval id, expiring it first if it is pending past its
// expiry.
func (s *Service) Get(ctx context.Context, id string) (Approval, error) {
	a, err := s.store.GetApproval(ctx, id)
	if err != nil {
		return a, err
	}
	if a.Status == StatusPending && !s.now().Before(a.ExpiresAt) {
		return s.expire(ctx, id)
	}
	return a, nil
}

// List returns the approvals with status, or all if status is empty, in
// the order they were created, after expiring those pending past their
// expiry.
func (s *Service) List(ctx context.Context, status Status) ([]Approval, error) {
	if _, err := s.Sweep(ctx); err != nil {
		return nil, err
	}
	return s.store.ListApprovals(ctx, status)
}

// Sweep expires every pending approval past its expiry and returns how
// many it expired. Get, List and Wait expire lazily; calling Sweep now and
// then records expiries that nobody looks at.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	pending, err := s.store.ListApprovals(ctx, StatusPending)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.now()
	for _, a := range pending {
		if now.Before(a.ExpiresAt) {
			continue
		}
		b, err := s.expire(ctx, a.ID)
		if err != nil {
			return n, err
		}
		if b.Status == StatusExpired {
			n++
		}
	}
	return n, nil
}

// RunSweeper calls [Service.Sweep] every interval until ctx is done, and
// then returns nil. A failed sweep is logged and retried at the next tick.
// Run it in the server's errgroup so that expiries are recorded even when
// nobody looks at the queue.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "approvals: couldn't expire overdue approvals", "err", err)
			}
		}
	}
}

// expire moves id from pending to expired if the store's clock says it is
// due, and returns it as it then stands.
func (s *Service) expire(ctx context.Context, id string) (Approval, error) {
	return s.change(ctx, id, "", func(a *Approval, now time.Time) error {
		if a.Status != StatusPending || now.Before(a.ExpiresAt) {
			return errNoChange
		}
		a.Status, a.DecidedAt = StatusExpired, &now
		return nil
	})
}

// errNoChange tells change that fn found nothing to do.
var errNoChange = errors.New("no change")

// change applies fn to approval id atomically in the store, records the
// change, and undoes it if recording fails. fn returning errNoChange
// leaves the approval as it is and change returns it with no error; any
// other error from fn is returned. by is the deciding principal's id.
func (s *Service) change(ctx context.Context, id, by string, fn func(a *Approval, now time.Time) error) (Approval, error) {
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	var before Approval
	noChange := false
	after, err := s.store.UpdateApproval(ctx, id, func(a *Approval, now time.Time) error {
		before = *a
		before.Votes = slices.Clone(a.Votes)
		err := fn(a, now)
		if err == errNoChange {
			noChange = true
		}
		return err
	})
	if noChange {
		return before, nil
	}
	if err != nil {
		return before, err
	}
	ev := Event{Approval: after, Type: eventType(before, after), By: by}
	if ev.Type == EventExpired {
		ev.By = "" // time expired it, whoever looked
	}
	if err := s.record(ctx, ev); err != nil {
		_, uerr := s.store.UpdateApproval(context.WithoutCancel(ctx), id, func(a *Approval, _ time.Time) error {
			if a.Status != after.Status || len(a.Votes) != len(after.Votes) {
				return fmt.Errorf("approval %q changed before its %s could be undone", id, ev.Type)
			}
			a.Status, a.Votes, a.DecidedAt, a.ConsumedAt = before.Status, before.Votes, before.DecidedAt, before.ConsumedAt
			return nil
		})
		return before, fmt.Errorf("couldn't record %s of approval %q: %w: %w", ev.Type, id, ErrNotRecorded, errors.Join(err, uerr))
	}
	s.notify()
	return after, nil
}

func eventType(before, after Approval) string {
	if before.Status == after.Status {
		return EventVote
	}
	switch after.Status {
	case StatusApproved:
		return EventApproved
	case StatusDenied:
		return EventDenied
	case StatusExpired:
		return EventExpired
	case StatusConsumed:
		return EventConsumed
	}
	return string(after.Status)
}

// CanDecide reports why p may not vote on a, or nil if it may: p must hold
// the required role and must not be the requester's person, whichever key
// either of them uses.
func CanDecide(p brightline.Principal, a Approval) error {
	if p.ID == "" || !p.HasRole(a.Require.Role) {
		return fmt.Errorf("%w: %q lacks role %q", ErrForbidden, p.ID, a.Require.Role)
	}
	if p.ID == a.Principal.ID || p.Who() == a.Principal.Who() {
		return fmt.Errorf("%w: %q (%s) requested this call and cannot decide it", ErrForbidden, p.ID, p.Who())
	}
	return nil
}

// CanView reports whether p may see a: the requester's person, the
// delegates and anyone who may decide it can.
func CanView(p brightline.Principal, a Approval) bool {
	return p.ID != "" && (p.ID == a.Principal.ID || MayPresent(p, a) || p.HasRole(a.Require.Role))
}

// decidable checks, inside a store update, that a may still be decided
// and by whom. An approval past its expiry is expired instead, and
// *expired is set so that the caller reports ErrExpired once that is
// recorded.
func decidable(a *Approval, now time.Time, by brightline.Principal, expired *bool) error {
	if a.Status != StatusPending {
		return fmt.Errorf("%w: it is %s", ErrNotPending, a.Status)
	}
	if !now.Before(a.ExpiresAt) {
		a.Status, a.DecidedAt = StatusExpired, &now
		*expired = true
		return nil
	}
	return CanDecide(by, *a)
}

// Approve records by's approval of id. When Require.Count distinct
// persons have approved, the approval becomes approved: a second key of a
// person who approved counts for nothing. Approving twice counts once: the
// second call changes nothing and returns the approval.
// It returns an error wrapping ErrForbidden if by lacks the role or
// requested the call, ErrNotPending if it was already decided, and
// ErrExpired if it expired (which is then recorded).
func (s *Service) Approve(ctx context.Context, id string, by brightline.Principal) (Approval, error) {
	expired := false
	a, err := s.change(ctx, id, by.ID, func(a *Approval, now time.Time) error {
		if err := decidable(a, now, by, &expired); err != nil || expired {
			return err
		}
		approvers := map[string]bool{} // persons
		for _, v := range a.Votes {
			if v.Approve {
				approvers[v.By.Who()] = true
			}
		}
		if approvers[by.Who()] {
			return errNoChange
		}
		a.Votes = append(a.Votes, Vote{By: by, At: now, Approve: true})
		if len(approvers)+1 >= a.Require.Count {
			a.Status, a.DecidedAt = StatusApproved, &now
		}
		return nil
	})
	if err == nil && expired {
		err = fmt.Errorf("couldn't approve %q: %w", id, ErrExpired)
	}
	return a, err
}

// Deny records by's denial of id with reason, which is required. One
// denial denies the approval. Errors are as for [Service.Approve], plus
// ErrReasonRequired.
func (s *Service) Deny(ctx context.Context, id string, by brightline.Principal, reason string) (Approval, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Approval{}, fmt.Errorf("couldn't deny %q: %w", id, ErrReasonRequired)
	}
	expired := false
	a, err := s.change(ctx, id, by.ID, func(a *Approval, now time.Time) error {
		if err := decidable(a, now, by, &expired); err != nil || expired {
			return err
		}
		a.Votes = append(a.Votes, Vote{By: by, At: now, Approve: false, Reason: reason})
		a.Status, a.DecidedAt = StatusDenied, &now
		return nil
	})
	if err == nil && expired {
		err = fmt.Errorf("couldn't deny %q: %w", id, ErrExpired)
	}
	return a, err
}

// FindApproved returns an approved, unconsumed, unexpired approval of the
// call principalID made with digest (see [Digest]) bound to upstream, or an
// error wrapping brightline.ErrNotFound. The MCP proxy uses it to find the
// approval of a call an agent retries.
func (s *Service) FindApproved(ctx context.Context, principalID, digest, upstream string) (Approval, error) {
	return s.store.FindApproved(ctx, principalID, digest, upstream)
}

// Wait returns approval id once it is no longer pending, or when ctx is
// done, with ctx's error and the approval as last seen. It notices changes
// made in this process at once, expiry at its time, and changes made by
// other processes within the poll interval.
func (s *Service) Wait(ctx context.Context, id string) (Approval, error) {
	for {
		ch := s.changes() // before reading, so no change is missed
		a, err := s.Get(ctx, id)
		if err != nil || a.Status != StatusPending {
			return a, err
		}
		d := min(s.poll, max(a.ExpiresAt.Sub(s.now()), time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return a, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// newID returns "apr_" and a ULID: 48 bits of milliseconds, then 80
// random bits, in Crockford base32.
func newID() (string, error) {
	var u [16]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	if _, err := rand.Read(u[6:]); err != nil {
		return "", fmt.Errorf("couldn't read random bytes for an approval id: %w", err)
	}
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	hi := binary.BigEndian.Uint64(u[0:8])
	lo := binary.BigEndian.Uint64(u[8:16])
	out := []byte("apr_00000000000000000000000000")
	for i := 25; i >= 0; i-- {
		out[4+i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out), nil
}
