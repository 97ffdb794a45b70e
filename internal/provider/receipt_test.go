package provider

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	receipts "github.com/brightline/brightline/auditverify/provider"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/llm"
)

// signingForwarder stands in for the gateway's forwarder: it writes a
// forward entry and signs a receipt for it with a log key, without a log.
type signingForwarder struct {
	signer note.Signer
	err    error // if set, every Forward fails with it

	mu       sync.Mutex
	forwards []Forward // with Body copied
}

func newSigningForwarder(t *testing.T) (*signingForwarder, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "provider.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &signingForwarder{signer: s}, vkey
}

func (f *signingForwarder) Forward(_ context.Context, fw Forward) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	f.mu.Lock()
	n := len(f.forwards)
	fw.Body = append([]byte(nil), fw.Body...)
	f.forwards = append(f.forwards, fw)
	f.mu.Unlock()
	salt := make([]byte, auditverify.UpstreamSaltSize)
	rand.Read(salt)
	now := time.Now().UTC().Truncate(time.Microsecond)
	entry, err := json.Marshal(map[string]any{"v": 1, "kind": "forward", "time": now.Format("2006-01-02T15:04:05.000000Z"),
		"provider": fw.Provider, "model": fw.Model, "policy_hash": "sha256:00",
		"commitment": auditverify.UpstreamCommitment(salt, fw.Body), "detail": map[string]string{"attempt": strconv.Itoa(n + 1)}})
	if err != nil {
		return "", err
	}
	r := auditverify.Receipt{Origin: f.signer.Name(), Index: uint64(n), LeafHash: tlog.RecordHash(entry), Time: now, MMD: time.Second}
	if r.Note, err = note.Sign(&note.Note{Text: r.Text()}, f.signer); err != nil {
		return "", err
	}
	u, err := auditverify.NewUpstreamReceipt(r, entry, salt, fw.Body)
	if err != nil {
		return "", err
	}
	return u.Encode(), nil
}

