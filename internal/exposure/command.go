package exposure

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

const exposureUsage = `usage: brightline exposure [flags]

Which providers and models each principal's traffic used, its volume and
tokens, when it last used them, and whether its route could move to
another vendor.

flags:
  --vendor NAME      only traffic served by this vendor (anthropic, openai, google, xai, ...)
  --since WHEN       only traffic since WHEN: 30d, 12h, 2026-01-31 or an RFC 3339 time
  --principal ID     only this principal's traffic
  --format FORMAT    table (default) or json
`

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

// Store is what the commands read: the traffic inventory and the shadow
// results.
type Store interface {
	Reader
	ShadowSummaries
	Close() error
}

// OpenFunc opens the gateway's store for a command. It must refuse to
// create one: an empty new store would report "no exposure" for the wrong
// reason.
type OpenFunc func(context.Context) (Store, error)

// Command runs `brightline exposure`; args are those after "exposure". It
// reads the store open opens, and describes vendors with routes, the
// gateway's configuration. It returns the exit code: 0 on success, 1 if
// the command failed, 2 for a usage error.
func Command(ctx context.Context, args []string, open OpenFunc, routes []RouteInfo, stdout, stderr io.Writer) (exitCode int) {
	fs := flag.NewFlagSet("exposure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exposureUsage) }
	vendor := fs.String("vendor", "", "only this vendor")
	since := fs.String("since", "", "only traffic since")
	principal := fs.String("principal", "", "only this principal")
	format := fs.String("format", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "brightline exposure: unexpected argument %q\n\n%s", fs.Arg(0), exposureUsage)
		return 2
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(stderr, "brightline exposure: unknown format %q: want table or json\n", *format)
		return 2
	}
	f := Filter{Vendor: *vendor, Principal: *principal}
	if *since != "" {
		var err error
		if f.Since, err = ParseSince(*since, time.Now()); err != nil {
			fmt.Fprintf(stderr, "brightline exposure: %v\n", err)
			return 2
		}
	}
	db, err := open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "brightline exposure: %v\n", err)
		return 1
	}
	defer db.Close()
	rows, err := Report(ctx, db, routes, f)
	if err != nil {
		fmt.Fprintf(stderr, "brightline exposure: %v\n", err)
		return 1
	}
	if *format == "json" {
		err = writeIndented(stdout, Response{Vendor: f.Vendor, Since: f.Since, Principal: f.Principal, Rows: rows})
	} else {
		err = WriteTable(stdout, rows, f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "brightline exposure: %v\n", err)
		return 1
	}
	return 0
}

