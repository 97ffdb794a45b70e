package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// party is a signer for test bundles.
type party struct{ skey, vkey string }

func newParty(t *testing.T, name string) party {
	t.Helper()
	skey, vkey, err := bundle.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return party{skey, vkey}
}

// policyText returns a policy that denies requests for model.
func policyText(model string) string {
	return fmt.Sprintf(`rules:
  - id: deny-%[1]s
    stage: request
    when: request.model == %[1]q
    action: deny
    message: %[1]s is not allowed.
`, model)
}

// writeBundle writes policy text to path and a note for it signed by
// signers, atomically, as an operator installing a bundle would.
func writeBundle(t *testing.T, path, text string, version int64, activate time.Time, signers ...party) {
	t.Helper()
	m := bundle.NewManifest([]byte(text), version, activate)
	note := []byte(m.Text())
	for _, p := range signers {
		var err error
		if note, err = bundle.Sign(note, p.skey); err != nil {
			t.Fatal(err)
		}
	}
	if err := replaceFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(path+bundle.NoteSuffix, note, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signedConfig(path string, threshold int, parties ...party) PolicyConfig {
	pc := PolicyConfig{File: path, PollInterval: 10 * time.Millisecond}
	for _, p := range parties {
		pc.Trust.Keys = append(pc.Trust.Keys, p.vkey)
	}
	pc.Trust.Threshold = threshold
	return pc
}

var past = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// syncBuffer is a log sink safe for the watcher goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sourceHarness makes policy sources over a real SQLite store, as serve
// does, and hears of their events.
type sourceHarness struct {
	t       *testing.T
	db      *sqlite.DB
	log     *syncBuffer
	metrics *gateway.Metrics
	events  chan bundle.Event
	watched bool // metrics.WatchPolicy was called, with the first source
}

func newSourceHarness(t *testing.T) *sourceHarness {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &sourceHarness{t: t, db: db, log: &syncBuffer{}, metrics: gateway.NewMetrics(), events: make(chan bundle.Event, 100)}
}

func (h *sourceHarness) start(pc PolicyConfig) (policySource, error) {
	plan, err := establishTrust(h.t.Context(), &pc, h.db, auditlog.Anchor{}, true, nil)
	if err != nil {
		return policySource{}, err
	}
	s := newPolicySource(pc, h.db, plan, slog.New(slog.NewJSONHandler(h.log, nil)), h.metrics, nil)
	count := s.OnEvent
	s.OnEvent = func(ev bundle.Event) { count(ev); h.events <- ev }
	if err := s.Start(h.t.Context()); err != nil {
		return policySource{}, err
	}
	if !h.watched {
		h.metrics.WatchPolicy(s)
		h.watched = true
	}
	return s, nil
}

func (h *sourceHarness) scrape() string {
	rec := httptest.NewRecorder()
	h.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func (h *sourceHarness) event() bundle.Event {
	h.t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(10 * time.Second):
		h.t.Fatal("no policy activation event within 10s")
		return bundle.Event{}
	}
}

func (h *sourceHarness) noEvent() {
	h.t.Helper()
	select {
	case ev := <-h.events:
		h.t.Fatalf("got event %+v, want none", ev)
	default:
	}
}

// activations returns the store's active activation, or nil if none was
// recorded.
func (h *sourceHarness) activations() []store.PolicyActivation {
	a, err := h.db.ActivePolicy(h.t.Context())
	if errors.Is(err, brightline.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return []store.PolicyActivation{a}
}

// TestPolicySourceStart checks what serve does with the bundle it starts
// with, and that restarting with the active bundle works.
func TestPolicySourceStart(t *testing.T) {
	op, ve := newParty(t, "operator"), newParty(t, "vendor")
	h := newSourceHarness(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	pc := signedConfig(path, 2, op, ve)

	writeBundle(t, path, policyText("one"), 1, past, op)
	if _, err := h.start(pc); bundle.Class(err) != "threshold" || !strings.Contains(err.Error(), "1 of the 2") {
		t.Fatalf("start with 1 of 2 signatures: got %v, want a threshold refusal", err)
	}
	if ev := h.event(); ev.Result != "refused" || ev.Class != "threshold" || ev.Version != 1 || len(ev.Signers) != 1 {
		t.Errorf("got event %+v, want a threshold refusal of version 1 signed by operator", ev)
	}
	if a := h.activations(); a != nil {
		t.Errorf("got activations %v after a refusal, want none", a)
	}

	writeBundle(t, path, policyText("one"), 1, past, op, ve)
	s, err := h.start(pc)
	if err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if st.Version != 1 || st.Source != path || strings.Join(st.Signers, ",") != "operator,vendor" || st.Unsigned || st.LastRefusal != nil {
		t.Errorf("got status %+v, want version 1 from %s signed by operator,vendor", st, path)
	}
	if s.Current().Version() != 1 || s.Current().Hash() != st.Hash {
		t.Errorf("got current policy version %d hash %s, want 1 and %s", s.Current().Version(), s.Current().Hash(), st.Hash)
	}
	if ev := h.event(); ev.Result != "activated" || ev.Version != 1 || ev.Hash != st.Hash {
		t.Errorf("got event %+v, want activation of version 1", ev)
	}
	a := h.activations()
	if len(a) != 1 || a[0].Version != 1 || a[0].Hash != st.Hash {
		t.Fatalf("got stored activations %+v, want version 1 with hash %s", a, st.Hash)
	}

	// A restart with the same bundle: accepted, not recorded again (the
	// store would refuse it as stale), activated_at from the store.
	s2, err := h.start(pc)
	if err != nil {
		t.Fatalf("restart with the active bundle: %v", err)
	}
	if got := s2.Status().ActivatedAt; !got.Equal(a[0].ActivatedAt) {
		t.Errorf("got activated_at %v, want the stored %v", got, a[0].ActivatedAt)
	}
	h.event()

	// The same version with another policy is refused at start.
	writeBundle(t, path, policyText("two"), 1, past, op, ve)
	if _, err := h.start(pc); bundle.Class(err) != "rollback" {
		t.Errorf("start with a changed version 1: got %v, want a rollback refusal", err)
	}
}

// TestPolicySourceReload walks a running source through a reload on
// SIGHUP, a refused reload, and a reload on a file change.
func TestPolicySourceReload(t *testing.T) {
	op, ve := newParty(t, "operator"), newParty(t, "vendor")
	h := newSourceHarness(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	pc := signedConfig(path, 2, op, ve)
	pc.PollInterval = time.Hour // this test reloads by SIGHUP only

	writeBundle(t, path, policyText("one"), 1, past, op, ve)
	s, err := h.start(pc)
	if err != nil {
		t.Fatal(err)
	}
	h.event()
	ctx, cancel := context.WithCancel(t.Context())
	hup := make(chan os.Signal)
	done := make(chan struct{})
	go func() { s.Watch(ctx, hup); close(done) }()
	defer func() { cancel(); <-done }()

	// Version 2 on SIGHUP.
	writeBundle(t, path, policyText("two"), 2, past, op, ve)
	v1 := s.Current()
	hup <- syscall.SIGHUP
	if ev := h.event(); ev.Result != "activated" || ev.Version != 2 {
		t.Fatalf("got event %+v, want activation of version 2", ev)
	}
	if got := s.Current().Version(); got != 2 {
		t.Fatalf("got version %d in force, want 2", got)
	}
	if v1.Version() != 1 {
		t.Errorf("the policy a request already holds changed to version %d; want it left at 1", v1.Version())
	}
	if a := h.activations(); a[0].Version != 2 {
		t.Errorf("got stored version %d, want 2", a[0].Version)
	}

	// Version 3 with one signature is refused; version 2 stays.
	writeBundle(t, path, policyText("three"), 3, past, op)
	hup <- syscall.SIGHUP
	if ev := h.event(); ev.Result != "refused" || ev.Class != "threshold" || ev.Version != 3 {
		t.Fatalf("got event %+v, want a threshold refusal of version 3", ev)
	}
	st := s.Status()
	if st.Version != 2 || s.Current().Version() != 2 {
		t.Errorf("got version %d in force, want 2 kept", st.Version)
	}
	if r := st.LastRefusal; r == nil || r.Version != 3 || !strings.Contains(r.Reason, "1 of the 2 required trusted signatures (operator)") {
		t.Errorf("got last refusal %+v, want version 3 with the threshold reason", r)
	}
	metrics := h.scrape()
	for _, want := range []string{
		`brightline_policy_activations_total{reason="threshold",result="refused"} 1`,
		`brightline_policy_activations_total{reason="",result="activated"} 2`,
		`brightline_policy_version 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if log := h.log.String(); !strings.Contains(log, `"level":"ERROR","msg":"policy activation","result":"refused","version":3`) {
		t.Errorf("log lacks the refusal at ERROR:\n%s", log)
	}

	// SIGHUP with the bundle in force changes nothing and reports nothing.
	writeBundle(t, path, policyText("two"), 2, past, op, ve)
	hup <- syscall.SIGHUP
	hup <- syscall.SIGHUP // the second send waits until the first reload is done
	h.noEvent()
	if got := s.Status(); got.Version != 2 || got.LastRefusal == nil {
		t.Errorf("got status %+v, want version 2 with the earlier refusal kept", got)
	}
}

// TestPolicySourcePoll checks reloading on a file change, one poll at a
// time (Watch's ticker calls Poll; bundle's TestWatchPolls checks that): a
// change loads once two polls in a row have seen it, a refused change is
// reported once however often the files are polled, and a bundle not yet
// active loads at the first poll once its time has come.
func TestPolicySourcePoll(t *testing.T) {
	op := newParty(t, "operator")
	h := newSourceHarness(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	pc := signedConfig(path, 1, op)

	writeBundle(t, path, policyText("one"), 1, past, op)
	s, err := h.start(pc)
	if err != nil {
		t.Fatal(err)
	}
	h.event()
	now := time.Now()
	s.Now = func() time.Time { return now }
	ctx := t.Context()

	writeBundle(t, path, policyText("two"), 2, past, op)
	s.Poll(ctx) // sees the change
	h.noEvent()
	s.Poll(ctx) // sees it settled, and loads it
	if ev := h.event(); ev.Result != "activated" || ev.Version != 2 {
		t.Fatalf("got event %+v, want activation of version 2", ev)
	}

	// A broken policy is refused once, not on every poll.
	if err := os.WriteFile(path, []byte("rules: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Poll(ctx)
	h.noEvent()
	s.Poll(ctx)
	if ev := h.event(); ev.Result != "refused" || ev.Class != "hash" {
		t.Fatalf("got event %+v, want a hash refusal", ev)
	}
	for range 20 {
		s.Poll(ctx)
	}
	h.noEvent()
	if got := s.Current().Version(); got != 2 {
		t.Errorf("got version %d in force, want 2", got)
	}

	// A bundle that activates later is refused, then loaded at the first
	// poll once the clock reaches its activation time.
	later := now.Add(time.Hour).Truncate(time.Second)
	writeBundle(t, path, policyText("three"), 3, later, op)
	s.Poll(ctx)
	s.Poll(ctx)
	if ev := h.event(); ev.Result != "refused" || ev.Class != "not_yet_active" || ev.Version != 3 {
		t.Fatalf("got event %+v, want a not_yet_active refusal of version 3", ev)
	}
	now = later.Add(-time.Second)
	s.Poll(ctx)
	h.noEvent()
	now = later
	s.Poll(ctx)
	if ev := h.event(); ev.Result != "activated" || ev.Version != 3 {
		t.Fatalf("got event %+v, want activation of version 3", ev)
	}
	if got := s.Current().Version(); got != 3 {
		t.Errorf("got version %d in force, want 3", got)
	}
}

func TestPolicySourceUnsigned(t *testing.T) {
	h := newSourceHarness(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(policyText("one")), 0o644); err != nil {
		t.Fatal(err)
	}
	pc := PolicyConfig{File: path, Unsigned: true, PollInterval: 10 * time.Millisecond}
	s, err := h.start(pc)
	if err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if !st.Unsigned || st.Version != 0 || len(st.Signers) != 0 {
		t.Errorf("got status %+v, want unsigned version 0 with no signers", st)
	}
	if !strings.Contains(h.log.String(), `"level":"WARN","msg":"UNSIGNED POLICY`) {
		t.Errorf("log lacks the unsigned warning:\n%s", h.log.String())
	}
	if !strings.Contains(h.scrape(), "brightline_policy_unsigned 1") {
		t.Error("metrics lack brightline_policy_unsigned 1")
	}
	if a := h.activations(); a != nil {
		t.Errorf("got stored activations %v for an unsigned policy, want none", a)
	}
	h.event()

	if err := replaceFile(path, []byte(policyText("two")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Poll(t.Context())
	s.Poll(t.Context())
	if ev := h.event(); ev.Result != "activated" || ev.Hash != policy.HashSource([]byte(policyText("two"))) {
		t.Fatalf("got event %+v, want activation of the edited file", ev)
	}
}

// TestServePolicyDefault checks that without a policy file serve uses the
// embedded default, and that SIGHUP is absorbed rather than fatal.
func TestServePolicyDefault(t *testing.T) {
	var buf syncBuffer
	cfg := &Config{}
	src, watch, err := servePolicy(t.Context(), cfg, nil, nil, slog.New(slog.NewJSONHandler(&buf, nil)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := src.Status(); st.Source != "embedded default" || st.Version != 0 {
		t.Errorf("got status %+v, want the embedded default", st)
	}
	ctx, cancel := context.WithCancel(t.Context())
	hup := make(chan os.Signal)
	done := make(chan struct{})
	go func() { watch(ctx, hup); close(done) }()
	hup <- syscall.SIGHUP
	cancel()
	<-done
	if !strings.Contains(buf.String(), "nothing to reload") {
		t.Errorf("log lacks the SIGHUP notice:\n%s", buf.String())
	}
}

// waitmatch [-key FILE] URL REGEXP: poll GET URL until its body matches
// REGEXP, for up to 20s; stdout gets the matching body.
func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitmatch")
	}
	var key string
	if len(args) > 2 && args[0] == "-key" {
		key = strings.TrimSpace(ts.ReadFile(args[1]))
		args = args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: waitmatch [-key FILE] URL REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodGet, args[0], nil)
		ts.Check(err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err.Error()
			continue
		}
		if last = string(b); re.Match(b) {
			ts.Stdout().Write(b)
			return
		}
	}
	ts.Fatalf("GET %s didn't match %s within 20s; last answer:\n%s", args[0], args[1], last)
}

// TestServeSIGHUP sends a real SIGHUP to a gateway running in this process:
// the policy reloads and the server keeps serving.
func TestServeSIGHUP(t *testing.T) {
	dir := t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	write(t, policyPath, policyText("one"))
	configPath := filepath.Join(dir, "gw.yaml")
	// Port 0: the gateway picks a free port and names it in its log.
	write(t, configPath, fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
providers: [{name: s, type: simulated}]
routes: [{model: s, targets: [{provider: s}]}]
policy: {file: %s, unsigned: true, poll_interval: 1h}
`, filepath.Join(dir, "data"), policyPath))

	oldHash, newHash := policy.HashSource([]byte(policyText("one"))), policy.HashSource([]byte(policyText("two")))
	ctx, cancel := context.WithCancel(t.Context())
	var stderr syncBuffer
	// The log says when the gateway listens, and when the new policy is
	// in force (the source logs an activation after swapping it in).
	listening := make(chan string, 1)
	reloaded := &logLine{to: &stderr, seen: make(chan struct{}),
		want: `"msg":"policy activation","result":"activated","version":0,"hash":"` + newHash + `"`}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", configPath, "-allow-unsigned-policy"},
			&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &logWatch{to: reloaded, listening: listening},
				getenv: func(string) string { return "" }})
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		cancel()
		t.Fatalf("serve returned %v before listening; log:\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve not listening within 20s; log:\n%s", stderr.String())
	}
	health := func() string {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The policy is in force before the gateway listens.
	if h := health(); !strings.Contains(h, oldHash) {
		cancel()
		t.Fatalf("/healthz at start: got %s, want the policy %s", h, oldHash)
	}

	write(t, policyPath, policyText("two"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded.seen:
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("the new policy not activated within 20s of SIGHUP; log:\n%s", stderr.String())
	}
	if h := health(); !strings.Contains(h, newHash) {
		t.Errorf("/healthz after the reload: got %s, want the policy %s", h, newHash)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v, want nil after a SIGHUP and shutdown", err)
	}
	if log := stderr.String(); !strings.Contains(log, `"msg":"SIGHUP: reloading the policy"`) {
		t.Errorf("log lacks the SIGHUP reload:\n%s", log)
	}
}

// logLine passes a log on to a writer and closes seen once a record
// containing want has been written. Its only caller is a slog handler,
// which writes each record whole in one call, one call at a time.
type logLine struct {
	to   io.Writer
	want string
	seen chan struct{}
	done bool
}

func (w *logLine) Write(b []byte) (int, error) {
	if !w.done && bytes.Contains(b, []byte(w.want)) {
		w.done = true
		close(w.seen)
	}
	return w.to.Write(b)
}

// TestPolicySourceFleet checks two gateways sharing one store: a newer
// bundle put in force by one is followed by the other, and refused as a
// rollback, once, while the other's files still hold the older one.
func TestPolicySourceFleet(t *testing.T) {
	op := newParty(t, "operator")
	h := newSourceHarness(t)
	pathA := filepath.Join(t.TempDir(), "policy.yaml")
	pathB := filepath.Join(t.TempDir(), "policy.yaml")
	writeBundle(t, pathA, policyText("one"), 1, past, op)
	writeBundle(t, pathB, policyText("one"), 1, past, op)
	a, err := h.start(signedConfig(pathA, 1, op))
	if err != nil {
		t.Fatal(err)
	}
	h.event()
	b, err := h.start(signedConfig(pathB, 1, op))
	if err != nil {
		t.Fatal(err)
	}
	h.event()
	ctx := t.Context()

	writeBundle(t, pathA, policyText("two"), 2, past, op)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := h.event(); ev.Result != "activated" || ev.Version != 2 {
		t.Fatalf("A: got %+v, want activation of version 2", ev)
	}

	// B's files still hold version 1: its next poll sees the fleet ahead
	// and refuses its own bundle as a rollback, once.
	b.Poll(ctx)
	if ev := h.event(); ev.Result != "refused" || ev.Class != "rollback" {
		t.Fatalf("B: got %+v, want a rollback refusal", ev)
	}
	if st := b.Status(); st.LastRefusal == nil {
		t.Errorf("B's status shows no refusal: %+v", st)
	}
	b.Poll(ctx)
	h.noEvent()

	// Once B's files hold version 2, B follows.
	writeBundle(t, pathB, policyText("two"), 2, past, op)
	b.Poll(ctx) // sees the change
	b.Poll(ctx) // sees it settled, and loads it
	if ev := h.event(); ev.Result != "activated" || ev.Version != 2 {
		t.Fatalf("B: got %+v, want activation of version 2", ev)
	}
	if got := b.Current().Version(); got != 2 {
		t.Errorf("B has version %d in force, want 2", got)
	}
}
