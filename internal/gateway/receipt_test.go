package gateway_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/brightline/brightline/auditverify"
	receipts "github.com/brightline/brightline/auditverify/provider"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// receiptLog is a real audit log in a temporary directory, checkpointed
// often, and its verifier key.
func receiptLog(t *testing.T) (*auditlog.Log, string, string) {
	t.Helper()
	dir := t.TempDir()
	signer, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "gateway.test/receipts")
	if err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: logDir, Signer: signer, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, vkey, logDir
}

// serveDirect sends a request to a fake upstream directly, around the
// gateway, and returns the status and the refusal's message.
func serveDirect(t *testing.T, up http.Handler, path string, hdr http.Header, body []byte) (int, string) {
	t.Helper()
	r := httptest.NewRequest("POST", path, bytes.NewReader(body))
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	up.ServeHTTP(w, r)
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	json.Unmarshal(w.Body.Bytes(), &e)
	return w.Code, e.Error.Message
}

// TestUpstreamReceipts: what the gateway forwards passes a provider that
// checks receipts, streamed or not, passthrough or translated; the same
// body sent around the gateway, with another request's receipt, with one
// byte changed, or replayed, is refused.
func TestUpstreamReceipts(t *testing.T) {
	l, vkey, _ := receiptLog(t)
	h := newHarness(t, gateway.Config{Audit: l})
	v := &receipts.Verifier{VerifierKey: vkey}
	h.anthropic.Receipts, h.openai.Receipts = v, v
	// The simulated provider checks them too.
	h.router.Routes[2].Targets[0].Provider.(*provider.Simulated).Receipts = v
	if status, _, body := h.post(t, "/v1/chat/completions", `{"model":"simulated","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey)); status != 200 {
		t.Fatalf("simulated: got %d %s, want 200", status, body)
	}

	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"first"}]}`},
		{"/v1/chat/completions", `{"model":"via-openai","stream":true,"messages":[{"role":"user","content":"second"}]}`},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":10,"messages":[{"role":"user","content":"third"}]}`},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"fourth"}]}`},
		{"/v1/chat/completions", `{"model":"via-anthropic","messages":[{"role":"user","content":"fifth"}]}`},
	} {
		hdr := bearer(testKey)
		if c.path == "/v1/messages" {
			hdr = anthropicHdr(testKey)
		}
		if status, _, body := h.post(t, c.path, c.body, hdr); status != 200 {
			t.Fatalf("%s: got %d %s, want 200", c.body, status, body)
		}
	}
	if n := h.anthropic.Refused() + h.openai.Refused(); n != 0 {
		t.Fatalf("the upstreams refused %d forwarded requests", n)
	}
	lv, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	sent := append(h.openai.Requests(), h.anthropic.Requests()...)
	if len(sent) != 5 {
		t.Fatalf("got %d upstream requests, want 5", len(sent))
	}
	for _, r := range sent {
		u, err := auditverify.ParseUpstreamReceipt(r.Header.Get(auditverify.UpstreamHeader), lv)
		if err != nil {
			t.Fatal(err)
		}
		if u.Forward.RequestID == "" || u.Forward.PrincipalID != "key_test" || u.Forward.Attempt != 1 || u.Forward.PolicyHash == "" {
			t.Errorf("forward entry %+v, want the request id, principal, attempt 1 and policy", u.Forward)
		}
		if n := len(r.Header.Get(auditverify.UpstreamHeader)); n > 2048 {
			t.Errorf("the header is %d bytes, want at most 2048", n)
		} else {
			t.Logf("%s: a %d-byte header", r.Path, n)
		}
	}

	a, b := sent[0], sent[2]
	changed := bytes.Clone(a.Body)
	changed[bytes.Index(changed, []byte("first"))] = 'F'
	without := a.Header.Clone()
	without.Del(auditverify.UpstreamHeader)
	withB := a.Header.Clone()
	withB.Set(auditverify.UpstreamHeader, b.Header.Get(auditverify.UpstreamHeader))
	for _, c := range []struct {
		name string
		hdr  http.Header
		body []byte
		want string
	}{
		{"the same body sent directly", without, a.Body, "no Brightline-Receipt"},
		{"another request's receipt", withB, a.Body, "not the body the receipt commits to"},
		{"one byte changed", a.Header, changed, "not the body the receipt commits to"},
		{"replayed", a.Header, a.Body, "already used"},
	} {
		status, msg := serveDirect(t, h.openai, a.Path, c.hdr, c.body)
		if status != 403 || !strings.Contains(msg, c.want) {
			t.Errorf("%s: got %d %q, want 403 saying %q", c.name, status, msg, c.want)
		}
	}
}

