package provider_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/auditverify/provider"
	"github.com/brightline/brightline/internal/auditlog"
)

// minter signs upstream receipts with a log key, as a gateway's log does,
// for entries it makes up.
type minter struct {
	signer note.Signer
	vkey   string
	next   uint64
}

func newMinter(t testing.TB) *minter {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "provider.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &minter{signer: s, vkey: vkey}
}

// mint returns the header of a receipt for the next index, for body, at t.
func (m *minter) mint(tb testing.TB, body []byte, at time.Time) string {
	tb.Helper()
	at = at.UTC().Truncate(time.Microsecond)
	salt := make([]byte, auditverify.UpstreamSaltSize)
	rand.Read(salt)
	entry, _ := json.Marshal(map[string]any{"v": 1, "kind": "forward", "time": at.Format("2006-01-02T15:04:05.000000Z"),
		"request_id": "req_" + strconv.FormatUint(m.next, 10), "principal_id": "key_1", "provider": "vendor", "model": "m",
		"policy_hash": "sha256:00", "commitment": auditverify.UpstreamCommitment(salt, body), "detail": map[string]string{"attempt": "1"}})
	r := auditverify.Receipt{Origin: m.signer.Name(), Index: m.next, LeafHash: tlog.RecordHash(entry), Time: at, MMD: time.Second}
	m.next++
	var err error
	if r.Note, err = note.Sign(&note.Note{Text: r.Text()}, m.signer); err != nil {
		tb.Fatal(err)
	}
	u, err := auditverify.NewUpstreamReceipt(r, entry, salt, body)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Encode()
}

// TestHandler: the handler passes a receipted request on with its body
// intact, and refuses every other with 403 and a JSON error naming why.
func TestHandler(t *testing.T) {
	m, other := newMinter(t), newMinter(t)
	now := time.Now()
	v := &provider.Verifier{VerifierKey: m.vkey, Now: func() time.Time { return now }, MaxBody: 1 << 10}
	var got []byte
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.Write([]byte("served"))
	}))
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	good := m.mint(t, body, now)
	parts := strings.Split(m.mint(t, body, now), ".")
	parts[3] = parts[3][:len(parts[3])-2] // a salt cut short
	for _, c := range []struct {
		name    string
		receipt string
		body    []byte
		status  int
		reason  string
	}{
		{"receipted", good, body, 200, ""},
		{"replayed", good, body, 403, "replayed"},
		{"no receipt", "", body, 403, "missing_receipt"},
		{"one byte changed", m.mint(t, body, now), append([]byte{'['}, body[1:]...), 403, "body_mismatch"},
		{"another log's key", other.mint(t, body, now), body, 403, "bad_signature"},
		{"not a receipt", "v1.abc", body, 403, "malformed_receipt"},
		{"cut short", strings.Join(parts, "."), body, 403, "malformed_receipt"},
		{"too old", m.mint(t, body, now.Add(-6*time.Minute)), body, 403, "stale"},
		{"from the future", m.mint(t, body, now.Add(6*time.Minute)), body, 403, "stale"},
		{"too large", m.mint(t, bytes.Repeat([]byte("x"), 2<<10), now), bytes.Repeat([]byte("x"), 2<<10), 413, "too_large"},
	} {
		got = nil
		r := httptest.NewRequest("POST", "/v1/messages", bytes.NewReader(c.body))
		if c.receipt != "" {
			r.Header.Set(auditverify.UpstreamHeader, c.receipt)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var e struct {
			Error struct{ Type, Reason, Message string }
		}
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != c.status || e.Error.Reason != c.reason {
			t.Errorf("%s: got %d %q (%s), want %d %q", c.name, w.Code, e.Error.Reason, e.Error.Message, c.status, c.reason)
		}
		if c.status == 200 && !bytes.Equal(got, c.body) {
			t.Errorf("%s: the handler got body %q, want %q", c.name, got, c.body)
		}
		if c.status != 200 && (got != nil || e.Error.Type != "brightline_receipt" || e.Error.Message == "") {
			t.Errorf("%s: the request reached the handler, or the error %+v does not say why", c.name, e.Error)
		}
	}
}

// loggedForward is a real log holding one forward entry, under a policy
// never activated, once a checkpoint covers it; ghost signs receipts, with
// the log's key, for entries the log never integrated.
type loggedForward struct {
	vkey  string
	src   auditverify.Source
	body  []byte
	u     auditverify.UpstreamReceipt
	ghost func(at time.Time) string
	trust auditverify.TrustSet
}

