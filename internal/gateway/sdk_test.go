package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
)

func (h *harness) openaiClient(key string) openai.Client {
	return openai.NewClient(ooption.WithBaseURL(h.srv.URL+"/v1"), ooption.WithAPIKey(key), ooption.WithMaxRetries(0))
}

func (h *harness) anthropicClient(key string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey(key), aoption.WithMaxRetries(0))
}

// openaiChat runs one chat through the OpenAI SDK, streamed or not, and
// returns the assistant message as the SDK understood it.
func openaiChat(t *testing.T, c openai.Client, stream bool, p openai.ChatCompletionNewParams) (openai.ChatCompletionMessage, string, openai.CompletionUsage) {
	t.Helper()
	ctx := context.Background()
	if !stream {
		resp, err := c.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatalf("openai SDK: %v", err)
		}
		return resp.Choices[0].Message, resp.Choices[0].FinishReason, resp.Usage
	}
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for s.Next() {
		acc.AddChunk(s.Current())
		chunks++
	}
	if err := s.Err(); err != nil {
		t.Fatalf("openai SDK stream after %d chunks: %v", chunks, err)
	}
	if len(acc.Choices) == 0 {
		t.Fatalf("openai SDK stream: no choices in %d chunks", chunks)
	}
	return acc.Choices[0].Message, acc.Choices[0].FinishReason, acc.Usage
}

func anthropicChat(t *testing.T, c anthropic.Client, stream bool, p anthropic.MessageNewParams) anthropic.Message {
	t.Helper()
	ctx := context.Background()
	if !stream {
		m, err := c.Messages.New(ctx, p)
		if err != nil {
			t.Fatalf("anthropic SDK: %v", err)
		}
		return *m
	}
	s := c.Messages.NewStreaming(ctx, p)
	var m anthropic.Message
	for s.Next() {
		if err := m.Accumulate(s.Current()); err != nil {
			t.Fatalf("anthropic SDK accumulate: %v", err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("anthropic SDK stream: %v", err)
	}
	return m
}

func anthropicText(m anthropic.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// TestSDKText sends a multi-turn conversation with a system prompt through
// each client SDK to each kind of upstream, streamed and not.
func TestSDKText(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	for _, model := range []string{"via-anthropic", "via-openai", "simulated"} {
		for _, stream := range []bool{false, true} {
			name := model
			if stream {
				name += "/stream"
			}
			wantPrefix := "echo: "
			if model == "simulated" {
				wantPrefix = "[simulated] You said: "
			}
			t.Run("openai-client/"+name, func(t *testing.T) {
				msg, finish, usage := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
					Model: model,
					Messages: []openai.ChatCompletionMessageParamUnion{
						openai.SystemMessage("You are terse."),
						openai.UserMessage("first question"),
						openai.AssistantMessage("first answer"),
						openai.UserMessage("how many tanks are in the depot?"),
					},
				})
				if want := wantPrefix + "how many tanks are in the depot?"; msg.Content != want {
					t.Errorf("content: got %q, want %q", msg.Content, want)
				}
				if finish != "stop" {
					t.Errorf("finish_reason: got %q, want stop", finish)
				}
				if usage.PromptTokens == 0 || usage.CompletionTokens == 0 {
					t.Errorf("usage: got %+v, want non-zero prompt and completion tokens", usage)
				}
			})
			t.Run("anthropic-client/"+name, func(t *testing.T) {
				m := anthropicChat(t, h.anthropicClient(testKey), stream, anthropic.MessageNewParams{
					Model:     anthropic.Model(model),
					MaxTokens: 256,
					System:    []anthropic.TextBlockParam{{Text: "You are terse."}},
					Messages: []anthropic.MessageParam{
						anthropic.NewUserMessage(anthropic.NewTextBlock("first question")),
						anthropic.NewAssistantMessage(anthropic.NewTextBlock("first answer")),
						anthropic.NewUserMessage(anthropic.NewTextBlock("how many tanks are in the depot?")),
					},
				})
				if got, want := anthropicText(m), wantPrefix+"how many tanks are in the depot?"; got != want {
					t.Errorf("text: got %q, want %q", got, want)
				}
				if m.StopReason != anthropic.StopReasonEndTurn {
					t.Errorf("stop_reason: got %q, want end_turn", m.StopReason)
				}
				if m.Usage.InputTokens == 0 || m.Usage.OutputTokens == 0 {
					t.Errorf("usage: got in=%d out=%d, want both non-zero", m.Usage.InputTokens, m.Usage.OutputTokens)
				}
			})
		}
	}
	// The system prompt must reach each upstream in its own format.
	for _, up := range []*fakeupstream.Server{h.anthropic, h.openai} {
		reqs := up.Requests()
		if len(reqs) == 0 {
			t.Fatal("upstream saw no requests")
		}
		for _, r := range reqs {
			if !strings.Contains(string(r.Body), "You are terse.") {
				t.Errorf("upstream %s request lacks the system prompt: %s", r.Path, r.Body)
			}
		}
	}
}

// TestSDKToolRoundTrip has the model call a tool and the client answer
// with a tool result, across dialects, streamed and not.
func TestSDKToolRoundTrip(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const args = `{"location":"Fort Liberty, NC","unit":"celsius"}`
	h.anthropic.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: args}
	h.openai.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: args}
	schema := map[string]any{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}}

	for _, model := range []string{"via-anthropic", "via-openai"} {
		for _, stream := range []bool{false, true} {
			name := model
			if stream {
				name += "/stream"
			}
			t.Run("openai-client/"+name, func(t *testing.T) {
				c := h.openaiClient(testKey)
				p := openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
					Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
						Name: "get_weather", Description: openai.String("Current weather"), Parameters: schema,
					})},
				}
				msg, finish, _ := openaiChat(t, c, stream, p)
				if finish != "tool_calls" {
					t.Errorf("finish_reason: got %q, want tool_calls", finish)
				}
				if len(msg.ToolCalls) != 1 {
					t.Fatalf("tool calls: got %d, want 1", len(msg.ToolCalls))
				}
				tc := msg.ToolCalls[0]
				if tc.Function.Name != "get_weather" || !jsonEqual(tc.Function.Arguments, args) || tc.ID == "" {
					t.Errorf("tool call: got %s(%s) id %q, want get_weather(%s) with an id", tc.Function.Name, tc.Function.Arguments, tc.ID, args)
				}
				p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("22 degrees and sunny", tc.ID))
				msg, finish, _ = openaiChat(t, c, stream, p)
				if want := "Thanks, the tool said: 22 degrees and sunny"; msg.Content != want || finish != "stop" {
					t.Errorf("after tool result: got %q (%s), want %q (stop)", msg.Content, finish, want)
				}
			})
			t.Run("anthropic-client/"+name, func(t *testing.T) {
				c := h.anthropicClient(testKey)
				p := anthropic.MessageNewParams{
					Model:     anthropic.Model(model),
					MaxTokens: 256,
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
					Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
						Name: "get_weather", Description: anthropic.String("Current weather"),
						InputSchema: anthropic.ToolInputSchemaParam{Properties: schema["properties"]},
					}}},
				}
				m := anthropicChat(t, c, stream, p)
				if m.StopReason != anthropic.StopReasonToolUse {
					t.Errorf("stop_reason: got %q, want tool_use", m.StopReason)
				}
				var use *anthropic.ContentBlockUnion
				for i := range m.Content {
					if m.Content[i].Type == "tool_use" {
						use = &m.Content[i]
					}
				}
				if use == nil {
					t.Fatalf("no tool_use block in %+v", m.Content)
				}
				if use.Name != "get_weather" || !jsonEqual(string(use.Input), args) || use.ID == "" {
					t.Errorf("tool_use: got %s(%s) id %q, want get_weather(%s) with an id", use.Name, use.Input, use.ID, args)
				}
				p.Messages = append(p.Messages, m.ToParam(),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "22 degrees and sunny", false)))
				m = anthropicChat(t, c, stream, p)
				if got, want := anthropicText(m), "Thanks, the tool said: 22 degrees and sunny"; got != want {
					t.Errorf("after tool result: got %q, want %q", got, want)
				}
			})
		}
	}
}

