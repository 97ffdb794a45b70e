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