// PlanCommand runs `brightline transition plan`; args are those after
// "plan". It reads usage and shadow results from the store open opens. It
// returns the exit code: 0 when the plan was made (whatever its verdict),
// 1 if the command failed, 2 for a usage error.
func PlanCommand(ctx context.Context, args []string, open OpenFunc, routes []RouteInfo, stdout, stderr io.Writer) (exitCode int) {
	fs := flag.NewFlagSet("transition plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, planUsage) }
	from := fs.String("from", "", "vendor to move off")
	to := fs.String("to", "", "vendor to move to")
	since := fs.String("since", "30d", "window")
	format := fs.String("format", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "brightline transition plan: unexpected argument %q\n\n%s", fs.Arg(0), planUsage)
		return 2
	}
	if *from == "" || *to == "" {
		fmt.Fprintf(stderr, "brightline transition plan: --from and --to are required\n\n%s", planUsage)
		return 2
	}
	if *from == *to {
		fmt.Fprintf(stderr, "brightline transition plan: --from and --to are both %q\n", *from)
		return 2
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(stderr, "brightline transition plan: unknown format %q: want table or json\n", *format)
		return 2
	}
	start, err := ParseSince(*since, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "brightline transition plan: %v\n", err)
		return 2
	}
	db, err := open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "brightline transition plan: %v\n", err)
		return 1
	}
	defer db.Close()
	plan, err := Plan(ctx, db, routes, db, *from, *to, start)
	if err != nil {
		fmt.Fprintf(stderr, "brightline transition plan: %v\n", err)
		return 1
	}
	if *format == "json" {
		err = writeIndented(stdout, plan)
	} else {
		err = WritePlan(stdout, plan)
	}
	if err != nil {
		fmt.Fprintf(stderr, "brightline transition plan: %v\n", err)
		return 1
	}
	return 0
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes rows as a human-readable table, with a summary line
// that answers the --vendor question when f names a vendor.
func WriteTable(w io.Writer, rows []Row, f Filter) error {
	var window string
	if !f.Since.IsZero() {
		window = " since " + f.Since.UTC().Format("2006-01-02 15:04 UTC")
	}
	if len(rows) == 0 {
		what := "traffic"
		if f.Vendor != "" {
			what = f.Vendor + " traffic"
		}
		if f.Principal != "" {
			what += " from " + f.Principal
		}
		_, err := fmt.Fprintf(w, "No %s recorded%s.\n", what, window)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tVENDOR\tPROVIDER/MODEL\tROUTES\tREQUESTS\tTOKENS IN/OUT\tFIRST SEEN\tLAST USED\tALTERNATIVE")
	principals := map[string]bool{}
	movable := map[string]bool{}
	var requests int64
	first := rows[0].FirstSeen
	for _, r := range rows {
		principals[r.PrincipalID] = true
		requests += r.Requests
		if r.FirstSeen.Before(first) {
			first = r.FirstSeen
		}
		alt := "none"
		switch {
		case r.Alternative:
			alt = strings.Join(r.Alternatives, ", ")
		case len(r.Unrouted) > 0:
			alt = "route gone: " + strings.Join(r.Unrouted, ", ")
		case len(r.Alternatives) > 0:
			alt = "some routes: " + strings.Join(r.Alternatives, ", ")
		}
		if !r.Alternative {
			movable[r.PrincipalID] = false
		} else if _, seen := movable[r.PrincipalID]; !seen {
			movable[r.PrincipalID] = true
		}
		name := r.PrincipalID
		if r.PrincipalName != "" {
			name = r.PrincipalName + " (" + r.PrincipalID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%d\t%s/%s\t%s\t%s\t%s\n", name, r.Vendor, r.Provider, r.Model,
			strings.Join(r.Routes, ","), r.Requests, count(r.InputTokens), count(r.OutputTokens),
			r.FirstSeen.UTC().Format("2006-01-02"), r.LastUsed.UTC().Format("2006-01-02 15:04"), alt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ready := 0
	for _, ok := range movable {
		if ok {
			ready++
		}
	}
	subject := "Traffic"
	if f.Vendor != "" {
		subject = "Vendor " + f.Vendor
	}
	_, err := fmt.Fprintf(w, "\n%s: %d principals, %d requests%s, first seen %s; %d of %d principals have an alternative route for all of it.\n",
		subject, len(principals), requests, window, first.UTC().Format("2006-01-02"), ready, len(principals))
	return err
}

// count writes n compactly: 950, 12.3k, 4.5M.
func count(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// WritePlan writes p for people.
func WritePlan(w io.Writer, p TransitionPlan) error {
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
		verdict := "NO-GO"
		if r.Go {
			verdict = "GO"
		}
		ew.printf("\nRoute %s", r.Route)
		if r.ConfiguredAs != "" && r.ConfiguredAs != r.Route {
			ew.printf(" (configured as %s)", r.ConfiguredAs)
		}
		ew.printf(": %s\n", verdict)
		ew.printf("  traffic:    %d requests, tokens %s in / %s out, %d principals\n", r.Requests, count(r.InputTokens), count(r.OutputTokens), len(r.Principals))
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
		ew.printf("  targets at %s: %s\n", p.To, targets)
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
			ew.printf("  shadow:     no results from a candidate at %s\n", p.To)
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
	if len(p.Principals) > 0 {
		ew.printf("\nPrincipals affected (%d):\n", len(p.Principals))
		for _, pu := range p.Principals {
			ew.printf("  %s: %d requests, last %s\n", principalLabel(pu), pu.Requests, pu.LastUsed.UTC().Format("2006-01-02 15:04"))
		}
	}
	return ew.err
}

func principalLabel(p PrincipalUse) string {
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