// TestSDKSimulatedToolCall checks the documented /tool directive of the
// simulated provider through both SDKs.
func TestSDKSimulatedToolCall(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const prompt = "/tool get_weather {\"city\":\"Oslo\"}"
	for _, stream := range []bool{false, true} {
		msg, finish, _ := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
			Model: "simulated", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		})
		if finish != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" ||
			!jsonEqual(msg.ToolCalls[0].Function.Arguments, `{"city":"Oslo"}`) {
			t.Errorf("openai stream=%v: got %s %+v, want a get_weather call", stream, finish, msg.ToolCalls)
		}
		m := anthropicChat(t, h.anthropicClient(testKey), stream, anthropic.MessageNewParams{
			Model: "simulated", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
		})
		if m.StopReason != anthropic.StopReasonToolUse || len(m.Content) != 1 || m.Content[0].Name != "get_weather" {
			t.Errorf("anthropic stream=%v: got %s %+v, want a get_weather call", stream, m.StopReason, m.Content)
		}
	}
}

// TestUndeclaredForceToolHeld: a tool no operator declared, whose name says
// it applies force, is classified force and held by the default policy.
func TestUndeclaredForceToolHeld(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const prompt = "/tool fire_weapon {\"target\":\"T-72 at grid 38SMB4488\"}"
	for _, stream := range []bool{false, true} {
		msg, finish, _ := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
			Model: "simulated", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		})
		if finish == "tool_calls" || len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "Tool call fire_weapon held for human approval") {
			t.Errorf("stream=%v: got %s %+v %q, want the call held with a notice", stream, finish, msg.ToolCalls, msg.Content)
		}
	}
}

