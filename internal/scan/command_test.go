package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCommand(t *testing.T, dataDir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Command(context.Background(), args, dataDir, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommandExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"findings, no gate", []string{"testdata/python/tree", "--vendor", "anthropic"}, ExitOK},
		{"findings, gate", []string{"testdata/python/tree", "--vendor", "anthropic", "--fail-on-exposure"}, ExitExposure},
		{"flags before path", []string{"--fail-on-exposure", "--vendor=anthropic", "testdata/python/tree"}, ExitExposure},
		{"single-dash flags", []string{"-vendor", "anthropic", "-fail-on-exposure", "testdata/python/tree", "-format", "json"}, ExitExposure},
		{"clean tree, gate", []string{"testdata/noise/tree", "--vendor", "anthropic", "--fail-on-exposure"}, ExitOK},
		{"unknown vendor", []string{"testdata/python/tree", "--vendor", "acme"}, ExitUsage},
		{"no vendor", []string{"testdata/python/tree"}, ExitUsage},
		{"no path", []string{"--vendor", "anthropic"}, ExitUsage},
		{"two paths", []string{"a", "b", "--vendor", "anthropic"}, ExitUsage},
		{"bad format", []string{"testdata/python/tree", "--vendor", "anthropic", "--format", "xml"}, ExitUsage},
		{"bad flag", []string{"testdata/python/tree", "--vendor", "anthropic", "--frobnicate"}, ExitUsage},
		{"missing dir", []string{"testdata/nope", "--vendor", "anthropic"}, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, t.TempDir(), tt.args...)
			if code != tt.want {
				t.Errorf("got exit %d, want %d; stderr:\n%s", code, tt.want, stderr)
			}
		})
	}
}

func TestCommandUnknownVendorListsKnown(t *testing.T) {
	_, _, stderr := runCommand(t, t.TempDir(), "testdata/python/tree", "--vendor", "acme")
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
func TestCommandAttestation(t *testing.T) {
	dataDir := t.TempDir()
	code, stdout, stderr := runCommand(t, dataDir, "testdata/noise/tree", "--vendor", "anthropic")
	if code != ExitOK {
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
	i := strings.Index(stdout, attestationHeader)
	if i < 0 {
		t.Fatalf("stdout holds no attestation:\n%s", stdout)
	}
	a, err := VerifyAttestation([]byte(stdout[i:]), vkey)
	if err != nil {
		t.Fatalf("VerifyAttestation: %v", err)
	}
	p, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), "testdata/noise/tree", p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := TreeHash("testdata/noise/tree", res.Files)
	if err != nil {
		t.Fatal(err)
	}
	if a.Vendor != "anthropic" || a.ProfileHash != p.Hash() || a.TreeHash != tree || a.Files != len(res.Files) || a.Time.IsZero() {
		t.Errorf("got %+v, want vendor anthropic, profile %s, tree %s, %d files", a, p.Hash(), tree, len(res.Files))
	}

	// Second run: same key, no "created" message; JSON carries the note.
	code, stdout, stderr = runCommand(t, dataDir, "testdata/noise/tree", "--vendor", "anthropic", "--format", "json")
	if code != ExitOK || strings.Contains(stderr, "created") {
		t.Fatalf("got exit %d, stderr %q; want 0 and no new key", code, stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyAttestation([]byte(rep.Attestation), vkey); err != nil {
		t.Errorf("JSON attestation: %v", err)
	}
}

func TestCommandKeyFlagAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "my.key")
	skey, vkey, _, err := LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	_ = skey
	out := filepath.Join(dir, "report.sarif")
	att := filepath.Join(dir, "att.txt")
	code, stdout, stderr := runCommand(t, filepath.Join(dir, "unused"), "testdata/noise/tree", "--vendor", "openai",
		"-key", keyFile, "--format", "sarif", "-o", out, "--attestation", att)
	if code != ExitOK {
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
	if _, err := VerifyAttestation(b, vkey); err != nil {
		t.Errorf("attestation file: %v", err)
	}
	rep, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(rep, []byte(`"version": "2.1.0"`)) {
		t.Errorf("got report %q, %v; want SARIF", rep, err)
	}
}

func TestCommandNoAttestationWithFindings(t *testing.T) {
	dataDir := t.TempDir()
	_, stdout, _ := runCommand(t, dataDir, "testdata/go/tree", "--vendor", "anthropic")
	if strings.Contains(stdout, attestationHeader) {
		t.Errorf("got an attestation for a tree with findings")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "scan.key")); err == nil {
		t.Errorf("a key was created though nothing was attested")
	}
}

func TestCommandJSON(t *testing.T) {
	code, stdout, stderr := runCommand(t, t.TempDir(), "testdata/monorepo/tree", "--format", "json", "--vendor", "anthropic")
	if code != ExitOK {
		t.Fatalf("got exit %d; stderr:\n%s", code, stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := readWant(t, "testdata/monorepo/want.anthropic.txt")
	if len(rep.Findings) != len(want) || rep.Vendor != "anthropic" || rep.Attestation != "" || rep.FilesScanned == 0 {
		t.Errorf("got %d findings, vendor %q, files %d; want %d findings, anthropic, no attestation",
			len(rep.Findings), rep.Vendor, rep.FilesScanned, len(want))
	}
}
