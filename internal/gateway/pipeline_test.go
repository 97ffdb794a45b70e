package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
)

// errorShape checks an error body in either dialect and returns its type
// and message.
func errorShape(t *testing.T, path, body string) (typ, msg string) {
	t.Helper()
	if strings.Contains(path, "messages") {
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" {
			t.Fatalf("not an Anthropic error body: %s", body)
		}
		return e.Error.Type, e.Error.Message
	}
	var e struct {
		Error *struct{ Type, Message, Code string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return e.Error.Type, e.Error.Message
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, gateway.Config{MaxRequestBytes: 4096})
	big := `{"model":"simulated","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`
	tests := []struct {
		name, body string
		status     int
		oType      string
		aType      string
		msg        string
	}{
		{"malformed JSON", `{"model": "simulated", "messages": [`, 400, "invalid_request_error", "invalid_request_error", "JSON"},
		{"not an object", `[1,2]`, 400, "invalid_request_error", "invalid_request_error", ""},
		{"missing model", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "invalid_request_error", "model"},
		{"missing messages", `{"model":"simulated","max_tokens":5}`, 400, "invalid_request_error", "invalid_request_error", "messages"},
		{"too large", big, 413, "invalid_request_error", "request_too_large", "4096 bytes"},
		{"unknown model", `{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 404, "invalid_request_error", "not_found_error", `"nope"`},
	}
	for _, tt := range tests {
		for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
			t.Run(tt.name+path, func(t *testing.T) {
				hdr := bearer(testKey)
				want := tt.oType
				if path == "/v1/messages" {
					hdr, want = anthropicHdr(testKey), tt.aType
				}
				status, _, body := h.post(t, path, tt.body, hdr)
				if status != tt.status {
					t.Fatalf("status: got %d, want %d (body %s)", status, tt.status, body)
				}
				typ, msg := errorShape(t, path, body)
				if typ != want || !strings.Contains(msg, tt.msg) {
					t.Errorf("error: got %s %q, want %s containing %q", typ, msg, want, tt.msg)
				}
			})
		}
	}
	if h.anthropic.Count()+h.openai.Count() != 0 {
		t.Errorf("bad input reached an upstream %d times", h.anthropic.Count()+h.openai.Count())
	}
}

func TestAuthStoreFailureFailsClosed(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.auth.err = errTest
	status, hdr, body := h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}]}`, bearer(testKey))
	if status != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("got %d (Retry-After %q), want 503 with Retry-After", status, hdr.Get("Retry-After"))
	}
	if strings.Contains(body, errTest.Error()) {
		t.Errorf("internal detail leaked to the client: %s", body)
	}
	if h.openai.Count() != 0 {
		t.Errorf("request was forwarded although authentication failed")
	}
}

