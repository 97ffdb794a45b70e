package scan

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// WriteCycloneDX writes the findings as a CycloneDX 1.6 JSON BOM.
//
// Each component (per kind) becomes one BOM entry: packages, imports and SDK
// constants a library component (with a purl where there is a package
// name), model IDs a machine-learning-model, CI actions an application, IaC
// resources a platform, variables and keys a data component. Each carries
// its locations in evidence.occurrences (file, line, and the redacted
// snippet). Hosts become services; CycloneDX 1.6 gives services no evidence
// field, so their locations go in "brightline:occurrence" properties.
func WriteCycloneDX(w io.Writer, res *Result, p *Profile, now time.Time) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = newURNUUID()
	title := p.Title
	if title == "" {
		title = p.Name
	}
	treeName := filepath.Base(filepath.Clean(res.Root))
	if abs, err := filepath.Abs(res.Root); err == nil {
		treeName = filepath.Base(abs) // "." names nothing
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: ToolName, Version: Version(),
		}}},
		Component: &cdx.Component{
			BOMRef: "scanned-tree", Type: cdx.ComponentTypeApplication, Name: treeName,
		},
		Properties: &[]cdx.Property{
			{Name: "brightline:vendor", Value: p.Name},
			{Name: "brightline:profile-hash", Value: p.Hash()},
			{Name: "brightline:files-scanned", Value: fmt.Sprint(len(res.Files))},
		},
	}
	var comps []cdx.Component
	var svcs []cdx.Service
	var refs []string
	// Possible routes are listed after the exposure, marked with the
	// brightline:possible-route property.
	exposure := Groups(Exposure(res.Findings))
	for i, g := range append(exposure, Groups(PossibleRoutes(res.Findings))...) {
		ref := fmt.Sprintf("%s-%s-%d", p.Name, g.Kind, i+1)
		refs = append(refs, ref)
		props := []cdx.Property{
			{Name: "brightline:kind", Value: string(g.Kind)},
			{Name: "brightline:depth", Value: string(g.Depth)},
		}
		if i >= len(exposure) {
			props = append(props, cdx.Property{Name: "brightline:possible-route", Value: "true"})
		}
		if g.Ecosystem != "" {
			props = append(props, cdx.Property{Name: "brightline:ecosystem", Value: string(g.Ecosystem)})
		}
		if g.Kind == KindHost {
			for _, f := range g.Findings {
				props = append(props, cdx.Property{Name: "brightline:occurrence", Value: fmt.Sprintf("%s:%d", f.File, f.Line)})
			}
			svcs = append(svcs, cdx.Service{
				BOMRef: ref, Name: g.Component, Provider: &cdx.OrganizationalEntity{Name: title},
				Description: kindDescriptions[g.Kind][1], Properties: &props,
			})
			continue
		}
		var occ []cdx.EvidenceOccurrence
		for _, f := range g.Findings {
			line := f.Line
			occ = append(occ, cdx.EvidenceOccurrence{Location: f.File, Line: &line, AdditionalContext: f.Evidence})
		}
		c := cdx.Component{
			BOMRef: ref, Type: componentType(g.Kind), Name: g.Component,
			Supplier:    &cdx.OrganizationalEntity{Name: title},
			Description: kindDescriptions[g.Kind][1],
			PackageURL:  purl(g),
			Evidence:    &cdx.Evidence{Occurrences: &occ},
			Properties:  &props,
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	if len(svcs) > 0 {
		bom.Services = &svcs
	}
	if len(refs) > 0 {
		bom.Dependencies = &[]cdx.Dependency{{Ref: "scanned-tree", Dependencies: &refs}}
	}
	if err := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("couldn't write CycloneDX BOM: %w", err)
	}
	return nil
}

func componentType(k Kind) cdx.ComponentType {
	switch k {
	case KindModel:
		return cdx.ComponentTypeMachineLearningModel
	case KindAction:
		return cdx.ComponentTypeApplication
	case KindResource:
		return cdx.ComponentTypePlatform
	case KindEnv, KindKey:
		return cdx.ComponentTypeData
	}
	return cdx.ComponentTypeLibrary
}

// purl returns the package URL of a package or import group, or "".
func purl(g Group) string {
	if g.Kind != KindPackage && g.Kind != KindAction {
		return ""
	}
	name := g.Component
	esc := func(s string) string { return strings.ReplaceAll(url.PathEscape(s), "%2F", "/") }
	switch g.Ecosystem {
	case EcoNPM:
		return "pkg:npm/" + strings.Replace(esc(name), "@", "%40", 1)
	case EcoPyPI:
		return "pkg:pypi/" + esc(normalizePyPI(name))
	case EcoGo:
		return "pkg:golang/" + esc(name)
	case EcoMaven:
		if grp, art, ok := strings.Cut(name, ":"); ok {
			return "pkg:maven/" + esc(grp) + "/" + esc(art)
		}
	case EcoRubyGems:
		return "pkg:gem/" + esc(name)
	case EcoNuGet:
		return "pkg:nuget/" + esc(name)
	case EcoComposer:
		return "pkg:composer/" + esc(strings.ToLower(name))
	case EcoCargo:
		return "pkg:cargo/" + esc(name)
	case EcoActions:
		return "pkg:github/" + esc(strings.ToLower(name))
	}
	return ""
}

func newURNUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
