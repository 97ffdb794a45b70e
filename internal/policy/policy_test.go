package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline"
)

// TestCases runs the data-driven cases in testdata/<case>/: policy.yaml
// (the default policy when absent), input.json holding
// {"stage": ..., "input": Input} and want.json holding the Decision or
// {"error": "substring"}. An optional redact.json holds
// {"text": ..., "want": ...} for Policy.Redact with the decision.
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/input.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 12 {
		t.Fatalf("got %d cases, want at least 12", len(dirs))
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var input struct {
				Stage brightline.Stage
				Input Input
			}
			readJSON(t, filepath.Join(dir, "input.json"), &input)
			var want struct {
				brightline.Decision
				Error string `json:"error"`
			}
			readJSON(t, filepath.Join(dir, "want.json"), &want)

			p, err := loadCase(dir)
			if err == nil {
				var d brightline.Decision
				d, err = p.Evaluate(input.Stage, &input.Input)
				if err == nil {
					if want.Error != "" {
						t.Fatalf("got decision %+v, want error containing %q", d, want.Error)
					}
					want.PolicyHash = p.Hash()
					if !reflect.DeepEqual(d, want.Decision) {
						t.Fatalf("got decision\n%s\nwant\n%s", jsonString(d), jsonString(want.Decision))
					}
					checkRedact(t, dir, p, d)
					return
				}
			}
			if want.Error == "" {
				t.Fatalf("got error %v, want a decision", err)
			}
			if !strings.Contains(err.Error(), want.Error) {
				t.Fatalf("got error %q, want it to contain %q", err, want.Error)
			}
		})
	}
}

func loadCase(dir string) (*Policy, error) {
	src, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, err
	}
	return Load("policy.yaml", src)
}

func checkRedact(t *testing.T, dir string, p *Policy, d brightline.Decision) {
	t.Helper()
	path := filepath.Join(dir, "redact.json")
	if _, err := os.Stat(path); err != nil {
		return
	}
	var c struct{ Text, Want string }
	readJSON(t, path, &c)
	got, err := p.Redact(d, c.Text)
	if err != nil {
		t.Fatal(err)
	}
	if got != c.Want {
		t.Errorf("Redact(%q) = %q, want %q", c.Text, got, c.Want)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("couldn't decode %s: %v", path, err)
	}
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func mustLoad(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Load("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHashAndVersion(t *testing.T) {
	src := "rules:\n  - id: r\n    stage: request\n    when: \"true\"\n    action: annotate\n"
	p := mustLoad(t, src)
	sum := sha256.Sum256([]byte(src))
	if want := "sha256:" + hex.EncodeToString(sum[:]); p.Hash() != want {
		t.Errorf("got hash %s, want %s", p.Hash(), want)
	}
	q := p.WithVersion(7)
	if p.Version() != 0 || q.Version() != 7 {
		t.Errorf("got versions %d and %d, want 0 and 7", p.Version(), q.Version())
	}
	d, err := q.Evaluate(brightline.StageRequest, &Input{})
	if err != nil {
		t.Fatal(err)
	}
	if d.PolicyVersion != 7 || d.PolicyHash != p.Hash() {
		t.Errorf("got version %d hash %s, want 7 and %s", d.PolicyVersion, d.PolicyHash, p.Hash())
	}
	// A File built in code has no source; it is hashed over its YAML.
	f := *p.File()
	f.Source = nil
	r, err := Compile(&f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Hash(), "sha256:") || r.Hash() == p.Hash() {
		t.Errorf("got hash %q for a File without source, want a different sha256", r.Hash())
	}
}

func TestEvaluateUnknownStage(t *testing.T) {
	p := mustLoad(t, "rules: []\n")
	if _, err := p.Evaluate("stream", &Input{}); err == nil {
		t.Error("got no error for an unknown stage, want one")
	}
}

func TestEvalErrorFields(t *testing.T) {
	p := mustLoad(t, `safeguards:
  - id: sg
    rules:
      - id: needs-key
        stage: tool_call
        when: tool_call.arguments.target == "x"
        action: deny
        message: no
`)
	_, err := p.Evaluate(brightline.StageToolCall, &Input{})
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("got error %v, want an *EvalError", err)
	}
	if ee.Stage != brightline.StageToolCall || ee.Safeguard != "sg" || ee.Rule != "needs-key" {
		t.Errorf("got %+v, want stage tool_call, safeguard sg, rule needs-key", ee)
	}
}

func TestHasRules(t *testing.T) {
	p := Default()
	for _, tt := range []struct {
		stage brightline.Stage
		want  bool
	}{
		{brightline.StageRequest, true},
		{brightline.StageResponse, false},
		{brightline.StageToolCall, true},
	} {
		if got := p.HasRules(tt.stage); got != tt.want {
			t.Errorf("HasRules(%s) = %v, want %v", tt.stage, got, tt.want)
		}
	}
}
