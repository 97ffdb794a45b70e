package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
)

func TestCountTokens(t *testing.T) {
	h := policyHarness(t)
	params := anthropic.MessageCountTokensParams{
		Model:  "via-anthropic",
		System: anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("You are terse.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewTextBlock("What is the weather in Paris today, and should I take an umbrella?"),
			anthropic.ContentBlockParamUnion{OfDocument: &anthropic.DocumentBlockParam{
				Source: anthropic.DocumentBlockParamSourceUnion{OfText: &anthropic.PlainTextSourceParam{Data: "Forecast: rain from noon."}},
			}},
		)},
	}
	ac := anthropic.NewClient(aoptionBase(h, "x-mission", "ok")...)
	got, err := ac.Messages.CountTokens(context.Background(), params)
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	// 85 bytes of text and framing: an estimate that errs high, but not
	// wildly.
	if got.InputTokens < 20 || got.InputTokens > 80 {
		t.Errorf("got %d input tokens, want an estimate between 20 and 80", got.InputTokens)
	}
	if n := h.anthropic.Count(); n != 0 {
		t.Errorf("counting reached the upstream %d times, want a local count", n)
	}

	// A request the policy denies gets no count, but the refusal
	// /v1/messages would give.
	ac = anthropic.NewClient(aoptionBase(h, "x-mission", "blocked")...)
	params.Model = "via-openai" // the model the rule blocks
	_, err = ac.Messages.CountTokens(context.Background(), params)
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Type() != "permission_error" || !strings.Contains(ae.RawJSON(), "rule blocked-model") {
		t.Errorf("denied: got %v, want 403 permission_error naming the rule", err)
	}

	// The allow-lists and authentication apply as to /v1/messages.
	status, _, body := h.post(t, "/v1/messages/count_tokens", `{"model":"via-anthropic","messages":[{"role":"user","content":"hi"}],"mcp_servers":[{"type":"url","url":"https://x","name":"x"}]}`, anthropicHdr(testKey))
	if status != 400 || !strings.Contains(body, "allow.server_tools") {
		t.Errorf("server tool: got %d %s, want 400 naming allow.server_tools", status, body)
	}
	status, _, body = h.post(t, "/v1/messages/count_tokens", `{"model":"via-anthropic","messages":[{"role":"user","content":"hi"}]}`, anthropicHdr("bl_wrong"))
	if status != 401 || !strings.Contains(body, "authentication_error") {
		t.Errorf("bad key: got %d %s, want 401 authentication_error", status, body)
	}

	// Counts are requests like any other in the request metrics, each
	// under the status it got.
	h.waitMetrics(t,
		`brightline_requests_total{code="200",dialect="anthropic",stream="false"} 1`,
		`brightline_requests_total{code="403",dialect="anthropic",stream="false"} 1`,
		`brightline_requests_total{code="400",dialect="anthropic",stream="false"} 1`,
		`brightline_requests_total{code="401",dialect="anthropic",stream="false"} 1`,
	)
}

func TestUnknownEndpointAfterAuthentication(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	status, _, body := h.post(t, "/v1/completions", `{}`, nil)
	if status != 401 {
		t.Errorf("without a key: got %d %s, want 401 before anything is said about the path", status, body)
	}
	status, _, body = h.post(t, "/v1/completions", `{}`, bearer(testKey))
	if status != 404 || !strings.Contains(body, `"code":"no_such_endpoint"`) || !strings.Contains(body, "no such endpoint: POST /v1/completions") {
		t.Errorf("openai: got %d %s, want 404 with code no_such_endpoint", status, body)
	}
	status, _, body = h.post(t, "/v1/messages/batches", `{}`, anthropicHdr(testKey))
	if status != 404 || !strings.Contains(body, `"type":"not_found_error"`) || !strings.Contains(body, "no such endpoint: POST /v1/messages/batches") {
		t.Errorf("anthropic: got %d %s, want 404 not_found_error saying no such endpoint", status, body)
	}
}

// countDialect is count_tokens as a limitDialects case: its refusals are
// Anthropic's rate_limit_error.
var countDialect = dialectCase{"count_tokens", "/v1/messages/count_tokens", anthropicHdr,
	func(model, pad string) string {
		return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi%s"}]}`, model, pad)
	}, `"rate_limit_error"`}