func TestSDKModels(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	want := []string{"failover", "failover-x", "simulated", "slow", "via-anthropic", "via-openai"}
	oc, ac := h.openaiClient(testKey), h.anthropicClient(testKey)
	op, err := oc.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range op.Data {
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("openai models: got %v, want %v", got, want)
	}
	ap, err := ac.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, m := range ap.Data {
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("anthropic models: got %v, want %v", got, want)
	}
	bad := h.openaiClient("bl_wrong")
	if _, err := bad.Models.List(context.Background()); statusOfErr(err) != 401 {
		t.Errorf("models with a bad key: got %v, want 401", err)
	}
}

// TestSDKErrors checks that each failure reaches each SDK as a typed API
// error with the right status.
func TestSDKErrors(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	ctx := context.Background()
	tests := []struct {
		name    string
		key     string
		model   string
		status  int
		oType   string // OpenAI error.type
		aType   string // Anthropic error.type
		message string
	}{
		{"bad key", "bl_nope", "simulated", 401, "invalid_request_error", "authentication_error", "invalid API key"},
		{"missing key", "", "simulated", 401, "invalid_request_error", "authentication_error", "missing API key"},
		{"unknown model", testKey, "gpt-17", 404, "invalid_request_error", "not_found_error", `model "gpt-17" is not served`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oc := openai.NewClient(ooption.WithBaseURL(h.srv.URL+"/v1"), ooption.WithAPIKey(tt.key), ooption.WithMaxRetries(0))
			_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: tt.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("openai: got %v, want *openai.Error", err)
			}
			if oe.StatusCode != tt.status || oe.Type != tt.oType || !strings.Contains(oe.Message, tt.message) {
				t.Errorf("openai: got %d %s %q, want %d %s containing %q", oe.StatusCode, oe.Type, oe.Message, tt.status, tt.oType, tt.message)
			}
			if tt.key == "" {
				// The Anthropic SDK refuses to send a request without a
				// key; TestMissingKey covers that path with plain HTTP.
				return
			}
			ac := anthropic.NewClient(aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey(tt.key), aoption.WithMaxRetries(0))
			_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{
				Model: anthropic.Model(tt.model), MaxTokens: 10,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			var ae *anthropic.Error
			if !errors.As(err, &ae) {
				t.Fatalf("anthropic: got %v, want *anthropic.Error", err)
			}
			_, msg := errorShape(t, "/v1/messages", ae.RawJSON())
			if ae.StatusCode != tt.status || string(ae.Type()) != tt.aType || !strings.Contains(msg, tt.message) {
				t.Errorf("anthropic: got %d %s %q, want %d %s containing %q", ae.StatusCode, ae.Type(), msg, tt.status, tt.aType, tt.message)
			}
		})
	}
}

func statusOfErr(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestImagesTranslated sends an image from each client dialect to the
// upstream of the other and checks it arrives in that upstream's format.
func TestImagesTranslated(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
	oc := h.openaiClient(testKey)
	_, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "via-anthropic",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("what is in this picture?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + png}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.anthropic.Requests()
	var got struct {
		Messages []struct {
			Content []struct {
				Type   string
				Source struct{ Type, MediaType, Data string } `json:"source"`
			}
		}
	}
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || len(got.Messages[0].Content) != 2 {
		t.Fatalf("anthropic upstream got %s", reqs[len(reqs)-1].Body)
	}
	img := got.Messages[0].Content[1]
	if img.Type != "image" || img.Source.Type != "base64" || img.Source.Data != png ||
		!strings.Contains(string(reqs[len(reqs)-1].Body), `"media_type":"image/png"`) {
		t.Errorf("image block: got %+v, want a base64 image/png source", img)
	}

	ac := h.anthropicClient(testKey)
	_, err = ac.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "via-openai", MaxTokens: 50,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewTextBlock("and this one?"),
			anthropic.NewImageBlockBase64("image/png", png),
		)},
	})
	if err != nil {
		t.Fatal(err)
	}
	oreqs := h.openai.Requests()
	if body := string(oreqs[len(oreqs)-1].Body); !strings.Contains(body, `"url":"data:image/png;base64,`+png+`"`) {
		t.Errorf("openai upstream did not get the image as a data URL: %s", body)
	}
}

func ooptionBase(h *harness, hdr ...string) []ooption.RequestOption {
	o := []ooption.RequestOption{ooption.WithBaseURL(h.srv.URL + "/v1"), ooption.WithAPIKey(testKey), ooption.WithMaxRetries(0)}
	for i := 0; i+1 < len(hdr); i += 2 {
		o = append(o, ooption.WithHeader(hdr[i], hdr[i+1]))
	}
	return o
}

func aoptionBase(h *harness, hdr ...string) []aoption.RequestOption {
	o := []aoption.RequestOption{aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey(testKey), aoption.WithMaxRetries(0)}
	for i := 0; i+1 < len(hdr); i += 2 {
		o = append(o, aoption.WithHeader(hdr[i], hdr[i+1]))
	}
	return o
}
