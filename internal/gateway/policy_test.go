package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
)

const testPolicy = `
metadata_headers: [x-mission]
safeguards:
  - id: human-control-of-force
    title: Human control of force
    rules:
      - id: force-requires-approval
        stage: tool_call
        when: tool_call.effect == "force"
        action: require_approval
        message: Use of force requires approval by an authorised human.
      - id: no-strikes-on-hospitals
        stage: tool_call
        when: tool_call.name == "fire_weapon" && string(tool_call.arguments.target).contains("hospital")
        action: deny
        message: Protected site.
rules:
  - id: blocked-model
    stage: request
    when: request.model == "via-openai" && request.metadata["x-mission"] == "blocked"
    action: deny
    message: This mission may not use this model.
  - id: flag-long-prompts
    stage: request
    when: request.text_bytes > 20
    action: annotate
    message: Long prompt.
  - id: mask-grids
    stage: request
    when: request.text_bytes > 0
    action: redact
    redact: ['\b\d{2}[A-Z]{3}\d{8}\b']
    message: Grid references are masked.
  - id: short-answers-only
    stage: response
    when: response.text_bytes > 200
    action: deny
    message: Answers over 200 bytes are withheld.
  - id: broken-rule
    stage: request
    when: request.metadata["x-mission"] == "explode" && request.metadata["x-absent"] == "x"
    action: deny
    message: never
`

func policyHarness(t *testing.T) *harness {
	t.Helper()
	p, err := policy.Load("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := policy.NewToolEffects([]policy.ToolDecl{{Name: "fire_*", Effect: "force"}, {Name: "get_weather", Effect: "informational"}}, policy.NormalizeToolName)
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}, Tools: tools})
}

func TestPolicyDenyRequest(t *testing.T) {
	h := policyHarness(t)
	oc := openai.NewClient(ooptionBase(h, "x-mission", "blocked")...)
	_, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "via-openai", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 403 || oe.Type != "permission_error" || oe.Code != "policy_denied" ||
		!strings.Contains(oe.Message, "rule blocked-model") || !strings.Contains(oe.Message, "This mission may not use this model.") {
		t.Errorf("openai: got %v, want 403 permission_error policy_denied naming the rule and its message", err)
	}
	ac := anthropic.NewClient(aoptionBase(h, "x-mission", "blocked")...)
	_, err = ac.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "via-openai", MaxTokens: 10, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Type() != "permission_error" || !strings.Contains(ae.RawJSON(), "rule blocked-model") {
		t.Errorf("anthropic: got %v, want 403 permission_error naming the rule", err)
	}
	if n := h.openai.Count(); n != 0 {
		t.Errorf("a denied request reached the upstream %d times", n)
	}
	// Another mission may use the model.
	oc = openai.NewClient(ooptionBase(h, "x-mission", "ok")...)
	if _, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "via-openai", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Errorf("allowed mission: %v", err)
	}
}

func TestPolicyFailsClosed(t *testing.T) {
	h := policyHarness(t)
	status, _, body := h.post(t, "/v1/messages", `{"model":"via-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": testKey, "anthropic-version": "2023-06-01", "x-mission": "explode"})
	typ, msg := errorShape(t, "/v1/messages", body)
	if status != 500 || typ != "api_error" || !strings.Contains(msg, "could not be checked against the policy") {
		t.Errorf("got %d %s %q, want 500 api_error saying the policy could not be evaluated", status, typ, msg)
	}
	if h.anthropic.Count() != 0 {
		t.Error("a request whose policy failed to evaluate was forwarded")
	}
}

func TestPolicyRedacts(t *testing.T) {
	h := policyHarness(t)
	for _, c := range []struct{ path, body, model string }{
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"move to 38SMB44881234 now"}],"seed":1}`, "openai"},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":9,"system":"grid 38SMB44881234","messages":[{"role":"user","content":"move to 38SMB44881234 now"}]}`, "anthropic"},
	} {
		hdr := bearer(testKey)
		up := h.openai
		if c.model == "anthropic" {
			hdr, up = anthropicHdr(testKey), h.anthropic
		}
		status, rh, body := h.post(t, c.path, c.body, hdr)
		if status != 200 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
		if got := rh.Get("x-brightline-annotations"); got != "flag-long-prompts" {
			t.Errorf("%s: x-brightline-annotations: got %q, want flag-long-prompts", c.path, got)
		}
		if !strings.Contains(body, "move to [REDACTED] now") {
			t.Errorf("%s: the echo shows the model did not get the redacted text: %s", c.path, body)
		}
		reqs := up.Requests()
		sent := string(reqs[len(reqs)-1].Body)
		if strings.Contains(sent, "38SMB44881234") {
			t.Errorf("%s: the upstream received the unredacted grid reference: %s", c.path, sent)
		}
	}
}

