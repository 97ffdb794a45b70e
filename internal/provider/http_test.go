package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
)

func newHTTP(t testing.TB, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHTTPConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HTTPConfig
		wantErr string
		wantURL string
	}{
		{"anthropic default", HTTPConfig{Name: "a", Kind: KindAnthropic, APIKey: "k"}, "", "https://api.anthropic.com/v1/messages"},
		{"openai default", HTTPConfig{Name: "o", Kind: KindOpenAI, APIKey: "k"}, "", "https://api.openai.com/v1/chat/completions"},
		{"compatible", HTTPConfig{Name: "v", Kind: KindOpenAICompatible, BaseURL: "http://gpu:8000/v1/"}, "", "http://gpu:8000/v1/chat/completions"},
		{"compatible needs a URL", HTTPConfig{Name: "v", Kind: KindOpenAICompatible}, "base URL is required", ""},
		{"anthropic needs a key", HTTPConfig{Name: "a", Kind: KindAnthropic}, "api key is empty", ""},
		{"openai needs a key", HTTPConfig{Name: "o", Kind: KindOpenAI}, "api key is empty", ""},
		{"name required", HTTPConfig{Kind: KindOpenAI, APIKey: "k"}, "name is empty", ""},
		{"unknown kind", HTTPConfig{Name: "b", Kind: "bedrock"}, `unknown kind "bedrock"`, ""},
		{"bad URL", HTTPConfig{Name: "v", Kind: KindOpenAICompatible, BaseURL: "gpu:8000"}, "absolute http(s) URL", ""},
		{"simulated is not HTTP", HTTPConfig{Name: "s", Kind: KindSimulated}, "use New", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHTTP(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.endpoint != tt.wantURL {
				t.Errorf("got endpoint %s, want %s", h.endpoint, tt.wantURL)
			}
		})
	}
	t.Run("New simulated", func(t *testing.T) {
		p, err := New(HTTPConfig{Name: "sim", Kind: KindSimulated})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.(*Simulated); !ok || p.Name() != "sim" || p.Dialect() != "" {
			t.Errorf("got %T %q %q, want *Simulated sim with no dialect", p, p.Name(), p.Dialect())
		}
	})
}

