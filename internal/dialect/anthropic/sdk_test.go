package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// These tests put the official Anthropic Go SDK on the client side of this
// package: what DecodeRequest reads is what the SDK sends, and what the
// encoders write is what the SDK parses.

// sdkClient returns an SDK client for a server that decodes each request
// and hands it to answer, or writes the decode error with ErrorBody.
func sdkClient(t *testing.T, answer func(w http.ResponseWriter, req *llm.Request)) sdk.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
			w.Header().Set("Content-Type", "application/json")
			w.Write(anthropic.EncodeModels([]llm.Model{{ID: "claude-sonnet-4-5", Created: 1759104000}, {ID: "gpt-4o"}}))
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := anthropic.DecodeRequest(body)
		if err != nil {
			var be *brightline.Error
			errors.As(err, &be)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write(anthropic.ErrorBody(be))
			return
		}
		answer(w, req)
	}))
	t.Cleanup(srv.Close)
	return sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(0))
}

func TestSDKRequestAndResponse(t *testing.T) {
	var got *llm.Request
	c := sdkClient(t, func(w http.ResponseWriter, req *llm.Request) {
		got = req
		body, err := anthropic.EncodeResponse(&llm.Response{
			ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-4o", Dialect: brightline.DialectOpenAI,
			Content: []llm.Block{
				{Type: llm.BlockText, Text: "Checking."},
				{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris"}`)}},
			},
			StopReason: llm.StopToolUse,
			Usage:      llm.Usage{InputTokens: 30, OutputTokens: 12, CacheReadTokens: 8},
		})
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	params := sdk.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 512,
		System:    []sdk.TextBlockParam{{Text: "Be brief."}, {Text: "Use tools."}},
		Messages: []sdk.MessageParam{
			sdk.NewUserMessage(sdk.NewTextBlock("weather in Paris?"), sdk.NewImageBlockBase64("image/png", "iVBORw0KGgo=")),
			sdk.NewAssistantMessage(sdk.NewThinkingBlock("sig", "need the tool"), sdk.NewToolUseBlock("toolu_1", map[string]string{"location": "Paris"}, "get_weather")),
			sdk.NewUserMessage(sdk.NewToolResultBlock("toolu_1", "timeout", true), sdk.NewTextBlock("try again")),
		},
		Tools: []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{
			Name: "get_weather", Description: sdk.String("Get the weather"),
			InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"location": map[string]any{"type": "string"}}, Required: []string{"location"}},
		}}},
		ToolChoice:    sdk.ToolChoiceUnionParam{OfAuto: &sdk.ToolChoiceAutoParam{DisableParallelToolUse: sdk.Bool(true)}},
		StopSequences: []string{"END"},
		Temperature:   sdk.Float(0.5),
		TopP:          sdk.Float(0.75),
		Metadata:      sdk.MetadataParam{UserID: sdk.String("user-7")},
	}
	resp, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatalf("SDK: %v", err)
	}

	if got == nil {
		t.Fatal("server got no request")
	}
	half, threeQuarters := 0.5, 0.75
	toolResult := &llm.ToolResult{CallID: "toolu_1", IsError: true, Content: []llm.Block{{Type: llm.BlockText, Text: "timeout"}}}
	want := &llm.Request{
		Model: "claude-sonnet-4-5", MaxTokens: 512, System: "Be brief.\n\nUse tools.",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "weather in Paris?"}, {Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo="}}}},
			{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockThinking, Text: "need the tool", Signature: "sig"}, {Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris"}`)}}}},
			{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockToolResult, ToolResult: toolResult}, {Type: llm.BlockText, Text: "try again"}}},
		},
		Tools:       []llm.Tool{{Name: "get_weather", Description: "Get the weather", InputSchema: got.Tools[0].InputSchema}},
		ToolChoice:  &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true},
		Stop:        []string{"END"},
		Temperature: &half,
		TopP:        &threeQuarters,
		User:        "user-7",
	}
	got.Raw, got.Dialect = nil, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded SDK request\ngot  %+v\nwant %+v", got, want)
	}
	var schema map[string]any
	if err := json.Unmarshal(got.Tools[0].InputSchema, &schema); err != nil || schema["type"] != "object" || schema["properties"] == nil {
		t.Errorf("got input schema %s, want an object schema with properties", got.Tools[0].InputSchema)
	}

	if resp.ID != "msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" || resp.StopReason != sdk.StopReasonToolUse || resp.Model != "gpt-4o" {
		t.Errorf("SDK got id %q stop %q model %q", resp.ID, resp.StopReason, resp.Model)
	}
	if len(resp.Content) != 2 || resp.Content[0].Text != "Checking." || resp.Content[1].Name != "get_weather" || string(resp.Content[1].Input) != `{"location":"Paris"}` {
		t.Errorf("SDK got content %+v", resp.Content)
	}
	if u := resp.Usage; u.InputTokens != 30 || u.OutputTokens != 12 || u.CacheReadInputTokens != 8 {
		t.Errorf("SDK got usage %+v", u)
	}
}

