package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/shadow"
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

// exposureStore is what the exposure and transition commands read: the
// traffic inventory and the shadow results.
type exposureStore interface {
	exposure.Reader
	shadow.ResultScanner
	Close() error
}

// openExposureStore opens the gateway's store for a command. It must
// refuse to create one: an empty new store would report "no exposure" for
// the wrong reason.
type openExposureStore func(context.Context) (exposureStore, error)

func runExposure(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	return exposureReport(ctx, args, existingStore(cfg), routeInfo(cfg), e)
}

// exposureReport runs `brightline exposure`; args are those after
// "exposure". It reads the store open opens, and describes vendors with
// routes, the gateway's configuration.
func exposureReport(ctx context.Context, args []string, open openExposureStore, routes []exposure.RouteInfo, e *env) error {
	fs := flag.NewFlagSet("exposure", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, exposureUsage) }
	vendor := fs.String("vendor", "", "only this vendor")
	since := fs.String("since", "", "only traffic since")
	principal := fs.String("principal", "", "only this principal")
	format := fs.String("format", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "brightline exposure: unexpected argument %q\n\n%s", fs.Arg(0), exposureUsage)
		return errUsage
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(e.stderr, "brightline exposure: unknown format %q: want table or json\n", *format)
		return errUsage
	}
	f := exposure.Filter{Vendor: *vendor, Principal: *principal}
	if *since != "" {
		var err error
		if f.Since, err = exposure.ParseSince(*since, time.Now()); err != nil {
			fmt.Fprintf(e.stderr, "brightline exposure: %v\n", err)
			return errUsage
		}
	}
	db, err := open(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline exposure: %v\n", err)
		return errFailed
	}
	defer db.Close()
	rows, err := exposure.Report(ctx, db, routes, f)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline exposure: %v\n", err)
		return errFailed
	}
	if *format == "json" {
		err = writeIndented(e.stdout, exposure.Response{Vendor: f.Vendor, Since: f.Since, Principal: f.Principal, Rows: rows})
	} else {
		err = writeExposureTable(e.stdout, rows, f)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline exposure: %v\n", err)
		return errFailed
	}
	return nil
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeExposureTable writes rows as a human-readable table, with a
// summary line that answers the --vendor question when f names a vendor.
func writeExposureTable(w io.Writer, rows []exposure.Row, f exposure.Filter) error {
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
	for _, r := range rows {
		alt := "none"
		switch {
		case r.Alternative:
			alt = strings.Join(r.Alternatives, ", ")
		case len(r.Unrouted) > 0:
			alt = "route gone: " + strings.Join(r.Unrouted, ", ")
		case len(r.Alternatives) > 0:
			alt = "some routes: " + strings.Join(r.Alternatives, ", ")
		}
		name := r.PrincipalID
		if r.PrincipalName != "" {
			name = r.PrincipalName + " (" + r.PrincipalID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%d\t%s/%s\t%s\t%s\t%s\n", name, r.Vendor, r.Provider, r.Model,
			strings.Join(r.Routes, ","), r.Requests, compactCount(r.InputTokens), compactCount(r.OutputTokens),
			r.FirstSeen.UTC().Format("2006-01-02"), r.LastUsed.UTC().Format("2006-01-02 15:04"), alt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	subject := "Traffic"
	if f.Vendor != "" {
		subject = "Vendor " + f.Vendor
	}
	sum := exposure.Summarize(rows)
	_, err := fmt.Fprintf(w, "\n%s: %d principals, %d requests%s, first seen %s; %d of %d principals have an alternative route for all of it.\n",
		subject, sum.Principals, sum.Requests, window, sum.FirstSeen.UTC().Format("2006-01-02"), sum.Movable, sum.Principals)
	return err
}

// compactCount writes n compactly: 950, 12.3k, 4.5M.
func compactCount(n int64) string {
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
