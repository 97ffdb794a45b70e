package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
)

// respond sends one Responses request through the OpenAI SDK, streamed or
// not, and returns the final response object as the SDK read it, with the
// text the stream's deltas carried (the non-streamed answer's text
// otherwise) and, when not streamed, the HTTP response.
func respond(t *testing.T, c openai.Client, stream bool, p responses.ResponseNewParams) (*responses.Response, string, *http.Response) {
	t.Helper()
	ctx := context.Background()
	if !stream {
		var hr *http.Response
		r, err := c.Responses.New(ctx, p, ooption.WithResponseInto(&hr))
		if err != nil {
			t.Fatalf("openai SDK: %v", err)
		}
		return r, r.OutputText(), hr
	}
	s := c.Responses.NewStreaming(ctx, p)
	var final *responses.Response
	var text strings.Builder
	var seq []int64
	for s.Next() {
		ev := s.Current()
		seq = append(seq, ev.SequenceNumber)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed", "response.incomplete":
			r := ev.Response
			final = &r
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("openai SDK stream after %d events: %v", len(seq), err)
	}
	if final == nil {
		t.Fatalf("openai SDK stream: no response.completed in %d events", len(seq))
	}
	for i, n := range seq {
		if n != int64(i) {
			t.Errorf("sequence_number of event %d: got %d, want %d", i, n, i)
			break
		}
	}
	if got := final.OutputText(); got != text.String() {
		t.Errorf("response.completed holds text %q, the deltas %q", got, text.String())
	}
	return final, text.String(), nil
}

func textInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

var weatherTool = responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
	Name: "get_weather", Description: openai.String("Current weather"), Strict: openai.Bool(false),
	Parameters: map[string]any{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}},
}}

// TestResponsesSDKText sends instructions and a multi-turn input through
// the SDK's Responses client to each kind of upstream, streamed and not:
// an OpenAI provider gets the client's bytes at /v1/responses, an
// Anthropic one a translated Messages request.
func TestResponsesSDKText(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	for _, model := range []string{"via-openai", "via-anthropic", "simulated"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", model, stream), func(t *testing.T) {
				want := "echo: how many tanks are in the depot?"
				if model == "simulated" {
					want = "[simulated] You said: how many tanks are in the depot?"
				}
				r, text, _ := respond(t, h.openaiClient(testKey), stream, responses.ResponseNewParams{
					Model:        model,
					Instructions: openai.String("You are terse."),
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
						responses.ResponseInputItemParamOfMessage("first question", responses.EasyInputMessageRoleUser),
						responses.ResponseInputItemParamOfMessage("first answer", responses.EasyInputMessageRoleAssistant),
						responses.ResponseInputItemParamOfMessage("how many tanks are in the depot?", responses.EasyInputMessageRoleUser),
					}},
					Store: openai.Bool(false),
				})
				if text != want {
					t.Errorf("text: got %q, want %q", text, want)
				}
				if r.Status != responses.ResponseStatusCompleted {
					t.Errorf("status: got %q, want completed", r.Status)
				}
				if u := r.Usage; u.InputTokens == 0 || u.OutputTokens == 0 || u.TotalTokens != u.InputTokens+u.OutputTokens {
					t.Errorf("usage: got %+v, want non-zero input and output and their total", u)
				}
			})
		}
	}
	for _, r := range h.openai.Requests() {
		if r.Path != "/v1/responses" {
			t.Errorf("OpenAI upstream: got a request at %s, want /v1/responses", r.Path)
		}
		if !strings.Contains(string(r.Body), `"instructions":"You are terse."`) || !strings.Contains(string(r.Body), `"store":false`) {
			t.Errorf("OpenAI upstream: got %s, want the client's own body", r.Body)
		}
	}
	for _, r := range h.anthropic.Requests() {
		if !strings.Contains(string(r.Body), "You are terse.") || !strings.Contains(string(r.Body), "first answer") {
			t.Errorf("Anthropic upstream: got %s, want the system prompt and the whole conversation", r.Body)
		}
	}
}

// TestResponsesSDKToolReleased: a function call the policy releases comes
// back as a function_call item, and its output goes back as a
// function_call_output item, across dialects, streamed and not.
func TestResponsesSDKToolReleased(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const args = `{"location":"Fort Liberty, NC"}`
	h.anthropic.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: args}
	h.openai.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: args}
	for _, model := range []string{"via-openai", "via-anthropic"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", model, stream), func(t *testing.T) {
				c := h.openaiClient(testKey)
				p := responses.ResponseNewParams{Model: model, Input: textInput("weather?"), Tools: []responses.ToolUnionParam{weatherTool}}
				r, _, _ := respond(t, c, stream, p)
				var call *responses.ResponseFunctionToolCall
				for _, it := range r.Output {
					if it.Type == "function_call" {
						fc := it.AsFunctionCall()
						call = &fc
					}
				}
				if call == nil || call.Name != "get_weather" || !jsonEqual(call.Arguments, args) || call.CallID == "" {
					t.Fatalf("output: got %+v, want a get_weather(%s) call", r.Output, args)
				}
				p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					responses.ResponseInputItemParamOfMessage("weather?", responses.EasyInputMessageRoleUser),
					responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name),
					{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
						CallID: openai.String(call.CallID),
						Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String("22 degrees and sunny")},
					}},
				}}
				_, text, _ := respond(t, c, stream, p)
				if want := "Thanks, the tool said: 22 degrees and sunny"; text != want {
					t.Errorf("after the call's output: got %q, want %q", text, want)
				}
			})
		}
	}
}

