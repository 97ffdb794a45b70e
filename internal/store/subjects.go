package store

import (
	"context"
	"time"
)

// Kinds of [SubjectState].
const (
	SubjectWindows  = "windows"  // distinct-subject window sketches
	SubjectProfiles = "profiles" // profile breadths
)

// SubjectState is one principal's persisted surveillance-safeguard state
// of one kind, as package subjects encodes it. It holds HMAC subject keys
// and sketches only, never identifiers.
type SubjectState struct {
	PrincipalID string
	Kind        string // SubjectWindows or SubjectProfiles
	Data        []byte
	// UpdatedAt is set by the store when it saves the state.
	UpdatedAt time.Time
	// Version is set by a [SubjectMerger]: it identifies the write that
	// stored the state, so a state rewritten since has another Version.
	// Versions of later writes are usually, not always, higher (see
	// [SubjectMerger.SubjectStatesSince]). Stores without merging leave
	// it zero.
	Version int64
}

// SubjectStates persists the surveillance safeguard's counters so that
// they survive restarts: a safeguard that forgets on restart can be reset
// by restarting the gateway.
type SubjectStates interface {
	// SaveSubjectStates stores each state, replacing the one with the same
	// principal and kind, all in one transaction. An unknown kind or an
	// empty principal is an error and nothing is saved.
	SaveSubjectStates(ctx context.Context, states []SubjectState) error
	// SubjectStates returns every stored state, ordered by principal and
	// kind.
	SubjectStates(ctx context.Context) ([]SubjectState, error)
}

// SubjectMerger is a [SubjectStates] that several gateway replicas share:
// each replica merges what it observed into the stored states and reads
// back what the others merged, so that every replica decides on the
// fleet's counts (see subjects.Sync). Merges of the surveillance state
// are unions, so merging the same state twice, or in another order, stores
// the same result: every method may be retried after an error.
type SubjectMerger interface {
	SubjectStates
	// MergeSubjectStates merges each state into the stored state of the
	// same principal and kind, all in one transaction. It locks the
	// stored states in (principal, kind) order, so that concurrent calls
	// with overlapping states serialise instead of deadlocking; calls
	// merge with the stored state (Data nil and Version zero if there is
	// none) and the given one; and stores what merge returns. It returns
	// the stored states with their new Version, in (principal, kind)
	// order. If merge fails, or a state has an empty principal, an unknown
	// kind or the same principal and kind as another, nothing is stored
	// and the error says which state. merge may be called again for the
	// same states if the store retries the transaction.
	MergeSubjectStates(ctx context.Context, states []SubjectState, merge func(stored, state SubjectState) ([]byte, error)) ([]SubjectState, error)
	// SubjectStatesSince returns the states written since a watermark,
	// ordered by principal and kind, and the watermark for the next call:
	// a first call with since zero returns every state, and a state
	// stored after a call returned next will be returned by the call with
	// next. It may return a state again that an earlier call returned;
	// merging is idempotent, and the caller can skip a state whose Version
	// it has already merged.
	SubjectStatesSince(ctx context.Context, since int64) (states []SubjectState, next int64, err error)
}