// TestReceiptsReachEveryProvider: each kind of provider sends the receipt
// of the exact bytes it sends, and a provider checking receipts accepts
// them: Anthropic and OpenAI (translated and passthrough, streamed or
// not), Bedrock (still correctly signed with SigV4), Vertex, and the
// simulated provider.
func TestReceiptsReachEveryProvider(t *testing.T) {
	fwd, vkey := newSigningForwarder(t)
	v := &receipts.Verifier{VerifierKey: vkey}
	ctx := WithForwarder(context.Background(), fwd)

	ant := &fakeupstream.Server{Record: true, Receipts: v}
	oai := &fakeupstream.Server{Record: true, Receipts: v}
	aSrv, oSrv := httptest.NewServer(ant), httptest.NewServer(oai)
	t.Cleanup(aSrv.Close)
	t.Cleanup(oSrv.Close)
	ap, err := NewHTTP(HTTPConfig{Name: "anthropic", Kind: KindAnthropic, BaseURL: aSrv.URL, APIKey: "k", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	op, err := NewHTTP(HTTPConfig{Name: "openai", Kind: KindOpenAI, BaseURL: oSrv.URL + "/v1", APIKey: "k", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	bed := &fakeupstream.Bedrock{}
	bed.Receipts = v
	b := newBedrockPair(t, bed, "")
	vtx := &fakeupstream.Vertex{}
	vtx.Receipts = v
	vp := newVertexPair(t, vtx)
	sim := NewSimulated("sim")
	sim.Receipts = v

	passthrough := cloudRequest("claude-x", "raw bytes")
	passthrough.Raw = []byte(`{"model":"claude-x","max_tokens":100,"messages":[{"role":"user","content":"raw bytes"}]}`)
	passthrough.Dialect = brightline.DialectAnthropic

	cases := []struct {
		name string
		p    Provider
		req  *llm.Request
	}{
		{"anthropic", ap, cloudRequest("claude-x", "hello")},
		{"anthropic passthrough", ap, passthrough},
		{"openai", op, cloudRequest("gpt-x", "hello")},
		{"bedrock invoke", b, cloudRequest("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "hello")},
		{"bedrock converse", b, cloudRequest("amazon.nova-pro-v1:0", "hello")},
		{"vertex", vp, cloudRequest("claude-sonnet-4-5@20250929", "hello")},
		{"simulated", sim, cloudRequest("sim", "hello")},
	}
	for _, c := range cases {
		if _, err := c.p.Complete(ctx, &Call{Request: c.req}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.req.Raw != nil {
			continue // raw bytes that do not ask for a stream are not streamed
		}
		s, err := c.p.Stream(ctx, &Call{Request: c.req})
		if err != nil {
			t.Errorf("%s stream: %v", c.name, err)
			continue
		}
		drain(t, s)
	}
	for _, f := range []*fakeupstream.Server{ant, oai, &bed.Server, &vtx.Server} {
		if f.Refused() != 0 {
			t.Errorf("a fake refused %d receipts", f.Refused())
		}
		for _, r := range f.Requests() {
			if r.Header.Get(auditverify.UpstreamHeader) == "" {
				t.Errorf("%s: no %s header", r.Path, auditverify.UpstreamHeader)
			}
		}
	}
	if got, want := len(fwd.forwards), 2*len(cases)-1; got != want {
		t.Errorf("got %d forwards, want %d (one per request sent)", got, want)
	}

	// Without a receipt the checking providers refuse, with a 403 the
	// router does not retry.
	for _, c := range cases {
		_, err := c.p.Complete(context.Background(), &Call{Request: c.req})
		if we, ok := errors.AsType[*llm.WireError](err); !ok || we.Status != 403 {
			t.Errorf("%s without a receipt: got %v, want a 403", c.name, err)
		}
	}
}

// TestForwardFailureSendsNothing: when the forwarder cannot receipt a
// request, nothing reaches the provider, and the router returns the
// forwarder's error at once, without retrying or failing over.
func TestForwardFailureSendsNothing(t *testing.T) {
	fwd, _ := newSigningForwarder(t)
	fwd.err = &brightline.Error{Code: brightline.CodeUnavailable, Message: "the audit log is down"}
	fa, fb := &fakeupstream.Server{}, &fakeupstream.Server{}
	sa, sb := httptest.NewServer(fa), httptest.NewServer(fb)
	t.Cleanup(sa.Close)
	t.Cleanup(sb.Close)
	pa, _ := NewHTTP(HTTPConfig{Name: "a", Kind: KindAnthropic, BaseURL: sa.URL, APIKey: "k"})
	pb, _ := NewHTTP(HTTPConfig{Name: "b", Kind: KindAnthropic, BaseURL: sb.URL, APIKey: "k"})
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: pa}, {Provider: pb}}}}}
	ctx := WithForwarder(context.Background(), fwd)
	_, served, err := r.Complete(ctx, cloudRequest("m", "hi"), nil)
	if be, ok := errors.AsType[*brightline.Error](err); !ok || be != fwd.err {
		t.Errorf("got %v, want the forwarder's error itself", err)
	}
	if _, _, err := r.Stream(ctx, cloudRequest("m", "hi"), nil); err == nil {
		t.Error("stream: got no error")
	}
	if fa.Count()+fb.Count() != 0 || served.Attempts != 1 {
		t.Errorf("upstreams got %d and %d requests after %d attempts, want none after 1", fa.Count(), fb.Count(), served.Attempts)
	}
}

// TestRetriesGetTheirOwnReceipts: a retry and a failover are receipted
// again, each with its own receipt.
func TestRetriesGetTheirOwnReceipts(t *testing.T) {
	fwd, vkey := newSigningForwarder(t)
	v := &receipts.Verifier{VerifierKey: vkey}
	fa := &fakeupstream.Server{Record: true, Receipts: v, Fail: func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 503} }}
	fb := &fakeupstream.Server{Record: true, Receipts: v}
	sa, sb := httptest.NewServer(fa), httptest.NewServer(fb)
	t.Cleanup(sa.Close)
	t.Cleanup(sb.Close)
	pa, _ := NewHTTP(HTTPConfig{Name: "a", Kind: KindAnthropic, BaseURL: sa.URL, APIKey: "k"})
	pb, _ := NewHTTP(HTTPConfig{Name: "b", Kind: KindAnthropic, BaseURL: sb.URL, APIKey: "k"})
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: pa}, {Provider: pb}}}},
		Retry: RetryPolicy{MaxAttempts: 2}, Sleep: func(context.Context, time.Duration) error { return nil }}
	if _, served, err := r.Complete(WithForwarder(context.Background(), fwd), cloudRequest("m", "hi"), nil); err != nil || served.Attempts != 3 {
		t.Fatalf("got %v after %d attempts, want an answer after 3", err, served.Attempts)
	}
	seen := map[string]bool{}
	for _, req := range append(fa.Requests(), fb.Requests()...) {
		h := req.Header.Get(auditverify.UpstreamHeader)
		if h == "" || seen[h] {
			t.Errorf("attempt to %s: receipt %.40q missing or reused", req.Path, h)
		}
		seen[h] = true
	}
	if len(seen) != 3 || fa.Refused()+fb.Refused() != 0 {
		t.Errorf("got %d distinct receipts (%d refused), want 3 accepted", len(seen), fa.Refused()+fb.Refused())
	}
}
