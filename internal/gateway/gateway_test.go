package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/provider"
)

const testKey = "bl_test_key_0123456789"

// fakeAuth is a hand-written Authenticator with a failure hook.
type fakeAuth struct {
	mu   sync.Mutex
	keys map[string]brightline.Principal
	err  error // returned for every call when set
}

func (a *fakeAuth) Authenticate(ctx context.Context, key string) (brightline.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return brightline.Principal{}, a.err
	}
	p, ok := a.keys[key]
	if !ok {
		return p, brightline.ErrNotFound
	}
	return p, nil
}

// harness is a gateway in front of fake upstreams.
type harness struct {
	srv       *httptest.Server
	gw        *gateway.Gateway
	auth      *fakeAuth
	metrics   *gateway.Metrics
	anthropic *fakeupstream.Server // behind provider "anthropic-up"
	openai    *fakeupstream.Server // behind provider "openai-up"
	router    *provider.Router
	// handling counts the gateway's running handlers; upstreamHandling,
	// the two fakes'.
	handling, upstreamHandling handlers
}

// handlers counts the running calls of the handlers it wraps, so that a
// test can wait until every request it sent has been handled to the end:
// a handler may still run (and count, and record) after its client has
// read the last byte.
type handlers struct {
	mu   sync.Mutex
	n    int           // guarded by mu: handlers running
	idle chan struct{} // guarded by mu: closed while n is 0
}

func (h *handlers) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		if h.n == 0 {
			h.idle = make(chan struct{})
		}
		h.n++
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.n--
			if h.n == 0 {
				close(h.idle)
			}
			h.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// wait waits until no wrapped handler runs, failing t after d.
func (h *handlers) wait(t *testing.T, d time.Duration, what string) {
	t.Helper()
	h.mu.Lock()
	idle := h.idle
	h.mu.Unlock()
	if idle == nil {
		return // none has run
	}
	select {
	case <-idle:
	case <-time.After(d):
		t.Fatalf("%s still running after %s", what, d)
	}
}

// newHarness serves these models:
//
//	via-anthropic → the Anthropic fake
//	via-openai    → the OpenAI fake
//	simulated     → the simulated provider
//	failover      → the Anthropic fake, then the OpenAI fake
//	failover-x    → the OpenAI fake, then the Anthropic fake
//	slow          → the Anthropic fake with a 300ms timeout
func newHarness(t testing.TB, cfg gateway.Config) *harness {
	t.Helper()
	h := &harness{
		anthropic: &fakeupstream.Server{Record: true},
		openai:    &fakeupstream.Server{Record: true},
		auth: &fakeAuth{keys: map[string]brightline.Principal{
			testKey: {ID: "key_test", Name: "test", Roles: []string{"user"}},
		}},
		metrics: gateway.NewMetrics(),
	}
	aUp := httptest.NewServer(h.upstreamHandling.wrap(h.anthropic))
	oUp := httptest.NewServer(h.upstreamHandling.wrap(h.openai))
	t.Cleanup(aUp.Close)
	t.Cleanup(oUp.Close)
	ap, err := provider.NewHTTP(provider.HTTPConfig{Name: "anthropic-up", Kind: "anthropic", BaseURL: aUp.URL, APIKey: "sk-ant-fake", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	op, err := provider.NewHTTP(provider.HTTPConfig{Name: "openai-up", Kind: "openai", BaseURL: oUp.URL + "/v1", APIKey: "sk-fake", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := provider.NewHTTP(provider.HTTPConfig{Name: "anthropic-slow", Kind: "anthropic", BaseURL: aUp.URL, APIKey: "sk-ant-fake", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sim := provider.NewSimulated("simulated")
	h.router = &provider.Router{
		Routes: []provider.Route{
			{Model: "via-anthropic", Targets: []provider.Target{{Provider: ap, Model: "claude-fake-1"}}},
			{Model: "via-openai", Targets: []provider.Target{{Provider: op, Model: "gpt-fake-1"}}},
			{Model: "simulated", Targets: []provider.Target{{Provider: sim}}},
			{Model: "failover", Targets: []provider.Target{{Provider: ap, Model: "claude-fake-1"}, {Provider: op, Model: "gpt-fake-1"}}},
			{Model: "slow", Targets: []provider.Target{{Provider: slow, Model: "claude-fake-1"}}},
			{Model: "failover-x", Targets: []provider.Target{{Provider: op, Model: "gpt-fake-1"}, {Provider: ap, Model: "claude-fake-1"}}},
		},
		Retry:    provider.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second},
		Observer: h.metrics,
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Metrics = h.metrics
	h.gw = gateway.New(cfg, h.auth, h.router)
	h.srv = httptest.NewServer(h.handling.wrap(h.gw))
	t.Cleanup(h.srv.Close)
	return h
}

// post sends a raw request and returns status, headers and body.
func (h *harness) post(t *testing.T, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func bearer(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }

func anthropicHdr(k string) map[string]string {
	return map[string]string{"x-api-key": k, "anthropic-version": "2023-06-01"}
}

var errTest = errors.New("test failure")

func serveFake(t testing.TB, s *fakeupstream.Server) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}
