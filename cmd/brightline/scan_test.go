package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/scan"
)

// scanDir is the scan package's test trees.
const scanDir = "../../internal/scan/testdata/"

// scanAttestationHeader starts the attestation note of a clean scan.
const scanAttestationHeader = "brightline scan attestation: no exposure found"

func runScanCmd(t *testing.T, dataDir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCommand("", func(e *env) error { return scanTree(context.Background(), args, dataDir, e) })
}

func TestScanExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"findings, no gate", []string{scanDir + "python/tree", "--vendor", "anthropic"}, 0},
		{"findings, gate", []string{scanDir + "python/tree", "--vendor", "anthropic", "--fail-on-exposure"}, 1},
		{"flags before path", []string{"--fail-on-exposure", "--vendor=anthropic", scanDir + "python/tree"}, 1},
		{"single-dash flags", []string{"-vendor", "anthropic", "-fail-on-exposure", scanDir + "python/tree", "-format", "json"}, 1},
		{"clean tree, gate", []string{scanDir + "noise/tree", "--vendor", "anthropic", "--fail-on-exposure"}, 0},
		{"unknown vendor", []string{scanDir + "python/tree", "--vendor", "acme"}, 2},
		{"no vendor", []string{scanDir + "python/tree"}, 2},
		{"no path", []string{"--vendor", "anthropic"}, 2},
		{"two paths", []string{"a", "b", "--vendor", "anthropic"}, 2},
		{"bad format", []string{scanDir + "python/tree", "--vendor", "anthropic", "--format", "xml"}, 2},
		{"bad flag", []string{scanDir + "python/tree", "--vendor", "anthropic", "--frobnicate"}, 2},
		{"missing dir", []string{scanDir + "nope", "--vendor", "anthropic"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runScanCmd(t, t.TempDir(), tt.args...)
			if code != tt.want {
				t.Errorf("got exit %d, want %d; stderr:\n%s", code, tt.want, stderr)
			}
		})
	}
}

func TestScanUnknownVendorListsKnown(t *testing.T) {
	_, _, stderr := runScanCmd(t, t.TempDir(), scanDir+"python/tree", "--vendor", "acme")
	for _, v := range []string{"acme", "anthropic", "openai", "google", "xai", "meta"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr %q doesn't mention %q", stderr, v)
		}
	}
}

var vkeyRe = regexp.MustCompile(`verifier key: (\S+)`)

// TestCommandAttestation runs a clean scan twice: the first creates the key
// in the data directory and prints its verifier key, which then verifies the
// attestation printed with the report; the second reuses the key.
func TestScanAttestation(t *testing.T) {
	dataDir := t.TempDir()
	code, stdout, stderr := runScanCmd(t, dataDir, scanDir+"noise/tree", "--vendor", "anthropic")
	if code != 0 {
		t.Fatalf("got exit %d, want 0; stderr:\n%s", code, stderr)
	}
	m := vkeyRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr doesn't give the verifier key:\n%s", stderr)
	}
	vkey := m[1]
	if info, err := os.Stat(filepath.Join(dataDir, "scan.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("got key file %v, %v; want it with mode 0600", info, err)
	}
	i := strings.Index(stdout, scanAttestationHeader)
	if i < 0 {
		t.Fatalf("stdout holds no attestation:\n%s", stdout)
	}
	a, err := scan.VerifyAttestation([]byte(stdout[i:]), vkey)
	if err != nil {
		t.Fatalf("scan.VerifyAttestation: %v", err)
	}
	p, err := scan.LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Scan(context.Background(), scanDir+"noise/tree", p, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := scan.TreeHash(scanDir+"noise/tree", res.Files)
	if err != nil {
		t.Fatal(err)
	}
	if a.Vendor != "anthropic" || a.ProfileHash != p.Hash() || a.TreeHash != tree || a.Files != len(res.Files) || a.Time.IsZero() {
		t.Errorf("got %+v, want vendor anthropic, profile %s, tree %s, %d files", a, p.Hash(), tree, len(res.Files))
	}

	// Second run: same key, no "created" message; JSON carries the note.
	code, stdout, stderr = runScanCmd(t, dataDir, scanDir+"noise/tree", "--vendor", "anthropic", "--format", "json")
	if code != 0 || strings.Contains(stderr, "created") {
		t.Fatalf("got exit %d, stderr %q; want 0 and no new key", code, stderr)
	}
	var rep scan.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if _, err := scan.VerifyAttestation([]byte(rep.Attestation), vkey); err != nil {
		t.Errorf("JSON attestation: %v", err)
	}
}

func TestScanKeyFlagAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "my.key")
	skey, vkey, _, err := scan.LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	_ = skey
	out := filepath.Join(dir, "report.sarif")
	att := filepath.Join(dir, "att.txt")
	code, stdout, stderr := runScanCmd(t, filepath.Join(dir, "unused"), scanDir+"noise/tree", "--vendor", "openai",
		"-key", keyFile, "--format", "sarif", "-o", out, "--attestation", att)
	if code != 0 {
		t.Fatalf("got exit %d; stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("got stdout %q, want the report in the -o file", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused", "scan.key")); err == nil {
		t.Errorf("a key was created in the data directory despite -key")
	}
	b, err := os.ReadFile(att)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scan.VerifyAttestation(b, vkey); err != nil {
		t.Errorf("attestation file: %v", err)
	}
	rep, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(rep, []byte(`"version": "2.1.0"`)) {
		t.Errorf("got report %q, %v; want SARIF", rep, err)
	}
}

