package transition

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
)

// fakeShadow serves fixed summaries per route, with a failure hook.
type fakeShadow struct {
	byRoute map[string][]shadow.Summary
	err     error
}

func (f *fakeShadow) ShadowSummaries(ctx context.Context, route string, since time.Time) ([]shadow.Summary, error) {
	return f.byRoute[route], f.err
}

// goodShadow meets every threshold.
func goodShadow(candidate string) shadow.Summary {
	return shadow.Summary{
		Route: "claude-sonnet", Candidate: candidate, Samples: 500, PrimarySuccessRate: 1, CandidateSuccessRate: 0.996,
		Compared: 498, ToolSamples: 60, ToolAgreement: 0.97, RefusalAgreement: 0.99, MeanSimilarity: 0.6,
		LatencyP50Primary: 900 * time.Millisecond, LatencyP50Candidate: 1100 * time.Millisecond,
	}
}

func TestPlan(t *testing.T) {
	ctx := context.Background()
	since := t0.Add(-72 * time.Hour)
	shadowWith := func(edit func(*shadow.Summary)) *fakeShadow {
		s := goodShadow("openai/gpt-5")
		if edit != nil {
			edit(&s)
		}
		return &fakeShadow{byRoute: map[string][]shadow.Summary{"claude-sonnet": {s}}}
	}
	tests := []struct {
		name     string
		features map[string]int64 // extra features of key_a's claude-sonnet traffic
		shadow   ShadowSummaries
		wantGo   bool
		reasons  []string // substrings, each in some reason
		notes    []string
	}{
		{"go", nil, shadowWith(nil), true, nil, nil},
		{"nil shadow", nil, nil, false, []string{"shadow mode is not set up"}, nil},
		{"no shadow for the route", nil, &fakeShadow{}, false, []string{"no shadow results from a candidate at openai"}, nil},
		{"shadow of another vendor", nil, &fakeShadow{byRoute: map[string][]shadow.Summary{"claude-sonnet": {goodShadow("xai/grok-4")}}},
			false, []string{"only from xai/grok-4"}, nil},
		{"few samples", nil, shadowWith(func(s *shadow.Summary) { s.Samples = MinShadowSamples - 1 }), false, []string{"only 99 samples"}, nil},
		{"low success", nil, shadowWith(func(s *shadow.Summary) { s.CandidateSuccessRate = 0.98 }), false, []string{"answered 98.0% of requests"}, nil},
		{"tool disagreement", nil, shadowWith(func(s *shadow.Summary) { s.ToolAgreement = 0.9 }), false, []string{"tool calls agree in 90.0%"}, nil},
		{"few tool samples", nil, shadowWith(func(s *shadow.Summary) { s.ToolSamples = 3 }), false, []string{"only 3 samples with tool calls"}, nil},
		{"refusal disagreement", nil, shadowWith(func(s *shadow.Summary) { s.RefusalAgreement = 0.8 }), false, []string{"refusals agree in 80.0%"}, nil},
		{"slow and dissimilar only notes", nil, shadowWith(func(s *shadow.Summary) {
			s.LatencyP50Candidate = 3 * s.LatencyP50Primary
			s.MeanSimilarity = 0.1
		}), true, nil, []string{"slower", "dissimilar"}},
		{"missing feature", map[string]int64{exposure.FeatureThinking: 4}, shadowWith(nil), false, []string{"4 requests use thinking, which openai lacks"}, nil},
		{"differing feature is a note", map[string]int64{exposure.FeaturePromptCaching: 2}, shadowWith(nil), true, nil, []string{"2 requests use prompt_caching"}},
		{"unknown feature", map[string]int64{"telepathy": 1}, shadowWith(nil), false, []string{"telepathy, which this version"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			seed(t, db)
			if tt.features != nil {
				if err := db.AddExposure(ctx, []store.ExposureUsage{usage("key_a", "claude-sonnet", "anthropic", "anthropic", "claude-sonnet", t0, 1, tt.features)}); err != nil {
					t.Fatal(err)
				}
			}
			plan, err := Rehearse(ctx, db, testRoutes, tt.shadow, "anthropic", "openai", since)
			if err != nil {
				t.Fatal(err)
			}
			var rp *RoutePlan
			for i := range plan.Routes {
				if plan.Routes[i].Route == "claude-sonnet" {
					rp = &plan.Routes[i]
				}
			}
			if rp == nil {
				t.Fatalf("no plan for claude-sonnet in %+v", plan.Routes)
			}
			if rp.Go != tt.wantGo {
				t.Errorf("got go %v, want %v; reasons %q", rp.Go, tt.wantGo, rp.Reasons)
			}
			if tt.wantGo && len(rp.Reasons) > 0 {
				t.Errorf("a go with reasons: %q", rp.Reasons)
			}
			for _, w := range tt.reasons {
				if !containsSub(rp.Reasons, w) {
					t.Errorf("reasons %q lack %q", rp.Reasons, w)
				}
			}
			for _, w := range tt.notes {
				if !containsSub(rp.Notes, w) {
					t.Errorf("notes %q lack %q", rp.Notes, w)
				}
			}
			if rp.ConfiguredAs != "claude-*" || len(rp.Targets) != 1 || rp.Targets[0] != "openai/gpt-5" {
				t.Errorf("got configured as %q, targets %q; want claude-*, [openai/gpt-5]", rp.ConfiguredAs, rp.Targets)
			}
		})
	}
}

