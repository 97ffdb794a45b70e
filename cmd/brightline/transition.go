package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/transition"
)

// openShadow starts shadow mode for the routes under shadow.routes, or
// returns nil if there are none. Each candidate gets a provider of its own,
// outside the router, so that no retry or failover clouds its results.
func openShadow(cfg *Config, st store.ShadowResults, reg prometheus.Registerer, log *slog.Logger) (*shadow.Mirror, error) {
	if len(cfg.Shadow.Routes) == 0 {
		return nil, nil
	}
	providers, err := buildProviders(cfg)
	if err != nil {
		return nil, err
	}
	cands := make(map[string]shadow.Candidate, len(cfg.Shadow.Routes))
	for route, sc := range cfg.Shadow.Routes {
		p, ok := providers[sc.Provider]
		if !ok {
			return nil, fmt.Errorf("shadow.routes[%s]: unknown provider %q", route, sc.Provider)
		}
		cands[route] = shadow.Candidate{Provider: p, Model: sc.Model, Sample: sc.Sample}
		log.Info("shadow mode: mirroring a sample of a route to a candidate", "route", route, "candidate", sc.Provider+"/"+sc.Model, "sample", sc.Sample)
	}
	return shadow.New(shadow.Config{
		Candidates:  cands,
		Store:       st,
		Concurrency: cfg.Shadow.Concurrency,
		Queue:       cfg.Shadow.Queue,
		Timeout:     cfg.Shadow.Timeout,
		Logger:      log,
		Registerer:  reg,
	})
}

// routeInfo describes the configured routes for the exposure reports and
// the transition plan: each target's provider, its type and base URL.
func routeInfo(cfg *Config) []exposure.RouteInfo {
	byName := map[string]ProviderConfig{}
	for _, p := range cfg.Providers {
		byName[p.Name] = p
	}
	out := make([]exposure.RouteInfo, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		ri := exposure.RouteInfo{Model: r.Model}
		for _, t := range r.Targets {
			p := byName[t.Provider]
			ri.Targets = append(ri.Targets, exposure.TargetInfo{Provider: p.Name, ProviderType: p.Type, BaseURL: p.BaseURL, Model: t.Model})
		}
		out = append(out, ri)
	}
	return out
}

// providerTypes maps provider names to their types, for exposure records.
func providerTypes(cfg *Config) map[string]string {
	m := make(map[string]string, len(cfg.Providers))
	for _, p := range cfg.Providers {
		m[p.Name] = p.Type
	}
	return m
}

const planUsage = `usage: brightline transition plan --from VENDOR --to VENDOR [flags]

Rehearse moving every route served by one vendor to another: the routes and
principals affected, the features in use that the target lacks, the
shadow-mode results so far, and a go/no-go for each route.

flags:
  --from VENDOR      the vendor to move off (required)
  --to VENDOR        the vendor to move to (required)
  --since WHEN       the traffic and shadow window (default 30d)
  --format FORMAT    table (default) or json
`

func runTransition(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "plan" {
		fmt.Fprintln(e.stderr, "usage: brightline transition [-config FILE] plan --from VENDOR --to VENDOR [--since 30d] [--format table|json]")
		return errUsage
	}
	return transitionPlan(ctx, args[1:], existingStore(cfg), routeInfo(cfg), e)
}

// transitionPlan runs `brightline transition plan`; args are those after
// "plan". It reads usage and shadow results from the store open opens.
// Whatever the plan's verdict, making it is a success.
func transitionPlan(ctx context.Context, args []string, open openExposureStore, routes []exposure.RouteInfo, e *env) error {
	fs := flag.NewFlagSet("transition plan", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, planUsage) }
	from := fs.String("from", "", "vendor to move off")
	to := fs.String("to", "", "vendor to move to")
	since := fs.String("since", "30d", "window")
	format := fs.String("format", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "brightline transition plan: unexpected argument %q\n\n%s", fs.Arg(0), planUsage)
		return errUsage
	}
	if *from == "" || *to == "" {
		fmt.Fprintf(e.stderr, "brightline transition plan: --from and --to are required\n\n%s", planUsage)
		return errUsage
	}
	if *from == *to {
		fmt.Fprintf(e.stderr, "brightline transition plan: --from and --to are both %q\n", *from)
		return errUsage
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(e.stderr, "brightline transition plan: unknown format %q: want table or json\n", *format)
		return errUsage
	}
	start, err := exposure.ParseSince(*since, time.Now())
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline transition plan: %v\n", err)
		return errUsage
	}
	db, err := open(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline transition plan: %v\n", err)
		return errFailed
	}
	defer db.Close()
	plan, err := transition.Rehearse(ctx, db, routes, shadow.Stats{Store: db}, *from, *to, start)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline transition plan: %v\n", err)
		return errFailed
	}
	if *format == "json" {
		err = writeIndented(e.stdout, plan)
	} else {
		err = writePlan(e.stdout, plan)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline transition plan: %v\n", err)
		return errFailed
	}
	return nil
}

