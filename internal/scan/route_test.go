package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash-separated path → content) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// openaiOnBedrock is code that calls OpenAI's models on Bedrock through
// openai-go's bedrock package: the Bedrock runtime host, nothing of Claude.
var openaiOnBedrock = map[string]string{
	"go.mod": "module example.com/app\n\ngo 1.26\n\nrequire github.com/openai/openai-go/v3 v3.96.0\n",
	"main.go": `package main

import (
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/bedrock"
)

const endpoint = "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1"

func main() {
	_ = bedrock.Config{BaseURL: endpoint}
	_ = openai.ChatModel("openai.gpt-oss-120b-1:0")
}
`,
	"infra/vertex.py": "ENDPOINT = \"https://us-central1-aiplatform.googleapis.com\"  # gemini-2.5-pro\n",
}

// A Bedrock or Vertex host without Claude evidence is a possible route:
// shown in every format, but not exposure.
func TestPossibleRoutes(t *testing.T) {
	root := writeTree(t, openaiOnBedrock)
	code, out, stderr := runCommand(t, t.TempDir(), root, "--vendor", "anthropic", "--fail-on-exposure")
	if code != ExitOK {
		t.Fatalf("exit %d, want %d (possible routes are not exposure); stderr:\n%s", code, ExitOK, stderr)
	}
	for _, want := range []string{"exposure in", ": 0 findings", "Possible routes: 2 findings", "AWS Bedrock runtime (a route to Claude)", "main.go:8",
		"Vertex AI (a route to Claude)", "infra/vertex.py:1", "review the possible routes"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "brightline scan attestation") {
		t.Errorf("table has an attestation although there are possible routes:\n%s", out)
	}

	_, out, _ = runCommand(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "json")
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.PossibleRoutes != 2 || len(rep.Findings) != 2 || !rep.Findings[0].PossibleRoute || rep.Attestation != "" {
		t.Errorf("JSON: possible_routes %d, findings %+v; want 2 possible routes and no attestation", rep.PossibleRoutes, rep.Findings)
	}
	for _, s := range rep.Summary {
		if s.Findings != 0 {
			t.Errorf("JSON summary counts %d %s findings, want none", s.Findings, s.Depth)
		}
	}

	_, out, _ = runCommand(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "sarif")
	if !strings.Contains(out, `"level": "note"`) || !strings.Contains(out, "possible route to anthropic") || strings.Contains(out, `"level": "warning",
      "message"`) {
		t.Errorf("SARIF: want possible routes as notes:\n%s", out)
	}
	_, out, _ = runCommand(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "cyclonedx")
	if strings.Count(out, `"name": "brightline:possible-route"`) != 2 {
		t.Errorf("CycloneDX: want 2 services marked brightline:possible-route:\n%s", out)
	}
}

// With Claude evidence nearby the same hosts are exposure.
func TestRoutesWithClaudeEvidence(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"model id in the file", map[string]string{"app.py": "URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"\nMODEL = \"anthropic.claude-3-5-sonnet-20241022-v2:0\"\n"}},
		{"inference profile in the file", map[string]string{"app.ts": "const url = 'https://bedrock-runtime.us-gov-west-1.amazonaws.com';\nconst model = 'us.anthropic.claude-3-7-sonnet-20250219-v1:0';\n"}},
		{"anthropic. prefix", map[string]string{"client.js": "const host = \"bedrock-runtime.eu-west-1.amazonaws.com\";\nconst id = \"anthropic.\" + family;\n"}},
		{"SDK in a manifest above", map[string]string{
			"requirements.txt":    "anthropic[bedrock]==0.70.0\n",
			"services/api/app.py": "ENDPOINT = \"https://bedrock-runtime.us-east-1.amazonaws.com\"\n",
		}},
		{"SDK import in the file", map[string]string{"vertex.py": "from anthropic import AnthropicVertex\nHOST = \"us-east5-aiplatform.googleapis.com\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			code, out, _ := runCommand(t, t.TempDir(), root, "--vendor", "anthropic", "--fail-on-exposure", "--format", "json")
			var rep Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if code != ExitExposure || rep.PossibleRoutes != 0 {
				t.Errorf("exit %d with %d possible routes, want exit %d and none:\n%s", code, rep.PossibleRoutes, ExitExposure, out)
			}
			hosts := 0
			for _, f := range rep.Findings {
				if f.Kind == KindHost {
					hosts++
				}
			}
			if hosts != 1 {
				t.Errorf("got %d host findings, want 1:\n%s", hosts, out)
			}
		})
	}
}

// A manifest in a sibling directory is not evidence for another one.
func TestRouteEvidenceIsLocal(t *testing.T) {
	root := writeTree(t, map[string]string{
		"claude-svc/requirements.txt": "anthropic==0.70.0\n",
		"llama-svc/app.py":            "URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"  # meta.llama3-1-70b\n",
	})
	res, err := Scan(t.Context(), root, mustProfile(t, "anthropic"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range PossibleRoutes(res.Findings) {
		routes = append(routes, f.File)
	}
	if len(routes) != 1 || routes[0] != "llama-svc/app.py" || len(Exposure(res.Findings)) != 1 {
		t.Errorf("possible routes %q, exposure %+v; want llama-svc/app.py a possible route and the manifest exposure", routes, Exposure(res.Findings))
	}
}

func mustProfile(t *testing.T, vendor string) *Profile {
	t.Helper()
	p, err := LoadProfile(vendor)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
