package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// loadSchema compiles a schema from testdata/schema, with every schema it
// references registered by its $id, so nothing is fetched.
func loadSchema(t *testing.T, id string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for url, file := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":                                                          "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":                                                             "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json":                                                         "jsf-0.82.schemax.json",
		"https://raw.githubusercontent.com/schemastore/schemastore/master/src/schemas/json/sarif-2.1.0-rtm.5.json": "sarif-2.1.0-rtm.5.json",
	} {
		f, err := os.Open(filepath.Join("testdata", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("couldn't parse %s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("couldn't compile %s: %v", id, err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("output doesn't validate: %v", err)
	}
}

// scanFixture scans testdata/<name>/tree for vendor.
func scanFixture(t *testing.T, name, vendor string) (*Result, *Profile) {
	t.Helper()
	p, err := LoadProfile(vendor)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), filepath.Join("testdata", name, "tree"), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, p
}

func TestCycloneDXValidates(t *testing.T) {
	sch := loadSchema(t, "http://cyclonedx.org/schema/bom-1.6.schema.json")
	for _, tc := range []struct{ fixture, vendor string }{
		{"monorepo", "anthropic"}, {"python", "anthropic"}, {"npm", "anthropic"}, {"terraform", "openai"}, {"noise", "anthropic"},
	} {
		t.Run(tc.fixture+"/"+tc.vendor, func(t *testing.T) {
			res, p := scanFixture(t, tc.fixture, tc.vendor)
			var out bytes.Buffer
			if err := WriteCycloneDX(&out, res, p, time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			validate(t, sch, out.Bytes())

			var bom struct {
				SpecVersion string `json:"specVersion"`
				Components  []struct {
					Name     string `json:"name"`
					Type     string `json:"type"`
					Purl     string `json:"purl"`
					Evidence struct {
						Occurrences []struct {
							Location string `json:"location"`
							Line     int    `json:"line"`
						} `json:"occurrences"`
					} `json:"evidence"`
				} `json:"components"`
				Services []struct {
					Name       string `json:"name"`
					Properties []struct{ Name, Value string }
				} `json:"services"`
			}
			if err := json.Unmarshal(out.Bytes(), &bom); err != nil {
				t.Fatal(err)
			}
			if bom.SpecVersion != "1.6" {
				t.Errorf("got specVersion %q, want 1.6", bom.SpecVersion)
			}
			// Every finding is an occurrence (components) or an occurrence
			// property (services), with its file and line.
			n := 0
			for _, c := range bom.Components {
				for _, o := range c.Evidence.Occurrences {
					if o.Location == "" || o.Line < 1 {
						t.Errorf("component %s: got occurrence %+v, want file and line", c.Name, o)
					}
					n++
				}
			}
			for _, s := range bom.Services {
				for _, pr := range s.Properties {
					if pr.Name == "brightline:occurrence" {
						n++
					}
				}
			}
			if n != len(res.Findings) {
				t.Errorf("got %d occurrences, want one per finding (%d)", n, len(res.Findings))
			}
		})
	}
}

func TestCycloneDXPurls(t *testing.T) {
	res, p := scanFixture(t, "npm", "anthropic")
	var out bytes.Buffer
	if err := WriteCycloneDX(&out, res, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pkg:npm/%40anthropic-ai/sdk"`, `"pkg:npm/%40ai-sdk/anthropic"`, `"type": "machine-learning-model"`, `"name": "api.anthropic.com"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("BOM doesn't contain %s", want)
		}
	}
}

func TestSARIFValidates(t *testing.T) {
	sch := loadSchema(t, "https://raw.githubusercontent.com/schemastore/schemastore/master/src/schemas/json/sarif-2.1.0-rtm.5.json")
	for _, tc := range []struct{ fixture, vendor string }{
		{"monorepo", "anthropic"}, {"python", "anthropic"}, {"noise", "anthropic"},
	} {
		t.Run(tc.fixture+"/"+tc.vendor, func(t *testing.T) {
			res, p := scanFixture(t, tc.fixture, tc.vendor)
			var out bytes.Buffer
			if err := WriteSARIF(&out, res, p); err != nil {
				t.Fatal(err)
			}
			validate(t, sch, out.Bytes())
			var log struct {
				Version string `json:"version"`
				Runs    []struct {
					Tool struct {
						Driver struct {
							Rules []struct{ ID string } `json:"rules"`
						} `json:"driver"`
					} `json:"tool"`
					Results []struct {
						RuleID    string `json:"ruleId"`
						RuleIndex int    `json:"ruleIndex"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string } `json:"artifactLocation"`
								Region           struct {
									StartLine int `json:"startLine"`
								} `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(out.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			if len(log.Runs) != 1 {
				t.Fatalf("got %d runs, want 1", len(log.Runs))
			}
			run := log.Runs[0]
			if len(run.Tool.Driver.Rules) != len(Kinds) {
				t.Errorf("got %d rules, want one per kind (%d)", len(run.Tool.Driver.Rules), len(Kinds))
			}
			if len(run.Results) != len(res.Findings) {
				t.Fatalf("got %d results, want %d", len(run.Results), len(res.Findings))
			}
			for i, r := range run.Results {
				f := res.Findings[i]
				loc := r.Locations[0].PhysicalLocation
				if loc.ArtifactLocation.URI != f.File || loc.Region.StartLine != f.Line {
					t.Errorf("result %d: got %s:%d, want %s:%d", i, loc.ArtifactLocation.URI, loc.Region.StartLine, f.File, f.Line)
				}
				if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.RuleID != "brightline/"+string(f.Kind) {
					t.Errorf("result %d: got rule %s (index %d), want brightline/%s", i, r.RuleID, r.RuleIndex, f.Kind)
				}
			}
		})
	}
}

// TestNoKeyInOutput checks that no output format carries a key from the
// fixtures, only its redacted prefix.
func TestNoKeyInOutput(t *testing.T) {
	const secret = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	res, p := scanFixture(t, "python", "anthropic")
	var outs []bytes.Buffer = make([]bytes.Buffer, 4)
	if err := WriteTable(&outs[0], res, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&outs[1], res, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSARIF(&outs[2], res, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteCycloneDX(&outs[3], res, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if strings.Contains(o.String(), secret[:12]) {
			t.Errorf("output %d holds the key", i)
		}
		if !strings.Contains(o.String(), "sk-ant-api03-***") {
			t.Errorf("output %d doesn't show the redacted key prefix", i)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`key = "sk-ant-api03-AbCdEfGhIjKlMnOp"`, `key = "sk-ant-api03-***"`},
		{`sk-ant-AbCdEfGhIjKlMnOp`, `sk-ant-***`},
		{`OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstu`, `OPENAI_API_KEY=sk-proj-***`},
		{`g=AIzaSyA1234567890abcdefghijklmnopqrstuv`, `g=AIza***`},
		{`x=xai-abcdefghijklmnopqrstuvwxyz`, `x=xai-***`},
		{`no key here`, `no key here`},
		{`ANTHROPIC_API_KEY=abc123def456`, `ANTHROPIC_API_KEY=***`},
		{`ANTHROPIC_AUTH_TOKEN: "opaque-token-value"`, `ANTHROPIC_AUTH_TOKEN: "***"`},
		{`"OPENAI_API_KEY": "whatever1234",`, `"OPENAI_API_KEY": "***",`},
		{`anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}`, `anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}`},
		{`key = os.environ.get("ANTHROPIC_API_KEY", "")`, `key = os.environ.get("ANTHROPIC_API_KEY", "")`},
		{`export ANTHROPIC_API_KEY=$VAULT_KEY`, `export ANTHROPIC_API_KEY=$VAULT_KEY`},
		{`ANTHROPIC_API_KEY=sk-ant-api03-AbCdEfGhIjKl`, `ANTHROPIC_API_KEY=sk-ant-api03-***`},
		{`api_key: "plain-secret-value" # prod`, `api_key: "***" # prod`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := evidence([]byte(tt.in), 0, len(tt.in)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEvidenceTrimmed(t *testing.T) {
	line := strings.Repeat("x", 500) + ` "claude-3-opus-20240229" ` + strings.Repeat("y", 500)
	got := evidence([]byte(line), 501, 525)
	if len(got) > maxEvidence+8 || !strings.Contains(got, "claude-3-opus") {
		t.Errorf("got %q (%d bytes), want at most ~%d bytes around the match", got, len(got), maxEvidence)
	}
}

func TestTableGroupsAndSummary(t *testing.T) {
	res, p := scanFixture(t, "monorepo", "anthropic")
	var out bytes.Buffer
	if err := WriteTable(&out, res, p, nil); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"Depth summary", "direct SDK", "indirect via framework", "raw API", "IaC", "CI", "services/api/app.py:2", "anthropics/claude-code-action"} {
		if !strings.Contains(s, want) {
			t.Errorf("table doesn't contain %q:\n%s", want, s)
		}
	}
	sum := Summary(res.Findings)
	counts := map[Depth]int{}
	for _, d := range sum {
		counts[d.Depth] = d.Findings
	}
	// By hand from want.anthropic.txt: 8 direct (3 packages, 5 imports),
	// 1 CI action, 1 IaC model, 1 config model (keep.log).
	want := map[Depth]int{DepthDirect: 8, DepthCI: 1, DepthIaC: 1, DepthConfig: 1}
	for _, d := range Depths {
		if counts[d] != want[d] {
			t.Errorf("depth %s: got %d findings, want %d", d, counts[d], want[d])
		}
	}
}

// TestSchemasReject makes sure the schema checks above can fail: a broken
// document must not validate.
func TestSchemasReject(t *testing.T) {
	res, p := scanFixture(t, "npm", "anthropic")
	var cdxOut, sarifOut bytes.Buffer
	if err := WriteCycloneDX(&cdxOut, res, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := WriteSARIF(&sarifOut, res, p); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, schema string
		doc          string
	}{
		{"cyclonedx bad component type", "http://cyclonedx.org/schema/bom-1.6.schema.json",
			strings.Replace(cdxOut.String(), `"type": "library"`, `"type": "spaceship"`, 1)},
		{"cyclonedx occurrence without location", "http://cyclonedx.org/schema/bom-1.6.schema.json",
			strings.Replace(cdxOut.String(), `"location":`, `"place":`, 1)},
		{"sarif bad version", "https://raw.githubusercontent.com/schemastore/schemastore/master/src/schemas/json/sarif-2.1.0-rtm.5.json",
			strings.Replace(sarifOut.String(), `"version": "2.1.0"`, `"version": "2.0.0"`, 1)},
		{"sarif bad level", "https://raw.githubusercontent.com/schemastore/schemastore/master/src/schemas/json/sarif-2.1.0-rtm.5.json",
			strings.Replace(sarifOut.String(), `"level": "warning"`, `"level": "loud"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch := loadSchema(t, tt.schema)
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err == nil {
				t.Errorf("broken document validated")
			}
		})
	}
}