// writePlan writes p for people.
func writePlan(w io.Writer, p transition.Plan) error {
	ew := &errWriter{w: w}
	ew.printf("Transition plan: %s -> %s, traffic since %s\n", p.From, p.To, p.Since.UTC().Format("2006-01-02 15:04 UTC"))
	ready := 0
	for _, r := range p.Routes {
		if r.Go {
			ready++
		}
	}
	switch {
	case len(p.Routes) == 0:
		ew.printf("Nothing to move: no route sends traffic to %s.\n", p.From)
	case p.Go:
		ew.printf("Overall: GO (%d of %d routes ready)\n", ready, len(p.Routes))
	default:
		ew.printf("Overall: NO-GO (%d of %d routes ready)\n", ready, len(p.Routes))
	}
	for _, r := range p.Routes {
		writeRoutePlan(ew, p.To, r)
	}
	if len(p.Principals) > 0 {
		ew.printf("\nPrincipals affected (%d):\n", len(p.Principals))
		for _, pu := range p.Principals {
			ew.printf("  %s: %d requests, last %s\n", principalLabel(pu), pu.Requests, pu.LastUsed.UTC().Format("2006-01-02 15:04"))
		}
	}
	return ew.err
}

// writeRoutePlan writes the plan r for one route to vendor to.
func writeRoutePlan(ew *errWriter, to string, r transition.RoutePlan) {
	verdict := "NO-GO"
	if r.Go {
		verdict = "GO"
	}
	ew.printf("\nRoute %s", r.Route)
	if r.ConfiguredAs != "" && r.ConfiguredAs != r.Route {
		ew.printf(" (configured as %s)", r.ConfiguredAs)
	}
	ew.printf(": %s\n", verdict)
	ew.printf("  traffic:    %d requests, tokens %s in / %s out, %d principals\n", r.Requests, compactCount(r.InputTokens), compactCount(r.OutputTokens), len(r.Principals))
	for _, pu := range r.Principals {
		ew.printf("              %s: %d requests, last %s\n", principalLabel(pu), pu.Requests, pu.LastUsed.UTC().Format("2006-01-02 15:04"))
	}
	if len(r.Served) > 0 {
		ew.printf("  served by:  %s\n", strings.Join(r.Served, ", "))
	}
	targets := "none"
	if len(r.Targets) > 0 {
		targets = strings.Join(r.Targets, ", ")
	}
	ew.printf("  targets at %s: %s\n", to, targets)
	if len(r.Features) > 0 {
		var fs []string
		for _, f := range slices.Sorted(maps.Keys(r.Features)) {
			fs = append(fs, fmt.Sprintf("%s %d", f, r.Features[f]))
		}
		ew.printf("  features:   %s\n", strings.Join(fs, ", "))
	}
	for _, g := range r.Gaps {
		ew.printf("  gap:        %s (%s, %d requests)", g.Feature, g.Support, g.Requests)
		if g.Note != "" {
			ew.printf(": %s", g.Note)
		}
		ew.printf("\n")
	}
	if len(r.Shadow) == 0 {
		ew.printf("  shadow:     no results from a candidate at %s\n", to)
	}
	for _, s := range r.Shadow {
		ew.printf("  shadow:     %s: %d samples, answered %s (primary %s), tool calls agree %s of %d, refusals agree %s, similarity %.2f, median %v vs %v\n",
			s.Candidate, s.Samples, pct(s.CandidateSuccessRate), pct(s.PrimarySuccessRate), pct(s.ToolAgreement), s.ToolSamples,
			pct(s.RefusalAgreement), s.MeanSimilarity, s.LatencyP50Candidate.Round(time.Millisecond), s.LatencyP50Primary.Round(time.Millisecond))
	}
	if len(r.Reasons) > 0 {
		ew.printf("  no-go because:\n")
		for _, s := range r.Reasons {
			ew.printf("    - %s\n", s)
		}
	}
	if len(r.Notes) > 0 {
		ew.printf("  notes:\n")
		for _, s := range r.Notes {
			ew.printf("    - %s\n", s)
		}
	}
}

func principalLabel(p transition.PrincipalUse) string {
	if p.Name == "" {
		return p.ID
	}
	return p.Name + " (" + p.ID + ")"
}

// errWriter keeps the first write error, so a long report can be written
// without checking each line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
