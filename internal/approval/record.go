package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightline/brightline"
)

// ErrPrecondition is returned when a conditional write finds the record not
// in the state it requires, such as consuming an approval that is not
// approved. Nothing was written.
var ErrPrecondition = errors.New("record is not in the required state")

// ErrLimit is returned when a write would take a caller past a limit, such
// as holding more pending approvals for one person than the policy allows.
// Nothing was written.
var ErrLimit = errors.New("over the limit")

// Status is where an approval stands. Pending is the only state
// that votes can change; approved becomes consumed once; denied, expired
// and consumed are final.
type Status string

// The approval states.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusDenied   Status = "denied"
	StatusExpired  Status = "expired"
	StatusConsumed Status = "consumed"
)

// Valid reports whether s is one of the approval states.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDenied, StatusExpired, StatusConsumed:
		return true
	}
	return false
}

// Requirement says who must approve: Count distinct persons (see
// [brightline.Principal.Who]) holding Role ("two-person rule": Count 2).
// Two keys of one person count once.
type Requirement struct {
	Role  string
	Count int
}

// Vote is one approver's decision on a pending approval.
type Vote struct {
	By      brightline.Principal // authenticated approver
	At      time.Time            // the store's time when the vote was recorded
	Approve bool                 // false: a denial
	Reason  string               // required for a denial
}

// Approval is a tool call held until humans approve it, and where it
// stands. The [Service] runs the state machine; the [Store] only keeps
// records and makes each change atomic.
type Approval struct {
	ID        string
	RequestID string
	Principal brightline.Principal // the requester
	// Upstream names where the call may run, and nowhere else: for the
	// MCP proxy "mcp:" and the upstream's name and server identity (its
	// URL or command); for the gateway "gateway:" and the provider route
	// that produced the call. See [MCPUpstream] and [GatewayUpstream].
	Upstream string
	// Delegates are the persons (see [brightline.Principal.Who]), besides
	// the requester's, who may run the approved call. Shown to approvers.
	Delegates     []string
	Tool          string
	Class         string          // the tool's effect class
	Arguments     json.RawMessage // a JSON object, kept byte for byte
	ArgsDigest    string          // hex SHA-256 of the canonical call
	PolicyVersion int64
	Rule          string // the policy rule that required approval
	Require       Requirement
	Status        Status
	Votes         []Vote // in the order they were cast
	Excerpt       string // conversation excerpt shown to approvers
	CreatedAt     time.Time
	ExpiresAt     time.Time
	DecidedAt     *time.Time // when it became approved, denied or expired
	ConsumedAt    *time.Time
}

// Validate reports what is wrong with creating a, or nil. Implementations
// of [Store.CreateApproval] call it so that they all reject the same
// inputs.
func (a Approval) Validate() error {
	switch {
	case a.ID == "":
		return errors.New("approval id is empty")
	case a.Principal.ID == "":
		return fmt.Errorf("approval %q has no requesting principal", a.ID)
	case a.Tool == "":
		return fmt.Errorf("approval %q has no tool name", a.ID)
	case a.Upstream == "":
		return fmt.Errorf("approval %q is bound to no upstream", a.ID)
	case a.ArgsDigest == "":
		return fmt.Errorf("approval %q has no argument digest", a.ID)
	case a.Require.Role == "" || a.Require.Count < 1:
		return fmt.Errorf("approval %q requires %d approvers with role %q; want a role and a count of at least 1", a.ID, a.Require.Count, a.Require.Role)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(a.Arguments, &obj); err != nil || obj == nil {
		return fmt.Errorf("approval %q: arguments are not a JSON object", a.ID)
	}
	p := a.Principal
	fields := append([]string{a.ID, a.RequestID, a.Upstream, a.Tool, a.Class, a.ArgsDigest, a.Rule, a.Require.Role, a.Excerpt,
		p.ID, p.Name, p.Person, p.Org, p.Purpose}, p.Roles...)
	fields = append(fields, a.Delegates...)
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
			return fmt.Errorf("approval %q has a field that is not valid UTF-8 text: %q", a.ID, f)
		}
	}
	return nil
}

// Store keeps tool calls held for approval; the SQLite and PostgreSQL
// stores implement it, and store/storetest checks them.
//
// Every method may return an error wrapping the context's error when ctx
// is done, and other errors for storage failures; those are never
// brightline.ErrNotFound, store.ErrExists, ErrPrecondition or ErrLimit.
// Times are the store's own, in microseconds, UTC.
type Store interface {
	// CreateApproval stores a as pending. The store sets CreatedAt from its
	// clock, ExpiresAt to CreatedAt+ttl, Status to pending and clears
	// Votes, DecidedAt and ConsumedAt, and returns the record as stored.
	// If maxPending > 0 and the requester's person (a.Principal.Who())
	// already has maxPending approvals pending and unexpired at the store's
	// time, it stores nothing and returns an error wrapping ErrLimit; the
	// count and the insert are atomic, so concurrent creations cannot pass
	// the limit together. It returns an error wrapping store.ErrExists if the id
	// was used before, and a validation error (see [Approval.Validate]) or
	// one for ttl <= 0 that wraps none of these.
	CreateApproval(ctx context.Context, a Approval, ttl time.Duration, maxPending int) (Approval, error)

	// GetApproval returns the approval id, or an error wrapping
	// brightline.ErrNotFound. It does not change it, even when it is past
	// its expiry. Safe to retry.
	GetApproval(ctx context.Context, id string) (Approval, error)

	// ListApprovals returns the approvals with the given status, every
	// approval if status is empty, in the order they were created. An
	// empty result is an empty slice. Safe to retry.
	ListApprovals(ctx context.Context, status Status) ([]Approval, error)

	// UpdateApproval reads approval id, calls fn with it and the store's
	// current time, and stores what fn left in Status, Votes, DecidedAt and
	// ConsumedAt; changes to other fields are ignored. The read, fn and
	// the write are one atomic step: no other change to the approval comes
	// between them. If fn returns an error nothing is written and that
	// error is returned unwrapped. fn must be quick and do no I/O: it runs
	// while the store holds its write lock. It returns the approval as
	// stored, or an error wrapping brightline.ErrNotFound.
	UpdateApproval(ctx context.Context, id string, fn func(a *Approval, now time.Time) error) (Approval, error)

	// ConsumeApproval moves approval id from approved to consumed, setting
	// ConsumedAt, in one compare-and-swap that also checks that it has not
	// expired at the store's current time, that its digest is digest and
	// that it is bound to upstream.
	// Of any number of concurrent calls, at most one succeeds. On refusal
	// it returns the approval as it stands and an error wrapping
	// ErrPrecondition; for an unknown id, one wrapping
	// brightline.ErrNotFound.
	ConsumeApproval(ctx context.Context, id, digest, upstream string) (Approval, error)

	// FindApproved returns the newest approval of principalID's call with
	// that digest, bound to upstream, which is approved, unconsumed and
	// unexpired at the store's current time, or an error wrapping
	// brightline.ErrNotFound. Safe to retry.
	FindApproved(ctx context.Context, principalID, digest, upstream string) (Approval, error)
}
