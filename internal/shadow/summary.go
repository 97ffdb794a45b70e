package shadow

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// Summary sums up the shadow results of one route and candidate.
// Rates are fractions in [0, 1]. A rate whose denominator is 0 is 0, never
// NaN; the count beside it (Samples, Compared, ToolSamples) tells the
// difference.
type Summary struct {
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

// ResultScanner is the part of the store that [Stats] reads.
// [store.ShadowResults] implements it.
type ResultScanner interface {
	// ScanShadowResults calls fn with each result for route (every route
	// if empty) recorded at or after since, in any order; Detail may be
	// zero. Safe to retry; a retry calls fn again.
	ScanShadowResults(ctx context.Context, route string, since time.Time, fn func(store.ShadowResult)) error
}

// Stats sums up the shadow results kept in a store.
type Stats struct {
	Store ResultScanner
}

// ShadowSummaries sums up the results recorded at or after since, one
// [Summary] per route and candidate that has any, ordered by route then
// candidate; none is an empty slice, not nil. An empty route means every
// route. Safe to retry.
func (s Stats) ShadowSummaries(ctx context.Context, route string, since time.Time) ([]Summary, error) {
	var z Summarizer
	if err := s.Store.ScanShadowResults(ctx, route, since, z.Add); err != nil {
		return nil, err
	}
	return z.Summaries(), nil
}

// Summarizer builds [Summary] values from results fed one at a
// time, so that summaries need not hold every result. The zero value is
// ready to use; it is not safe for concurrent use.
type Summarizer struct {
	groups map[[2]string]*summaryGroup
}

type summaryGroup struct {
	s                   Summary
	primaryOK, candOK   int
	toolAgree, refAgree int
	simSum              float64
	primaryLat, candLat []time.Duration
}

// Add counts r.
func (z *Summarizer) Add(r store.ShadowResult) {
	if z.groups == nil {
		z.groups = make(map[[2]string]*summaryGroup)
	}
	k := [2]string{r.Route, r.Candidate}
	g := z.groups[k]
	if g == nil {
		g = &summaryGroup{s: Summary{Route: r.Route, Candidate: r.Candidate, First: r.At, Last: r.At}}
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
func (z *Summarizer) Summaries() []Summary {
	out := make([]Summary, 0, len(z.groups))
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
	slices.SortFunc(out, func(a, b Summary) int {
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
