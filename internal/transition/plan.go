// Package transition rehearses moving the traffic one AI vendor serves to
// another, from the exposure inventory (internal/exposure), the configured
// routes and the shadow-mode results.
//
// [Rehearse] makes a [Plan]: the routes and principals affected, the
// features in use that the target vendor lacks or treats differently
// ([Capabilities]), the shadow-mode results so far, and a go/no-go for
// each route with its reasons. The thresholds are constants
// ([MinShadowSamples] and the rest). brightline transition plan
// (cmd/brightline) prints it.
package transition

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
)

// Thresholds a route's shadow results must meet for [Rehearse] to call it a go.
const (
	// MinShadowSamples is the fewest shadow comparisons that count as
	// evidence. Fewer cannot show a 99% success rate with any confidence.
	MinShadowSamples = 100
	// MinSuccessRate is the least fraction of shadow requests the
	// candidate must answer without error.
	MinSuccessRate = 0.99
	// MinToolSamples is the fewest compared samples with tool calls that
	// count as evidence for a route whose traffic uses tools.
	MinToolSamples = 20
	// MinToolAgreement is the least fraction of tool-calling samples in
	// which the candidate calls the same tools with valid arguments.
	MinToolAgreement = 0.95
	// MinRefusalAgreement is the least fraction of compared samples in
	// which the candidate refuses exactly when the current provider does.
	MinRefusalAgreement = 0.95
	// LowSimilarity is the mean answer similarity below which Rehearse adds a
	// note. Word-set similarity varies a lot between good answers, so it
	// never blocks a move on its own.
	LowSimilarity = 0.3
	// SlowerFactor is how many times the current provider's median latency
	// the candidate's may reach before Rehearse adds a note.
	SlowerFactor = 2.0
)

// ShadowSummaries reads shadow-mode results; [shadow.Stats] implements
// it. Pass a nil ShadowSummaries (an untyped nil interface)
// when shadow mode is not set up: every route then lacks shadow evidence.
type ShadowSummaries interface {
	// ShadowSummaries returns one summary per candidate for route (the
	// model name clients ask for) over the results recorded at or after
	// since. Safe to retry.
	ShadowSummaries(ctx context.Context, route string, since time.Time) ([]shadow.Summary, error)
}

// PrincipalUse is one principal's traffic in a plan.
type PrincipalUse struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Requests int64     `json:"requests"`
	LastUsed time.Time `json:"last_used"`
}

// Gap is a feature a route's traffic uses that the target vendor lacks or
// serves differently.
type Gap struct {
	Feature  string  `json:"feature"`
	Requests int64   `json:"requests"` // how many requests in the window used it
	Support  Support `json:"support"`
	Note     string  `json:"note,omitempty"`
}

// RoutePlan is the plan for one route.
type RoutePlan struct {
	// Route is the model name clients asked for. For a configured route
	// with no traffic in the window it is the configured name or glob.
	Route string `json:"route"`
	// ConfiguredAs is the configured route that serves Route, "" if none
	// does any more.
	ConfiguredAs string `json:"configured_as"`
	// Served lists the From vendor's "provider/model" that served Route.
	Served       []string       `json:"served"`
	Requests     int64          `json:"requests"`
	InputTokens  int64          `json:"input_tokens"`
	OutputTokens int64          `json:"output_tokens"`
	Principals   []PrincipalUse `json:"principals"`
	// Features counts the requests that used each feature.
	Features map[string]int64 `json:"features,omitempty"`
	// Targets lists the route's configured targets at the To vendor, as
	// "provider/model".
	Targets []string `json:"targets"`
	Gaps    []Gap    `json:"gaps"`
	// Shadow holds the shadow results for candidates at the To vendor, the
	// one with the most samples first; it is what the go/no-go used.
	Shadow []shadow.Summary `json:"shadow"`
	// Go is true when nothing in Reasons stands in the way.
	Go bool `json:"go"`
	// Reasons say why the route is a no-go; Notes are worth knowing but do
	// not block.
	Reasons []string `json:"reasons"`
	Notes   []string `json:"notes"`
}