// TestPassthrough checks that same-dialect requests and answers keep the
// allowed fields the gateway does not model, and that only the model is
// rewritten.
func TestPassthrough(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	status, _, body := h.post(t, "/v1/chat/completions",
		`{"model":"via-openai","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"seed":7}`, bearer(testKey))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	reqs := h.openai.Requests()
	got := string(reqs[len(reqs)-1].Body)
	if want := `{"model":"gpt-fake-1","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"seed":7}`; got != want {
		t.Errorf("upstream body:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(body, `"system_fingerprint":"fp_fake"`) || !strings.Contains(body, `"service_tier":"default"`) {
		t.Errorf("response lost unmodelled fields: %s", body)
	}

	hdr := anthropicHdr(testKey)
	hdr["anthropic-beta"] = "interleaved-thinking-2025-05-14"
	status, _, body = h.post(t, "/v1/messages",
		`{"model":"via-anthropic","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_k":5}`, hdr)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	reqs = h.anthropic.Requests()
	last := reqs[len(reqs)-1]
	if want := `{"model":"claude-fake-1","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_k":5}`; string(last.Body) != want {
		t.Errorf("upstream body:\n got %s\nwant %s", last.Body, want)
	}
	if got := last.Header.Get("anthropic-beta"); got != "interleaved-thinking-2025-05-14" {
		t.Errorf("anthropic-beta: got %q, want it forwarded", got)
	}
	if last.Header.Get("x-api-key") != "sk-ant-fake" {
		t.Errorf("upstream got key %q, want the provider's own key, never the client's", last.Header.Get("x-api-key"))
	}
}

// TestStreamPassthroughBytes checks that a same-dialect stream reaches the
// client byte for byte.
func TestStreamPassthroughBytes(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	up := &fakeupstream.Server{}
	direct := serveFake(t, up)
	for _, c := range []struct{ path, body, model string }{
		{"/v1/chat/completions", `{"model":"%s","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello world, this is long"}]}`, "gpt-fake-1"},
		{"/v1/messages", `{"model":"%s","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hello world, this is long"}]}`, "claude-fake-1"},
	} {
		model := "via-openai"
		hdr := bearer(testKey)
		if c.path == "/v1/messages" {
			model, hdr = "via-anthropic", anthropicHdr(testKey)
		}
		_, _, viaGateway := h.post(t, c.path, fmt.Sprintf(c.body, model), hdr)
		resp, err := http.Post(direct+c.path, "application/json", strings.NewReader(fmt.Sprintf(c.body, c.model)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The fakes number their answers; align the ids.
		fakeID := regexp.MustCompile(`fake\d{8}`)
		got := fakeID.ReplaceAllString(viaGateway, "fakeN")
		if wantS := fakeID.ReplaceAllString(string(want), "fakeN"); got != wantS {
			t.Errorf("%s: stream via gateway differs from upstream\n got %q\nwant %q", c.path, got, wantS)
		}
	}
}

// TestFailover: the first target fails, the second (of the other dialect)
// answers, streamed and not.
func TestFailover(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.anthropic.Fail = func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 529} }
	for _, stream := range []bool{false, true} {
		msg, _, _ := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
			Model: "failover", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("status report")},
		})
		if msg.Content != "echo: status report" {
			t.Errorf("stream=%v: got %q, want the second target's answer", stream, msg.Content)
		}
	}
	if n := h.anthropic.Count(); n != 4 {
		t.Errorf("first target: got %d attempts, want 4 (2 per request)", n)
	}
	h.waitMetrics(t,
		`brightline_upstream_failovers_total{from="anthropic-up/claude-fake-1",to="openai-up/gpt-fake-1"} 2`,
		`brightline_upstream_retries_total{target="anthropic-up/claude-fake-1"} 2`,
		`brightline_requests_total{code="200",dialect="openai",stream="true"} 1`,
	)
}

