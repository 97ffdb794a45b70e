package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestSurveillanceSurvivesRestart: the counters are saved to the store and
// restored under the same subject secret, so restarting the gateway does
// not reset the safeguard.
func TestSurveillanceSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := &Config{DataDir: dir}
	cfg.Surveillance.ProfileCapacity = 1000
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := sqlite.Open(ctx, filepath.Join(dir, "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	s, err := openSurveillance(ctx, cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	req := func(text string) *llm.Request {
		return &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
	}
	p := brightline.Principal{ID: "key_analyst"}
	pol := policy.Default()
	inspect := func(s *surveillanceState, text string) *policy.Input {
		t.Helper()
		x, err := safeguard.New(safeguard.Config{Surveillance: s.Surveillance}).Request(pol, p, req(text), nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return x.Input
	}
	for _, text := range []string{
		"Maria Garcia, cell (212) 555-0147, lives at 42 Oak Street, Austin, TX 78701.",
		"James Chen, (617) 555-0199, james.chen@example.com.",
		"Maria Garcia, (212) 555-0147, again: card 4111 1111 1111 1111, plate 7ABC123 on her car.",
	} {
		inspect(s, text)
	}
	before := inspect(s, "Nothing about people.")
	if before.Counters.Subjects24h != 2 || before.Counters.USPersonSubjects24h != 2 || before.Counters.MaxProfileBreadth < 3 {
		t.Fatalf("before restart: got %+v, want 2 subjects, 2 US persons, breadth >= 3", before.Counters)
	}
	if err := s.save(ctx); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join(dir, subjectKeyFile))
	if err != nil || len(secret) != 32 {
		t.Fatalf("subject key: %d bytes, %v", len(secret), err)
	}

	s2, err := openSurveillance(ctx, cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	after := inspect(s2, "Nothing about people.")
	// The request windows are kept in memory only: after the restart this
	// is the principal's first request.
	if after.Counters.Requests1h != 1 {
		t.Errorf("after restart: got requests_1h %d, want 1", after.Counters.Requests1h)
	}
	after.Counters.Requests1h = before.Counters.Requests1h
	if after.Counters != before.Counters {
		t.Errorf("after restart: got %+v, want %+v", after.Counters, before.Counters)
	}
	// The same person seen again after the restart still counts once:
	// the secret, and so the keys, survived.
	again := inspect(s2, "Maria Garcia, cell (212) 555-0147.")
	if again.Counters.Subjects24h != 2 {
		t.Errorf("a known person after restart: got %d subjects in 24h, want 2", again.Counters.Subjects24h)
	}

	// A damaged secret stops the gateway instead of resetting every counter.
	os.WriteFile(filepath.Join(dir, subjectKeyFile), bytes.Repeat([]byte{1}, 5), 0o600)
	if _, err := openSurveillance(ctx, cfg, db, log); err == nil {
		t.Error("a 5-byte subject key: no error")
	}
}
