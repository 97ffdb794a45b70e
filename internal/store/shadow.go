package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ShadowResult compares one primary answer with a candidate provider's
// answer to the same forwarded request (see internal/shadow). It holds no
// prompt or answer content: only outcomes, timings, stop reasons, tool
// names and the comparison.
//
// The agreement fields are only meaningful when both sides answered; they
// are nil otherwise, so that a failure is counted once, as a failure, and
// not again as a disagreement.
type ShadowResult struct {
	// ID is set by the store: increasing in the order results were
	// recorded.
	ID int64
	// Route is the model name the client asked for.
	Route string
	// Candidate names who answered in the shadow: "provider/model".
	Candidate string
	// At is set by the store from its own clock when the result is
	// recorded.
	At time.Time

	PrimaryOK        bool          // the primary answered without error
	CandidateOK      bool          // the candidate answered without error within its timeout
	PrimaryLatency   time.Duration // as the gateway measured it; microsecond precision
	CandidateLatency time.Duration // from sending to the whole answer (or the failure); microsecond precision

	// ToolAgreement is nil unless both answered and at least one called a
	// tool. It is true when both called the same set of tool names and
	// every candidate call's arguments are a JSON object.
	ToolAgreement *bool
	// RefusalAgreement is nil unless both answered. It is true when both
	// refused (stop reason refusal) or neither did.
	RefusalAgreement *bool
	// Similarity is nil unless both answered: the Jaccard index of the two
	// answers' lower-cased word sets, in [0, 1].
	Similarity *float64

	// Detail holds the small facts behind the comparison.
	Detail ShadowDetail
}

// ShadowDetail is what a [ShadowResult] keeps beyond the comparison, for an
// operator looking into a disagreement. None of it is content.
type ShadowDetail struct {
	PrimaryStop    string   `json:"primary_stop,omitempty"`    // stop reason
	CandidateStop  string   `json:"candidate_stop,omitempty"`  // stop reason
	PrimaryTools   []string `json:"primary_tools,omitempty"`   // tool names called, sorted, distinct
	CandidateTools []string `json:"candidate_tools,omitempty"` // tool names called, sorted, distinct
	// InvalidArguments counts candidate tool calls whose arguments are
	// not a JSON object.
	InvalidArguments int `json:"invalid_arguments,omitempty"`
	// PrimaryError and CandidateError classify a failure: "timeout",
	// "status 503", "canceled" or "error". Never the error's text, which
	// may quote the request.
	PrimaryError   string `json:"primary_error,omitempty"`
	CandidateError string `json:"candidate_error,omitempty"`
}

// Validate reports what is wrong with recording r, or nil.
// Implementations of [ShadowResults.RecordShadowResult] call it so that they
// all reject the same inputs.
func (r ShadowResult) Validate() error {
	if r.Route == "" {
		return errors.New("shadow result has an empty route")
	}
	if r.Candidate == "" {
		return fmt.Errorf("shadow result for route %q has an empty candidate", r.Route)
	}
	if r.PrimaryLatency < 0 || r.CandidateLatency < 0 {
		return fmt.Errorf("shadow result for route %q has a negative latency", r.Route)
	}
	if r.Similarity != nil && !(*r.Similarity >= 0 && *r.Similarity <= 1) {
		return fmt.Errorf("shadow result for route %q has similarity %v outside [0, 1]", r.Route, *r.Similarity)
	}
	d := r.Detail
	fields := []string{r.Route, r.Candidate, d.PrimaryStop, d.CandidateStop, d.PrimaryError, d.CandidateError}
	fields = append(fields, d.PrimaryTools...)
	fields = append(fields, d.CandidateTools...)
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
			return fmt.Errorf("shadow result for route %q has a field that is not valid UTF-8 text: %q", r.Route, f)
		}
	}
	return nil
}

// ShadowResults stores shadow-mode comparisons.
//
// Every method may return an error wrapping the context's error when ctx is
// done, and other errors for storage failures.
type ShadowResults interface {
	// RecordShadowResults stores rs in one write, all or none, setting
	// ID and At itself (r.ID and r.At are ignored; every result of one call
	// gets the same At). If any result is invalid (see
	// [ShadowResult.Validate]) none is stored and the error says which.
	// Retrying after an ambiguous failure may record rs twice; a duplicate
	// sample does not change a summary in a way that matters, so callers
	// may retry. An empty rs is a no-op.
	RecordShadowResults(ctx context.Context, rs []ShadowResult) error

	// ShadowResults returns up to limit results for route recorded at or
	// after since, newest first (by ID). An empty route means every route;
	// limit <= 0 means no limit. None is an empty slice, not nil. Safe to
	// retry.
	ShadowResults(ctx context.Context, route string, since time.Time, limit int) ([]ShadowResult, error)

	// ScanShadowResults calls fn with each result for route recorded at
	// or after since, in no particular order, and may leave Detail zero:
	// it is how shadow statistics read every result without holding them
	// all, and without decoding the detail they do not read. An empty route
	// means every route. fn must not call the store. Safe to retry, but a
	// retry calls fn again for the results the failed call gave it.
	ScanShadowResults(ctx context.Context, route string, since time.Time, fn func(ShadowResult)) error
}
