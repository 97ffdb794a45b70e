package auditverify_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
)

// forwardReceipt signs the receipt of a forward entry (as the log does)
// committing to body, and returns it with the log's verifier.
func forwardReceipt(t testing.TB, kind string, body []byte) (auditverify.UpstreamReceipt, note.Verifier) {
	t.Helper()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "upstream.test/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	salt := make([]byte, auditverify.UpstreamSaltSize)
	rand.Read(salt)
	e := auditlog.Entry{Kind: kind, Time: time.Now(), RequestID: "req_1", PrincipalID: "key_1", Provider: "anthropic",
		Model: "claude-x", PolicyHash: "sha256:" + strings.Repeat("0", 64), PolicyVersion: 3,
		Commitment: auditverify.UpstreamCommitment(salt, body), Detail: map[string]string{"attempt": "2", "shadow": "true"}}
	entry, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := auditverify.Receipt{Origin: "upstream.test/log", Index: 41, LeafHash: tlog.RecordHash(entry), Time: e.Time.UTC().Truncate(time.Microsecond), MMD: time.Second}
	if r.Note, err = note.Sign(&note.Note{Text: r.Text()}, s); err != nil {
		t.Fatal(err)
	}
	return auditverify.UpstreamReceipt{Receipt: r, Entry: entry, Salt: salt}, v
}

