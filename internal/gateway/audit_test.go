package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
)

// fakeAuditor records entries, or fails every append when err is set.
type fakeAuditor struct {
	mu      sync.Mutex
	err     error
	entries []auditlog.Entry
	commits []*auditlog.Commitment
	// forwards are the forward entries (one per upstream attempt), kept
	// apart from the decisions.
	forwards []auditlog.Entry
}

func (a *fakeAuditor) Append(_ context.Context, e auditlog.Entry, c *auditlog.Commitment) (auditlog.Receipt, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return auditlog.Receipt{}, a.err
	}
	if e.Kind == auditlog.KindForward {
		a.forwards = append(a.forwards, e)
		return auditlog.Receipt{Index: uint64(len(a.entries) + len(a.forwards) - 1)}, nil
	}
	a.entries = append(a.entries, e)
	a.commits = append(a.commits, c)
	return auditlog.Receipt{Index: uint64(len(a.entries) + len(a.forwards) - 1)}, nil
}

// TestAuditFailsClosed: when the log cannot take the decision, the client
// gets 503 in its own dialect and no answer, streamed or not; denials too.
func TestAuditFailsClosed(t *testing.T) {
	a := &fakeAuditor{err: errors.New("no space left on device")}
	h := newHarness(t, gateway.Config{Audit: a})
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"via-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"simulated","messages":[{"role":"user","content":"/tool fire_weapon {}"}]}`},
	} {
		hdr := bearer(testKey)
		if c.path == "/v1/messages" {
			hdr = anthropicHdr(testKey)
		}
		status, rh, body := h.post(t, c.path, c.body, hdr)
		typ, msg := errorShape(t, c.path, body)
		if status != 503 || rh.Get("Retry-After") == "" || !strings.Contains(msg, "audit log") || typ == "" {
			t.Errorf("%s %s: got %d %q %q, want 503 naming the audit log, with Retry-After", c.path, c.body, status, typ, msg)
		}
		if strings.Contains(body, "echo") || strings.Contains(body, "fire_weapon") {
			t.Errorf("%s: the answer leaked: %s", c.path, body)
		}
	}
}

// TestAuditEntries: one entry per decision, with the request's salted
// commitment and no content.
func TestAuditEntries(t *testing.T) {
	a := &fakeAuditor{}
	h := newHarness(t, gateway.Config{Audit: a})
	body := `{"model":"simulated","messages":[{"role":"user","content":"Call Maria Garcia on (212) 555-0147.\n/tool fire_weapon {\"target\":\"grid 4\"}"}]}`
	status, rh, _ := h.post(t, "/v1/chat/completions", body, bearer(testKey))
	if status != 200 {
		t.Fatalf("got %d", status)
	}
	id := rh.Get("x-request-id")
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) != 2 {
		t.Fatalf("got %d entries, want 2 (request, tool_call): %+v", len(a.entries), a.entries)
	}
	// The request's entry is appended in parallel with the upstream call,
	// so the two may land in either order.
	ri, ci := 0, 1
	if a.entries[0].Stage != "request" {
		ri, ci = 1, 0
	}
	req, call := a.entries[ri], a.entries[ci]
	if req.RequestID != id || req.Stage != "request" || req.Action != "allow" || req.PrincipalID != "key_test" ||
		req.Detections["PERSON"] != 1 || req.Detections["PHONE"] != 1 || req.Subjects != 1 || req.Commitment == "" {
		t.Errorf("request entry: %+v", req)
	}
	c := a.commits[ri]
	if c == nil || auditlog.CommitmentHash(c.Salt, c.Body) != req.Commitment || !strings.Contains(string(c.Body), "Maria Garcia") {
		t.Errorf("commitment does not open to the request body: %+v", c)
	}
	if call.Stage != "tool_call" || call.Action != "require_approval" || call.Detail["tool"] != "fire_weapon" || call.Detail["effect"] != "force" || a.commits[ci] != nil || call.Time.IsZero() {
		t.Errorf("tool_call entry: %+v", call)
	}
	for _, e := range a.entries {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "Garcia") || strings.Contains(string(b), "555-0147") {
			t.Errorf("entry holds content: %s", b)
		}
	}
}

// TestAuditPolicyError: a request refused because a rule could not be
// evaluated is recorded as such.
func TestAuditPolicyError(t *testing.T) {
	a := &fakeAuditor{}
	p, err := policy.Load("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Audit: a, Policy: gateway.StaticPolicy{Policy: p}})
	status, _, _ := h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + testKey, "x-mission": "explode"})
	if status != 500 {
		t.Fatalf("got %d, want 500 policy_error", status)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) != 1 || a.entries[0].Action != "policy_error" || a.entries[0].Stage != "request" {
		t.Errorf("got entries %+v, want one request-stage policy_error", a.entries)
	}
}

