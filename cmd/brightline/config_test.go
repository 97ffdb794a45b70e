package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "brightline.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigEnv(t *testing.T) {
	p := writeConfig(t, `
listen: ${LISTEN:-127.0.0.1:9999}
providers:
  - name: a
    type: anthropic
    api_key: ${SECRET}
    headers: {x-note: "cost $$5"}
routes:
  - model: m
    targets: [{provider: a}]
retry:
  max_attempts: ${ATTEMPTS}
  max_backoff: ${BACKOFF}
`)
	secret := "sk-ant-a: b #c\n- [x]"
	cfg, err := loadConfig(p, envMap(map[string]string{"SECRET": secret, "ATTEMPTS": "4", "BACKOFF": "3s"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Providers[0].APIKey; got != secret {
		t.Errorf("api_key: got %q, want %q", got, secret)
	}
	if cfg.Listen != "127.0.0.1:9999" {
		t.Errorf("listen: got %q, want the default from ${LISTEN:-...}", cfg.Listen)
	}
	if cfg.Retry.MaxAttempts != 4 || cfg.Retry.MaxBackoff != 3*time.Second {
		t.Errorf("retry: got %d, %v; want 4, 3s", cfg.Retry.MaxAttempts, cfg.Retry.MaxBackoff)
	}
	if got := cfg.Providers[0].Headers["x-note"]; got != "cost $5" {
		t.Errorf("$$ escape: got %q, want %q", got, "cost $5")
	}
	if cfg.DataDir != defaultDataDir || cfg.Limits.MaxRequestBytes != defaultMaxRequestBytes {
		t.Errorf("defaults not filled: %+v", cfg)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"missing env", "providers: [{name: a, type: openai, api_key: '${NOPE}'}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"NOPE (line 1)"}},
		{"unknown key", "listen: x\nlisten_addr: y\n", []string{"line 2", "listen_addr"}},
		{"bad yaml", "providers: [\n", []string{"yaml"}},
		{"empty", "", []string{"config is empty"}},
		{"bad type", "providers: [{name: a, type: azure}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{`unknown type "azure"`}},
		{"bedrock half a key", "providers: [{name: a, type: bedrock, region: us-east-1, access_key_id: AKID}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"set both access_key_id and secret_access_key"}},
		{"vertex needs project", "providers: [{name: a, type: vertex, region: us-east5}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"vertex providers need project and region"}},
		{"aws keys elsewhere", "providers: [{name: a, type: simulated, access_key_id: AKID, secret_access_key: s}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"for bedrock providers only"}},
		{"no key", "providers: [{name: a, type: anthropic}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"api_key is empty"}},
		{"compat needs url", "providers: [{name: a, type: openai-compatible}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{"base_url is required"}},
		{"unknown provider", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: b}]}]\n", []string{`routes[0].targets[0]: unknown provider "b"`}},
		{"shadow to an unknown provider", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nshadow: {routes: {m: {provider: b, sample: 0.1}}}\n", []string{`shadow.routes[m]: unknown provider "b"`}},
		{"shadow sample out of range", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nshadow: {routes: {m: {provider: a, sample: 1.5}}}\n", []string{`shadow.routes[m]: sample 1.5, want more than 0 and at most 1`}},
		{"negative canary weight", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a, weight: -5}]}]\n", []string{`routes[0].targets[0]: weight -5 is negative`}},
		{"witness quorum too high", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\naudit: {witness_quorum: 1}\n", []string{`audit.witness_quorum: 1, want 0 to the number of witnesses (0)`}},
		{"unknown audit release", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\naudit: {release: eventually}\n", []string{`audit.release: "eventually", want journal or sequenced`}},
		{"negative audit mmd", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\naudit: {mmd: -1s}\n", []string{`audit.mmd: -1s must not be negative`}},
		{"mcp server without url or command", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nmcp: {servers: [{name: x}]}\n", []string{`mcp.servers[0] (x): give exactly one of url and command`}},
		{"duplicate", "providers: [{name: a, type: simulated}, {name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}, {model: m, targets: [{provider: a}]}]\n", []string{`duplicate provider name "a"`, `duplicate route for model "m"`}},
		{"duration as int", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nbreaker: {cooldown: 30}\n", []string{"line 3"}},
		{"key bytes below max request", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nlimits: {max_request_bytes: 2000, key_bytes_in_flight: 1000}\n", []string{`limits.key_bytes_in_flight: 1000, want at least max_request_bytes (2000)`}},
		{"body bytes below max request", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nlimits: {max_request_bytes: 2000, body_bytes_in_flight: 1000}\n", []string{`limits.body_bytes_in_flight: 1000, want at least max_request_bytes (2000)`}},
		{"negative body read timeout", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\nlimits: {body_read_timeout: -1s}\n", []string{`limits.body_read_timeout: -1s must not be negative`}},
		{"negative body retention", "providers: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\naudit: {body_retention: -1h}\n", []string{`audit.body_retention: -1h0m0s must not be negative`}},
		{"debug off loopback", "debug: {listen: '0.0.0.0:6060'}\nproviders: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{`debug.listen: "0.0.0.0:6060" is not a loopback address`}},
		{"debug without port", "debug: {listen: '127.0.0.1'}\nproviders: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{`debug.listen: address 127.0.0.1: missing port`}},
		{"bad level", "log: {level: loud}\nproviders: [{name: a, type: simulated}]\nroutes: [{model: m, targets: [{provider: a}]}]\n", []string{`log.level: "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.text), envMap(nil))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		providers []string
	}{
		{"no keys", nil, []string{"simulated"}},
		{"anthropic", map[string]string{"ANTHROPIC_API_KEY": "k"}, []string{"anthropic"}},
		{"both", map[string]string{"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}, []string{"anthropic", "openai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig("", envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range cfg.Providers {
				got = append(got, p.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.providers, ",") {
				t.Errorf("got providers %v, want %v", got, tt.providers)
			}
			if cfg.Listen != defaultListen || cfg.DataDir != defaultDataDir {
				t.Errorf("got listen %q data %q, want the embedded defaults", cfg.Listen, cfg.DataDir)
			}
		})
	}
}

func TestLimitDefaults(t *testing.T) {
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.BodyReadTimeout != 30*time.Second || l.KeyRequestsInFlight != 64 || l.KeyBytesInFlight != 64<<20 || l.BodyBytesInFlight != 512<<20 {
		t.Errorf("got limits %+v, want body_read_timeout 30s, key_requests_in_flight 64, key_bytes_in_flight 64 MiB, body_bytes_in_flight 512 MiB", l)
	}
	if cfg.Audit.BodyRetention != 720*time.Hour {
		t.Errorf("got audit.body_retention %s, want 720h", cfg.Audit.BodyRetention)
	}
}

func TestMemoryLimit(t *testing.T) {
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := memoryLimit(cfg, envMap(nil))
	if want := int64(512<<20 + memoryHeadroom); !ok || got != want {
		t.Errorf("memoryLimit with the defaults = %d, %v; want %d (body_bytes_in_flight plus headroom)", got, ok, want)
	}
	if _, ok := memoryLimit(cfg, envMap(map[string]string{"GOMEMLIMIT": "1GiB"})); ok {
		t.Error("memoryLimit with GOMEMLIMIT set: got a limit, want none (the environment wins)")
	}
	if got, ok := gcPercent(envMap(nil)); !ok || got != serveGCPercent {
		t.Errorf("gcPercent with the defaults = %d, %v; want %d", got, ok, serveGCPercent)
	}
	if _, ok := gcPercent(envMap(map[string]string{"GOGC": "100"})); ok {
		t.Error("gcPercent with GOGC set: got a pace, want none (the environment wins)")
	}
	if got, ok := maxProcs(envMap(nil), 2); !ok || got != 3 {
		t.Errorf("maxProcs with the defaults on 2 CPUs = %d, %v; want 3", got, ok)
	}
	if _, ok := maxProcs(envMap(map[string]string{"GOMAXPROCS": "2"}), 2); ok {
		t.Error("maxProcs with GOMAXPROCS set: got a count, want none (the environment wins)")
	}
}