// Plan rehearses moving every route served by From to To.
type Plan struct {
	From  string    `json:"from"`
	To    string    `json:"to"`
	Since time.Time `json:"since"`
	// Routes are the routes with traffic served by From in the window, and
	// the configured routes whose first target is at From, ordered by
	// requests, most first.
	Routes []RoutePlan `json:"routes"`
	// Principals are everyone whose traffic From served, most requests
	// first.
	Principals []PrincipalUse `json:"principals"`
	// Go is true when every route is a go.
	Go bool `json:"go"`
}

// Rehearse plans moving the traffic that vendor from served since since to
// vendor to (vendors as [vendor.Of] names them). It reads usage from st,
// the configuration from routes and shadow results from shadows, which may
// be nil. A route is a no-go when it has no target at to, when its traffic
// uses a feature to lacks or that [Capabilities] does not know, or when
// its shadow results miss a threshold (see [MinShadowSamples] and the
// rest); each reason is listed.
func Rehearse(ctx context.Context, st exposure.Reader, routes []exposure.RouteInfo, shadows ShadowSummaries, from, to string, since time.Time) (Plan, error) {
	if from == "" || to == "" {
		return Plan{}, errors.New("couldn't plan a transition: both the vendor to move from and the one to move to are needed")
	}
	if from == to {
		return Plan{}, fmt.Errorf("couldn't plan a transition from %s to itself", from)
	}
	usage, err := st.ExposureTotals(ctx, store.ExposureFilter{Since: since})
	if err != nil {
		return Plan{}, fmt.Errorf("couldn't plan a transition: %w", err)
	}
	idx := exposure.NewRoutes(routes)
	plan := Plan{From: from, To: to, Since: since, Routes: []RoutePlan{}, Principals: []PrincipalUse{}}

	byRoute := make(map[string]*RoutePlan)
	var order []*RoutePlan
	principals := make(map[string]*PrincipalUse)
	routePrincipals := make(map[[2]string]*PrincipalUse)
	for _, u := range usage {
		if idx.Vendor(u.Provider, u.ProviderType, u.Model) != from {
			continue
		}
		rp := byRoute[u.Route]
		if rp == nil {
			rp = &RoutePlan{Route: u.Route}
			byRoute[u.Route] = rp
			order = append(order, rp)
		}
		if s := u.Provider + "/" + u.Model; !slices.Contains(rp.Served, s) {
			rp.Served = append(rp.Served, s)
		}
		rp.Requests += u.Requests
		rp.InputTokens += u.InputTokens
		rp.OutputTokens += u.OutputTokens
		for f, n := range u.Features {
			if rp.Features == nil {
				rp.Features = make(map[string]int64)
			}
			rp.Features[f] += n
		}
		if principals[u.PrincipalID] == nil {
			principals[u.PrincipalID] = &PrincipalUse{ID: u.PrincipalID}
		}
		addUse(principals[u.PrincipalID], u)
		k := [2]string{u.Route, u.PrincipalID}
		if routePrincipals[k] == nil {
			routePrincipals[k] = &PrincipalUse{ID: u.PrincipalID}
		}
		addUse(routePrincipals[k], u)
	}
	for k, p := range routePrincipals {
		rp := byRoute[k[0]]
		rp.Principals = append(rp.Principals, *p)
	}

	// Configured routes that would send traffic to from, with none in the
	// window: moving them disrupts no one today, but they still need a plan.
	covered := make(map[string]bool)
	for _, rp := range order {
		if rt := idx.Match(rp.Route); rt != nil {
			covered[rt.Model] = true
		}
	}
	for _, rt := range routes {
		if covered[rt.Model] || len(rt.Targets) == 0 || rt.Targets[0].VendorFor(rt.Model) != from {
			continue
		}
		covered[rt.Model] = true
		rp := &RoutePlan{Route: rt.Model}
		byRoute[rt.Model] = rp
		order = append(order, rp)
	}

	plan.Go = true
	for _, rp := range order {
		if err := planRoute(ctx, idx, shadows, rp, from, to, since); err != nil {
			return Plan{}, err
		}
		plan.Go = plan.Go && rp.Go
		plan.Routes = append(plan.Routes, *rp)
	}
	slices.SortStableFunc(plan.Routes, func(a, b RoutePlan) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Route, b.Route))
	})
	for _, p := range principals {
		plan.Principals = append(plan.Principals, *p)
	}
	sortPrincipals(plan.Principals)
	return plan, nil
}

