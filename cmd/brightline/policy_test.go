package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/policy"
)

// runIn runs the CLI in dir and returns its stdout and stderr.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	err = run(t.Context(), args, e)
	return out.String(), errOut.String(), err
}

// TestPolicyKeygenSignVerify checks that keys from keygen sign bundles that
// verify against a config listing the printed verifier keys.
func TestPolicyKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	var vkeys []string
	for _, name := range []string{"operator", "vendor"} {
		out, _, err := runIn(t, dir, "policy", "keygen", "-name", name)
		if err != nil {
			t.Fatal(err)
		}
		vkeys = append(vkeys, strings.TrimSpace(out))
		fi, err := os.Stat(filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("got key file mode %v, want 0600", got)
		}
	}
	cfg := fmt.Sprintf("providers: [{name: s, type: simulated}]\nroutes: [{model: s, targets: [{provider: s}]}]\n"+
		"policy: {file: policy.yaml, trust: {keys: [%q, %q], threshold: 2}}\n", vkeys[0], vkeys[1])
	write(t, filepath.Join(dir, "gw.yaml"), cfg)
	write(t, filepath.Join(dir, "policy.yaml"), policyText("one"))

	if _, _, err := runIn(t, dir, "policy", "sign", "-key", "operator.key", "-version", "4", "policy.yaml"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, dir, "policy", "verify", "-config", "gw.yaml", "policy.yaml")
	if bundle.Class(err) != "threshold" || !strings.Contains(out, "REFUSED (threshold)") {
		t.Errorf("verify with one signature: got %v and\n%s\nwant a threshold refusal", err, out)
	}
	out, _, err = runIn(t, dir, "policy", "sign", "-key", "vendor.key", "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "now carries signatures by: operator, vendor\n") {
		t.Errorf("got sign output\n%s\nwant both signers listed", out)
	}
	out, _, err = runIn(t, dir, "policy", "verify", "-config", "gw.yaml", "policy.yaml")
	if err != nil {
		t.Fatalf("verify with both signatures: %v\n%s", err, out)
	}
	for _, want := range []string{"version:   4\n", "signers:   operator, vendor (2 of 2 required)\n", "result:    OK\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("got verify output\n%s\nwant it to contain %q", out, want)
		}
	}

	// A different -version on a note that exists is refused: versions are
	// fixed by the first signature.
	if _, _, err := runIn(t, dir, "policy", "sign", "-key", "vendor.key", "-version", "5", "policy.yaml"); err == nil ||
		!strings.Contains(err.Error(), "already holds version 4, not 5") {
		t.Errorf("sign -version 5 over version 4: got %v, want a refusal", err)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPolicyDiffWeakens checks the error that makes main exit 3.
func TestPolicyDiffWeakens(t *testing.T) {
	dir := t.TempDir()
	deny := policyText("one")
	write(t, filepath.Join(dir, "deny.yaml"), deny)
	write(t, filepath.Join(dir, "annotate.yaml"), strings.Replace(deny, "action: deny", "action: annotate", 1))
	write(t, filepath.Join(dir, "more.yaml"), deny+strings.TrimPrefix(policyText("two"), "rules:\n"))
	tests := []struct {
		old, new    string
		wantWeakens bool
		wantLine    string
	}{
		{"deny.yaml", "annotate.yaml", true, "WEAKENS rule changed deny-one: action deny → annotate\n"},
		{"annotate.yaml", "deny.yaml", false, "rule changed deny-one: action annotate → deny\n"},
		{"deny.yaml", "more.yaml", false, "rule added deny-two: deny at stage request"},
		{"more.yaml", "deny.yaml", true, "WEAKENS rule removed deny-two: deny at stage request\n"},
		{"deny.yaml", "deny.yaml", false, "no changes"},
	}
	for _, tt := range tests {
		t.Run(tt.old+"→"+tt.new, func(t *testing.T) {
			out, _, err := runIn(t, dir, "policy", "diff", tt.old, tt.new)
			if got := errors.Is(err, errWeakens); got != tt.wantWeakens {
				t.Errorf("got error %v, want errWeakens %v", err, tt.wantWeakens)
			}
			if !tt.wantWeakens && err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if !strings.Contains(out, tt.wantLine) {
				t.Errorf("got output\n%s\nwant it to contain %q", out, tt.wantLine)
			}
		})
	}
}

func TestPolicyConfigErrors(t *testing.T) {
	op := newParty(t, "operator")
	base := "providers: [{name: s, type: simulated}]\nroutes: [{model: s, targets: [{provider: s}]}]\n"
	tests := []struct {
		name, text, want string
	}{
		{"file without trust", "policy: {file: p.yaml}", "policy: file needs trust.keys and trust.threshold"},
		{"trust and unsigned", fmt.Sprintf("policy: {file: p.yaml, unsigned: true, trust: {keys: [%q], threshold: 1}}", op.vkey), "pick one"},
		{"trust without file", fmt.Sprintf("policy: {trust: {keys: [%q], threshold: 1}}", op.vkey), "need a policy file"},
		{"unsigned without file", "policy: {unsigned: true}", "need a policy file"},
		{"threshold too high", fmt.Sprintf("policy: {file: p.yaml, trust: {keys: [%q], threshold: 2}}", op.vkey), "policy.trust: threshold 2 is not between 1 and"},
		{"no threshold", fmt.Sprintf("policy: {file: p.yaml, trust: {keys: [%q]}}", op.vkey), "policy.trust: threshold 0"},
		{"private key", fmt.Sprintf("policy: {file: p.yaml, trust: {keys: [%q], threshold: 1}}", op.skey), "private signer key"},
		{"bad poll", "policy: {file: p.yaml, unsigned: true, poll_interval: -1s}", "policy.poll_interval must be positive"},
		{"bad tool effect", "tools: [{name: x, effect: lethal}]", `effect "lethal" is not informational, consequential or force`},
		{"bad tool glob", "tools: [{name: '[', effect: force}]", `bad tool name pattern "["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, base+tt.text+"\n"), envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE+KEY") {
				t.Errorf("error %q echoes a private key", err)
			}
		})
	}

	cfg, err := loadConfig(writeConfig(t, base+fmt.Sprintf("policy: {file: p.yaml, trust: {keys: [%q], threshold: 1}}\n", op.vkey)), envMap(nil))
	if err != nil {
		t.Fatalf("valid policy section: %v", err)
	}
	if cfg.Policy.PollInterval != 2*time.Second {
		t.Errorf("got poll interval %v, want the 2s default", cfg.Policy.PollInterval)
	}
}

func TestExampleConfigTools(t *testing.T) {
	cfg, err := loadConfig("../../examples/brightline.yaml", envMap(map[string]string{"ANTHROPIC_API_KEY": "x", "OPENAI_API_KEY": "y"}))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"fire_weapon": "force", "FIRE_WEAPON": "force", "send_email": "consequential", "search_web": "", "other": ""} {
		if got, _ := tools.Effect(policy.NormalizeToolName(name)); got != want {
			t.Errorf("effect of %s: got %q, want %q", name, got, want)
		}
	}
}

// TestConfigToolsOnlyRaise checks that the config cannot declare a tool
// informational: that could only lower its class, which takes the signed
// policy.
func TestConfigToolsOnlyRaise(t *testing.T) {
	for _, tt := range []struct {
		yaml, wantErr string
	}{
		{"tools:\n  - {name: fire_weapon, effect: force}\n  - {name: get_x, effect: consequential}\n", ""},
		{"tools:\n  - {name: fire_weapon, effect: force}\n  - {name: \"fire_*\", effect: informational}\n", `line 3: tool "fire_*" declared informational: the config may only make a tool's class stricter`},
		{"tools:\n  - {name: \"*\", effect: informational}\n", `line 2: tool "*" declared informational`},
		{"tools:\n  - {name: x, effect: harmless}\n", `effect "harmless" is not informational, consequential or force`},
	} {
		var cfg Config
		if err := parseConfig([]byte(tt.yaml), envMap(nil), &cfg); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.toolEffects()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: got %v, want no error", tt.yaml, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: got %v, want an error containing %q", tt.yaml, err, tt.wantErr)
		}
	}
}