// TestPolicyToolCallsInStreams: a denied tool call never reaches the
// client, streamed or not, through either SDK and from either upstream;
// an allowed one does.
func TestPolicyToolCallsInStreams(t *testing.T) {
	h := policyHarness(t)
	schema := map[string]any{"type": "object", "properties": map[string]any{"target": map[string]any{"type": "string"}}}
	for _, tc := range []struct {
		name, args string
		released   bool
		notice     string
	}{
		{"fire_weapon", `{"target":"hospital at grid 38SMB"}`, false, "safeguard human-control-of-force (rule no-strikes-on-hospitals): Protected site."},
		{"fire_weapon", `{"target":"radar site"}`, false, "held for human approval"},
		{"get_weather", `{"target":"hospital"}`, true, ""},
	} {
		h.anthropic.Tool = &fakeupstream.ToolCall{Name: tc.name, Arguments: tc.args}
		h.openai.Tool = h.anthropic.Tool
		for _, model := range []string{"via-anthropic", "via-openai"} {
			for _, stream := range []bool{false, true} {
				name := tc.name + "/" + model
				if stream {
					name += "/stream"
				}
				t.Run("openai/"+name, func(t *testing.T) {
					msg, finish, _ := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
						Model:    model,
						Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("engage")},
						Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
							Name: tc.name, Parameters: schema,
						})},
					})
					if tc.released {
						if len(msg.ToolCalls) != 1 || finish != "tool_calls" {
							t.Errorf("got %d tool calls (%s), want the call released", len(msg.ToolCalls), finish)
						}
						return
					}
					if len(msg.ToolCalls) != 0 || strings.Contains(msg.Content, "hospital at") {
						t.Errorf("the client received the call: %+v", msg)
					}
					if !strings.Contains(msg.Content, tc.notice) || finish != "stop" {
						t.Errorf("got %q (%s), want a notice containing %q and finish stop", msg.Content, finish, tc.notice)
					}
				})
				t.Run("anthropic/"+name, func(t *testing.T) {
					m := anthropicChat(t, h.anthropicClient(testKey), stream, anthropic.MessageNewParams{
						Model: anthropic.Model(model), MaxTokens: 100,
						Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("engage"))},
						Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
							Name: tc.name, InputSchema: anthropic.ToolInputSchemaParam{Properties: schema["properties"]},
						}}},
					})
					uses := 0
					for _, b := range m.Content {
						if b.Type == "tool_use" {
							uses++
						}
					}
					if tc.released {
						if uses != 1 || m.StopReason != anthropic.StopReasonToolUse {
							t.Errorf("got %d tool_use blocks (%s), want the call released", uses, m.StopReason)
						}
						return
					}
					if uses != 0 {
						t.Errorf("the client received the call: %+v", m.Content)
					}
					if !strings.Contains(anthropicText(m), tc.notice) || m.StopReason != anthropic.StopReasonEndTurn {
						t.Errorf("got %q (%s), want a notice containing %q and end_turn", anthropicText(m), m.StopReason, tc.notice)
					}
				})
			}
		}
	}
}

// TestPolicyResponseDenied: an answer over 200 bytes is withheld; a stream
// that has already sent text ends with an error event instead of a stop.
func TestPolicyResponseDenied(t *testing.T) {
	h := policyHarness(t)
	long := strings.Repeat("word ", 60)
	oc := h.openaiClient(testKey)
	_, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "via-anthropic", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)},
	})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 403 || !strings.Contains(oe.Message, "short-answers-only") {
		t.Errorf("non-stream: got %v, want 403 naming short-answers-only", err)
	}
	s := oc.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "via-anthropic", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)},
	})
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() == nil || !strings.Contains(s.Err().Error(), "short-answers-only") || n == 0 {
		t.Errorf("openai stream: got %d chunks then %v, want text then an error naming the rule", n, s.Err())
	}
	ac := h.anthropicClient(testKey)
	as := ac.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "via-openai", MaxTokens: 500, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(long))},
	})
	n = 0
	for as.Next() {
		n++
	}
	if as.Err() == nil || !strings.Contains(as.Err().Error(), "short-answers-only") || n == 0 {
		t.Errorf("anthropic stream: got %d events then %v, want text then an error naming the rule", n, as.Err())
	}
}

// TestRefusalNotRoutedAround: a provider's safety refusal is the answer;
// it is retried on the next target only when a rule says so.
func TestRefusalNotRoutedAround(t *testing.T) {
	for _, allow := range []bool{false, true} {
		src := "rules: []\n"
		if allow {
			src = "rules:\n  - id: second-opinion\n    stage: response\n    when: request.model == \"failover\"\n    action: annotate\n    allow_refusal_retry: true\n    message: Refusals on this route may be retried.\n"
		}
		p, err := policy.Load("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}})
		h.anthropic.Refuse = true
		msg, finish, _ := openaiChat(t, h.openaiClient(testKey), false, openai.ChatCompletionNewParams{
			Model: "failover", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("plan it")},
		})
		switch {
		case !allow && (finish != "content_filter" || h.openai.Count() != 0):
			t.Errorf("without a rule: got %q (%s) and %d calls to the second target, want the refusal and none", msg.Content, finish, h.openai.Count())
		case allow && (finish != "stop" || msg.Content != "echo: plan it"):
			t.Errorf("with allow_refusal_retry: got %q (%s), want the second target's answer", msg.Content, finish)
		}
	}
}

// TestPolicyRedactsStreamsSDK: the redacted request reaches the model, as
// both SDKs see in the streamed echo.
func TestPolicyRedactsStreamsSDK(t *testing.T) {
	h := policyHarness(t)
	const prompt = "advance to 38SMB44881234 at dawn"
	const want = "echo: advance to [REDACTED] at dawn"
	msg, _, _ := openaiChat(t, h.openaiClient(testKey), true, openai.ChatCompletionNewParams{
		Model: "via-anthropic", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	})
	if msg.Content != want {
		t.Errorf("openai stream: got %q, want %q", msg.Content, want)
	}
	m := anthropicChat(t, h.anthropicClient(testKey), true, anthropic.MessageNewParams{
		Model: "via-openai", MaxTokens: 100, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
	})
	if got := anthropicText(m); got != want {
		t.Errorf("anthropic stream: got %q, want %q", got, want)
	}
}