func TestScanNoAttestationWithFindings(t *testing.T) {
	dataDir := t.TempDir()
	_, stdout, _ := runScanCmd(t, dataDir, scanDir+"go/tree", "--vendor", "anthropic")
	if strings.Contains(stdout, scanAttestationHeader) {
		t.Errorf("got an attestation for a tree with findings")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "scan.key")); err == nil {
		t.Errorf("a key was created though nothing was attested")
	}
}

func TestScanJSON(t *testing.T) {
	code, stdout, stderr := runScanCmd(t, t.TempDir(), scanDir+"monorepo/tree", "--format", "json", "--vendor", "anthropic")
	if code != 0 {
		t.Fatalf("got exit %d; stderr:\n%s", code, stderr)
	}
	var rep scan.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := readScanWant(t, scanDir+"monorepo/want.anthropic.txt")
	if len(rep.Findings) != len(want) || rep.Vendor != "anthropic" || rep.Attestation != "" || rep.FilesScanned == 0 {
		t.Errorf("got %d findings, vendor %q, files %d; want %d findings, anthropic, no attestation",
			len(rep.Findings), rep.Vendor, rep.FilesScanned, len(want))
	}
}

// writeTree writes files (slash-separated path → content) under a new
// temporary directory and returns it.
func writeScanTree(t *testing.T, files map[string]string) string {
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
	root := writeScanTree(t, openaiOnBedrock)
	code, out, stderr := runScanCmd(t, t.TempDir(), root, "--vendor", "anthropic", "--fail-on-exposure")
	if code != 0 {
		t.Fatalf("exit %d, want %d (possible routes are not exposure); stderr:\n%s", code, 0, stderr)
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

	_, out, _ = runScanCmd(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "json")
	var rep scan.Report
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

	_, out, _ = runScanCmd(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "sarif")
	if !strings.Contains(out, `"level": "note"`) || !strings.Contains(out, "possible route to anthropic") || strings.Contains(out, `"level": "warning",
      "message"`) {
		t.Errorf("SARIF: want possible routes as notes:\n%s", out)
	}
	_, out, _ = runScanCmd(t, t.TempDir(), root, "--vendor", "anthropic", "--format", "cyclonedx")
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
			root := writeScanTree(t, tt.files)
			code, out, _ := runScanCmd(t, t.TempDir(), root, "--vendor", "anthropic", "--fail-on-exposure", "--format", "json")
			var rep scan.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if code != 1 || rep.PossibleRoutes != 0 {
				t.Errorf("exit %d with %d possible routes, want exit %d and none:\n%s", code, rep.PossibleRoutes, 1, out)
			}
			hosts := 0
			for _, f := range rep.Findings {
				if f.Kind == scan.KindHost {
					hosts++
				}
			}
			if hosts != 1 {
				t.Errorf("got %d host findings, want 1:\n%s", hosts, out)
			}
		})
	}
}

// readScanWant reads a want file of the scan package's golden tests: one
// finding a line, blank lines and # comments skipped.
func readScanWant(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}