var fireTool = responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
	Name: "fire_interceptor", Description: openai.String("Launch an interceptor missile at a tracked target."), Strict: openai.Bool(false),
	Parameters: map[string]any{"type": "object", "properties": map[string]any{"track": map[string]any{"type": "string"}}},
}}

// TestResponsesForceToolHeld: a force tool call is held for approval on
// the Responses API too: the function_call item is replaced by a message
// item with the notice, the non-streamed answer carries the approval
// headers, and nothing executable reaches the client, whether the call
// came from the simulated provider (translated) or from an OpenAI
// provider's own Responses stream (passthrough until the call).
func TestResponsesForceToolHeld(t *testing.T) {
	for _, model := range []string{"simulated", "via-openai"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", model, stream), func(t *testing.T) {
				h := newApprovalHarness(t)
				h.openai.Tool = &fakeupstream.ToolCall{Name: "fire_interceptor", Arguments: `{"track":"T-1"}`}
				r, text, hr := respond(t, h.openaiClient(testKey), stream, responses.ResponseNewParams{
					Model: model, Input: textInput(`/tool fire_interceptor {"track":"T-1"}`),
					Tools: []responses.ToolUnionParam{fireTool, weatherTool},
				})
				for _, it := range r.Output {
					if it.Type != "message" {
						t.Errorf("output: got a %s item, want only the notice", it.Type)
					}
				}
				m := approvalIDRe.FindStringSubmatch(text)
				if m == nil || !strings.Contains(text, "held for human approval") {
					t.Fatalf("text %q lacks the notice and its approval facts", text)
				}
				if strings.Contains(text, "T-1") {
					t.Errorf("the notice %q repeats the held arguments", text)
				}
				if hr != nil {
					if got := hr.Header.Get(gateway.HeaderHeldApproval); got != m[1] {
						t.Errorf("%s: got %q, want %q", gateway.HeaderHeldApproval, got, m[1])
					}
				}
				if code, body := h.api(t, "GET", "/brightline/v1/approvals/"+m[1], testKey, ""); code != 200 || body["status"] != "pending" || body["tool"] != "fire_interceptor" {
					t.Errorf("approval: got %d %v, want a pending fire_interceptor", code, body)
				}
			})
		}
	}
}

// TestResponsesRosterRefused: text in input items is inspected; a
// 40-person roster is refused by the default policy before any provider
// sees it, with an error the SDK reads.
func TestResponsesRosterRefused(t *testing.T) {
	a := &fakeAuditor{}
	h := newHarness(t, gateway.Config{Audit: a})
	for _, stream := range []bool{false, true} {
		p := responses.ResponseNewParams{Model: "via-openai", Instructions: openai.String("Format this call sheet."),
			Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("Duty roster:\n"+roster(), responses.EasyInputMessageRoleUser),
			}}}
		var err error
		c := h.openaiClient(testKey)
		if stream {
			s := c.Responses.NewStreaming(context.Background(), p)
			for s.Next() {
			}
			err = s.Err()
		} else {
			_, err = c.Responses.New(context.Background(), p)
		}
		apiErr, ok := errors.AsType[*openai.Error](err)
		if !ok || apiErr.StatusCode != http.StatusForbidden || !strings.Contains(apiErr.Message, "bulk-us-person-records") {
			t.Errorf("stream=%v: got %v, want 403 by bulk-us-person-records", stream, err)
		}
	}
	if n := h.openai.Count(); n != 0 {
		t.Errorf("the roster reached the provider %d times", n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	denied := 0
	for _, e := range a.entries {
		if e.Dialect == "responses" && e.Stage == "request" && e.Action == "deny" && e.Detections["PERSON"] >= 40 {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("audit log: got %d request denials with 40 persons in the responses dialect, want 2: %+v", denied, a.entries)
	}
}

// TestResponsesStoredState: the gateway keeps no conversation state, so a
// request that refers to it is refused with what to send instead; store
// alone is fine.
func TestResponsesStoredState(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	tests := []struct {
		name, body, want string
	}{
		{"previous_response_id", `{"model":"via-openai","input":"go on","previous_response_id":"resp_123"}`, "send the whole conversation in input"},
		{"conversation", `{"model":"via-openai","input":"go on","conversation":"conv_123"}`, "send the whole conversation in input"},
		{"item_reference", `{"model":"via-openai","input":[{"type":"item_reference","id":"msg_1"}]}`, "send the whole conversation in input"},
		{"background", `{"model":"via-openai","input":"hi","background":true}`, "without background"},
		{"hosted tool", `{"model":"via-openai","input":"hi","tools":[{"type":"web_search"}]}`, `kind "web_search"`},
		{"unknown field", `{"model":"via-openai","input":"hi","prompt":{"id":"pmpt_1"}}`, "allow.request_fields.responses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, out := h.post(t, "/v1/responses", tt.body, bearer(testKey))
			var e struct {
				Error struct{ Message, Type string }
			}
			json.Unmarshal([]byte(out), &e)
			if status != 400 || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("got %d %s, want 400 saying %q", status, out, tt.want)
			}
		})
	}
	if n := h.openai.Count(); n != 0 {
		t.Errorf("%d refused requests reached the provider", n)
	}
	for _, store := range []string{"true", "false"} {
		status, _, out := h.post(t, "/v1/responses", `{"model":"via-openai","input":"hi","store":`+store+`}`, bearer(testKey))
		if status != 200 || !strings.Contains(out, "echo: hi") {
			t.Errorf("store %s: got %d %s, want the answer", store, status, out)
		}
	}
}
