package transition

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// The traffic the plans are made from, as in internal/exposure's report
// tests.

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// testRoutes is a configuration with one route that can move off
// Anthropic, one that cannot, an OpenAI route and a configured Anthropic
// route nobody has used.
var testRoutes = []exposure.RouteInfo{
	{Model: "claude-haiku", Targets: []exposure.TargetInfo{{Provider: "anthropic", ProviderType: "anthropic"}}},
	{Model: "claude-*", Targets: []exposure.TargetInfo{
		{Provider: "anthropic", ProviderType: "anthropic"},
		{Provider: "openai", ProviderType: "openai", Model: "gpt-5"},
		{Provider: "sim", ProviderType: "simulated"},
	}},
	{Model: "gpt-5", Targets: []exposure.TargetInfo{{Provider: "openai", ProviderType: "openai"}}},
	{Model: "legacy-*", Targets: []exposure.TargetInfo{{Provider: "bedrock", ProviderType: "openai-compatible", BaseURL: "http://localhost:4000", Model: "claude-3-haiku"}}},
}

func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func usage(principal, route, provider, providerType, model string, hour time.Time, n int64, features map[string]int64) store.ExposureUsage {
	return store.ExposureUsage{
		PrincipalID: principal, PrincipalName: "name-" + principal, Route: route, Provider: provider, ProviderType: providerType,
		Model: model, Hour: hour, Requests: n, InputTokens: 100 * n, OutputTokens: 10 * n, Features: features,
		LastUsed: hour.Add(time.Duration(n) * time.Second),
	}
}

// seed stores traffic for testRoutes.
func seed(t testing.TB, db *sqlite.DB) {
	t.Helper()
	h := t0
	err := db.AddExposure(context.Background(), []store.ExposureUsage{
		usage("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h.Add(-48*time.Hour), 5, map[string]int64{exposure.FeatureTools: 2}),
		usage("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h, 7, map[string]int64{exposure.FeatureTools: 3, exposure.FeatureStreaming: 7}),
		usage("key_a", "claude-haiku", "anthropic", "anthropic", "claude-haiku", h, 2, nil),
		usage("key_b", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h, 1, nil),
		usage("key_b", "gpt-5", "openai", "openai", "gpt-5", h, 4, nil),
		// A provider and route since removed from the configuration.
		usage("key_c", "old-model", "gone", "openai-compatible", "claude-2", h.Add(-24*time.Hour), 3, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
}
