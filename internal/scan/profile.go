package scan

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var profileFS embed.FS

// Profile describes how one AI vendor shows up in a code tree. Profiles ship
// as YAML under profiles/; see profiles/anthropic.yaml for the field notes.
type Profile struct {
	Name     string       `yaml:"name" json:"name"`
	Title    string       `yaml:"title" json:"title"`
	Packages []PackageRef `yaml:"packages" json:"packages"`
	Actions  []ActionRef  `yaml:"actions" json:"actions"`
	IaC      IaCRefs      `yaml:"iac" json:"iac"`
	Patterns []Pattern    `yaml:"patterns" json:"patterns"`
	Keys     []string     `yaml:"keys" json:"keys"`

	keyRes []*regexp.Regexp
	hash   string
}

// PackageRef is one dependency name in one ecosystem. A Name ending in "/*"
// (npm scope, composer vendor) or ":*" (Maven group) matches the whole scope.
type PackageRef struct {
	Eco   Ecosystem `yaml:"eco" json:"eco"`
	Name  string    `yaml:"name" json:"name"`
	Depth Depth     `yaml:"depth" json:"depth"`
}

// ActionRef is a GitHub Action, "owner/repo" or "owner/*".
type ActionRef struct {
	Name string `yaml:"name" json:"name"`
}

// IaCRefs lists Terraform provider sources ("namespace/name") and resource
// type prefixes that belong to the vendor.
type IaCRefs struct {
	Providers []string `yaml:"providers" json:"providers"`
	Resources []string `yaml:"resources" json:"resources"`
}

// Pattern is a source rule: it fires on a line that holds one of Anchors
// (case-insensitively) and matches Regexp.
type Pattern struct {
	ID        string   `yaml:"id" json:"id"`
	Kind      Kind     `yaml:"kind" json:"kind"`
	Component string   `yaml:"component" json:"component,omitempty"`
	Depth     Depth    `yaml:"depth" json:"depth"`
	Langs     []string `yaml:"langs" json:"langs,omitempty"`
	Anchors   []string `yaml:"anchors" json:"anchors"`
	Regexp    string   `yaml:"regexp" json:"regexp"`
	Examples  []string `yaml:"examples" json:"examples,omitempty"`
	Counter   []string `yaml:"counter" json:"counter,omitempty"`
	// Route marks a host that serves other vendors' models too (the
	// Bedrock runtime, Vertex AI): its findings are exposure only with
	// evidence of the vendor's models nearby, else possible routes (see
	// route.go).
	Route bool `yaml:"route" json:"route,omitempty"`

	re    *regexp.Regexp
	group int // index of the "c" group, or -1
}

// Vendors returns the names of the shipped profiles, sorted.
func Vendors() []string {
	entries, err := fs.ReadDir(profileFS, "profiles")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	slices.Sort(names)
	return names
}

// UnknownVendorError reports a vendor with no shipped profile.
type UnknownVendorError struct {
	Vendor string
	Known  []string
}

func (e *UnknownVendorError) Error() string {
	return fmt.Sprintf("unknown vendor %q: known vendors are %s", e.Vendor, strings.Join(e.Known, ", "))
}

// LoadProfile returns the shipped profile for vendor, or an
// *UnknownVendorError.
func LoadProfile(vendor string) (*Profile, error) {
	if !slices.Contains(Vendors(), vendor) {
		return nil, &UnknownVendorError{Vendor: vendor, Known: Vendors()}
	}
	b, err := profileFS.ReadFile("profiles/" + vendor + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("couldn't read profile %q: %w", vendor, err)
	}
	return ParseProfile(b)
}