// TestCountTokensFlood floods count_tokens from one key whose bodies are
// still arriving: the key's further requests, counts and messages alike,
// get 429 with Retry-After, another key is served, and the slots come back
// once the bodies are complete.
func TestCountTokensFlood(t *testing.T) {
	const n = 3
	auth := &fakeAuth{keys: map[string]brightline.Principal{
		testKey:  {ID: "key_test", Name: "test", Roles: []string{"user"}},
		otherKey: {ID: "key_other", Name: "other", Roles: []string{"user"}},
	}}
	gw := gateway.New(gateway.Config{Limits: gateway.Limits{KeyRequestsInFlight: n}}, auth, newHoldingRouter())
	// The gateway reads a body only once it has admitted the request, so
	// the first read of a stalled count's body says it holds its slot.
	reading := make(chan struct{}, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Stalled") != "" {
			r.Body = &firstRead{ReadCloser: r.Body, signal: reading}
		}
		gw.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d := countDialect
	body := d.body("free", "")

	type stalled struct {
		w      *io.PipeWriter
		status chan int
	}
	var held []stalled
	for range n {
		pr, pw := io.Pipe()
		s := stalled{w: pw, status: make(chan int, 1)}
		held = append(held, s)
		req, err := http.NewRequest("POST", srv.URL+d.path, pr)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range d.hdr(testKey) {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Stalled", "1")
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("stalled count: %v", err)
				s.status <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.status <- resp.StatusCode
		}()
		go pw.Write([]byte(body[:10])) // the rest comes later
	}
	for range n {
		<-reading
	}

	status, ra, got := send(t, srv.URL+d.path, d.hdr(testKey), body, false)
	checkRefused(t, d, status, ra, got)
	// The budget is the key's, over all its endpoints.
	msgs := limitDialects[1]
	status, ra, got = send(t, srv.URL+msgs.path, msgs.hdr(testKey), msgs.body("free", ""), false)
	checkRefused(t, msgs, status, ra, got)
	// Another key is not starved.
	if status, _, got := send(t, srv.URL+d.path, d.hdr(otherKey), body, false); status != http.StatusOK || !strings.Contains(got, `"input_tokens"`) {
		t.Errorf("another key's count: got %d %s, want 200 with input_tokens", status, got)
	}
	if status, _, got := send(t, srv.URL+msgs.path, msgs.hdr(otherKey), msgs.body("free", ""), false); status != http.StatusOK {
		t.Errorf("another key's message: got %d %s, want 200", status, got)
	}

	for _, s := range held {
		if _, err := s.w.Write([]byte(body[10:])); err != nil {
			t.Fatal(err)
		}
		s.w.Close()
		if got := <-s.status; got != http.StatusOK {
			t.Errorf("stalled count once complete: got %d, want 200", got)
		}
	}
	// The slots are returned.
	if status, _, got := send(t, srv.URL+d.path, d.hdr(testKey), body, false); status != http.StatusOK {
		t.Errorf("after release: got %d %s, want 200", status, got)
	}
}

// firstRead signals once, at the first Read.
type firstRead struct {
	io.ReadCloser
	signal chan<- struct{}
	once   sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { f.signal <- struct{}{} })
	return f.ReadCloser.Read(p)
}

// TestCountTokensBytes checks that a count's body counts against its key's
// bytes in flight and the global budget for bodies being inspected,
// declared or read.
func TestCountTokensBytes(t *testing.T) {
	d := countDialect
	pad := strings.Repeat("x", 1200)
	for _, tc := range []struct {
		name string
		lim  gateway.Limits
		msg  string
	}{
		{"key bytes", gateway.Limits{KeyBytesInFlight: 1000}, "limit of 1000 bytes"},
		{"body bytes", gateway.Limits{BodyBytesInFlight: 1000}, "too many request bodies"},
	} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", tc.name, chunked), func(t *testing.T) {
				srv, _ := limitsGateway(t, tc.lim)
				status, ra, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", pad), chunked)
				checkRefused(t, d, status, ra, body)
				if !strings.Contains(body, tc.msg) {
					t.Errorf("got %s, want a message saying %q", body, tc.msg)
				}
				if status, _, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", ""), chunked); status != http.StatusOK {
					t.Errorf("small count: got %d %s, want 200", status, body)
				}
			})
		}
	}
}