// addUse counts u into p.
func addUse(p *PrincipalUse, u store.ExposureUsage) {
	if u.PrincipalName != "" {
		p.Name = u.PrincipalName
	}
	p.Requests += u.Requests
	if u.LastUsed.After(p.LastUsed) {
		p.LastUsed = u.LastUsed
	}
}

func sortPrincipals(ps []PrincipalUse) {
	slices.SortFunc(ps, func(a, b PrincipalUse) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.ID, b.ID))
	})
}

// planRoute fills in rp's targets, gaps, shadow results and go/no-go.
func planRoute(ctx context.Context, idx *exposure.Routes, shadows ShadowSummaries, rp *RoutePlan, from, to string, since time.Time) error {
	sortPrincipals(rp.Principals)
	if rp.Principals == nil {
		rp.Principals = []PrincipalUse{}
	}
	slices.Sort(rp.Served)
	rp.Targets, rp.Gaps, rp.Shadow, rp.Reasons, rp.Notes = []string{}, []Gap{}, []shadow.Summary{}, []string{}, []string{}
	if rp.Served == nil {
		rp.Served = []string{}
	}
	if rp.Requests == 0 {
		rp.Notes = append(rp.Notes, fmt.Sprintf("no traffic in the window; the route would send traffic to %s", from))
	}

	// Targets at the new vendor, and the provider types that would serve
	// it: the same vendor through a cloud (Bedrock, Vertex) may lack
	// features its own API has.
	var hosts []string
	if rt := idx.Match(rp.Route); rt != nil {
		rp.ConfiguredAs = rt.Model
		for _, t := range rt.Targets {
			if t.VendorFor(rp.Route) == to {
				rp.Targets = append(rp.Targets, t.Provider+"/"+t.ModelFor(rp.Route))
				hosts = append(hosts, t.ProviderType)
			}
		}
	} else {
		rp.Reasons = append(rp.Reasons, "no configured route serves this model any more")
	}
	if rp.ConfiguredAs != "" && len(rp.Targets) == 0 {
		rp.Reasons = append(rp.Reasons, fmt.Sprintf("the route has no target at %s; add one", to))
	}

	// Features.
	for _, f := range exposure.AllFeatures {
		n := rp.Features[f]
		if n == 0 {
			continue
		}
		c := capabilityAt(to, hosts, f)
		if c.Support == Supported {
			continue
		}
		rp.Gaps = append(rp.Gaps, Gap{Feature: f, Requests: n, Support: c.Support, Note: c.Note})
		what := fmt.Sprintf("%d requests use %s, which %s", n, f, to)
		switch c.Support {
		case Missing:
			rp.Reasons = append(rp.Reasons, fmt.Sprintf("%s lacks: %s", what, c.Note))
		case Unknown:
			rp.Reasons = append(rp.Reasons, fmt.Sprintf("%s may not support (%s)", what, c.Note))
		case Differs:
			rp.Notes = append(rp.Notes, fmt.Sprintf("%s serves differently: %s", what, c.Note))
		}
	}
	// Features recorded that this version does not know.
	for f, n := range rp.Features {
		if n > 0 && !slices.Contains(exposure.AllFeatures, f) {
			rp.Gaps = append(rp.Gaps, Gap{Feature: f, Requests: n, Support: Unknown})
			rp.Reasons = append(rp.Reasons, fmt.Sprintf("%d requests use %s, which this version of Brightline cannot assess", n, f))
		}
	}

	// Shadow results.
	if shadows == nil {
		rp.Reasons = append(rp.Reasons, "no shadow results: shadow mode is not set up")
	} else {
		sums, err := shadows.ShadowSummaries(ctx, rp.Route, since)
		if err != nil {
			return fmt.Errorf("couldn't read shadow results for route %s: %w", rp.Route, err)
		}
		var others []string
		for _, s := range sums {
			p, m, _ := strings.Cut(s.Candidate, "/")
			if idx.Vendor(p, "", m) == to {
				rp.Shadow = append(rp.Shadow, s)
			} else {
				others = append(others, s.Candidate)
			}
		}
		slices.SortStableFunc(rp.Shadow, func(a, b shadow.Summary) int { return cmp.Compare(b.Samples, a.Samples) })
		if len(rp.Shadow) == 0 {
			msg := fmt.Sprintf("no shadow results from a candidate at %s in the window", to)
			if len(others) > 0 {
				msg += fmt.Sprintf(" (only from %s)", strings.Join(others, ", "))
			}
			rp.Reasons = append(rp.Reasons, msg)
		} else {
			rp.Reasons, rp.Notes = judgeShadow(rp.Shadow[0], rp.Features[exposure.FeatureTools] > 0, rp.Reasons, rp.Notes)
		}
	}
	rp.Go = len(rp.Reasons) == 0
	return nil
}