func TestReplayRequests1h(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	alice := brightline.Principal{ID: "key_alice"}
	bob := brightline.Principal{Name: "bob"}
	tests := []struct {
		p    brightline.Principal
		at   time.Duration // after t0
		want int
	}{
		{alice, 0, 1},
		{alice, 10 * time.Minute, 2},
		{bob, 15 * time.Minute, 1},
		{alice, 59 * time.Minute, 3},
		{alice, 60 * time.Minute, 3},  // t0 is exactly an hour before: out
		{alice, 75 * time.Minute, 3},  // 59 and 60 minutes, and this one
		{alice, 30 * time.Minute, 1},  // out of order: +0 and +10 were forgotten at +75; later ones don't count
		{bob, 200 * time.Minute, 1},   // bob's earlier request is long gone
		{alice, 300 * time.Minute, 1}, // everything expired
	}
	r := newReplayer(policy.Default(), nil, time.Now)
	for i, tt := range tests {
		line, _ := json.Marshal(map[string]any{"principal": tt.p, "time": t0.Add(tt.at),
			"body": map[string]any{"model": "m", "messages": []map[string]string{{"role": "user", "content": "hi"}}}})
		rl, err := r.decide(line)
		if err != nil {
			t.Fatal(err)
		}
		if got := rl.request.Input.Counters.Requests1h; got != tt.want {
			t.Errorf("line %d (%s at +%v): got requests_1h %d, want %d", i+1, tt.p.ID+tt.p.Name, tt.at, got, tt.want)
		}
	}
}

