package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/store/pgtest"
	"github.com/brightline/brightline/internal/store/postgres"
	"github.com/brightline/brightline/internal/store/sqlite"
	"github.com/brightline/brightline/internal/subjects"
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

	// serve opens the counters only after establishKeys has made or
	// checked the secret, and never makes one itself.
	if _, err := openSurveillance(ctx, cfg, db, log); !errors.Is(err, errKeyMissing) {
		t.Fatalf("no subject secret: got %v, want errKeyMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, subjectKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("openSurveillance made a subject secret (stat: %v)", err)
	}
	if _, _, err := loadSubjectSecret(dir); err != nil {
		t.Fatal(err)
	}
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

// TestSurveillanceAcrossReplicas: two gateways on one PostgreSQL and one
// data directory share their counters: with Run going, what one replica
// counts reaches the other's decisions, a person both saw counts once, and
// a third replica started later restores the merged counts.
func TestSurveillanceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	dir := t.TempDir()
	cfg := &Config{DataDir: dir}
	cfg.Surveillance.ProfileCapacity = 1000
	cfg.Surveillance.SaveInterval = time.Minute
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, _, err := loadSubjectSecret(dir); err != nil {
		t.Fatal(err)
	}
	open := func() *surveillanceState {
		t.Helper()
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := openSurveillance(ctx, cfg, db, log)
		if err != nil {
			t.Fatal(err)
		}
		if s.sync == nil {
			t.Fatal("a PostgreSQL store: no sync")
		}
		return s
	}
	a, b := open(), open()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	for _, s := range []*surveillanceState{a, b} {
		go func() { done <- s.Run(runCtx) }()
	}
	p := brightline.Principal{ID: "key_analyst", Org: "acme"}
	pol := policy.Default()
	inspect := func(s *surveillanceState, text string) policy.CountersAttrs {
		t.Helper()
		req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
		x, err := safeguard.New(safeguard.Config{Surveillance: s.Surveillance}).Request(pol, p, req, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return x.Input.Counters
	}
	inspect(a, "Maria Garcia, cell (212) 555-0147, lives at 42 Oak Street, Austin, TX 78701.")
	inspect(b, "James Chen, (617) 555-0199, james.chen@example.com.")
	inspect(b, "Maria Garcia, (212) 555-0147: card 4111 1111 1111 1111.")
	// Poll each replica's view (without observing) until the other's
	// round has reached it; Run's interval is 250 ms.
	type view struct {
		subjects, org, breadth int
	}
	counters := func(s *surveillanceState) view {
		return view{s.Counter.Counts(p.ID).Subjects24h, s.Counter.Counts(subjects.OrgID(p.Org)).Subjects24h, s.Profiles.Stats(p.ID).MaxBreadth}
	}
	// Maria: identity, contact, location from a; financial from b.
	want := view{subjects: 2, org: 2, breadth: 4}
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(20 * time.Second)
	for counters(a) != want || counters(b) != want {
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatalf("after 20s: replica a %+v, replica b %+v; want %+v on each", counters(a), counters(b), want)
		}
	}
	stop()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	// Shutdown's last save stores what came after the last round.
	inspect(a, "Linda Smith, (312) 555-0123.")
	if err := a.save(ctx); err != nil {
		t.Fatal(err)
	}
	c := open()
	if got := counters(c); got != (view{subjects: 3, org: 3, breadth: 4}) {
		t.Errorf("a replica started later: got %+v, want 3 subjects, 3 in the org, breadth 4", got)
	}
}