func TestHTTPComplete(t *testing.T) {
	tests := []struct {
		name       string
		kind       string
		key        string
		base       string // appended to the fake's URL
		fixture    string
		wantPath   string
		wantHeader map[string]string // "" value: must be absent
		wantText   string
		wantUsage  llm.Usage
	}{
		{
			name: "anthropic", kind: KindAnthropic, key: "sk-ant-test", fixture: "anthropic_message.json",
			wantPath: "/v1/messages",
			wantHeader: map[string]string{"X-Api-Key": "sk-ant-test", "Anthropic-Version": "2023-06-01",
				"Content-Type": "application/json", "X-Team": "blue", "Authorization": ""},
			wantText:  "Hello! How can I help you today?",
			wantUsage: llm.Usage{InputTokens: 12, OutputTokens: 11, ServiceTier: "standard"},
		},
		{
			name: "openai", kind: KindOpenAI, key: "sk-test", base: "/v1", fixture: "openai_completion.json",
			wantPath:   "/v1/chat/completions",
			wantHeader: map[string]string{"Authorization": "Bearer sk-test", "Content-Type": "application/json", "X-Team": "blue", "X-Api-Key": ""},
			wantText:   "Hello from GPT!",
			wantUsage:  llm.Usage{InputTokens: 19, OutputTokens: 10},
		},
		{
			name: "openai-compatible without key", kind: KindOpenAICompatible, base: "/v1", fixture: "openai_completion.json",
			wantPath:   "/v1/chat/completions",
			wantHeader: map[string]string{"Authorization": "", "X-Team": "blue"},
			wantText:   "Hello from GPT!",
			wantUsage:  llm.Usage{InputTokens: 19, OutputTokens: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, reply{Body: fixture(t, tt.fixture)})
			h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: tt.key, BaseURL: up.URL + tt.base, Headers: map[string]string{"X-Team": "blue"}})
			req := userRequest("target-model", "Hi there")
			resp, err := h.Complete(context.Background(), &Call{Request: req})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Content) != 1 || resp.Content[0].Text != tt.wantText {
				t.Errorf("got content %+v, want text %q", resp.Content, tt.wantText)
			}
			if resp.Usage != tt.wantUsage || resp.StopReason != llm.StopEndTurn {
				t.Errorf("got usage %+v stop %s, want %+v end_turn", resp.Usage, resp.StopReason, tt.wantUsage)
			}
			if resp.Dialect != h.Dialect() || len(resp.Raw) == 0 {
				t.Errorf("got dialect %q and %d raw bytes, want %q and the body", resp.Dialect, len(resp.Raw), h.Dialect())
			}
			got := up.requests()
			if len(got) != 1 {
				t.Fatalf("got %d upstream requests, want 1", len(got))
			}
			if got[0].Path != tt.wantPath {
				t.Errorf("got path %s, want %s", got[0].Path, tt.wantPath)
			}
			for k, want := range tt.wantHeader {
				if v := got[0].Header.Get(k); v != want {
					t.Errorf("got header %s %q, want %q", k, v, want)
				}
			}
			var body struct {
				Model    string `json:"model"`
				Stream   bool   `json:"stream"`
				Messages []struct {
					Role string `json:"role"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(got[0].Body, &body); err != nil {
				t.Fatalf("upstream got a body that is not JSON: %v", err)
			}
			if body.Model != "target-model" || body.Stream || len(body.Messages) != 1 || body.Messages[0].Role != "user" {
				t.Errorf("got body %s, want model target-model, no stream, one user message", got[0].Body)
			}
		})
	}
}

func TestHTTPPassthrough(t *testing.T) {
	const anthropicBody = `{"model":"claude-client-name","max_tokens":100,"messages":[{"role":"user","content":"hi"}],"future_field":{"nested":[1,2,3]},"stream":false}`
	const openaiBody = `{"model":"gpt-client-name", "messages":[{"role":"user","content":"hi"}], "future_field":true}`
	clientHeader := http.Header{
		"Anthropic-Beta":    {"prompt-caching-2024-07-31,files-api-2025-04-14"},
		"Anthropic-Version": {"2023-01-01"},
		"X-Client-Secret":   {"must-not-be-forwarded"},
	}
	decode := func(dialect brightline.Dialect, body string) *llm.Request {
		var req *llm.Request
		var err error
		if dialect == brightline.DialectAnthropic {
			req, err = anthropic.DecodeRequest([]byte(body))
		} else {
			req, err = openai.DecodeRequest([]byte(body))
		}
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name        string
		kind        string
		client      brightline.Dialect
		body        string
		fixture     string
		wantBody    string // exact body the provider must see; "" when translated
		wantHeaders map[string]string
	}{
		{
			name: "anthropic to anthropic", kind: KindAnthropic, client: brightline.DialectAnthropic, body: anthropicBody,
			fixture:  "anthropic_message.json",
			wantBody: strings.Replace(anthropicBody, "claude-client-name", "claude-target", 1),
			wantHeaders: map[string]string{
				"Anthropic-Beta":    "prompt-caching-2024-07-31,files-api-2025-04-14",
				"Anthropic-Version": "2023-01-01",
				"X-Client-Secret":   "",
				"X-Api-Key":         "key",
			},
		},
		{
			name: "openai to openai", kind: KindOpenAI, client: brightline.DialectOpenAI, body: openaiBody,
			fixture:     "openai_completion.json",
			wantBody:    strings.Replace(openaiBody, "gpt-client-name", "claude-target", 1),
			wantHeaders: map[string]string{"Anthropic-Beta": "", "X-Client-Secret": ""},
		},
		{
			name: "anthropic to openai is translated", kind: KindOpenAI, client: brightline.DialectAnthropic, body: anthropicBody,
			fixture:     "openai_completion.json",
			wantHeaders: map[string]string{"Anthropic-Beta": "", "Anthropic-Version": ""},
		},
		{
			name: "openai to anthropic is translated", kind: KindAnthropic, client: brightline.DialectOpenAI, body: openaiBody,
			fixture:     "anthropic_message.json",
			wantHeaders: map[string]string{"Anthropic-Beta": "", "Anthropic-Version": "2023-06-01"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, reply{Body: fixture(t, tt.fixture)})
			h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: "key", BaseURL: up.URL})
			req := decode(tt.client, tt.body)
			raw := string(req.Raw)
			c := *req
			c.Model = "claude-target"
			if _, err := h.Complete(context.Background(), &Call{Request: &c, Header: clientHeader}); err != nil {
				t.Fatal(err)
			}
			if string(req.Raw) != raw {
				t.Errorf("the caller's Raw was modified")
			}
			got := up.requests()[0]
			if tt.wantBody != "" {
				if string(got.Body) != tt.wantBody {
					t.Errorf("got body\n%s\nwant\n%s", got.Body, tt.wantBody)
				}
			} else {
				if strings.Contains(string(got.Body), "future_field") {
					t.Errorf("got body %s, want a translation without the client's unknown field", got.Body)
				}
				if !strings.Contains(string(got.Body), `"claude-target"`) {
					t.Errorf("got body %s, want the target model", got.Body)
				}
			}
			for k, want := range tt.wantHeaders {
				if v := strings.Join(got.Header.Values(k), ","); v != want {
					t.Errorf("got header %s %q, want %q", k, v, want)
				}
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		kind    string
		reply   reply
		want    llm.WireError
		minWait time.Duration // for HTTP dates, which lose sub-second precision
	}{
		{
			name:  "anthropic overloaded with retry-after",
			kind:  KindAnthropic,
			reply: reply{Status: 529, Body: fixture(t, "anthropic_overloaded.json"), Header: map[string]string{"Retry-After": "7"}},
			want:  llm.WireError{Status: 529, Type: "overloaded_error", Message: "Overloaded", RetryAfter: 7 * time.Second},
		},
		{
			name:  "anthropic invalid request",
			kind:  KindAnthropic,
			reply: reply{Status: 400, Body: fixture(t, "anthropic_invalid.json")},
			want:  llm.WireError{Status: 400, Type: "invalid_request_error", Message: "max_tokens: Field required"},
		},
		{
			name:  "openai rate limit with retry-after-ms",
			kind:  KindOpenAI,
			reply: reply{Status: 429, Body: fixture(t, "openai_rate_limit.json"), Header: map[string]string{"Retry-After-Ms": "1500", "Retry-After": "2"}},
			want: llm.WireError{Status: 429, Type: "requests", RetryAfter: 1500 * time.Millisecond,
				Message: "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."},
		},
		{
			name:  "openai invalid request",
			kind:  KindOpenAI,
			reply: reply{Status: 400, Body: fixture(t, "openai_invalid.json")},
			want:  llm.WireError{Status: 400, Type: "invalid_request_error", Message: "Invalid value for 'temperature': must be at most 2."},
		},
		{
			name:  "openai-compatible HTML error page",
			kind:  KindOpenAICompatible,
			reply: reply{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>\n", Header: map[string]string{"Retry-After": date}},
			want:  llm.WireError{Status: 502, Message: "<html><body>502 Bad Gateway</body></html>"},
			// The date has whole seconds and the clock moves on.
			minWait: 88 * time.Second,
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += " (stream)"
			}
			t.Run(name, func(t *testing.T) {
				up := newUpstream(t, tt.reply)
				h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: "k", BaseURL: up.URL})
				call := &Call{Request: userRequest("m", "hi")}
				var err error
				if stream {
					var s llm.Stream
					s, err = h.Stream(context.Background(), call)
					if s != nil {
						t.Errorf("got a stream with error %v", err)
					}
				} else {
					_, err = h.Complete(context.Background(), call)
				}
				we, ok := errors.AsType[*llm.WireError](err)
				if !ok {
					t.Fatalf("got %v, want a *llm.WireError", err)
				}
				got := *we
				if tt.minWait > 0 {
					if got.RetryAfter < tt.minWait || got.RetryAfter > 90*time.Second {
						t.Errorf("got RetryAfter %v, want about 90s", got.RetryAfter)
					}
					got.RetryAfter = 0
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "30"}, 30 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"milliseconds win", map[string]string{"Retry-After-Ms": "250", "Retry-After": "30"}, 250 * time.Millisecond},
		{"bad milliseconds fall back", map[string]string{"Retry-After-Ms": "soon", "Retry-After": "3"}, 3 * time.Second},
		{"HTTP date", map[string]string{"Retry-After": "Mon, 23 Nov 2026 12:01:05 GMT"}, 65 * time.Second},
		{"date in the past", map[string]string{"Retry-After": "Mon, 23 Nov 2026 11:00:00 GMT"}, 0},
		{"negative", map[string]string{"Retry-After": "-4"}, 0},
		{"garbage", map[string]string{"Retry-After": "later"}, 0},
		{"absurd is capped", map[string]string{"Retry-After": "1e12"}, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := parseRetryAfter(h, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHTTPStream(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		fixture   string
		wantText  string
		wantUsage llm.Usage
	}{
		{"anthropic", KindAnthropic, "anthropic_stream.sse", "Hello from Claude!", llm.Usage{InputTokens: 25, OutputTokens: 15}},
		{"openai", KindOpenAI, "openai_stream.sse", "Hello from GPT!", llm.Usage{InputTokens: 9, OutputTokens: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, reply{SSE: true, Body: fixture(t, tt.fixture)})
			h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: "k", BaseURL: up.URL})
			s, err := h.Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			text, evs, err := collect(s)
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.wantText {
				t.Errorf("got text %q, want %q", text, tt.wantText)
			}
			var usage llm.Usage
			for _, ev := range evs {
				if ev.Usage != nil {
					usage.Add(*ev.Usage)
				}
				if ev.Dialect != h.Dialect() {
					t.Errorf("got event dialect %q, want %q", ev.Dialect, h.Dialect())
				}
			}
			if usage != tt.wantUsage {
				t.Errorf("got usage %+v, want %+v", usage, tt.wantUsage)
			}
			if last := evs[len(evs)-1]; last.Type != llm.EventEnd {
				t.Errorf("got last event %s, want end", last.Type)
			}
			got := up.requests()[0]
			if got.Header.Get("Accept") != "text/event-stream" || !strings.Contains(string(got.Body), `"stream":true`) {
				t.Errorf("got Accept %q and body %s, want a streamed request", got.Header.Get("Accept"), got.Body)
			}
			// Reading past the end keeps returning io.EOF.
			if _, err := s.Next(); err != io.EOF {
				t.Errorf("got %v after the end, want io.EOF", err)
			}
		})
	}
}

func TestHTTPStreamBreaks(t *testing.T) {
	up := newUpstream(t, reply{SSE: true, Body: fixture(t, "anthropic_stream.sse"), BreakAfter: 2})
	h := newHTTP(t, HTTPConfig{Name: "p", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL})
	s, err := h.Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, evs, err := collect(s)
	if err == nil {
		t.Fatalf("got a clean end after %d events, want an error", len(evs))
	}
	if len(evs) != 2 || evs[0].Type != llm.EventStart || evs[1].Type != llm.EventBlockStart {
		t.Errorf("got events %v before the break, want start, block_start", types(evs))
	}
}

func types(evs []llm.StreamEvent) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Type.String())
	}
	return s
}

func TestHTTPTimeouts(t *testing.T) {
	const short = 150 * time.Millisecond
	t.Run("complete", func(t *testing.T) {
		up := newUpstream(t, reply{Stall: true})
		h := newHTTP(t, HTTPConfig{Name: "slow", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL, Timeout: short})
		start := time.Now()
		_, err := h.Complete(context.Background(), &Call{Request: userRequest("m", "hi")})
		te, ok := errors.AsType[*TimeoutError](err)
		if !ok || te.Provider != "slow" || te.After != short {
			t.Fatalf("got %v, want a *TimeoutError from slow after %v", err, short)
		}
		if d := time.Since(start); d < short || d > 5*time.Second {
			t.Errorf("took %v, want about %v", d, short)
		}
		up.sawClientLeave(t)
	})
	t.Run("stream headers", func(t *testing.T) {
		up := newUpstream(t, reply{Stall: true})
		h := newHTTP(t, HTTPConfig{Name: "slow", Kind: KindOpenAI, APIKey: "k", BaseURL: up.URL, Timeout: short})
		_, err := h.Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
		if te, ok := errors.AsType[*TimeoutError](err); !ok || te.Waiting != "response headers" {
			t.Fatalf("got %v, want a *TimeoutError waiting for headers", err)
		}
		up.sawClientLeave(t)
	})
	t.Run("stream idle", func(t *testing.T) {
		up := newUpstream(t, reply{SSE: true, Body: fixture(t, "anthropic_stream.sse"), StallAfter: 3})
		h := newHTTP(t, HTTPConfig{Name: "slow", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL, Timeout: short, StreamIdleTimeout: short})
		s, err := h.Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// A slow reader is not an idle upstream: waiting longer than the
		// idle timeout between Next calls must not fail the stream.
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * short) // the slow reader this case is about
		_, evs, err := collect(s)
		if te, ok := errors.AsType[*TimeoutError](err); !ok || te.Waiting != "stream data" {
			t.Fatalf("got %v after %v, want a *TimeoutError waiting for stream data", err, types(evs))
		}
		up.sawClientLeave(t)
	})
}

func TestHTTPStreamCancel(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			up := newUpstream(t, reply{SSE: true, Body: fixture(t, "openai_stream.sse"), StallAfter: 2})
			h := newHTTP(t, HTTPConfig{Name: "p", Kind: KindOpenAI, APIKey: "k", BaseURL: up.URL})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := h.Stream(ctx, &Call{Request: userRequest("m", "hi")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
			if how == "cancel" {
				cancel()
			} else {
				s.Close()
			}
			up.sawClientLeave(t)
			_, _, err = collect(s)
			if err == nil {
				t.Errorf("got a clean end, want an error")
			}
			if how == "cancel" && !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
			s.Close() // safe twice
		})
	}
}

func TestHTTPCompleteTooLarge(t *testing.T) {
	up := newUpstream(t, reply{Body: fixture(t, "anthropic_message.json")})
	h := newHTTP(t, HTTPConfig{Name: "p", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL})
	if h.x.maxBody != 32<<20 {
		t.Errorf("got a body limit of %d, want 32 MiB", h.x.maxBody)
	}
	h.x.maxBody = 100 // smaller than the fixture
	_, err := h.Complete(context.Background(), &Call{Request: userRequest("m", "hi")})
	if !errors.Is(err, errTooLarge) {
		t.Fatalf("got %v, want errTooLarge", err)
	}
	if _, ok := errors.AsType[*badResponseError](err); !ok {
		t.Errorf("got %T, want a *badResponseError", err)
	}
}

func TestHTTPBadJSON(t *testing.T) {
	up := newUpstream(t, reply{Body: `{"id": "msg_1", "content": [`})
	h := newHTTP(t, HTTPConfig{Name: "p", Kind: KindAnthropic, APIKey: "k", BaseURL: up.URL})
	_, err := h.Complete(context.Background(), &Call{Request: userRequest("m", "hi")})
	if _, ok := errors.AsType[*badResponseError](err); !ok {
		t.Fatalf("got %v, want a *badResponseError", err)
	}
}

func TestHTTPStreamReusesConnections(t *testing.T) {
	for _, tt := range []struct{ kind, fixture string }{
		{KindAnthropic, "anthropic_stream.sse"},
		{KindOpenAI, "openai_stream.sse"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			u := &upstream{replies: []reply{{SSE: true, Body: fixture(t, tt.fixture), Linger: 20 * time.Millisecond}}, ended: make(chan struct{}, 64)}
			u.Server = httptest.NewUnstartedServer(u)
			var conns atomic.Int32
			u.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			u.Start()
			defer u.Close()
			h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: "k", BaseURL: u.URL})
			const streams = 5
			for range streams {
				// The transport returns the connection to its pool once
				// the body has been read to its end.
				pooled := make(chan error, 1)
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
					PutIdleConn: func(err error) { pooled <- err },
				})
				s, err := h.Stream(ctx, &Call{Request: userRequest("m", "hi")})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := collect(s); err != nil {
					t.Fatal(err)
				}
				s.Close()
				select {
				case err := <-pooled:
					if err != nil {
						t.Fatalf("the connection was not pooled: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the connection was not returned to the pool within 10s of the stream's end")
				}
			}
			if n := conns.Load(); n > 2 {
				t.Errorf("got %d connections for %d sequential streams, want them reused", n, streams)
			}
		})
	}
}
