package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
)

// SARIF 2.1.0, the subset we write. Field names follow the OASIS schema.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
	Properties         map[string]any              `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	ShortDescription sarifText         `json:"shortDescription"`
	FullDescription  sarifText         `json:"fullDescription"`
	DefaultConfig    sarifRuleConfig   `json:"defaultConfiguration"`
	Properties       map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           sarifRegion      `json:"region"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int       `json:"startLine"`
	Snippet   sarifText `json:"snippet"`
}

var kindDescriptions = map[Kind][2]string{
	KindPackage:  {"VendorPackage", "A dependency on the vendor's SDK or a framework integration, declared in a manifest or lockfile."},
	KindImport:   {"VendorImport", "Source code imports the vendor's SDK or a framework integration."},
	KindConstant: {"VendorModelConstant", "Source code names a model through an SDK model constant."},
	KindHost:     {"VendorHost", "Source or config names the vendor's API host or a cloud route to the vendor's models."},
	KindModel:    {"VendorModelID", "A model ID of the vendor, in first-party, Bedrock, Vertex or Azure form."},
	KindEnv:      {"VendorEnvVar", "An environment variable that configures the vendor's SDK or API access."},
	KindKey:      {"VendorAPIKey", "What looks like an API key of the vendor. It is redacted here; rotate it if it is real."},
	KindAction:   {"VendorCIAction", "A CI workflow uses the vendor's GitHub Action."},
	KindResource: {"VendorIaCResource", "Infrastructure as code provisions the vendor's service."},
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log with one rule per
// finding kind. Locations are relative to the scanned root, which the log
// names as the %SRCROOT% base.
func WriteSARIF(w io.Writer, res *Result, p *Profile) error {
	var rules []sarifRule
	for _, k := range Kinds {
		d := kindDescriptions[k]
		level := "warning"
		if k == KindKey {
			level = "error"
		}
		rules = append(rules, sarifRule{
			ID: "brightline/" + string(k), Name: d[0],
			ShortDescription: sarifText{d[0]}, FullDescription: sarifText{d[1]},
			DefaultConfig: sarifRuleConfig{Level: level},
		})
	}
	results := []sarifResult{}
	for _, f := range res.Findings {
		ri := slices.Index(Kinds, f.Kind)
		level, msg := rules[ri].DefaultConfig.Level, fmt.Sprintf("%s exposure (%s): %s %s", p.Name, f.Depth.Label(), f.Kind, f.Component)
		if f.PossibleRoute {
			level = "note"
			msg = fmt.Sprintf("possible route to %s: %s %s also serves other vendors' models, and nothing nearby names %s's; not counted as exposure", p.Name, f.Kind, f.Component, p.Name)
		}
		results = append(results, sarifResult{
			RuleID: rules[ri].ID, RuleIndex: ri, Level: level,
			Message: sarifText{msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifactLoc{URI: f.File, URIBaseID: "%SRCROOT%"},
				Region:           sarifRegion{StartLine: f.Line, Snippet: sarifText{f.Evidence}},
			}}},
			Properties: map[string]any{"component": f.Component, "depth": f.Depth, "ecosystem": f.Ecosystem, "vendor": p.Name, "possibleRoute": f.PossibleRoute},
		})
	}
	var bases map[string]sarifArtifactLoc
	if abs, err := filepath.Abs(res.Root); err == nil {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}
		bases = map[string]sarifArtifactLoc{"%SRCROOT%": {URI: u.String()}}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:               sarifTool{Driver: sarifDriver{Name: ToolName, Version: Version(), Rules: rules}},
			OriginalURIBaseIDs: bases,
			Results:            results,
			Properties:         map[string]any{"vendor": p.Name, "profileHash": p.Hash(), "filesScanned": len(res.Files)},
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("couldn't write SARIF: %w", err)
	}
	return nil
}