// judgeShadow applies the thresholds to s, the best shadow evidence for a
// route, adding to reasons and notes.
func judgeShadow(s shadow.Summary, usesTools bool, reasons, notes []string) ([]string, []string) {
	c := s.Candidate
	if s.Samples < MinShadowSamples {
		reasons = append(reasons, fmt.Sprintf("shadow: only %d samples from %s, want at least %d", s.Samples, c, MinShadowSamples))
		// Rates over a handful of samples say little; still report them.
	}
	if s.Samples > 0 && s.CandidateSuccessRate < MinSuccessRate {
		reasons = append(reasons, fmt.Sprintf("shadow: %s answered %s of requests, want at least %s", c, pct(s.CandidateSuccessRate), pct(MinSuccessRate)))
	}
	if usesTools {
		switch {
		case s.ToolSamples < MinToolSamples:
			reasons = append(reasons, fmt.Sprintf("shadow: only %d samples with tool calls, want at least %d", s.ToolSamples, MinToolSamples))
		case s.ToolAgreement < MinToolAgreement:
			reasons = append(reasons, fmt.Sprintf("shadow: tool calls agree in %s of samples, want at least %s", pct(s.ToolAgreement), pct(MinToolAgreement)))
		}
	}
	if s.Compared > 0 && s.RefusalAgreement < MinRefusalAgreement {
		reasons = append(reasons, fmt.Sprintf("shadow: refusals agree in %s of samples, want at least %s", pct(s.RefusalAgreement), pct(MinRefusalAgreement)))
	}
	if s.Compared > 0 && s.MeanSimilarity < LowSimilarity {
		notes = append(notes, fmt.Sprintf("shadow: answers are dissimilar (mean word overlap %.2f); read a sample before moving", s.MeanSimilarity))
	}
	if s.LatencyP50Primary > 0 && float64(s.LatencyP50Candidate) > SlowerFactor*float64(s.LatencyP50Primary) {
		notes = append(notes, fmt.Sprintf("shadow: %s is slower, median %v against %v", c, s.LatencyP50Candidate.Round(time.Millisecond), s.LatencyP50Primary.Round(time.Millisecond)))
	}
	return reasons, notes
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// supportRank orders levels of support from best to worst.
var supportRank = map[Support]int{Supported: 0, Differs: 1, Unknown: 2, Missing: 3}

// capabilityAt is how well vendor supports feature through the provider
// types hosts (the targets a route would use): the worst of them, since a
// request may go to any. With no hosts, the vendor's own API.
func capabilityAt(vendor string, hosts []string, feature string) Capability {
	if len(hosts) == 0 {
		return CapabilityVia(vendor, "", feature)
	}
	worst := CapabilityVia(vendor, hosts[0], feature)
	for _, h := range hosts[1:] {
		if c := CapabilityVia(vendor, h, feature); supportRank[c.Support] > supportRank[worst.Support] {
			worst = c
		}
	}
	return worst
}