func TestHealthShowsAuditFailure(t *testing.T) {
	st := gateway.AuditStatus{Size: 7, PublishedSize: 7}
	h := newHarness(t, gateway.Config{AuditStatus: func() gateway.AuditStatus { return st }})
	if got := h.get(t, "/healthz"); !strings.Contains(got, `"status":"ok"`) || !strings.Contains(got, `"audit":{"size":7,"published_size":7}`) {
		t.Errorf("healthy log: got %s", got)
	}
	st.Degraded, st.LastError, st.LastErrorAt = "the journal fails: no space left on device", "no space left on device", time.Now()
	if got := h.get(t, "/healthz"); !strings.Contains(got, `"status":"degraded"`) || !strings.Contains(got, "no space left") {
		t.Errorf("failing log: got %s, want degraded with the error", got)
	}
	// Recovered: ok again at once; the error stays as history.
	st.Degraded = ""
	if got := h.get(t, "/healthz"); !strings.Contains(got, `"status":"ok"`) || !strings.Contains(got, `"last_error":"no space left on device"`) {
		t.Errorf("recovered log: got %s, want ok with the last error kept", got)
	}
}

// TestFinished: the hook sees each request that reached a provider, with
// the request as forwarded (placeholders, not identifiers) and who served.
func TestFinished(t *testing.T) {
	var mu sync.Mutex
	var got []gateway.Finished
	p, err := policy.Load("test.yaml", []byte(surveillancePolicy))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}, Finished: func(f gateway.Finished) {
		mu.Lock()
		got = append(got, f)
		mu.Unlock()
	}})
	h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"Call Maria Garcia."}]}`, bearer(testKey))
	h.post(t, "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("got %d calls, want 1 (the unknown model reached no provider)", len(got))
	}
	f := got[0]
	text := f.Request.Messages[0].Content[0].Text
	if f.Route != "via-openai" || f.Served.Provider != "openai-up" || f.Usage.OutputTokens == 0 || f.Principal.ID != "key_test" ||
		strings.Contains(text, "Garcia") || !strings.Contains(text, "[PERSON_1]") {
		t.Errorf("got %+v with text %q", f, text)
	}
}

// TestAuditEntriesTrustHash: every decision entry names the trust set the
// policy in force was verified against, so an auditor can tell decisions
// under a signed policy from the rest.
func TestAuditEntriesTrustHash(t *testing.T) {
	const trust = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	a := &fakeAuditor{}
	pol := policy.Default().WithVersion(4).WithTrust(trust)
	h := newHarness(t, gateway.Config{Audit: a, Policy: gateway.StaticPolicy{Policy: pol, Source: "signed"}})
	body := `{"model":"simulated","messages":[{"role":"user","content":"/tool fire_weapon {\"target\":\"grid 4\"}"}]}`
	if status, _, _ := h.post(t, "/v1/chat/completions", body, bearer(testKey)); status != 200 {
		t.Fatalf("got %d", status)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(a.entries))
	}
	for _, e := range a.entries {
		if e.TrustHash != trust || e.PolicyHash != pol.Hash() || e.PolicyVersion != 4 {
			t.Errorf("%s entry: trust %q, policy %q v%d; want %q, %q v4", e.Stage, e.TrustHash, e.PolicyHash, e.PolicyVersion, trust, pol.Hash())
		}
	}
}

// TestAuditReceiptHeader: every answer, streamed or not, allowed or
// refused, carries the receipt of its request's decision, which verifies
// with the log's key.
func TestAuditReceiptHeader(t *testing.T) {
	dir := t.TempDir()
	signer, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "gateway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: filepath.Join(dir, "log"), Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Audit: l})
	var bulk strings.Builder
	for i := range 30 {
		fmt.Fprintf(&bulk, "%s Smith, (212) 555-01%02d\\n", []string{"Maria", "James", "Linda", "Robert", "Susan"}[i%5], 10+i)
	}
	seen := map[uint64]bool{}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`, 200},
		{`{"model":"via-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200},
		{`{"model":"via-openai","messages":[{"role":"user","content":"Import these:\n` + bulk.String() + `"}]}`, 403},
	} {
		status, rh, body := h.post(t, "/v1/chat/completions", c.body, bearer(testKey))
		if status != c.want {
			t.Fatalf("got %d %s, want %d", status, body, c.want)
		}
		r, err := auditverify.ParseReceipt(rh.Get(auditverify.ReceiptHeader), pol.Log)
		if err != nil {
			t.Fatalf("answer %d: receipt header %q: %v", status, rh.Get(auditverify.ReceiptHeader), err)
		}
		if seen[r.Index] {
			t.Errorf("two answers carry receipts for entry %d", r.Index)
		}
		seen[r.Index] = true
	}
}
