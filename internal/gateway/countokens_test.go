package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"

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
