package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// These tests run the Router against HTTP providers and fake upstreams that
// speak the real wire formats.

// twoProviders returns a router whose model "claude" is served first by an
// Anthropic upstream, then by an OpenAI one (model "gpt-4o-mini").
func twoProviders(t *testing.T, a, o []reply, cfg func(*HTTPConfig)) (*Router, *upstream, *upstream, *sleeper) {
	t.Helper()
	ua, uo := newUpstream(t, a...), newUpstream(t, o...)
	ca := HTTPConfig{Name: "anthropic", Kind: KindAnthropic, APIKey: "sk-ant", BaseURL: ua.URL}
	co := HTTPConfig{Name: "openai", Kind: KindOpenAI, APIKey: "sk-oai", BaseURL: uo.URL + "/v1"}
	if cfg != nil {
		cfg(&ca)
		cfg(&co)
	}
	sl := &sleeper{}
	r := &Router{
		Routes: []Route{{Model: "claude", Targets: []Target{
			{Provider: newHTTP(t, ca), Model: "claude-sonnet-4-5"},
			{Provider: newHTTP(t, co), Model: "gpt-4o-mini"},
		}}},
		Sleep: sl.Sleep,
		Rand:  func() float64 { return 0.5 },
	}
	return r, ua, uo, sl
}

