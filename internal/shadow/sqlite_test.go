package shadow

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// Summaries read the SQLite store.
var _ ResultScanner = (*sqlite.DB)(nil)

// TestMirrorIntoSQLite runs the mirror against the real store and reads the
// summary a transition plan would see.
func TestMirrorIntoSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// Every fourth candidate request fails with 503; the rest echo like
	// the primary.
	cfake := &fakeupstream.Server{Fail: func(n int) *fakeupstream.Failure {
		if n%4 == 0 {
			return &fakeupstream.Failure{Status: 503}
		}
		return nil
	}}
	cand := newHTTP(t, "openai-up", provider.KindOpenAI, cfake)
	m := newMirror(t, Config{
		Candidates:  map[string]Candidate{"claude-route": {Provider: cand, Model: "gpt-cand", Sample: 1}},
		Store:       db,
		Concurrency: 2,
		Queue:       64,
	})
	const n = 40
	for i := range n {
		req := toolRequest("tell me about Oslo")
		m.Offer("claude-route", req, textResponse("echo: tell me about Oslo"), nil, time.Duration(i+1)*time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sums, err := Stats{Store: db}.ShadowSummaries(ctx, "claude-route", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 {
		t.Fatalf("got %d summaries, want 1: %+v", len(sums), sums)
	}
	s := sums[0]
	if s.Candidate != "openai-up/gpt-cand" || s.Samples != n {
		t.Errorf("got candidate %q with %d samples, want openai-up/gpt-cand with %d", s.Candidate, s.Samples, n)
	}
	failed := n / 4 // requests 4, 8, … to the candidate answered 503
	if want := float64(n-failed) / n; s.CandidateSuccessRate != want || s.PrimarySuccessRate != 1 {
		t.Errorf("success rates: got primary %v candidate %v, want 1 and %v", s.PrimarySuccessRate, s.CandidateSuccessRate, want)
	}
	if s.Compared != n-failed || s.RefusalAgreement != 1 || s.MeanSimilarity != 1 || s.ToolSamples != 0 {
		t.Errorf("got compared %d, refusal agreement %v, similarity %v, tool samples %d; want %d, 1, 1, 0",
			s.Compared, s.RefusalAgreement, s.MeanSimilarity, s.ToolSamples, n-failed)
	}
	if want := 20 * time.Millisecond; s.LatencyP50Primary != want { // lower median of 1..40 ms
		t.Errorf("LatencyP50Primary: got %v, want %v", s.LatencyP50Primary, want)
	}
	if s.LatencyP50Candidate <= 0 {
		t.Errorf("LatencyP50Candidate: got %v, want > 0", s.LatencyP50Candidate)
	}
}
