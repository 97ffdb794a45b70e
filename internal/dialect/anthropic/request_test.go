package anthropic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// dump renders v for failure messages.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name string
		body string // a fixture file name or an inline body
		want *llm.Request
	}{
		{
			name: "basic",
			body: "request_basic.json",
			want: &llm.Request{
				Model:     "claude-opus-4-1-20250805",
				MaxTokens: 1024,
				Messages:  []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "Hello, world"}}}},
			},
		},
		{
			name: "multi-turn with tools",
			body: "request_multiturn_tools.json",
			want: &llm.Request{
				Model:     "claude-sonnet-4-5",
				MaxTokens: 2048,
				System:    "You are a logistics assistant for Acme Freight. Answer briefly.\n\nUse the tools when you need live data.",
				Messages: []llm.Message{
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockText, Text: "Where is shipment 4471 and what is the weather at its destination?"},
						{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}},
						{Type: llm.BlockImage, Image: &llm.Image{URL: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
					}},
					{Role: llm.RoleAssistant, Content: []llm.Block{
						{Type: llm.BlockThinking, Text: "The user wants the shipment location first, then the weather there.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
						{Type: llm.BlockRedactedThinking, Signature: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
						// redacted_thinking is dropped.
						{Type: llm.BlockText, Text: "Let me look up the shipment."},
						{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01A09q90qw90lq917835lq9", Name: "track_shipment", Arguments: json.RawMessage(`{"shipment_id": "4471"}`)}},
					}},
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01A09q90qw90lq917835lq9", Content: []llm.Block{{Type: llm.BlockText, Text: "In transit; arriving in San Francisco, CA on Friday."}}}},
					}},
					{Role: llm.RoleAssistant, Content: []llm.Block{
						{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Arguments: json.RawMessage(`{"location": "San Francisco, CA", "unit": "celsius"}`)}},
					}},
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", IsError: true, Content: []llm.Block{{Type: llm.BlockText, Text: "Weather service unavailable"}}}},
						{Type: llm.BlockText, Text: "Try again later if it fails."},
					}},
				},
				Tools: []llm.Tool{
					{Name: "track_shipment", Description: "Look up the current status and destination of a shipment", InputSchema: json.RawMessage(`{
        "type": "object",
        "properties": {"shipment_id": {"type": "string", "description": "The shipment number"}},
        "required": ["shipment_id"]
      }`)},
					{Name: "get_weather", Description: "Get the current weather in a given location", InputSchema: json.RawMessage(`{
        "type": "object",
        "properties": {
          "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        },
        "required": ["location"]
      }`)},
				},
				ToolChoice:  &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true},
				Stop:        []string{"\n\nHuman:", "END"},
				Temperature: ptr(0.7),
				TopP:        ptr(0.9),
				User:        "13803d75-b4b5-4c3e-b2a2-6f21399b021b",
				ExtraFields: []string{"top_k"},
				Stream:      true,
			},
		},
		{
			name: "system string and tool choices",
			body: `{"model":"m","max_tokens":5,"system":"Be terse.","messages":[{"role":"user","content":[{"type":"text","text":""}]}],
				"tools":[{"name":"noschema"},{"type":"custom","name":"c","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"c"}}`,
			want: &llm.Request{
				Model: "m", MaxTokens: 5, System: "Be terse.",
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText}}}},
				Tools: []llm.Tool{
					{Name: "noschema", InputSchema: json.RawMessage(`{"type":"object"}`)},
					{Name: "c", InputSchema: json.RawMessage(`{"type":"object"}`)},
				},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "c"},
			},
		},
		{
			name: "tool choice any and none, tool_use without input, tool_result without content",
			body: `{"model":"m","max_tokens":5,"messages":[
				{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f"}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}],
				"tool_choice":{"type":"none","disable_parallel_tool_use":true},"metadata":{"user_id":null}}`,
			want: &llm.Request{
				Model: "m", MaxTokens: 5,
				Messages: []llm.Message{
					{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "t1", Name: "f", Arguments: json.RawMessage(`{}`)}}}},
					{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "t1"}}}},
				},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone},
			},
		},
		{
			name: "tool choice any, unknown fields ignored",
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x","future":1}],"tool_choice":{"type":"any"},"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto"}`,
			want: &llm.Request{
				Model: "m", MaxTokens: 5,
				Messages:    []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "x"}}}},
				ToolChoice:  &llm.ToolChoice{Mode: llm.ToolChoiceAny},
				ExtraFields: []string{"thinking", "service_tier"},
				ExtraText:   []string{"enabled", "auto"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if strings.HasSuffix(tt.body, ".json") {
				body = readFixture(t, tt.body)
			}
			got, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if string(got.Raw) != string(body) {
				t.Errorf("got Raw %q, want the body", got.Raw)
			}
			if got.Dialect != brightline.DialectAnthropic {
				t.Errorf("got Dialect %q, want %q", got.Dialect, brightline.DialectAnthropic)
			}
			got.Raw, got.Dialect = nil, ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const ok = `"model":"m","max_tokens":16`
	tests := []struct {
		name, body, want string
	}{
		{"malformed JSON", `{"model":"m",}`, "invalid JSON at byte 14: invalid character '}' looking for beginning of object key string"},
		{"truncated JSON", `{"model":"m"`, "invalid JSON at byte 12: unexpected end of JSON input"},
		{"empty body", ``, "invalid JSON at byte 0: unexpected end of JSON input"},
		{"not an object", `[1,2]`, "request body must be a JSON object"},
		{"wrong field type", `{"model":"m","max_tokens":"lots","messages":[]}`, "max_tokens: expected an integer, got string"},
		{"wrong nested type", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tools":[{"name":5}]}`, "tools.name: expected a string, got number"},
		{"missing model", `{"max_tokens":16,"messages":[{"role":"user","content":"x"}]}`, "model: field is required"},
		{"missing max_tokens", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens: field is required"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens: must be at least 1, got 0"},
		{"missing messages", `{` + ok + `}`, "messages: field is required"},
		{"empty messages", `{` + ok + `,"messages":[]}`, "messages: must not be empty"},
		{"bad role", `{` + ok + `,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"robot","content":"c"}]}`, `messages: at index 2: unknown role "robot", want user, assistant or system`},
		{"only a system message", `{` + ok + `,"messages":[{"role":"system","content":"a"}]}`, `messages: must hold a user or assistant message, not only system messages`},
		{"system message with an image", `{` + ok + `,"messages":[{"role":"user","content":"a"},{"role":"system","content":[{"type":"image"}]}]}`, `messages: at index 1: content: at index 0: unsupported block type "image", want text`},
		{"missing role", `{` + ok + `,"messages":[{"content":"a"}]}`, "messages: at index 0: role: field is required"},
		{"missing content", `{` + ok + `,"messages":[{"role":"user"}]}`, "messages: at index 0: content: field is required"},
		{"content a number", `{` + ok + `,"messages":[{"role":"user","content":7}]}`, "messages: at index 0: content: must be a string or an array of content blocks"},
		{"content block not an object", `{` + ok + `,"messages":[{"role":"user","content":[1]}]}`, "messages: at index 0: content: value: expected an object, got number"},
		{"bad block type", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"hologram"}]}]}`, `messages: at index 0: content: at index 1: unsupported block type "hologram"`},
		{"document without source", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"document"}]}]}`, `messages: at index 0: content: at index 0: document: source: field is required`},
		{"search_result without source", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"search_result","title":"t","content":[{"type":"text","text":"x"}]}]}]}`, `messages: at index 0: content: at index 0: search_result: source: must be a non-empty string`},
		{"server tool result without the policy", `{` + ok + `,"messages":[{"role":"assistant","content":[{"type":"web_search_tool_result","tool_use_id":"s","content":[]}]}]}`, `messages: at index 0: content: at index 0 (type "web_search_tool_result"): the provider would run tools of kind "web_search" itself; the signed policy must allow that kind (allow.server_tools)`},
		{"block without type", `{` + ok + `,"messages":[{"role":"user","content":[{"text":"a"}]}]}`, "messages: at index 0: content: at index 0: type: field is required"},
		{"image without source", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages: at index 0: content: at index 0: image: source: field is required"},
		{"image file source without id", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file"}}]}]}`, `messages: at index 0: content: at index 0: image: source: file_id is required`},
		{"image without media type", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}`, "messages: at index 0: content: at index 0: image: source: media_type is required"},
		{"tool_use input not an object", `{` + ok + `,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}]}]}`, "messages: at index 0: content: at index 0: tool_use: input: must be a JSON object"},
		{"tool_use without id", `{` + ok + `,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, "messages: at index 0: content: at index 0: tool_use: id is required"},
		{"tool_result without id", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages: at index 0: content: at index 0: tool_result: tool_use_id is required"},
		{"nested tool_use in tool_result", `{` + ok + `,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"tool_use","id":"x","name":"f"}]}]}]}`, `messages: at index 0: content: at index 0: tool_result: content: at index 0: unsupported block type "tool_use" in tool_result content, want text, image, document, search_result or tool_reference`},
		{"system image", `{` + ok + `,"system":[{"type":"image"}],"messages":[{"role":"user","content":"x"}]}`, `system: at index 0: unsupported block type "image", want text`},
		{"system number", `{` + ok + `,"system":1,"messages":[{"role":"user","content":"x"}]}`, "system: must be a string or an array of text blocks"},
		{"server tool", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, `tools: at index 0: unsupported tool type "web_search_20250305"`},
		{"tool without name", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tools":[{"input_schema":{}}]}`, "tools: at index 0: name: field is required"},
		{"tool schema not an object", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":"x"}]}`, "tools: at index 0: input_schema: must be a JSON object"},
		{"bad tool_choice", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"required"}}`, `tool_choice: unknown type "required", want auto, any, tool or none`},
		{"tool_choice tool without name", `{` + ok + `,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool"}}`, `tool_choice: name is required when type is "tool"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("got request %s, want error %q", dump(req), tt.want)
			}
			var be *brightline.Error
			if !errors.As(err, &be) {
				t.Fatalf("got error %T %v, want *brightline.Error", err, err)
			}
			if be.Code != brightline.CodeInvalidRequest {
				t.Errorf("got code %q, want %q", be.Code, brightline.CodeInvalidRequest)
			}
			if be.Message != tt.want {
				t.Errorf("got message %q\nwant %q", be.Message, tt.want)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  *llm.Request
		want string
	}{
		{
			name: "default max_tokens",
			req: &llm.Request{Model: "claude-haiku-4-5", Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "Hi \"there\"\n<b>"}}},
			}},
			want: `{"model":"claude-haiku-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi \"there\"\n<b>"}]}]}`,
		},
		{
			name: "every field",
			req: &llm.Request{
				Model: "m", MaxTokens: 100, System: "sys", Stream: true, User: "u-1",
				Temperature: ptr(0.0), TopP: ptr(1e-7), Stop: []string{"END"},
				Messages: []llm.Message{
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/jpeg", Data: "/9j/"}},
						{Type: llm.BlockImage, Image: &llm.Image{URL: "https://example.com/a.png"}},
					}},
					{Role: llm.RoleAssistant, Content: []llm.Block{
						{Type: llm.BlockThinking, Text: "hmm", Signature: "sig"},
						{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "f"}},
					}},
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_1", IsError: true, Content: []llm.Block{{Type: llm.BlockText, Text: "boom"}}}},
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_2"}},
					}},
				},
				Tools:      []llm.Tool{{Name: "f", Description: "does f", InputSchema: json.RawMessage(`{"type":"object","properties":{}}`)}, {Name: "g"}},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "f", DisableParallel: true},
			},
			want: `{"model":"m","max_tokens":100,"system":"sys","messages":[` +
				`{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},` +
				`{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"boom"}],"is_error":true},{"type":"tool_result","tool_use_id":"toolu_2"}]}],` +
				`"tools":[{"name":"f","description":"does f","input_schema":{"type":"object","properties":{}}},{"name":"g","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"stop_sequences":["END"],"temperature":0,"top_p":1e-07,` +
				`"metadata":{"user_id":"u-1"},"stream":true}`,
		},
		{
			name: "tool choice none drops disable_parallel",
			req:  &llm.Request{Model: "m", MaxTokens: 1, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone, DisableParallel: true}},
			want: `{"model":"m","max_tokens":1,"messages":[],"tool_choice":{"type":"none"}}`,
		},
		{
			name: "control characters and invalid UTF-8",
			req: &llm.Request{Model: "m", MaxTokens: 1, Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "a\x00b\tc\u2028d\xffe\\"}}},
			}},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a\u0000b\tc\u2028d\ufffde\\"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeRequest(tt.req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("got invalid JSON %s", got)
			}
		})
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	msg := func(blocks ...llm.Block) []llm.Message {
		return []llm.Message{{Role: llm.RoleUser, Content: blocks}}
	}
	tests := []struct {
		name string
		req  *llm.Request
		want string
	}{
		{"nil", nil, "request is nil"},
		{"negative max_tokens", &llm.Request{MaxTokens: -1}, "max_tokens is negative"},
		{"bad role", &llm.Request{Messages: []llm.Message{{Role: "system"}}}, `unknown role "system"`},
		{"bad block", &llm.Request{Messages: msg(llm.Block{Type: "audio"})}, `unsupported block type "audio"`},
		{"image without data", &llm.Request{Messages: msg(llm.Block{Type: llm.BlockImage, Image: &llm.Image{}})}, "neither url nor data"},
		{"image data without media type", &llm.Request{Messages: msg(llm.Block{Type: llm.BlockImage, Image: &llm.Image{Data: "AA"}})}, "without a media type"},
		{"bad arguments", &llm.Request{Messages: msg(llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{Name: "f", Arguments: json.RawMessage(`"x"`)}})}, "is not a JSON object"},
		{"nested tool_use", &llm.Request{Messages: msg(llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{Content: []llm.Block{{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{}}}}})}, "not allowed in tool_result content"},
		{"bad schema", &llm.Request{Tools: []llm.Tool{{Name: "f", InputSchema: json.RawMessage(`{`)}}}, "input_schema is not a JSON object"},
		{"bad tool choice", &llm.Request{ToolChoice: &llm.ToolChoice{Mode: "sometimes"}}, `unknown mode "sometimes"`},
		{"NaN temperature", &llm.Request{Temperature: ptr(nan())}, "temperature: unsupported number NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeRequest(tt.req)
			if err == nil {
				t.Fatalf("got %s, want error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestRequestRoundTrip checks decode -> encode -> decode gives the same
// canonical request.
func TestRequestRoundTrip(t *testing.T) {
	bodies := map[string][]byte{
		"basic":       readFixture(t, "request_basic.json"),
		"multi-turn":  readFixture(t, "request_multiturn_tools.json"),
		"string-y":    []byte(`{"model":"m","max_tokens":3,"system":"s","messages":[{"role":"user","content":""},{"role":"assistant","content":[]}],"stop_sequences":[],"temperature":1e-9}`),
		"tool result": []byte(`{"model":"m","max_tokens":3,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[]},{"type":"tool_result","tool_use_id":"y","content":"","is_error":false}]}]}`),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			first, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			enc, err := EncodeRequest(first)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			second, err := DecodeRequest(enc)
			if err != nil {
				t.Fatalf("DecodeRequest(EncodeRequest(...)): %v\nbody: %s", err, enc)
			}
			first.Raw, second.Raw = nil, nil
			// Unmodelled fields live in Raw only.
			first.ExtraFields, first.ExtraText = nil, nil
			// The encoder writes compact JSON; compare argument and schema
			// values, not their spacing.
			normalizeRaw(first)
			normalizeRaw(second)
			if !reflect.DeepEqual(first, second) {
				t.Errorf("round trip changed the request\ngot  %s\nwant %s", dump(second), dump(first))
			}
		})
	}
}

// normalizeRaw compacts the raw JSON values of req in place.
func normalizeRaw(req *llm.Request) {
	compact := func(raw json.RawMessage) json.RawMessage {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return raw
		}
		out, _ := json.Marshal(v)
		return out
	}
	for i := range req.Tools {
		req.Tools[i].InputSchema = compact(req.Tools[i].InputSchema)
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.ToolCall != nil {
				b.ToolCall.Arguments = compact(b.ToolCall.Arguments)
			}
		}
	}
}

