package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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

// ShadowSummary sums up the shadow results of one route and candidate.
// Rates are fractions in [0, 1]. A rate whose denominator is 0 is 0, never
// NaN; the count beside it (Samples, Compared, ToolSamples) tells the
// difference.
type ShadowSummary struct {
	Route     string
	Candidate string
	// Samples is the number of results.
	Samples int
	// PrimarySuccessRate and CandidateSuccessRate are the fractions of
	// samples in which each side answered.
	PrimarySuccessRate   float64
	CandidateSuccessRate float64
	// Compared is the number of samples in which both answered; refusal
	// agreement and similarity are over these.
	Compared int
	// ToolSamples is the number of compared samples in which a tool was
	// called; ToolAgreement is over these.
	ToolSamples      int
	ToolAgreement    float64
	RefusalAgreement float64
	MeanSimilarity   float64
	// LatencyP50Primary and LatencyP50Candidate are the medians over
	// samples in which that side answered (the lower middle value for an
	// even count); 0 when there are none.
	LatencyP50Primary   time.Duration
	LatencyP50Candidate time.Duration
	// First and Last are the times of the earliest and latest result.
	First, Last time.Time
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

	// ShadowSummaries sums up the results recorded at or after since, one
	// [ShadowSummary] per route and candidate that has any, ordered by
	// route then candidate; none is an empty slice, not nil. An empty
	// route means every route. Safe to retry.
	ShadowSummaries(ctx context.Context, route string, since time.Time) ([]ShadowSummary, error)
}

// ShadowSummarizer builds [ShadowSummary] values from results fed one at a
// time, so that every store computes them the same way. The zero value is
// ready to use; it is not safe for concurrent use.
type ShadowSummarizer struct {
	groups map[[2]string]*shadowGroup
}

type shadowGroup struct {
	s                   ShadowSummary
	primaryOK, candOK   int
	toolAgree, refAgree int
	simSum              float64
	primaryLat, candLat []time.Duration
}

// Add counts r.
func (z *ShadowSummarizer) Add(r ShadowResult) {
	if z.groups == nil {
		z.groups = make(map[[2]string]*shadowGroup)
	}
	k := [2]string{r.Route, r.Candidate}
	g := z.groups[k]
	if g == nil {
		g = &shadowGroup{s: ShadowSummary{Route: r.Route, Candidate: r.Candidate, First: r.At, Last: r.At}}
		z.groups[k] = g
	}
	g.s.Samples++
	if r.At.Before(g.s.First) {
		g.s.First = r.At
	}
	if r.At.After(g.s.Last) {
		g.s.Last = r.At
	}
	if r.PrimaryOK {
		g.primaryOK++
		g.primaryLat = append(g.primaryLat, r.PrimaryLatency)
	}
	if r.CandidateOK {
		g.candOK++
		g.candLat = append(g.candLat, r.CandidateLatency)
	}
	if r.ToolAgreement != nil {
		g.s.ToolSamples++
		if *r.ToolAgreement {
			g.toolAgree++
		}
	}
	if r.RefusalAgreement != nil {
		g.s.Compared++
		if *r.RefusalAgreement {
			g.refAgree++
		}
		if r.Similarity != nil {
			g.simSum += *r.Similarity
		}
	}
}

// Summaries returns one summary per route and candidate seen, ordered by
// route then candidate.
func (z *ShadowSummarizer) Summaries() []ShadowSummary {
	out := make([]ShadowSummary, 0, len(z.groups))
	for _, g := range z.groups {
		s := g.s
		s.PrimarySuccessRate = ratio(g.primaryOK, s.Samples)
		s.CandidateSuccessRate = ratio(g.candOK, s.Samples)
		s.ToolAgreement = ratio(g.toolAgree, s.ToolSamples)
		s.RefusalAgreement = ratio(g.refAgree, s.Compared)
		if s.Compared > 0 {
			s.MeanSimilarity = g.simSum / float64(s.Compared)
		}
		s.LatencyP50Primary = median(g.primaryLat)
		s.LatencyP50Candidate = median(g.candLat)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ShadowSummary) int {
		return cmp.Or(strings.Compare(a.Route, b.Route), strings.Compare(a.Candidate, b.Candidate))
	})
	return out
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// median returns the lower middle value of ds, sorting ds in place.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}
