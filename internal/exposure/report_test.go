package exposure

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// testRoutes is a configuration with one route that can move off
// Anthropic, one that cannot, an OpenAI route and a configured Anthropic
// route nobody has used.
var testRoutes = []RouteInfo{
	{Model: "claude-haiku", Targets: []TargetInfo{{Provider: "anthropic", ProviderType: "anthropic"}}},
	{Model: "claude-*", Targets: []TargetInfo{
		{Provider: "anthropic", ProviderType: "anthropic"},
		{Provider: "openai", ProviderType: "openai", Model: "gpt-5"},
		{Provider: "sim", ProviderType: "simulated"},
	}},
	{Model: "gpt-5", Targets: []TargetInfo{{Provider: "openai", ProviderType: "openai"}}},
	{Model: "legacy-*", Targets: []TargetInfo{{Provider: "bedrock", ProviderType: "openai-compatible", BaseURL: "http://localhost:4000", Model: "claude-3-haiku"}}},
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
		usage("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h.Add(-48*time.Hour), 5, map[string]int64{FeatureTools: 2}),
		usage("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", h, 7, map[string]int64{FeatureTools: 3, FeatureStreaming: 7}),
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

func TestReport(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	type want struct {
		principal, vendor, model string
		requests                 int64
		alternative              bool
		alternatives, unrouted   []string
	}
	sonnetA := want{"key_a", "anthropic", "claude-sonnet", 12, true, []string{"openai/gpt-5 (openai)"}, nil}
	haikuA := want{"key_a", "anthropic", "claude-haiku", 2, false, nil, nil}
	sonnetB := want{"key_b", "anthropic", "claude-sonnet", 1, true, []string{"openai/gpt-5 (openai)"}, nil}
	gptB := want{"key_b", "openai", "gpt-5", 4, false, nil, nil}
	oldC := want{"key_c", "anthropic", "claude-2", 3, false, nil, []string{"old-model"}}
	tests := []struct {
		name string
		f    Filter
		want []want
	}{
		{"everything", Filter{}, []want{haikuA, sonnetA, sonnetB, gptB, oldC}},
		{"vendor anthropic", Filter{Vendor: "anthropic"}, []want{haikuA, sonnetA, sonnetB, oldC}},
		{"vendor openai", Filter{Vendor: "openai"}, []want{gptB}},
		{"vendor absent", Filter{Vendor: "xai"}, nil},
		{"principal", Filter{Principal: "key_b"}, []want{sonnetB, gptB}},
		{"since", Filter{Since: t0.Add(-time.Hour), Vendor: "anthropic"}, []want{
			haikuA, {"key_a", "anthropic", "claude-sonnet", 7, true, []string{"openai/gpt-5 (openai)"}, nil}, sonnetB,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Report(context.Background(), db, testRoutes, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tt.want) {
				t.Fatalf("got %d rows, want %d: %+v", len(rows), len(tt.want), rows)
			}
			for i, w := range tt.want {
				g := rows[i]
				if g.PrincipalID != w.principal || g.Vendor != w.vendor || g.Model != w.model || g.Requests != w.requests {
					t.Errorf("row %d: got %s %s %s %d, want %s %s %s %d", i, g.PrincipalID, g.Vendor, g.Model, g.Requests, w.principal, w.vendor, w.model, w.requests)
				}
				if g.Alternative != w.alternative || !slices.Equal(g.Alternatives, w.alternatives) || !slices.Equal(g.Unrouted, w.unrouted) {
					t.Errorf("row %d (%s %s): got alternative %v %q, unrouted %q; want %v %q, %q", i, g.PrincipalID, g.Model,
						g.Alternative, g.Alternatives, g.Unrouted, w.alternative, w.alternatives, w.unrouted)
				}
				if g.InputTokens != 100*w.requests || g.OutputTokens != 10*w.requests {
					t.Errorf("row %d: got tokens %d/%d, want %d/%d", i, g.InputTokens, g.OutputTokens, 100*w.requests, 10*w.requests)
				}
			}
		})
	}

	t.Run("first seen, last used, features", func(t *testing.T) {
		rows, err := Report(context.Background(), db, testRoutes, Filter{Principal: "key_a", Vendor: "anthropic"})
		if err != nil {
			t.Fatal(err)
		}
		g := rows[1] // claude-sonnet
		if !g.FirstSeen.Equal(t0.Add(-48*time.Hour)) || !g.LastUsed.Equal(t0.Add(7*time.Second)) {
			t.Errorf("got first seen %v, last used %v; want %v, %v", g.FirstSeen, g.LastUsed, t0.Add(-48*time.Hour), t0.Add(7*time.Second))
		}
		if g.Features[FeatureTools] != 5 || g.Features[FeatureStreaming] != 7 {
			t.Errorf("got features %v, want tools 5, streaming 7", g.Features)
		}
		if !slices.Equal(g.Routes, []string{"claude-sonnet"}) || g.PrincipalName != "name-key_a" {
			t.Errorf("got routes %q, name %q", g.Routes, g.PrincipalName)
		}
	})
}

func BenchmarkReport(b *testing.B) {
	db := openDB(b)
	// 10k hourly rows: 50 principals, 4 models, 50 hours.
	var batch []store.ExposureUsage
	for p := range 50 {
		for m, model := range []string{"claude-sonnet", "claude-haiku", "gpt-5", "grok-4"} {
			provider, typ := "anthropic", "anthropic"
			if m >= 2 {
				provider, typ = "openai", "openai"
			}
			for h := range 50 {
				batch = append(batch, usage(fmt.Sprintf("key_%03d", p), model, provider, typ, model, t0.Add(-time.Duration(h)*time.Hour), 3,
					map[string]int64{FeatureTools: 1, FeatureStreaming: 2}))
			}
		}
	}
	if err := db.AddExposure(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rows, err := Report(context.Background(), db, testRoutes, Filter{Vendor: "anthropic"})
		if err != nil || len(rows) != 100 {
			b.Fatalf("got %d rows, %v; want 100", len(rows), err)
		}
	}
}