// TestUpstreamReceipt: the header form reads back with the entry's facts
// and fits in 2 KB; a different body, an entry the receipt does not
// promise, an entry of another kind and a header in another form are
// refused with the errors that name them.
func TestUpstreamReceipt(t *testing.T) {
	body := []byte(`{"model":"claude-x","messages":[]}`)
	u, lv := forwardReceipt(t, auditlog.KindForward, body)
	h := u.Encode()
	if len(h) > 2048 || !strings.HasPrefix(h, "v1.") {
		t.Errorf("header of %d bytes starting %.3q, want at most 2048 starting v1.", len(h), h)
	}
	got, err := auditverify.VerifyUpstream(h, body, lv, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f := got.Forward
	if f.RequestID != "req_1" || f.Provider != "anthropic" || f.PolicyVersion != 3 || f.Attempt != 2 || !f.Shadow || got.Receipt.Index != 41 {
		t.Errorf("got %+v, index %d", f, got.Receipt.Index)
	}
	if _, err := auditverify.VerifyUpstream(h, append(body, ' '), lv, time.Now(), time.Minute); !errors.Is(err, auditverify.ErrBodyMismatch) {
		t.Errorf("another body: got %v, want %v", err, auditverify.ErrBodyMismatch)
	}
	if _, err := auditverify.VerifyUpstream(h, body, lv, time.Now().Add(2*time.Minute), time.Minute); !errors.Is(err, auditverify.ErrStale) {
		t.Errorf("late: got %v, want %v", err, auditverify.ErrStale)
	}
	sum := sha256.Sum256(body)
	if !got.Commits(sum) {
		t.Error("Commits: the receipt does not commit to its body's hash")
	}

	other, _ := forwardReceipt(t, auditlog.KindForward, body)
	swapped := u
	swapped.Entry = other.Entry
	decision, dlv := forwardReceipt(t, auditlog.KindDecision, body)
	_, otherKey := forwardReceipt(t, auditlog.KindForward, body)
	for _, c := range []struct {
		name   string
		header string
		key    note.Verifier
		want   error
	}{
		{"an entry the receipt does not promise", swapped.Encode(), lv, auditverify.ErrUpstreamMalformed},
		{"a decision entry", decision.Encode(), dlv, auditverify.ErrUpstreamMalformed},
		{"another log's key", h, otherKey, auditverify.ErrUpstreamSignature},
		{"the receipt header's form", u.Receipt.Encode(), lv, auditverify.ErrUpstreamMalformed},
		{"v2", "v2" + h[2:], lv, auditverify.ErrUpstreamMalformed},
	} {
		if _, err := auditverify.ParseUpstreamReceipt(c.header, c.key); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := auditverify.NewUpstreamReceipt(u.Receipt, u.Entry, u.Salt, []byte("other")); err == nil {
		t.Error("NewUpstreamReceipt: made a receipt for a body the entry does not commit to")
	}
}

// TestTrustSetIsBundles: a trust set has the canonical text and hash of
// internal/bundle's, so that the hashes in log entries match.
func TestTrustSetIsBundles(t *testing.T) {
	_, a, _ := bundle.GenerateKey("alice")
	_, b, _ := bundle.GenerateKey("bob")
	ours, err := auditverify.ParseTrustSet("# parties\n"+b+"\nkey "+a+"\n"+b+"\nthreshold 2\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	theirs := bundle.Trust{Keys: []string{a, b}, Threshold: 2}
	if ours.Hash() != theirs.Hash() || ours.Text() != theirs.Text() {
		t.Errorf("got %s, want %s", ours.Hash(), theirs.Hash())
	}
	if commas, err := auditverify.ParseTrustSet(a+","+b, 1); err != nil || commas.Threshold != 1 || len(commas.Keys) != 2 {
		t.Errorf("comma-separated: got %+v, %v", commas, err)
	}
	if _, err := auditverify.ParseTrustSet(a, 2); err == nil {
		t.Error("a threshold above the number of parties was accepted")
	}
}

// TestTrustHistory: policies are trusted from their activation under a
// manifest signed by a threshold of the set in force, as rotated by the
// log; unsigned, under-signed, mismatched, or signed by a set that never
// validly came into force, they are not.
func TestTrustHistory(t *testing.T) {
	aS, aV, _ := bundle.GenerateKey("alice")
	bS, bV, _ := bundle.GenerateKey("bob")
	cS, cV, _ := bundle.GenerateKey("carol")
	first := bundle.Trust{Keys: []string{aV, bV}, Threshold: 2}
	second := bundle.Trust{Keys: []string{aV, cV}, Threshold: 2}
	sign := func(text string, keys ...string) string {
		n := []byte(text)
		for _, k := range keys {
			var err error
			if n, err = bundle.Sign(n, k); err != nil {
				t.Fatal(err)
			}
		}
		return string(n)
	}
	hash := func(i int) string { return "sha256:" + strings.Repeat(hex.EncodeToString([]byte{byte(i)}), 32) }
	manifest := func(i int) string {
		var m bundle.Manifest
		m.Version, m.Activate = int64(i), time.Unix(1.8e9, 0).UTC()
		h, _ := hex.DecodeString(strings.TrimPrefix(hash(i), "sha256:"))
		copy(m.PolicySHA256[:], h)
		return m.Text()
	}
	activation := func(i int, note string) map[string]any {
		e := map[string]any{"v": 1, "kind": "policy_activation", "policy_hash": hash(i), "policy_version": i}
		if note != "" {
			e["detail"] = map[string]string{"note": note}
		}
		return e
	}
	rotation := func(to bundle.Trust, keys ...string) map[string]any {
		text := bundle.Rotation{From: first.Hash(), To: to}.Text()
		return map[string]any{"v": 1, "kind": "trust_root", "trust_hash": to.Hash(), "detail": map[string]string{"rotation": sign(text, keys...)}}
	}
	entries := []map[string]any{
		{"v": 1, "kind": "trust_root", "trust_hash": first.Hash()},
		activation(1, sign(manifest(1), aS, bS)), // 1: trusted
		activation(2, sign(manifest(2), aS)),     // 2: one of two signatures
		activation(3, ""),                        // 3: unsigned
		activation(4, sign(manifest(5), aS, bS)), // 4: the manifest names policy 5
		{"v": 1, "kind": "forward", "policy_hash": hash(1)},
		rotation(second, aS),                     // 6: under-signed rotation, ignored
		activation(6, sign(manifest(6), aS, cS)), // 7: signed by a set not in force
		rotation(second, aS, bS),                 // 8: rotation to alice and carol
		activation(7, sign(manifest(7), aS, cS)), // 9: trusted now
		activation(8, sign(manifest(8), aS, bS)), // 10: bob is no longer trusted
	}
	var ours auditverify.TrustSet
	ours.Keys, ours.Threshold = first.Keys, first.Threshold
	h, err := auditverify.NewTrustHistory(ours)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		b, _ := json.Marshal(e)
		if err := h.Add(uint64(i), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Add(3, []byte(`{}`)); err == nil {
		t.Error("Add took an entry out of order")
	}
	for _, c := range []struct {
		policy int
		before uint64
		want   auditverify.PolicyStatus
	}{
		{1, 5, auditverify.PolicyTrusted},
		{1, 1, auditverify.PolicyUnknown}, // before its activation
		{2, 99, auditverify.PolicyUntrusted},
		{3, 99, auditverify.PolicyUntrusted},
		{4, 99, auditverify.PolicyUntrusted},
		{5, 99, auditverify.PolicyUnknown},
		{6, 99, auditverify.PolicyUntrusted},
		{7, 99, auditverify.PolicyTrusted},
		{8, 99, auditverify.PolicyUntrusted},
		{9, 99, auditverify.PolicyUnknown},
	} {
		if got := h.Status(hash(c.policy), c.before); got != c.want {
			t.Errorf("policy %d before entry %d: got %v, want %v", c.policy, c.before, got, c.want)
		}
	}
	if h.Trust().Hash() != second.Hash() || len(h.Findings) != 6 {
		t.Errorf("trust %s, findings:\n%s\nwant the second set and 6 findings", h.Trust().Hash(), strings.Join(h.Findings, "\n"))
	}
}

// BenchmarkUpstreamReceipt is what making the header costs per attempt
// upstream: with NewUpstreamReceipt's checks (the entry parsed back, the
// body hashed again), and as the gateway makes it, having built the
// entry itself (the leaf hash checked, then encoded).
func BenchmarkUpstreamReceipt(b *testing.B) {
	body := []byte(`{"model":"claude-x","messages":[{"role":"user","content":"Summarise the readiness of the motor pool."}]}`)
	u, _ := forwardReceipt(b, auditlog.KindForward, body)
	b.Run("checked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := auditverify.NewUpstreamReceipt(u.Receipt, u.Entry, u.Salt, body)
			if err != nil {
				b.Fatal(err)
			}
			_ = v.Encode()
		}
	})
	b.Run("matched", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !u.Receipt.Matches(u.Entry) {
				b.Fatal("the receipt does not promise the entry")
			}
			_ = auditverify.UpstreamReceipt{Receipt: u.Receipt, Entry: u.Entry, Salt: u.Salt}.Encode()
		}
	})
}