func newLoggedForward(t *testing.T) *loggedForward {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	signer, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "provider.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.Open(ctx, auditlog.Config{Dir: filepath.Join(dir, "log"), Signer: signer, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	body := []byte(`{"x":1}`)
	salt := make([]byte, auditverify.UpstreamSaltSize)
	e := auditlog.Entry{Kind: auditlog.KindForward, Time: time.Now().UTC().Truncate(time.Microsecond), RequestID: "req_1",
		PolicyHash: "sha256:" + strings.Repeat("ab", 32), Commitment: auditverify.UpstreamCommitment(salt, body)}
	entry, _ := e.Marshal()
	r, err := l.Append(ctx, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := auditverify.NewUpstreamReceipt(r, entry, salt, body)
	if err != nil {
		t.Fatal(err)
	}
	src := auditverify.NewSource(filepath.Join(dir, "log"), nil, nil)
	pol, _ := auditverify.NewPolicy(vkey, nil, 0)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(20 * time.Second); ; <-tick.C {
		if c, err := auditverify.FetchCheckpoint(ctx, src, pol); err == nil && c.Size > r.Index {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint covering the entry within 20s")
		}
	}
	_, ovk, _ := note.GenerateKey(rand.Reader, "vendor")
	next := r.Index + 1000
	ghost := func(at time.Time) string {
		next++
		g := auditverify.Receipt{Origin: r.Origin, Index: next, LeafHash: tlog.RecordHash(entry), Time: at.UTC().Truncate(time.Microsecond), MMD: time.Second}
		var err error
		if g.Note, err = note.Sign(&note.Note{Text: g.Text()}, signer); err != nil {
			t.Fatal(err)
		}
		return auditverify.UpstreamReceipt{Receipt: g, Entry: entry, Salt: salt}.Encode()
	}
	return &loggedForward{vkey: vkey, src: src, body: body, u: u, ghost: ghost,
		trust: auditverify.TrustSet{Keys: []string{ovk}, Threshold: 1}}
}

// TestLogChecks: with the log at hand, a receipt whose entry the log does
// not hold is accepted while its promise is not due, and refused once the
// MMD has passed; an included entry under a policy the log never
// activated is refused.
func TestLogChecks(t *testing.T) {
	ctx := context.Background()
	lf := newLoggedForward(t)
	v := &provider.Verifier{VerifierKey: lf.vkey, Trust: lf.trust, Log: lf.src}
	if _, err := v.Verify(ctx, lf.u.Encode(), lf.body); !errors.Is(err, provider.ErrUntrusted) {
		t.Errorf("included, under an unactivated policy: got %v, want %v", err, provider.ErrUntrusted)
	}
	if _, err := v.Verify(ctx, lf.ghost(time.Now()), lf.body); err != nil {
		t.Errorf("not in the log, not due yet: got %v, want it accepted as a promise", err)
	}
	if _, err := v.Verify(ctx, lf.ghost(time.Now().Add(-10*time.Second)), lf.body); !errors.Is(err, provider.ErrNotInLog) {
		t.Errorf("not in the log past the MMD: got %v, want %v", err, provider.ErrNotInLog)
	}
}

// TestReconcileLogFindings: reconciliation names an entry under a policy
// the trust set never signed and a receipt whose entry is missing past the
// MMD, and counts one not yet due as pending.
func TestReconcileLogFindings(t *testing.T) {
	lf := newLoggedForward(t)
	sum := sha256.Sum256(lf.body)
	var rec bytes.Buffer
	for _, h := range []string{lf.u.Encode(), lf.ghost(time.Now().Add(-10 * time.Second)), lf.ghost(time.Now().Add(time.Minute))} {
		b, _ := json.Marshal(provider.ServedRecord{Time: time.Now(), Receipt: h, BodySHA256: hex.EncodeToString(sum[:])})
		rec.Write(append(b, '\n'))
	}
	rep, err := provider.Reconcile(context.Background(), provider.ReconcileConfig{VerifierKey: lf.vkey, Trust: lf.trust, Log: lf.src}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 3 || rep.OK != 0 || rep.Pending != 1 || len(rep.Findings) != 2 ||
		rep.Findings[0].Line != 1 || rep.Findings[0].Reason != "untrusted_policy" ||
		rep.Findings[1].Line != 2 || rep.Findings[1].Reason != "not_in_log" {
		t.Errorf("got %+v, want line 1 untrusted_policy, line 2 not_in_log, one pending", rep)
	}
}

// TestMemoryCacheForgets: a key is seen until its time, then forgotten,
// and the cache does not keep what it has forgotten.
func TestMemoryCacheForgets(t *testing.T) {
	now := time.Unix(1000, 0)
	c := provider.NewMemoryCache(func() time.Time { return now })
	if c.Seen("a", now.Add(time.Minute)) || !c.Seen("a", now.Add(time.Minute)) {
		t.Fatal("a: want unseen, then seen")
	}
	for i := range 100 {
		c.Seen(strconv.Itoa(i), now.Add(time.Minute))
	}
	now = now.Add(2 * time.Minute)
	if c.Seen("a", now.Add(time.Minute)) {
		t.Error("a was not forgotten after its time")
	}
	if c.Len() != 1 {
		t.Errorf("the cache holds %d keys, want 1", c.Len())
	}
}

// BenchmarkVerify is the provider's cost per request without the log
// lookup: parse, one Ed25519 signature, the entry, the body's hash, the
// replay cache. (Goal: under 100 µs.)
func BenchmarkVerify(b *testing.B) {
	m := newMinter(b)
	body := bytes.Repeat([]byte(`{"role":"user","content":"hello there"},`), 100) // about 4 KB
	headers := make([]string, b.N)
	now := time.Now()
	for i := range headers {
		headers[i] = m.mint(b, body, now)
	}
	v := &provider.Verifier{VerifierKey: m.vkey}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := v.Verify(ctx, headers[i], body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519 is one Ed25519 signature check, the floor of
// BenchmarkVerify's cost: on a shared machine, compare the two rather than
// BenchmarkVerify's absolute time.
func BenchmarkEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("brightline.dev/audit-receipt/v1\nprovider.test/log\n1\n")
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}