// forwardFailing is an Auditor that takes decisions but fails every
// forward entry.
type forwardFailing struct{ fakeAuditor }

func (a *forwardFailing) Append(ctx context.Context, e auditlog.Entry, c *auditlog.Commitment) (auditlog.Receipt, error) {
	if e.Kind == auditlog.KindForward {
		return auditlog.Receipt{}, errors.New("no space left on device")
	}
	return a.fakeAuditor.Append(ctx, e, c)
}

// TestForwardAuditFailsClosed: when the forward entry cannot be appended,
// nothing is forwarded and the client gets the audit log's 503.
func TestForwardAuditFailsClosed(t *testing.T) {
	h := newHarness(t, gateway.Config{Audit: &forwardFailing{}})
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"failover","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"simulated","messages":[{"role":"user","content":"hi"}]}`},
	} {
		status, rh, body := h.post(t, c.path, c.body, bearer(testKey))
		if _, msg := errorShape(t, c.path, body); status != 503 || rh.Get("Retry-After") == "" || !strings.Contains(msg, "audit log") {
			t.Errorf("%s: got %d %q, want 503 naming the audit log", c.body, status, body)
		}
	}
	if n := h.openai.Count() + h.anthropic.Count(); n != 0 {
		t.Errorf("the upstreams got %d requests, want none", n)
	}
}