func TestPlanRoutesAndPrincipals(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	seed(t, db)
	shadow := &fakeShadow{byRoute: map[string][]shadow.Summary{"claude-sonnet": {goodShadow("openai/gpt-5")}}}
	plan, err := Rehearse(ctx, db, testRoutes, shadow, "anthropic", "openai", t0.Add(-72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Go {
		t.Error("got an overall go, want no-go: claude-haiku has no openai target")
	}
	var got []string
	for _, r := range plan.Routes {
		got = append(got, r.Route)
	}
	// By requests, most first; legacy-* has none but is configured to
	// send traffic to anthropic (a claude model behind a local proxy).
	want := []string{"claude-sonnet", "old-model", "claude-haiku", "legacy-*"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got routes %q, want %q", got, want)
	}
	byRoute := map[string]RoutePlan{}
	for _, r := range plan.Routes {
		byRoute[r.Route] = r
	}
	if r := byRoute["claude-haiku"]; r.Go || !containsSub(r.Reasons, "no target at openai") {
		t.Errorf("claude-haiku: got go %v, reasons %q; want a no-go for lack of a target", r.Go, r.Reasons)
	}
	if r := byRoute["old-model"]; r.Go || !containsSub(r.Reasons, "no configured route") {
		t.Errorf("old-model: got go %v, reasons %q; want a no-go for lack of a route", r.Go, r.Reasons)
	}
	if r := byRoute["legacy-*"]; r.Requests != 0 || !containsSub(r.Notes, "no traffic") {
		t.Errorf("legacy-*: got %d requests, notes %q", r.Requests, r.Notes)
	}
	if r := byRoute["claude-sonnet"]; r.Requests != 13 || len(r.Principals) != 2 || r.Principals[0].ID != "key_a" || r.Principals[0].Requests != 12 {
		t.Errorf("claude-sonnet: got %d requests, principals %+v; want 13, key_a (12) first", r.Requests, r.Principals)
	}
	// key_b's gpt-5 traffic is not anthropic's: only its claude-sonnet counts.
	if len(plan.Principals) != 3 || plan.Principals[0].ID != "key_a" || plan.Principals[0].Requests != 14 {
		t.Errorf("got principals %+v, want key_a (14), key_c (3), key_b (1)", plan.Principals)
	}
	for _, p := range plan.Principals {
		if p.ID == "key_b" && p.Requests != 1 {
			t.Errorf("key_b: got %d requests, want 1", p.Requests)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	seed(t, db)
	if _, err := Rehearse(ctx, db, testRoutes, nil, "anthropic", "anthropic", time.Time{}); err == nil {
		t.Error("plan to the same vendor: got no error")
	}
	if _, err := Rehearse(ctx, db, testRoutes, nil, "", "openai", time.Time{}); err == nil {
		t.Error("plan without from: got no error")
	}
	boom := errors.New("boom")
	if _, err := Rehearse(ctx, db, testRoutes, &fakeShadow{err: boom}, "anthropic", "openai", time.Time{}); !errors.Is(err, boom) {
		t.Errorf("failing shadow store: got %v, want it wrapped", err)
	}
}

func TestPlanNothingToMove(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	plan, err := Rehearse(context.Background(), db, testRoutes, nil, "xai", "openai", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Go || len(plan.Routes) != 0 {
		t.Errorf("got go %v with %d routes, want a go with none", plan.Go, len(plan.Routes))
	}
}

func containsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