// TestConfigSurveillanceOnlyStricter checks that the config cannot make
// the surveillance safeguard forget sooner.
func TestConfigSurveillanceOnlyStricter(t *testing.T) {
	for _, tt := range []struct {
		yaml, wantErr string
	}{
		{"surveillance: {profile_capacity: 1000000, save_interval: 10s}\n", ""},
		{"surveillance: {profile_capacity: 10}\n", "surveillance.profile_capacity 10 is below 262144"},
		{"surveillance: {save_interval: 24h}\n", "surveillance.save_interval must be positive and at most 1m0s"},
	} {
		var cfg Config
		y := "providers: [{name: s, type: simulated}]\nroutes: [{model: m, targets: [{provider: s}]}]\n" + tt.yaml
		if err := parseConfig([]byte(y), envMap(nil), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg.fillDefaults()
		err := cfg.validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: got %v, want no error", tt.yaml, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: got %v, want an error containing %q", tt.yaml, err, tt.wantErr)
		}
	}
}

// TestConfigProviderBetaHeaders checks that the config cannot switch on a
// provider-side tool beta for every request.
func TestConfigProviderBetaHeaders(t *testing.T) {
	for _, tt := range []struct {
		beta, wantErr string
	}{
		{"prompt-caching-2024-07-31", ""},
		{"mcp-client-2025-04-04", `headers: anthropic-beta "mcp-client-2025-04-04" may run tools at the provider`},
	} {
		var cfg Config
		y := "providers: [{name: a, type: anthropic, api_key: k, headers: {Anthropic-Beta: " + tt.beta + "}}]\nroutes: [{model: m, targets: [{provider: a}]}]\n"
		if err := parseConfig([]byte(y), envMap(nil), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg.fillDefaults()
		err := cfg.validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got %v, want no error", tt.beta, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error containing %q", tt.beta, err, tt.wantErr)
		}
	}
}
