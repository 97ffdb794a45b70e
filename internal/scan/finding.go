package scan

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Kind says what sort of evidence a finding is.
type Kind string

// The finding kinds. Each is one SARIF rule.
const (
	KindPackage  Kind = "package"  // a dependency in a manifest or lockfile
	KindImport   Kind = "import"   // an import of the vendor's SDK or an integration
	KindConstant Kind = "constant" // an SDK model constant (ModelClaude…, CLAUDE_…)
	KindHost     Kind = "host"     // an API hostname or route
	KindModel    Kind = "model"    // a model ID
	KindEnv      Kind = "env"      // an environment variable name
	KindKey      Kind = "key"      // an API key (always redacted)
	KindAction   Kind = "action"   // a CI action
	KindResource Kind = "resource" // an IaC provider or resource
)

// Kinds lists every kind in a fixed order.
var Kinds = []Kind{KindPackage, KindImport, KindConstant, KindHost, KindModel, KindEnv, KindKey, KindAction, KindResource}

func (k Kind) valid() bool { return slices.Contains(Kinds, k) }

// Depth is how deeply a finding embeds the vendor: the classes of the depth
// summary.
type Depth string

// The depth classes.
const (
	DepthDirect    Depth = "direct"    // the vendor's own SDK
	DepthFramework Depth = "framework" // indirect, through a framework integration
	DepthRawAPI    Depth = "raw-api"   // calls to the vendor's hosts without an SDK
	DepthIaC       Depth = "iac"       // infrastructure as code
	DepthCI        Depth = "ci"        // CI workflows
	DepthConfig    Depth = "config"    // model IDs, variables and keys in code or config
)

// Depths lists every depth class in summary order.
var Depths = []Depth{DepthDirect, DepthFramework, DepthRawAPI, DepthIaC, DepthCI, DepthConfig}

func (d Depth) valid() bool { return slices.Contains(Depths, d) }

// Label is the depth class as the summary names it.
func (d Depth) Label() string {
	switch d {
	case DepthDirect:
		return "direct SDK"
	case DepthFramework:
		return "indirect via framework"
	case DepthRawAPI:
		return "raw API"
	case DepthIaC:
		return "IaC"
	case DepthCI:
		return "CI"
	case DepthConfig:
		return "config"
	}
	return string(d)
}

// Ecosystem names a package ecosystem, or for source findings the language's.
type Ecosystem string

// The ecosystems.
const (
	EcoGo        Ecosystem = "go"
	EcoNPM       Ecosystem = "npm"
	EcoPyPI      Ecosystem = "pypi"
	EcoCargo     Ecosystem = "cargo"
	EcoMaven     Ecosystem = "maven"
	EcoRubyGems  Ecosystem = "rubygems"
	EcoNuGet     Ecosystem = "nuget"
	EcoComposer  Ecosystem = "composer"
	EcoTerraform Ecosystem = "terraform"
	EcoActions   Ecosystem = "github-actions"
)

// Finding is one place the vendor shows up.
type Finding struct {
	Component string    `json:"component"` // package, host, model ID, variable, key label, action or resource
	Kind      Kind      `json:"kind"`
	Depth     Depth     `json:"depth"`
	Ecosystem Ecosystem `json:"ecosystem,omitempty"`
	File      string    `json:"file"` // slash-separated, relative to the scanned root
	Line      int       `json:"line"` // 1-based
	Evidence  string    `json:"evidence"`
	Rule      string    `json:"rule,omitempty"` // the profile pattern that fired, for source findings
	// PossibleRoute marks a host that serves other vendors' models too,
	// found with no evidence of this vendor's models nearby: reported, but
	// not exposure (see [Exposure]).
	PossibleRoute bool `json:"possible_route,omitempty"`
}

func sortFindings(fs []Finding) []Finding {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			strings.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(a.Component, b.Component),
		)
	})
	// Drop exact duplicates (a line seen through two anchors).
	return slices.CompactFunc(fs, func(a, b Finding) bool {
		return a.File == b.File && a.Line == b.Line && a.Kind == b.Kind && a.Component == b.Component
	})
}

// maxEvidence bounds an evidence snippet, in bytes.
const maxEvidence = 160

// redactor replaces API keys in evidence with their prefix and "***". It
// knows the key shapes of every shipped profile, not only the scanned
// vendor's, so a snippet never carries any vendor's key.
type redactor struct{ res []*regexp.Regexp }

// secretAssignment is a value given to a variable whose name says it is
// secret (…KEY, …TOKEN, …SECRET, …PASSWORD), as in a .env file, YAML or
// JSON. Its value is redacted whatever its shape, unless it is a reference
// (${…}, $VAR, {{ … }}) or code (a call) rather than the secret itself, or
// already redacted by a key pattern.
var secretAssignment = regexp.MustCompile(`(?i)(\b[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD)[A-Z0-9_]*["']?\s*[=:]\s*["']?)([^\s"'$\{<*()][^\s"',;*()]{3,})([\s"',;]|$)`)

var defaultRedactor = func() *redactor {
	r := &redactor{}
	for _, v := range Vendors() {
		if p, err := LoadProfile(v); err == nil {
			r.res = append(r.res, p.keyRes...)
		}
	}
	return r
}()

func (r *redactor) redact(s string) string {
	for _, re := range r.res {
		keep := re.SubexpIndex("keep")
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			prefix := ""
			if keep > 0 {
				if sm := re.FindStringSubmatch(m); sm != nil {
					prefix = sm[keep]
				}
			}
			return prefix + "***"
		})
	}
	return secretAssignment.ReplaceAllString(s, "${1}***${3}")
}

// evidence trims a line to a short snippet around [start, end) and redacts
// keys. Keys are redacted before trimming, so a cut can't expose a key's
// tail that the pattern would no longer recognise.
func evidence(line []byte, start, end int) string {
	s := strings.TrimSpace(defaultRedactor.redact(string(line)))
	if len(s) <= maxEvidence {
		return s
	}
	// The match moved when the line was redacted and trimmed; center on the
	// old offsets as a good guess, bounded to the string.
	mid := min(max((start+end)/2, 0), len(s))
	lo := max(mid-maxEvidence/2, 0)
	hi := min(lo+maxEvidence, len(s))
	lo = max(hi-maxEvidence, 0)
	// Don't cut inside a UTF-8 sequence.
	for lo > 0 && lo < len(s) && s[lo]&0xC0 == 0x80 {
		lo++
	}
	for hi < len(s) && hi > lo && s[hi]&0xC0 == 0x80 {
		hi--
	}
	out := s[lo:hi]
	if lo > 0 {
		out = "…" + out
	}
	if hi < len(s) {
		out += "…"
	}
	return out
}