// ParseProfile parses and compiles a profile in the YAML format of
// profiles/*.yaml.
func ParseProfile(b []byte) (*Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("couldn't parse profile: %w", err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("profile has no name")
	}
	for i := range p.Packages {
		pk := &p.Packages[i]
		if pk.Eco == "" || pk.Name == "" {
			return nil, fmt.Errorf("profile %s: package %d needs eco and name", p.Name, i)
		}
		if !pk.Depth.valid() {
			return nil, fmt.Errorf("profile %s: package %s: bad depth %q", p.Name, pk.Name, pk.Depth)
		}
	}
	for i := range p.Patterns {
		pt := &p.Patterns[i]
		re, err := regexp.Compile(pt.Regexp)
		if err != nil {
			return nil, fmt.Errorf("profile %s: pattern %s: %w", p.Name, pt.ID, err)
		}
		if len(pt.Anchors) == 0 {
			return nil, fmt.Errorf("profile %s: pattern %s has no anchors", p.Name, pt.ID)
		}
		if !pt.Kind.valid() || !pt.Depth.valid() {
			return nil, fmt.Errorf("profile %s: pattern %s: bad kind %q or depth %q", p.Name, pt.ID, pt.Kind, pt.Depth)
		}
		pt.re = re
		pt.group = re.SubexpIndex("c")
	}
	for _, k := range p.Keys {
		re, err := regexp.Compile(k)
		if err != nil {
			return nil, fmt.Errorf("profile %s: key pattern %q: %w", p.Name, k, err)
		}
		p.keyRes = append(p.keyRes, re)
	}
	// The canonical bytes are the profile re-encoded as JSON: field order is
	// fixed by the struct, so comments and YAML layout don't change the hash.
	canon, err := json.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode profile %s: %w", p.Name, err)
	}
	sum := sha256.Sum256(canon)
	p.hash = "sha256:" + hex.EncodeToString(sum[:])
	return &p, nil
}

// Hash returns "sha256:" and the hex SHA-256 of the profile's canonical
// bytes (its JSON encoding), so that an attestation names the exact profile.
func (p *Profile) Hash() string { return p.hash }

// matchPackage returns the profile's entry for a dependency, if any.
func (p *Profile) matchPackage(eco Ecosystem, name string) (PackageRef, bool) {
	for _, pk := range p.Packages {
		if pk.Eco != eco {
			continue
		}
		if packageMatches(eco, pk.Name, name) {
			return pk, true
		}
	}
	return PackageRef{}, false
}

func packageMatches(eco Ecosystem, want, got string) bool {
	switch eco {
	case EcoPyPI:
		want, got = normalizePyPI(want), normalizePyPI(got)
	case EcoNuGet, EcoComposer:
		want, got = strings.ToLower(want), strings.ToLower(got)
	}
	if scope, ok := strings.CutSuffix(want, "*"); ok {
		// "@scope/*" or "group:*": the separator is part of scope, so
		// "@anthropic-ai-fan/x" doesn't match "@anthropic-ai/*".
		return strings.HasPrefix(got, scope)
	}
	if got == want {
		return true
	}
	// A Go module path also covers its major-version suffixes.
	return eco == EcoGo && strings.HasPrefix(got, want+"/")
}

// normalizePyPI applies PEP 503 name normalization.
func normalizePyPI(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteByte(c)
	}
	return b.String()
}

func (p *Profile) matchAction(uses string) (string, bool) {
	// uses: owner/repo[/path]@ref
	name, _, _ := strings.Cut(uses, "@")
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return "", false
	}
	repo := parts[0] + "/" + parts[1]
	for _, a := range p.Actions {
		if strings.EqualFold(a.Name, repo) {
			return name, true
		}
		if owner, ok := strings.CutSuffix(a.Name, "/*"); ok && strings.EqualFold(owner, parts[0]) {
			return name, true
		}
	}
	return "", false
}

func (p *Profile) matchProvider(source string) bool {
	source = strings.ToLower(source)
	for _, s := range p.IaC.Providers {
		s = strings.ToLower(s)
		if s == source || strings.HasSuffix(source, "/"+s) {
			return true // "ns/name", or "registry.terraform.io/ns/name"
		}
		if !strings.Contains(source, "/") && s[strings.LastIndexByte(s, '/')+1:] == source {
			return true // provider "name" {...}
		}
	}
	return false
}

func (p *Profile) matchResource(typ string) bool {
	for _, r := range p.IaC.Resources {
		if strings.HasPrefix(typ, r) {
			return true
		}
	}
	return false
}