// anthropicRequest is what an Anthropic client sends, decoded.
func anthropicRequest(t testing.TB, stream bool) *llm.Request {
	t.Helper()
	body := fmt.Sprintf(`{"model":"claude","max_tokens":256,"stream":%v,"messages":[{"role":"user","content":"Where is the convoy?"}],"unknown_client_field":"kept"}`, stream)
	req, err := anthropic.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRouterHTTP(t *testing.T) {
	overloaded := func(retryAfter string) reply {
		r := reply{Status: 529, Body: fixture(t, "anthropic_overloaded.json")}
		if retryAfter != "" {
			r.Header = map[string]string{"Retry-After": retryAfter}
		}
		return r
	}
	ok := reply{Body: fixture(t, "anthropic_message.json")}
	okOpenAI := reply{Body: fixture(t, "openai_completion.json")}
	tests := []struct {
		name       string
		a, o       []reply
		cfg        func(*HTTPConfig)
		wantText   string // "" when an error is expected
		wantCode   brightline.ErrorCode
		wantRetry  time.Duration // RetryAfter of the error
		wantCalls  [2]int
		wantWaits  []time.Duration
		wantDialec brightline.Dialect
	}{
		{
			name: "retry on 503 then success",
			a:    []reply{{Status: 503, Body: `{"type":"error","error":{"type":"api_error","message":"Service Unavailable"}}`}, ok},
			o:    []reply{okOpenAI}, wantText: "Hello! How can I help you today?", wantCalls: [2]int{2, 0},
			wantWaits: []time.Duration{50 * time.Millisecond}, wantDialec: brightline.DialectAnthropic,
		},
		{
			name: "retry-after honoured exactly",
			a:    []reply{overloaded("3"), ok},
			o:    []reply{okOpenAI}, wantText: "Hello! How can I help you today?", wantCalls: [2]int{2, 0},
			wantWaits: []time.Duration{3 * time.Second}, wantDialec: brightline.DialectAnthropic,
		},
		{
			name: "long retry-after fails over to the other dialect at once",
			a:    []reply{overloaded("120")},
			o:    []reply{okOpenAI}, wantText: "Hello from GPT!", wantCalls: [2]int{1, 1},
			wantDialec: brightline.DialectOpenAI,
		},
		{
			name: "400 is neither retried nor failed over",
			a:    []reply{{Status: 400, Body: fixture(t, "anthropic_invalid.json")}},
			o:    []reply{okOpenAI}, wantCode: brightline.CodeInvalidRequest, wantCalls: [2]int{1, 0},
		},
		{
			name: "401 is an upstream error",
			a:    []reply{{Status: 401, Body: fixture(t, "anthropic_auth.json")}},
			o:    []reply{okOpenAI}, wantCode: brightline.CodeUpstream, wantCalls: [2]int{1, 0},
		},
		{
			name:     "all targets down",
			a:        []reply{overloaded("")},
			o:        []reply{{Status: 503, Body: `{"error":{"message":"The server is overloaded","type":"server_error","param":null,"code":null}}`}},
			wantCode: brightline.CodeUnavailable, wantRetry: time.Second, wantCalls: [2]int{2, 2},
			wantWaits: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond},
		},
		{
			name:     "all rate limited",
			a:        []reply{{Status: 429, Body: `{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}`, Header: map[string]string{"Retry-After": "60"}}},
			o:        []reply{{Status: 429, Body: fixture(t, "openai_rate_limit.json"), Header: map[string]string{"Retry-After-Ms": "45000"}}},
			wantCode: brightline.CodeRateLimited, wantRetry: 45 * time.Second, wantCalls: [2]int{1, 1},
		},
		{
			name:     "timeouts",
			a:        []reply{{Stall: true}},
			o:        []reply{{Stall: true}},
			cfg:      func(c *HTTPConfig) { c.Timeout = 100 * time.Millisecond },
			wantCode: brightline.CodeTimeout, wantCalls: [2]int{1, 1},
		},
		{
			name: "refusal is an answer",
			a: []reply{{Body: `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],` +
				`"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":0}}`}},
			o: []reply{okOpenAI}, wantText: "-", wantCalls: [2]int{1, 0}, wantDialec: brightline.DialectAnthropic,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ua, uo, sl := twoProviders(t, tt.a, tt.o, tt.cfg)
			req := anthropicRequest(t, false)
			resp, served, err := r.Complete(context.Background(), req, nil)
			calls := [2]int{len(ua.requests()), len(uo.requests())}
			if calls != tt.wantCalls {
				t.Errorf("got upstream calls %v, want %v", calls, tt.wantCalls)
			}
			if !slices.Equal(sl.waits, tt.wantWaits) {
				t.Errorf("got waits %v, want %v", sl.waits, tt.wantWaits)
			}
			if tt.wantCode != "" {
				e, ok := errors.AsType[*brightline.Error](err)
				if !ok || e.Code != tt.wantCode || e.RetryAfter != tt.wantRetry {
					t.Fatalf("got %#v, want code %s with RetryAfter %v", err, tt.wantCode, tt.wantRetry)
				}
				for _, secret := range []string{"sk-ant", "sk-oai", "127.0.0.1", "http"} {
					if strings.Contains(e.Message, secret) {
						t.Errorf("got message %q, which leaks %q", e.Message, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text := "-"
			if len(resp.Content) > 0 {
				text = resp.Content[0].Text
			}
			if text != tt.wantText || served.Dialect != tt.wantDialec || resp.Dialect != tt.wantDialec {
				t.Errorf("got %q from %s (%s), want %q from %s", text, served.Target, resp.Dialect, tt.wantText, tt.wantDialec)
			}
			if served.Attempts != calls[0]+calls[1] {
				t.Errorf("got Served.Attempts %d, want %d", served.Attempts, calls[0]+calls[1])
			}
			if req.Model != "claude" {
				t.Errorf("the caller's request was modified: model %q", req.Model)
			}
		})
	}
}

func TestRouterHTTPFailoverTranslates(t *testing.T) {
	r, ua, uo, _ := twoProviders(t,
		[]reply{{Status: 503, Body: fixture(t, "anthropic_overloaded.json")}},
		[]reply{{Body: fixture(t, "openai_completion.json")}}, nil)
	hdr := http.Header{"Anthropic-Beta": {"files-api-2025-04-14"}}
	if _, _, err := r.Complete(context.Background(), anthropicRequest(t, false), hdr); err != nil {
		t.Fatal(err)
	}
	// The Anthropic target got the client's bytes with its model name.
	a := ua.requests()[0]
	if !strings.Contains(string(a.Body), `"model":"claude-sonnet-4-5"`) || !strings.Contains(string(a.Body), "unknown_client_field") {
		t.Errorf("anthropic got %s, want the client's body with model claude-sonnet-4-5", a.Body)
	}
	if a.Header.Get("Anthropic-Beta") != "files-api-2025-04-14" {
		t.Errorf("anthropic got anthropic-beta %q, want it forwarded", a.Header.Get("Anthropic-Beta"))
	}
	// The OpenAI target got a translation.
	o := uo.requests()[0]
	var body struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(o.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "gpt-4o-mini" || len(body.Messages) != 1 || !strings.Contains(string(body.Messages[0].Content), "Where is the convoy?") {
		t.Errorf("openai got %s, want the translated request for gpt-4o-mini", o.Body)
	}
	if o.Header.Get("Anthropic-Beta") != "" || strings.Contains(string(o.Body), "unknown_client_field") {
		t.Errorf("openai got Anthropic-only headers or fields: %v %s", o.Header, o.Body)
	}
}

func TestRouterHTTPBreaker(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	r, ua, uo, _ := twoProviders(t,
		[]reply{{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`}},
		[]reply{{Body: fixture(t, "openai_completion.json")}}, nil)
	r.Retry = RetryPolicy{MaxAttempts: 1}
	r.Breaker = BreakerPolicy{FailureThreshold: 2, Cooldown: time.Minute}
	r.Now = clk.Now
	steps := []struct {
		advance time.Duration
		aCalls  int
	}{
		{0, 1}, {0, 2}, // two failures open the breaker
		{0, 2}, {59 * time.Second, 2}, // skipped while open
		{2 * time.Second, 3}, // half-open: one trial, which fails
		{0, 3},               // open again
	}
	for i, st := range steps {
		clk.Add(st.advance)
		resp, served, err := r.Complete(context.Background(), anthropicRequest(t, false), nil)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if served.Provider != "openai" || resp.Content[0].Text != "Hello from GPT!" {
			t.Errorf("step %d: got served by %s, want openai", i, served.Provider)
		}
		if got := len(ua.requests()); got != st.aCalls {
			t.Errorf("step %d: got %d anthropic calls, want %d", i, got, st.aCalls)
		}
	}
	if got := len(uo.requests()); got != len(steps) {
		t.Errorf("got %d openai calls, want %d", got, len(steps))
	}
}

func TestRouterHTTPStream(t *testing.T) {
	t.Run("error before the first event fails over", func(t *testing.T) {
		r, ua, uo, _ := twoProviders(t,
			[]reply{{SSE: true, Body: fixture(t, "anthropic_stream_error.sse")}},
			[]reply{{SSE: true, Body: fixture(t, "openai_stream.sse")}}, nil)
		r.Retry = RetryPolicy{MaxAttempts: 1}
		rec := &recorder{}
		r.Observer = rec
		s, served, err := r.Stream(context.Background(), anthropicRequest(t, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		text, evs, err := collect(s)
		if err != nil {
			t.Fatal(err)
		}
		if text != "Hello from GPT!" || served.Dialect != brightline.DialectOpenAI {
			t.Errorf("got %q from %s, want the OpenAI answer", text, served.Target)
		}
		if evs[0].Type != llm.EventStart || evs[0].Raw == nil {
			t.Errorf("got first event %s (raw %q), want the replayed start with its frame", evs[0].Type, evs[0].Raw)
		}
		if len(ua.requests()) != 1 || len(uo.requests()) != 1 {
			t.Errorf("got %d+%d calls, want 1+1", len(ua.requests()), len(uo.requests()))
		}
		want := []string{"attempt anthropic/claude-sonnet-4-5 ok=false", "failover anthropic/claude-sonnet-4-5 -> openai/gpt-4o-mini", "attempt openai/gpt-4o-mini ok=true"}
		if !slices.Equal(rec.events, want) {
			t.Errorf("got events %q, want %q", rec.events, want)
		}
	})
	t.Run("break mid-way surfaces an error", func(t *testing.T) {
		r, _, uo, _ := twoProviders(t,
			[]reply{{SSE: true, Body: fixture(t, "anthropic_stream.sse"), BreakAfter: 2}},
			[]reply{{SSE: true, Body: fixture(t, "openai_stream.sse")}}, nil)
		s, served, err := r.Stream(context.Background(), anthropicRequest(t, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, evs, err := collect(s)
		if err == nil || err == io.EOF {
			t.Fatalf("got %v after %v, want an error", err, types(evs))
		}
		if served.Provider != "anthropic" || len(uo.requests()) != 0 {
			t.Errorf("got served by %s with %d openai calls, want anthropic and no failover after the first event", served.Provider, len(uo.requests()))
		}
		if len(evs) != 2 {
			t.Errorf("got %v, want the two events before the break", types(evs))
		}
	})
	t.Run("client cancel ends the upstream request", func(t *testing.T) {
		r, ua, _, _ := twoProviders(t,
			[]reply{{SSE: true, Body: fixture(t, "anthropic_stream.sse"), StallAfter: 3}},
			[]reply{{SSE: true, Body: fixture(t, "openai_stream.sse")}}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, _, err := r.Stream(ctx, anthropicRequest(t, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 3 {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		ua.sawClientLeave(t)
		if _, err := s.Next(); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if !r.breakers.get("anthropic/claude-sonnet-4-5").idle() {
			t.Errorf("got the breaker charged for a client's cancel, want it untouched")
		}
	})
	t.Run("timeout before headers fails over", func(t *testing.T) {
		r, _, _, _ := twoProviders(t,
			[]reply{{Stall: true}},
			[]reply{{SSE: true, Body: fixture(t, "openai_stream.sse")}},
			func(c *HTTPConfig) { c.Timeout = 100 * time.Millisecond })
		s, served, err := r.Stream(context.Background(), anthropicRequest(t, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if served.Provider != "openai" || served.Attempts != 2 {
			t.Errorf("got served by %s after %d attempts, want openai after 2", served.Provider, served.Attempts)
		}
	})
}

func TestRouterHTTPConcurrent(t *testing.T) {
	dead := newUpstream(t, reply{})
	dead.Close() // connections are refused
	up := newUpstream(t, reply{SSE: true, Body: fixture(t, "anthropic_stream.sse")})
	uo := newUpstream(t, reply{Body: fixture(t, "openai_completion.json")})
	r := &Router{
		Routes: []Route{
			{Model: "claude", Targets: []Target{
				{Provider: newHTTP(t, HTTPConfig{Name: "dead", Kind: KindAnthropic, APIKey: "k", BaseURL: dead.URL})},
				{Provider: newHTTP(t, HTTPConfig{Name: "anthropic", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL})},
			}},
			{Model: "gpt", Targets: []Target{{Provider: newHTTP(t, HTTPConfig{Name: "openai", Kind: KindOpenAI, APIKey: "k", BaseURL: uo.URL})}}},
			{Model: "sim-*", Targets: []Target{{Provider: NewSimulated("simulated")}}},
		},
		Breaker:  BreakerPolicy{FailureThreshold: 3, Cooldown: 5 * time.Millisecond},
		Observer: &recorder{},
		Sleep:    func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 20 {
				switch i % 3 {
				case 0:
					s, _, err := r.Stream(context.Background(), anthropicRequest(t, true), nil)
					if err != nil {
						t.Error(err)
						continue
					}
					if text, _, err := collect(s); err != nil || text != "Hello from Claude!" {
						t.Errorf("got %q, %v, want the Anthropic stream", text, err)
					}
					s.Close()
				case 1:
					if _, _, err := r.Complete(context.Background(), userRequest("gpt", "hi"), nil); err != nil {
						t.Error(err)
					}
				case 2:
					if _, _, err := r.Complete(context.Background(), userRequest(fmt.Sprintf("sim-%d", g), "hello"), nil); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkRouterComplete(b *testing.B) {
	up := newUpstream(b, reply{Body: fixture(b, "anthropic_message.json")})
	h := newHTTP(b, HTTPConfig{Name: "anthropic", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL})
	r := &Router{Routes: []Route{{Model: "claude", Targets: []Target{{Provider: h, Model: "claude-sonnet-4-5"}}}}}
	req := anthropicRequest(b, false)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Complete(ctx, req, nil); err != nil {
			b.Fatal(err)
		}
	}
}