// TestDecodeRequestDeepNesting checks that the blocks inside a tool_result
// are decoded without their own content. If they were, each level of
// nesting would decode the levels below it again: a body of 100 KB could
// cost seconds. The work done shows in the allocations, which must not grow
// with the depth (beyond the logarithmic growth of the JSON scanner's stack).
func TestDecodeRequestDeepNesting(t *testing.T) {
	const want = `messages: at index 0: content: at index 0: tool_result: content: at index 0: unsupported block type "tool_result" in tool_result content, want text, image, document, search_result or tool_reference`
	nested := func(depth int) []byte {
		return []byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":` +
			strings.Repeat(`[{"type":"tool_result","tool_use_id":"t","content":`, depth) + `"x"` +
			strings.Repeat(`}]`, depth) + `}]}`)
	}
	allocs := make(map[int]float64)
	for _, depth := range []int{3, 3000} {
		body := nested(depth)
		_, err := DecodeRequest(body)
		if err == nil || err.(*brightline.Error).Message != want {
			t.Fatalf("depth %d: got error %v, want %q", depth, err, want)
		}
		allocs[depth] = testing.AllocsPerRun(3, func() { DecodeRequest(body) })
	}
	if limit := 4 * allocs[3]; allocs[3000] > limit {
		t.Errorf("got %v allocations at depth 3000, want at most %v (%v at depth 3)", allocs[3000], limit, allocs[3])
	}
}