// sdkStream runs a streamed request and returns the message the SDK
// accumulated and the stream's error.
func sdkStream(c sdk.Client) (sdk.Message, error) {
	s := c.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))},
	})
	var msg sdk.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			return msg, err
		}
	}
	return msg, s.Err()
}

func streamHandler(write func(w *anthropic.StreamWriter) error) func(http.ResponseWriter, *llm.Request) {
	return func(w http.ResponseWriter, req *llm.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if err := write(anthropic.NewStreamWriter(w, req)); err != nil {
			panic(err)
		}
	}
}

func TestSDKStreamTranslated(t *testing.T) {
	events := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "chatcmpl-9", Model: "gpt-4o"},
		{Type: llm.EventBlockStart, Index: 0, Block: &llm.Block{Type: llm.BlockText}},
		{Type: llm.EventTextDelta, Index: 0, Text: "Let me "},
		{Type: llm.EventTextDelta, Index: 0, Text: "check."},
		{Type: llm.EventBlockStop, Index: 0},
		{Type: llm.EventBlockStart, Index: 1, Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_1", Name: "get_weather"}}},
		{Type: llm.EventToolDelta, Index: 1, PartialJSON: `{"location":`},
		{Type: llm.EventToolDelta, Index: 1, PartialJSON: `"Paris"}`},
		{Type: llm.EventBlockStop, Index: 1},
		{Type: llm.EventStop, StopReason: llm.StopToolUse},
		{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 82, OutputTokens: 17}},
		{Type: llm.EventEnd},
	}
	c := sdkClient(t, streamHandler(func(w *anthropic.StreamWriter) error {
		for _, ev := range events {
			ev.Dialect = brightline.DialectOpenAI
			if err := w.WriteEvent(ev); err != nil {
				return err
			}
		}
		return nil
	}))
	msg, err := sdkStream(c)
	if err != nil {
		t.Fatalf("SDK stream: %v", err)
	}
	if msg.ID != "msg_chatcmpl-9" || msg.StopReason != sdk.StopReasonToolUse {
		t.Errorf("SDK got id %q stop %q", msg.ID, msg.StopReason)
	}
	if len(msg.Content) != 2 || msg.Content[0].Text != "Let me check." || string(msg.Content[1].Input) != `{"location":"Paris"}` {
		t.Errorf("SDK got content %+v", msg.Content)
	}
	if msg.Usage.InputTokens != 82 || msg.Usage.OutputTokens != 17 {
		t.Errorf("SDK got usage %+v, want input 82 output 17", msg.Usage)
	}
}

func TestSDKStreamErrors(t *testing.T) {
	t.Run("in-stream error", func(t *testing.T) {
		c := sdkClient(t, streamHandler(func(w *anthropic.StreamWriter) error {
			if err := w.WriteEvent(llm.StreamEvent{Type: llm.EventStart, ID: "msg_1", Model: "m"}); err != nil {
				return err
			}
			return w.WriteError(&brightline.Error{Code: brightline.CodeOverloaded, Message: "Overloaded"})
		}))
		_, err := sdkStream(c)
		if err == nil || !strings.Contains(err.Error(), "overloaded_error") || !strings.Contains(err.Error(), "Overloaded") {
			t.Errorf("SDK got %v, want an overloaded_error", err)
		}
	})
	t.Run("error body", func(t *testing.T) {
		c := sdkClient(t, func(w http.ResponseWriter, req *llm.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write(anthropic.ErrorBody(&brightline.Error{Code: brightline.CodeRateLimited, Message: "slow down"}))
		})
		_, err := c.Messages.New(context.Background(), sdk.MessageNewParams{Model: "m", MaxTokens: 1, Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("x"))}})
		var ae *sdk.Error
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusTooManyRequests || !strings.Contains(ae.RawJSON(), `"rate_limit_error"`) {
			t.Errorf("SDK got %v, want a 429 rate_limit_error", err)
		}
	})
}

func TestSDKModels(t *testing.T) {
	c := sdkClient(t, nil)
	page, err := c.Models.List(context.Background(), sdk.ModelListParams{})
	if err != nil {
		t.Fatalf("SDK: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if want := []string{"claude-sonnet-4-5", "gpt-4o"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("SDK got models %v, want %v", ids, want)
	}
	if page.Data[0].CreatedAt.Unix() != 1759104000 {
		t.Errorf("SDK got created_at %v", page.Data[0].CreatedAt)
	}
}
