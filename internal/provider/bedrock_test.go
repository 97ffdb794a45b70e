package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/llm"
)

// newBedrockPair starts a Bedrock fake and a provider signing for it with
// the fake's keys (secret overrides the provider's secret when set).
func newBedrockPair(t *testing.T, fake *fakeupstream.Bedrock, secret string) *Bedrock {
	t.Helper()
	fake.Record = true
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	b, err := NewBedrock(context.Background(), BedrockConfig{
		Name: "bedrock-test", Region: "us-gov-west-1", BaseURL: srv.URL,
		AccessKeyID: "AKIDTEST", SecretAccessKey: cmp(secret, "s3cret"), SessionToken: "session-token",
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.Region, fake.AccessKeyID, fake.SecretAccessKey = "us-gov-west-1", "AKIDTEST", "s3cret"
	return b
}

func cloudRequest(model, text string) *llm.Request {
	return &llm.Request{Model: model, MaxTokens: 100, System: "be brief",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
}

var weatherTool = llm.Tool{Name: "get_weather", Description: "Weather for a city.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}

// drain reads a stream to its end and returns the text, the tool calls
// (name and arguments) and the stop reason.
func drain(t *testing.T, s llm.Stream) (text string, calls []string, stop llm.StopReason, usage llm.Usage) {
	t.Helper()
	defer s.Close()
	var args strings.Builder
	var name string
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return text, calls, stop, usage
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		switch ev.Type {
		case llm.EventTextDelta:
			text += ev.Text
		case llm.EventBlockStart:
			if ev.Block.Type == llm.BlockToolUse {
				name = ev.Block.ToolCall.Name
				args.Reset()
			}
		case llm.EventToolDelta:
			args.WriteString(ev.PartialJSON)
		case llm.EventBlockStop:
			if name != "" {
				calls = append(calls, name+" "+args.String())
				name = ""
			}
		case llm.EventStop:
			stop = ev.StopReason
			if ev.Usage != nil {
				usage.Add(*ev.Usage)
			}
		case llm.EventStart, llm.EventUsage:
			if ev.Usage != nil {
				usage.Add(*ev.Usage)
			}
		}
	}
}

func TestBedrockAnthropic(t *testing.T) {
	fake := &fakeupstream.Bedrock{}
	b := newBedrockPair(t, fake, "")
	const model = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
	ctx := context.Background()

	resp, err := b.Complete(ctx, &Call{Request: cloudRequest(model, "hello there")})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Content[0].Text; got != "echo: hello there" || resp.Dialect != brightline.DialectAnthropic || resp.Raw == nil {
		t.Errorf("got %q (dialect %q), want the Anthropic answer echo: hello there", got, resp.Dialect)
	}
	s, err := b.Stream(ctx, &Call{Request: cloudRequest(model, "stream please")})
	if err != nil {
		t.Fatal(err)
	}
	text, _, stop, usage := drain(t, s)
	if text != "echo: stream please" || stop != llm.StopEndTurn || usage.OutputTokens == 0 {
		t.Errorf("stream: got %q, %q, %+v; want the echo, end_turn and usage", text, stop, usage)
	}

	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, want := range []string{"/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke", "/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream"} {
		if reqs[i].Path != want {
			t.Errorf("request %d: path %s, want %s", i, reqs[i].Path, want)
		}
		var body map[string]json.RawMessage
		json.Unmarshal(reqs[i].Body, &body)
		if string(body["anthropic_version"]) != `"bedrock-2023-05-31"` || body["model"] != nil || body["stream"] != nil {
			t.Errorf("request %d: body %s, want anthropic_version and no model or stream", i, reqs[i].Body)
		}
		if h := reqs[i].Header; h.Get("X-Amz-Security-Token") != "session-token" || !strings.Contains(h.Get("Authorization"), "/us-gov-west-1/bedrock/aws4_request") {
			t.Errorf("request %d: Authorization %q, want a SigV4 scope for us-gov-west-1/bedrock with the session token", i, h.Get("Authorization"))
		}
	}
}

// A client speaking Anthropic has its own bytes forwarded, minus model and
// stream, and its anthropic-beta header moved into the body.
func TestBedrockAnthropicPassthrough(t *testing.T) {
	fake := &fakeupstream.Bedrock{}
	b := newBedrockPair(t, fake, "")
	raw := []byte(`{"model":"claude-x","max_tokens":50,"stream":true,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`)
	req := &llm.Request{Model: "anthropic.claude-3-haiku-20240307-v1:0", Stream: true, MaxTokens: 50, Raw: raw, Dialect: brightline.DialectAnthropic,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "hi"}}}}}
	hdr := http.Header{"Anthropic-Beta": {"token-efficient-tools-2025-02-19, interleaved-thinking-2025-05-14"}}
	s, err := b.Stream(context.Background(), &Call{Request: req, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	// The events carry Anthropic SSE frames, to be forwarded as they are.
	first, err := s.Next()
	if err != nil || first.Type != llm.EventStart || !strings.HasPrefix(string(first.Raw), "event: message_start\ndata: {") {
		t.Errorf("first event %v %q (%v), want message_start with its SSE frame", first.Type, first.Raw, err)
	}
	drain(t, s)
	got := string(fake.Requests()[0].Body)
	want := `{"max_tokens":50,"top_k":5,"messages":[{"role":"user","content":"hi"}],"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["token-efficient-tools-2025-02-19","interleaved-thinking-2025-05-14"]}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestBedrockConverse(t *testing.T) {
	fake := &fakeupstream.Bedrock{}
	b := newBedrockPair(t, fake, "")
	ctx := context.Background()
	const model = "meta.llama3-1-70b-instruct-v1:0"

	resp, err := b.Complete(ctx, &Call{Request: cloudRequest(model, "hi llama")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content[0].Text != "echo: hi llama" || resp.StopReason != llm.StopEndTurn || resp.Usage.InputTokens == 0 || resp.Dialect != "" {
		t.Errorf("got %+v, want the echo with usage and no dialect", resp)
	}

	// A tool call, then its result.
	fake.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: `{"city":"Oslo"}`}
	req := cloudRequest(model, "weather in Oslo?")
	req.Tools = []llm.Tool{weatherTool}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAny}
	resp, err = b.Complete(ctx, &Call{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Content) != 1 || resp.Content[0].Type != llm.BlockToolUse || resp.Content[0].ToolCall.Name != "get_weather" ||
		string(resp.Content[0].ToolCall.Arguments) != `{"city":"Oslo"}` || resp.StopReason != llm.StopToolUse {
		t.Fatalf("got %+v, want a get_weather call", resp)
	}
	s, err := b.Stream(ctx, &Call{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	_, calls, stop, usage := drain(t, s)
	if len(calls) != 1 || calls[0] != `get_weather {"city":"Oslo"}` || stop != llm.StopToolUse || usage.OutputTokens == 0 {
		t.Errorf("stream: got %q, %q, %+v; want the call, tool_use and usage", calls, stop, usage)
	}

	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockToolUse, ToolCall: resp.Content[0].ToolCall}}},
		llm.Message{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{
			CallID: resp.Content[0].ToolCall.ID, Content: []llm.Block{{Type: llm.BlockText, Text: "sunny, 21C"}}}}}})
	s, err = b.Stream(ctx, &Call{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	text, _, stop, _ := drain(t, s)
	if text != "Thanks, the tool said: sunny, 21C" || stop != llm.StopEndTurn {
		t.Errorf("after the result: got %q, %q", text, stop)
	}

	var sent struct {
		System     []map[string]string `json:"system"`
		ToolConfig struct {
			ToolChoice map[string]any `json:"toolChoice"`
			Tools      []struct {
				ToolSpec struct{ Name string } `json:"toolSpec"`
			} `json:"tools"`
		} `json:"toolConfig"`
		Messages []struct {
			Content []map[string]json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	reqs := fake.Requests()
	last := reqs[len(reqs)-1]
	if !strings.HasSuffix(last.Path, "/model/meta.llama3-1-70b-instruct-v1%3A0/converse-stream") {
		t.Errorf("path %s, want converse-stream on the escaped model id", last.Path)
	}
	if err := json.Unmarshal(last.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.System) != 1 || sent.System[0]["text"] != "be brief" || sent.ToolConfig.ToolChoice["any"] == nil ||
		len(sent.ToolConfig.Tools) != 1 || sent.ToolConfig.Tools[0].ToolSpec.Name != "get_weather" ||
		len(sent.Messages) != 3 || sent.Messages[1].Content[0]["toolUse"] == nil || sent.Messages[2].Content[0]["toolResult"] == nil {
		t.Errorf("Converse body %s: want system, toolConfig with any, toolUse and toolResult", last.Body)
	}
}

// The fake recomputes the signature: a wrong secret is refused with
// Bedrock's 403, which the router does not retry.
func TestBedrockBadSignature(t *testing.T) {
	fake := &fakeupstream.Bedrock{}
	b := newBedrockPair(t, fake, "wrong-secret")
	for _, model := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-pro-v1:0"} {
		_, err := b.Complete(context.Background(), &Call{Request: cloudRequest(model, "hi")})
		we, ok := errors.AsType[*llm.WireError](err)
		if !ok || we.Status != 403 || we.Type != "InvalidSignatureException" || !strings.Contains(we.Message, "signature we calculated does not match") {
			t.Errorf("%s: got %v, want 403 InvalidSignatureException", model, err)
		}
	}
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: b, Model: "anthropic.claude-3-haiku-20240307-v1:0"}}}}}
	_, served, err := r.Complete(context.Background(), cloudRequest("m", "hi"), nil)
	if e, ok := errors.AsType[*brightline.Error](err); !ok || e.Code != brightline.CodeUpstream || served.Attempts != 1 {
		t.Errorf("router: got %v after %d attempts, want one attempt and an upstream error", err, served.Attempts)
	}
}

// A tampered body no longer matches the signed payload hash.
func TestBedrockFakeChecksBodyHash(t *testing.T) {
	fake := &fakeupstream.Bedrock{Region: "us-east-1", AccessKeyID: "AKIDTEST", SecretAccessKey: "s3cret"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tamper := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		b = []byte(strings.Replace(string(b), "hello", "HELLO", 1))
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		return http.DefaultTransport.RoundTrip(r)
	})}
	b, err := NewBedrock(context.Background(), BedrockConfig{Name: "b", Region: "us-east-1", BaseURL: srv.URL, AccessKeyID: "AKIDTEST", SecretAccessKey: "s3cret", Client: tamper})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Complete(context.Background(), &Call{Request: cloudRequest("anthropic.claude-3-haiku-20240307-v1:0", "hello")})
	if we, ok := errors.AsType[*llm.WireError](err); !ok || we.Type != "InvalidSignatureException" {
		t.Errorf("got %v, want InvalidSignatureException", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Throttling is retried like any provider's 429, then fails over; an
// exception inside a stream before its first event is retried too.
func TestBedrockThrottlingFailover(t *testing.T) {
	throttled := &fakeupstream.Bedrock{Server: fakeupstream.Server{Fail: func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 429} }}}
	primary := newBedrockPair(t, throttled, "")
	ok := &fakeupstream.Bedrock{}
	backup := newBedrockPair(t, ok, "")
	r := &Router{
		Routes: []Route{{Model: "claude", Targets: []Target{
			{Provider: primary, Model: "anthropic.claude-3-haiku-20240307-v1:0"},
			{Provider: backup, Model: "us.anthropic.claude-3-haiku-20240307-v1:0"},
		}}},
		Retry: RetryPolicy{MaxAttempts: 2},
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	resp, served, err := r.Complete(context.Background(), cloudRequest("claude", "hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if throttled.Count() != 2 || served.Target != "bedrock-test/us.anthropic.claude-3-haiku-20240307-v1:0" || resp.Content[0].Text != "echo: hi" {
		t.Errorf("throttled got %d requests, served by %s; want 2 and the backup", throttled.Count(), served.Target)
	}

	broken := &fakeupstream.Bedrock{Server: fakeupstream.Server{Fail: func(n int) *fakeupstream.Failure {
		if n == 1 {
			return &fakeupstream.Failure{ErrorEvent: true}
		}
		return nil
	}}}
	p := newBedrockPair(t, broken, "")
	r = &Router{Routes: []Route{{Model: "nova", Targets: []Target{{Provider: p, Model: "amazon.nova-lite-v1:0"}}}},
		Sleep: func(context.Context, time.Duration) error { return nil }}
	s, _, err := r.Stream(context.Background(), cloudRequest("nova", "hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _, _ := drain(t, s); text != "echo: hi" || broken.Count() != 2 {
		t.Errorf("got %q after %d requests, want the echo after a retry", text, broken.Count())
	}
}

// An exception after the first event ends the stream with a wire error.
func TestBedrockStreamException(t *testing.T) {
	for _, model := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "mistral.mistral-large-2407-v1:0"} {
		fake := &fakeupstream.Bedrock{Server: fakeupstream.Server{Fail: func(int) *fakeupstream.Failure {
			return &fakeupstream.Failure{ErrorEvent: true, BreakAfter: 2}
		}}}
		b := newBedrockPair(t, fake, "")
		s, err := b.Stream(context.Background(), &Call{Request: cloudRequest(model, "hi")})
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for last == nil {
			_, last = s.Next()
		}
		s.Close()
		if we, ok := errors.AsType[*llm.WireError](last); !ok || we.Type != "internalServerException" {
			t.Errorf("%s: got %v, want the internalServerException", model, last)
		}
	}
}

func TestBedrockEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":     "https://bedrock-runtime.us-east-1.amazonaws.com",
		"us-gov-west-1": "https://bedrock-runtime.us-gov-west-1.amazonaws.com",
		"us-gov-east-1": "https://bedrock-runtime.us-gov-east-1.amazonaws.com",
		"cn-north-1":    "https://bedrock-runtime.cn-north-1.amazonaws.com.cn",
	} {
		if got := BedrockEndpoint(region); got != want {
			t.Errorf("BedrockEndpoint(%q) = %q, want %q", region, got, want)
		}
	}
	for model, want := range map[string]bool{
		"anthropic.claude-3-5-sonnet-20241022-v2:0":                                          true,
		"us.anthropic.claude-3-7-sonnet-20250219-v1:0":                                       true,
		"us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0":                                   true,
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0": true,
		"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3":        false,
		"meta.llama3-1-70b-instruct-v1:0":                                                    false,
		"amazon.nova-pro-v1:0":                                                               false,
		"openai.gpt-oss-120b-1:0":                                                            false,
	} {
		if got := IsBedrockAnthropic(model); got != want {
			t.Errorf("IsBedrockAnthropic(%q) = %v, want %v", model, got, want)
		}
	}
	if _, err := NewBedrock(context.Background(), BedrockConfig{Name: "x", Region: "us-east-1", AccessKeyID: "only-id"}); err == nil {
		t.Error("an access key id without its secret: got no error")
	}
}

// Converse cannot take an image by URL: a 400 the router does not retry.
func TestConverseRefusesImageURL(t *testing.T) {
	req := cloudRequest("amazon.nova-pro-v1:0", "what is this?")
	req.Messages[0].Content = append(req.Messages[0].Content, llm.Block{Type: llm.BlockImage, Image: &llm.Image{URL: "https://example.com/a.png"}})
	_, err := encodeConverse("b", req)
	if we, ok := errors.AsType[*llm.WireError](err); !ok || we.Status != 400 {
		t.Errorf("got %v, want a 400 wire error", err)
	}
}
