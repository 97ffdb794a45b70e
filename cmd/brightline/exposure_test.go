package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// exposureT0 is the hour of most of exposureSeed's traffic.
var exposureT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// exposureRoutes is a configuration for exposureSeed's traffic.
var exposureRoutes = []exposure.RouteInfo{
	{Model: "claude-haiku", Targets: []exposure.TargetInfo{{Provider: "anthropic", ProviderType: "anthropic"}}},
	{Model: "claude-*", Targets: []exposure.TargetInfo{
		{Provider: "anthropic", ProviderType: "anthropic"},
		{Provider: "openai", ProviderType: "openai", Model: "gpt-5"},
		{Provider: "sim", ProviderType: "simulated"},
	}},
	{Model: "gpt-5", Targets: []exposure.TargetInfo{{Provider: "openai", ProviderType: "openai"}}},
	{Model: "legacy-*", Targets: []exposure.TargetInfo{{Provider: "bedrock", ProviderType: "openai-compatible", BaseURL: "http://localhost:4000", Model: "claude-3-haiku"}}},
}

// exposureSeed returns a data directory whose database holds traffic for
// exposureRoutes (and a route since removed) and no shadow results.
func exposureSeed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	use := func(principal, route, provider, providerType, model string, hour time.Time, n int64, features map[string]int64) store.ExposureUsage {
		return store.ExposureUsage{
			PrincipalID: principal, PrincipalName: "name-" + principal, Route: route, Provider: provider, ProviderType: providerType,
			Model: model, Hour: hour, Requests: n, InputTokens: 100 * n, OutputTokens: 10 * n, Features: features,
			LastUsed: hour.Add(time.Duration(n) * time.Second),
		}
	}
	h := exposureT0
	err = db.AddExposure(context.Background(), []store.ExposureUsage{
		use("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h.Add(-48*time.Hour), 5, map[string]int64{exposure.FeatureTools: 2}),
		use("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h, 7, map[string]int64{exposure.FeatureTools: 3, exposure.FeatureStreaming: 7}),
		use("key_a", "claude-haiku", "anthropic", "anthropic", "claude-haiku", h, 2, nil),
		use("key_b", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h, 1, nil),
		use("key_b", "gpt-5", "openai", "openai", "gpt-5", h, 4, nil),
		// A provider and route since removed from the configuration.
		use("key_c", "old-model", "gone", "openai-compatible", "claude-2", h.Add(-24*time.Hour), 3, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openExposureIn opens the SQLite store in dir, as existingStore does for
// the default driver, refusing to create one.
func openExposureIn(dir string) openExposureStore {
	return func(ctx context.Context) (exposureStore, error) {
		path := filepath.Join(dir, sqliteFile)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s: is the data directory right, and has the gateway run with it?", path)
		}
		return sqlite.Open(ctx, path)
	}
}

func TestExposure(t *testing.T) {
	dir := exposureSeed(t)
	tests := []struct {
		name        string
		args        []string
		dir         string
		code        int
		stdout      []string
		stderr      string
		notInStdout []string
	}{
		{"table", nil, dir, 0, []string{"PRINCIPAL", "name-key_b (key_b)", "openai/gpt-5", "Traffic: 3 principals, 22 requests"}, "", nil},
		{"vendor", []string{"--vendor", "openai"}, dir, 0, []string{"openai/gpt-5", "Vendor openai: 1 principals, 4 requests"}, "", []string{"claude"}},
		{"vendor table", []string{"--vendor", "anthropic"}, dir, 0, []string{
			"PRINCIPAL", "name-key_a (key_a)", "anthropic/claude-sonnet", "openai/gpt-5 (openai)", "route gone: old-model",
			"Vendor anthropic: 3 principals, 18 requests, first seen 2026-11-21; 1 of 3 principals have an alternative route for all of it.",
		}, "", nil},
		{"principal", []string{"--principal", "key_c", "--vendor", "anthropic"}, dir, 0, []string{"route gone: old-model"}, "", []string{"key_a"}},
		{"nothing", []string{"--vendor", "xai", "--since", "2026-01-01"}, dir, 0, []string{"No xai traffic recorded since 2026-01-01 00:00 UTC."}, "", nil},
		{"json", []string{"--format", "json", "--vendor", "anthropic"}, dir, 0, []string{`"vendor": "anthropic"`, `"alternative": true`}, "", nil},
		{"bad format", []string{"--format", "xml"}, dir, 2, nil, "unknown format", nil},
		{"bad since", []string{"--since", "whenever"}, dir, 2, nil, "not a duration", nil},
		{"extra argument", []string{"anthropic"}, dir, 2, nil, "unexpected argument", nil},
		{"no database", nil, t.TempDir(), 1, nil, "no database at", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand("", func(e *env) error {
				return exposureReport(context.Background(), tt.args, openExposureIn(tt.dir), exposureRoutes, e)
			})
			if code != tt.code {
				t.Errorf("got exit code %d, want %d; stderr %s", code, tt.code, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.notInStdout {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr)
			}
		})
	}
	t.Run("json decodes", func(t *testing.T) {
		code, stdout, stderr := runCommand("", func(e *env) error {
			return exposureReport(context.Background(), []string{"--format=json"}, openExposureIn(dir), exposureRoutes, e)
		})
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		var resp exposure.Response
		if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Rows) != 5 {
			t.Errorf("got %d rows, want 5", len(resp.Rows))
		}
	})
	t.Run("empty table", func(t *testing.T) {
		var b strings.Builder
		if err := writeExposureTable(&b, nil, exposure.Filter{Vendor: "xai", Since: exposureT0}); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), "No xai traffic recorded since 2026-11-23 10:00 UTC.\n"; got != want {
			t.Errorf("empty table: got %q, want %q", got, want)
		}
	})
}