// waitMetrics waits until every request sent so far has been handled to
// the end (a streamed request is counted when its handler returns, which
// can be just after the client has read the last event), then checks
// that /metrics shows every line in want.
func (h *harness) waitMetrics(t *testing.T, want ...string) {
	t.Helper()
	h.handling.wait(t, 5*time.Second, "gateway handlers")
	metrics := h.get(t, "/metrics")
	for _, w := range want {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}

// TestAllTargetsDown: every target of the route is down, so the client
// gets what the README promises for that case: 503 with Retry-After (502
// is for an upstream failure that is not an outage).
func TestAllTargetsDown(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	down := func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 503, RetryAfter: "1"} }
	h.anthropic.Fail, h.openai.Fail = down, down
	status, hdr, body := h.post(t, "/v1/messages", `{"model":"failover","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, anthropicHdr(testKey))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status: got %d, want 503 (%s)", status, body)
	}
	if hdr.Get("Retry-After") == "" {
		t.Errorf("no Retry-After header")
	}
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "sk-") {
		t.Errorf("error leaks upstream detail: %s", body)
	}
}

func TestUpstreamTimeout(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.anthropic.Fail = func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Delay: 5 * time.Second} }
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"slow","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"slow","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		hdr := bearer(testKey)
		if c.path == "/v1/messages" {
			hdr = anthropicHdr(testKey)
		}
		start := time.Now()
		status, _, body := h.post(t, c.path, c.body, hdr)
		if status != 504 {
			t.Errorf("%s: got %d, want 504 (%s)", c.path, status, body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v; the 300ms timeout was not applied", c.path, d)
		}
	}
}

// TestStreamBreaksMidway: the upstream drops the connection after some
// events; each client SDK must see an error, not a clean end.
func TestStreamBreaksMidway(t *testing.T) {
	for _, errorEvent := range []bool{false, true} {
		h := newHarness(t, gateway.Config{})
		fail := func(int) *fakeupstream.Failure { return &fakeupstream.Failure{BreakAfter: 3, ErrorEvent: errorEvent} }
		h.anthropic.Fail, h.openai.Fail = fail, fail
		for _, model := range []string{"via-anthropic", "via-openai"} {
			oc, ac := h.openaiClient(testKey), h.anthropicClient(testKey)
			s := oc.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a long answer please")},
			})
			n := 0
			for s.Next() {
				n++
			}
			if s.Err() == nil || n == 0 {
				t.Errorf("openai client, %s, error event %v: got %d chunks and err %v, want some chunks then an error", model, errorEvent, n, s.Err())
			}
			as := ac.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("a long answer please"))},
			})
			n = 0
			for as.Next() {
				n++
			}
			if as.Err() == nil || n == 0 {
				t.Errorf("anthropic client, %s, error event %v: got %d events and err %v, want some events then an error", model, errorEvent, n, as.Err())
			}
		}
	}
}

// TestClientDisconnectCancelsUpstream: when the client goes away
// mid-stream, the upstream request is cancelled.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.openai.EventDelay = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"via-openai","stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight nine ten"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line: got %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	h.upstreamHandling.wait(t, 3*time.Second, "the upstream request, after the client left,")
	if n := h.openai.Cancelled(); n != 1 {
		t.Fatalf("upstream requests cancelled after the client left: got %d, want 1", n)
	}
}

// TestShutdownWhileStreaming: draining lets a stream finish; when the
// drain deadline passes, Abort ends the stream with an error event.
func TestShutdownWhileStreaming(t *testing.T) {
	for _, abort := range []bool{false, true} {
		h := newHarness(t, gateway.Config{})
		h.anthropic.EventDelay = 20 * time.Millisecond
		drain := 2 * time.Second
		if abort {
			h.anthropic.EventDelay, drain = time.Second, 300*time.Millisecond
		}
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1/messages",
			strings.NewReader(`{"model":"via-anthropic","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight"}]}`))
		for k, v := range anthropicHdr(testKey) {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan string)
		go func() {
			b, _ := io.ReadAll(resp.Body)
			done <- string(b)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		err = h.srv.Config.Shutdown(ctx)
		cancel()
		if abort {
			if err == nil {
				t.Fatal("shutdown finished although a slow stream was running")
			}
			h.gw.Abort()
		} else if err != nil {
			t.Fatalf("graceful shutdown: %v", err)
		}
		body := <-done
		switch {
		case !abort && !strings.HasSuffix(body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"):
			t.Errorf("drained stream did not end normally: %q", body)
		case abort && !strings.Contains(body, "event: error") || abort && !strings.Contains(body, "shutting down"):
			t.Errorf("aborted stream did not end with an error event: %q", body)
		}
	}
}

func (h *harness) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestHealthAndUnknownPath(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	if got := h.get(t, "/healthz"); !strings.Contains(got, `"ok"`) {
		t.Errorf("healthz: got %q", got)
	}
	status, _, body := h.post(t, "/v1/completions", `{}`, bearer(testKey))
	if typ, _ := errorShape(t, "/v1/completions", body); status != 404 || typ != "invalid_request_error" {
		t.Errorf("unknown path: got %d %s, want 404 in the OpenAI dialect", status, body)
	}
}

func TestMissingKey(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	for _, c := range []struct {
		path string
		hdr  map[string]string
		typ  string
	}{
		{"/v1/chat/completions", nil, "invalid_request_error"},
		{"/v1/messages", map[string]string{"anthropic-version": "2023-06-01"}, "authentication_error"},
		{"/v1/messages", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, "authentication_error"},
	} {
		status, hdr, body := h.post(t, c.path, `{"model":"simulated","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, c.hdr)
		typ, msg := errorShape(t, c.path, body)
		if status != 401 || typ != c.typ || !strings.Contains(msg, "missing API key") {
			t.Errorf("%s %v: got %d %s %q, want 401 %s about the missing key", c.path, c.hdr, status, typ, msg, c.typ)
		}
		if c.path == "/v1/chat/completions" && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
}
