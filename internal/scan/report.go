package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
)

// ToolName is the scanner's name in reports and attestations.
const ToolName = "brightline-scan"

// Version is the scanner's version: the module version it was built from,
// or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Group is the findings for one component.
type Group struct {
	Component string
	Kind      Kind
	Depth     Depth
	Ecosystem Ecosystem
	Findings  []Finding
}

// Groups gathers findings by component and kind, ordered by depth class and
// then component.
func Groups(fs []Finding) []Group {
	idx := map[string]int{}
	var gs []Group
	for _, f := range fs {
		k := string(f.Kind) + "\x00" + f.Component
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, Group{Component: f.Component, Kind: f.Kind, Depth: f.Depth, Ecosystem: f.Ecosystem})
		}
		g := &gs[i]
		// A component seen at several depths (a model ID in code and in
		// Terraform) is listed under its deepest: the lowest class index.
		if slices.Index(Depths, f.Depth) < slices.Index(Depths, g.Depth) {
			g.Depth = f.Depth
		}
		g.Findings = append(g.Findings, f)
	}
	slices.SortFunc(gs, func(a, b Group) int {
		return cmp.Or(
			cmp.Compare(slices.Index(Depths, a.Depth), slices.Index(Depths, b.Depth)),
			cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)),
			strings.Compare(a.Component, b.Component),
		)
	})
	return gs
}

// Summary counts findings per depth class, in [Depths] order; classes with
// no findings are included with 0.
func Summary(fs []Finding) []DepthCount {
	out := make([]DepthCount, len(Depths))
	for i, d := range Depths {
		out[i] = DepthCount{Depth: d, Label: d.Label()}
	}
	for _, f := range fs {
		if i := slices.Index(Depths, f.Depth); i >= 0 {
			out[i].Findings++
		}
	}
	for _, g := range Groups(fs) {
		if i := slices.Index(Depths, g.Depth); i >= 0 {
			out[i].Components++
		}
	}
	return out
}

// DepthCount is one line of the depth summary.
type DepthCount struct {
	Depth      Depth  `json:"depth"`
	Label      string `json:"label"`
	Components int    `json:"components"`
	Findings   int    `json:"findings"`
}

// Report is the JSON output.
type Report struct {
	Scanner      string `json:"scanner"`
	Version      string `json:"version"`
	Vendor       string `json:"vendor"`
	ProfileHash  string `json:"profile_hash"`
	Path         string `json:"path"`
	FilesScanned int    `json:"files_scanned"`
	BytesScanned int64  `json:"bytes_scanned"`
	FilesSkipped int    `json:"files_skipped"`
	// Summary counts the exposure: every finding but the possible routes.
	Summary []DepthCount `json:"summary"`
	// PossibleRoutes is how many findings are possible routes (hosts that
	// serve other vendors' models too, with no evidence of this vendor's
	// nearby); they are in Findings with possible_route set.
	PossibleRoutes int       `json:"possible_routes"`
	Findings       []Finding `json:"findings"`
	// Attestation is the signed "no exposure found" note, when there are no
	// findings and one was made.
	Attestation string `json:"attestation,omitempty"`
}

func newReport(res *Result, p *Profile, attestation []byte) Report {
	fs := res.Findings
	if fs == nil {
		fs = []Finding{}
	}
	return Report{
		Scanner: ToolName, Version: Version(), Vendor: p.Name, ProfileHash: p.Hash(),
		Path: res.Root, FilesScanned: len(res.Files), BytesScanned: res.Bytes, FilesSkipped: res.Skipped,
		Summary: Summary(Exposure(res.Findings)), PossibleRoutes: len(PossibleRoutes(res.Findings)), Findings: fs, Attestation: string(attestation),
	}
}

// WriteJSON writes the JSON report.
func WriteJSON(w io.Writer, res *Result, p *Profile, attestation []byte) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(newReport(res, p, attestation)); err != nil {
		return fmt.Errorf("couldn't write JSON report: %w", err)
	}
	return nil
}

// WriteTable writes the human report: the exposure grouped by component,
// each with its locations, then the possible routes, then the depth
// summary of the exposure, then the attestation if there is one.
func WriteTable(w io.Writer, res *Result, p *Profile, attestation []byte) error {
	title := p.Title
	if title == "" {
		title = p.Name
	}
	exposure, possible := Exposure(res.Findings), PossibleRoutes(res.Findings)
	gs := Groups(exposure)
	files := map[string]bool{}
	for _, f := range exposure {
		files[f.File] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s exposure in %s: %d findings, %d components, %d files (%d files, %s scanned)\n\n",
		title, res.Root, len(exposure), len(gs), len(files), len(res.Files), humanBytes(res.Bytes))
	if len(gs) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tKIND\tDEPTH\tECOSYSTEM\tWHERE\tEVIDENCE")
		for _, g := range gs {
			for i, f := range g.Findings {
				comp, kind, depth, eco := g.Component, string(g.Kind), g.Depth.Label(), string(g.Ecosystem)
				if i > 0 {
					comp, kind, depth, eco = "", "", "", ""
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s:%d\t%s\n", comp, kind, depth, eco, f.File, f.Line, f.Evidence)
			}
		}
		tw.Flush()
		b.WriteString("\n")
	}
	if len(possible) > 0 {
		fmt.Fprintf(&b, "Possible routes: %d findings of hosts that also serve other vendors' models, with no evidence of %s models\n"+
			"nearby (a model ID, SDK import or constant in the file, or the SDK in a manifest at or above it). Not counted as exposure.\n", len(possible), title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tWHERE\tEVIDENCE")
		for _, f := range possible {
			fmt.Fprintf(tw, "%s\t%s:%d\t%s\n", f.Component, f.File, f.Line, f.Evidence)
		}
		tw.Flush()
		b.WriteString("\n")
	}
	b.WriteString("Depth summary\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range Summary(exposure) {
		fmt.Fprintf(tw, "  %s\t%d components\t%d findings\n", s.Label, s.Components, s.Findings)
	}
	tw.Flush()
	switch {
	case len(exposure) == 0 && len(possible) > 0:
		fmt.Fprintf(&b, "\nNo %s exposure found; review the possible routes (no attestation is made while there are any).\n", title)
	case len(exposure) == 0:
		fmt.Fprintf(&b, "\nNo %s exposure found.\n", title)
	}
	if len(attestation) > 0 {
		b.WriteString("\n")
		b.Write(attestation)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("couldn't write report: %w", err)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