// TestRetriesCarryTheirOwnReceipts: a retry and a failover each get a
// forward entry and a receipt of their own, all accepted.
func TestRetriesCarryTheirOwnReceipts(t *testing.T) {
	l, vkey, _ := receiptLog(t)
	h := newHarness(t, gateway.Config{Audit: l})
	v := &receipts.Verifier{VerifierKey: vkey}
	h.anthropic.Receipts, h.openai.Receipts = v, v
	h.anthropic.Fail = func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 503} }
	if status, _, body := h.post(t, "/v1/chat/completions", `{"model":"failover","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey)); status != 200 {
		t.Fatalf("got %d %s, want 200 from the second target", status, body)
	}
	lv, _ := note.NewVerifier(vkey)
	var attempts []int
	seen := map[uint64]bool{}
	for _, r := range append(h.anthropic.Requests(), h.openai.Requests()...) {
		u, err := auditverify.ParseUpstreamReceipt(r.Header.Get(auditverify.UpstreamHeader), lv)
		if err != nil {
			t.Fatal(err)
		}
		if seen[u.Receipt.Index] {
			t.Errorf("two attempts carry the receipt of entry %d", u.Receipt.Index)
		}
		seen[u.Receipt.Index] = true
		attempts = append(attempts, u.Forward.Attempt)
	}
	if len(attempts) != 3 || attempts[0] != 1 || attempts[1] != 2 || attempts[2] != 3 {
		t.Errorf("got attempts %v, want [1 2 3] (two tries on the first target, one on the second)", attempts)
	}
	if n := h.anthropic.Refused() + h.openai.Refused(); n != 0 {
		t.Errorf("the upstreams refused %d receipts", n)
	}
}

// waitForCheckpoint polls the log directory until its checkpoint covers
// size entries.
func waitForCheckpoint(t *testing.T, src auditverify.Source, vkey string, size uint64) {
	t.Helper()
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := auditverify.FetchCheckpoint(context.Background(), src, pol)
		if err == nil && c.Size >= size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d within 20s (last: %+v, %v)", size, c, err)
		}
		<-tick.C
	}
}

// TestReceiptsUnderTheTrustSet: with the log at hand, a receipt from a
// gateway whose policy was activated unsigned is refused once the log
// shows it; one under a policy the trust set signed is accepted, with its
// entry's inclusion checked.
func TestReceiptsUnderTheTrustSet(t *testing.T) {
	opSkey, opVkey, err := bundle.GenerateKey("operator")
	if err != nil {
		t.Fatal(err)
	}
	vendorSkey, vendorVkey, err := bundle.GenerateKey("vendor")
	if err != nil {
		t.Fatal(err)
	}
	trust := auditverify.TrustSet{Keys: []string{opVkey, vendorVkey}, Threshold: 2}
	pol := policy.Default()
	sum, err := hex.DecodeString(strings.TrimPrefix(pol.Hash(), "sha256:"))
	if err != nil || len(sum) != 32 {
		t.Fatalf("policy hash %q", pol.Hash())
	}
	for _, signed := range []bool{false, true} {
		l, vkey, dir := receiptLog(t)
		e := auditlog.Entry{Kind: auditlog.KindPolicyActivation, PolicyHash: pol.Hash(), PolicyVersion: 1, Action: "activated"}
		if signed {
			m := bundle.Manifest{Version: 1, Activate: time.Now().UTC().Truncate(time.Second)}
			copy(m.PolicySHA256[:], sum)
			n, err := bundle.Sign([]byte(m.Text()), opSkey)
			if err != nil {
				t.Fatal(err)
			}
			if n, err = bundle.Sign(n, vendorSkey); err != nil {
				t.Fatal(err)
			}
			e.TrustHash, e.Detail = trust.Hash(), map[string]string{"note": string(n)}
		}
		if _, err := l.Append(context.Background(), e, nil); err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, gateway.Config{Audit: l, Policy: gateway.StaticPolicy{Policy: pol.WithVersion(1)}})
		if status, _, body := h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey)); status != 200 {
			t.Fatalf("got %d %s", status, body)
		}
		r := h.openai.Requests()[0]
		header := r.Header.Get(auditverify.UpstreamHeader)
		lv, _ := note.NewVerifier(vkey)
		u, err := auditverify.ParseUpstreamReceipt(header, lv)
		if err != nil {
			t.Fatal(err)
		}
		logSrc := auditverify.NewSource(dir, nil, nil)
		waitForCheckpoint(t, logSrc, vkey, u.Receipt.Index+1)
		v := &receipts.Verifier{VerifierKey: vkey, Trust: trust, Log: logSrc}
		_, err = v.Verify(context.Background(), header, r.Body)
		switch {
		case signed && err != nil:
			t.Errorf("under a signed policy: %v", err)
		case !signed && !errors.Is(err, receipts.ErrUntrusted):
			t.Errorf("under an unsigned policy: got %v, want %v", err, receipts.ErrUntrusted)
		}
	}
}

// recordingChecker keeps the receipts it is shown and passes them on.
type recordingChecker struct {
	next    *receipts.Verifier
	mu      sync.Mutex
	headers []string
}

func (c *recordingChecker) Check(r *http.Request, body []byte) error {
	c.mu.Lock()
	c.headers = append(c.headers, r.Header.Get(auditverify.UpstreamHeader))
	c.mu.Unlock()
	return c.next.Check(r, body)
}

// TestShadowCarriesItsOwnReceipt: a request mirrored to a shadow
// candidate carries a receipt of its own, marked shadow, which a checking
// candidate accepts.
func TestShadowCarriesItsOwnReceipt(t *testing.T) {
	ctx := context.Background()
	l, vkey, _ := receiptLog(t)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v := &receipts.Verifier{VerifierKey: vkey}
	rec := &recordingChecker{next: v}
	cand := provider.NewSimulated("candidate")
	cand.Receipts = rec
	m, err := shadow.New(shadow.Config{
		Candidates: map[string]shadow.Candidate{"via-openai": {Provider: cand, Model: "cand", Sample: 1}},
		Store:      db,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Audit: l, Mirror: m})
	h.openai.Receipts = v
	if status, _, body := h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey)); status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	var res []store.ShadowResult
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(res) == 0 && time.Now().Before(deadline) {
		<-tick.C
		if res, err = db.ShadowResults(ctx, "via-openai", time.Time{}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].CandidateOK {
		t.Fatalf("got shadow results %+v, want one the candidate answered", res)
	}
	lv, _ := note.NewVerifier(vkey)
	primary, err := auditverify.ParseUpstreamReceipt(h.openai.Requests()[0].Header.Get(auditverify.UpstreamHeader), lv)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.headers) != 1 {
		t.Fatalf("the candidate saw %d requests, want 1", len(rec.headers))
	}
	sh, err := auditverify.ParseUpstreamReceipt(rec.headers[0], lv)
	if err != nil {
		t.Fatal(err)
	}
	if !sh.Forward.Shadow || primary.Forward.Shadow || sh.Receipt.Index == primary.Receipt.Index ||
		sh.Forward.RequestID != primary.Forward.RequestID || sh.Forward.Provider != "candidate" {
		t.Errorf("shadow %+v (entry %d), primary %+v (entry %d): want distinct entries of the same request, the shadow's marked",
			sh.Forward, sh.Receipt.Index, primary.Forward, primary.Receipt.Index)
	}
}

// TestDecisionGoesWithTheFirstForward: the request's decision and its
// first upstream attempt's forward entry are journaled together, at
// consecutive indexes (one flush before forwarding, not two); the client
// gets the decision's receipt, the upstream the forward entry's. Later
// attempts' entries are appended alone (a denial's decision too:
// TestAuditReceiptHeader).
func TestDecisionGoesWithTheFirstForward(t *testing.T) {
	dir := t.TempDir()
	signer, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "gateway.test/receipts")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: filepath.Join(dir, "log"), Signer: signer, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	flushes := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "brightline_audit_journal_flush_seconds" {
				return mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	h := newHarness(t, gateway.Config{Audit: l})
	lv, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ model, stream string }{{"via-openai", "false"}, {"via-openai", "true"}, {"failover", "false"}} {
		flushed := flushes()
		h.anthropic.Fail = nil
		if c.model == "failover" {
			h.anthropic.Fail = func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 503} }
		}
		before := len(h.openai.Requests()) + len(h.anthropic.Requests())
		status, rh, body := h.post(t, "/v1/chat/completions", `{"model":"`+c.model+`","stream":`+c.stream+`,"messages":[{"role":"user","content":"hi"}]}`, bearer(testKey))
		if status != 200 {
			t.Fatalf("%s: got %d %s", c.model, status, body)
		}
		dec, err := auditverify.ParseReceipt(rh.Get(auditverify.ReceiptHeader), lv)
		if err != nil {
			t.Fatalf("%s: the decision's receipt: %v", c.model, err)
		}
		sent := append(h.anthropic.Requests(), h.openai.Requests()...)
		if len(sent)-before < 1 {
			t.Fatalf("%s: nothing forwarded", c.model)
		}
		var fwd []uint64
		for _, r := range sent {
			u, err := auditverify.ParseUpstreamReceipt(r.Header.Get(auditverify.UpstreamHeader), lv)
			if err != nil {
				t.Fatal(err)
			}
			if u.Forward.RequestID == rh.Get("x-request-id") {
				fwd = append(fwd, u.Receipt.Index)
			}
		}
		slices.Sort(fwd)
		if len(fwd) == 0 || fwd[0] != dec.Index+1 {
			t.Errorf("%s: decision at %d, forward entries at %v; want the first right after the decision", c.model, dec.Index, fwd)
		}
		if c.model == "failover" && len(fwd) < 2 {
			t.Errorf("%s: forward entries at %v, want one per attempt", c.model, fwd)
		}
		// The decision and the first forward entry share a flush; every
		// later attempt's entry has its own.
		if got, want := flushes()-flushed, uint64(len(fwd)); got != want {
			t.Errorf("%s: %d journal flushes for the decision and %d forward entries, want %d", c.model, got, len(fwd), want)
		}
	}
}

// groupFailing is an Auditor that appends entries together and fails
// every such append.
type groupFailing struct{ fakeAuditor }

func (a *groupFailing) AppendAll(context.Context, []auditlog.Item) ([]auditlog.Receipt, error) {
	return nil, errors.New("no space left on device")
}

// TestJointAuditFailsClosed: when the decision and the forward entry
// cannot be appended together, nothing is forwarded and the client gets
// the audit log's 503, streamed or not.
func TestJointAuditFailsClosed(t *testing.T) {
	h := newHarness(t, gateway.Config{Audit: &groupFailing{}})
	for _, body := range []string{
		`{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"via-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"simulated","messages":[{"role":"user","content":"hi"}]}`,
	} {
		status, rh, out := h.post(t, "/v1/chat/completions", body, bearer(testKey))
		if _, msg := errorShape(t, "/v1/chat/completions", out); status != 503 || rh.Get("Retry-After") == "" || !strings.Contains(msg, "audit log") {
			t.Errorf("%s: got %d %q, want 503 naming the audit log", body, status, out)
		}
	}
	if n := h.openai.Count() + h.anthropic.Count(); n != 0 {
		t.Errorf("the upstreams got %d requests, want none", n)
	}
}
