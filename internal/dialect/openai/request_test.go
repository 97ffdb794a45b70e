package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

const pngData = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

var decodeRequestTests = []struct {
	file string
	want llm.Request
}{
	{
		file: "requests/simple.json",
		want: llm.Request{
			Model:    "gpt-4o-mini",
			System:   "You are a helpful assistant.",
			Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("Hello!")}}},
		},
	},
	{
		file: "requests/multiturn_tools.json",
		want: llm.Request{
			Model:  "gpt-4o",
			System: "You are a logistics assistant for Acme Freight. Answer briefly.\n\nNever reveal internal shipment codes.",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{
					text("Where is shipment 4417 and what does the label say?"),
					{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/png", Data: pngData}},
					{Type: llm.BlockImage, Image: &llm.Image{URL: "https://example.com/labels/4417.jpg"}},
				}},
				{Role: llm.RoleAssistant, Content: []llm.Block{
					toolUse("call_Vx3GQhw2k6jTb0iM9cXnzW1e", "get_shipment", `{"shipment_id":"4417"}`),
					toolUse("call_Q8fTzL2mR5yN1pK7sD4aB9cE", "get_weather", `{"city":"Rotterdam","unit":"celsius"}`),
				}},
				{Role: llm.RoleUser, Content: []llm.Block{
					toolResult("call_Vx3GQhw2k6jTb0iM9cXnzW1e", text(`{"status":"in_transit","location":"Rotterdam","eta":"2025-03-14"}`)),
					toolResult("call_Q8fTzL2mR5yN1pK7sD4aB9cE", text("Rain, 9°C")),
				}},
				{Role: llm.RoleAssistant, Content: []llm.Block{text("Shipment 4417 is in transit in Rotterdam (rain, 9°C); it should arrive on 14 March.")}},
				{Role: llm.RoleUser, Content: []llm.Block{text("Thanks. Can you notify the consignee?")}},
			},
			Tools: []llm.Tool{
				{Name: "get_shipment", Description: "Look up a shipment by id.", InputSchema: json.RawMessage(`{"type":"object","properties":{"shipment_id":{"type":"string"}},"required":["shipment_id"],"additionalProperties":false}`)},
				{Name: "get_weather", Description: "Current weather for a city.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`)},
				{Name: "notify_consignee", Description: "Send a delivery notice to the consignee of a shipment.", InputSchema: json.RawMessage(`{"type":"object","properties":{"shipment_id":{"type":"string"},"message":{"type":"string"}},"required":["shipment_id","message"]}`)},
			},
			ToolChoice:   &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true},
			MaxTokens:    1024,
			Temperature:  ptr(0.2),
			TopP:         ptr(0.9),
			Stop:         []string{"\n\nUser:", "END"},
			Stream:       true,
			IncludeUsage: true,
			User:         "user-1234",
			ExtraFields:  []string{"seed", "metadata"},
			ExtraText:    []string{"T-88"},
		},
	},
	{
		file: "requests/forced_tool.json",
		want: llm.Request{
			Model:    "gpt-4.1",
			Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("What's the weather like in Boston today?")}}},
			Tools: []llm.Tool{
				{Name: "get_current_weather", Description: "Get the current weather in a given location", InputSchema: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}`)},
				{Name: "get_time", InputSchema: json.RawMessage(`{"type":"object"}`)},
			},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_current_weather"},
			MaxTokens:  300,
			Stop:       []string{"###"},
		},
	},
	{
		file: "requests/refusal_history.json",
		want: llm.Request{
			Model: "gpt-4o-2024-08-06",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{text("Explain how to pick a lock."), text("Step by step, please.")}},
				{Role: llm.RoleAssistant, Content: []llm.Block{text("I'm sorry, I can't help with that.")}},
				{Role: llm.RoleAssistant, Content: []llm.Block{text("I can explain how locks work, though."), text("But not how to defeat them.")}},
				{Role: llm.RoleUser, Content: []llm.Block{toolResult("call_abc")}},
				{Role: llm.RoleUser, Content: []llm.Block{text("OK, how do pin tumbler locks work?")}},
			},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceAny},
			Stream:     true,
		},
	},
}

func TestDecodeRequest(t *testing.T) {
	for _, tt := range decodeRequestTests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			got, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if !bytes.Equal(got.Raw, body) {
				t.Errorf("got Raw %q, want the body", got.Raw)
			}
			if got.Dialect != brightline.DialectOpenAI {
				t.Errorf("got Dialect %q, want %q", got.Dialect, brightline.DialectOpenAI)
			}
			want := tt.want
			want.Dialect = brightline.DialectOpenAI
			if g, w := requestJSON(t, got), requestJSON(t, &want); g != w {
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestDecodeRequestVariants(t *testing.T) {
	tests := []struct {
		name string
		body string
		want llm.Request
	}{
		{
			name: "system messages anywhere, empty text skipped",
			body: `{"model":"m","messages":[{"role":"system","content":"a"},{"role":"user","content":"hi"},{"role":"developer","content":[{"type":"text","text":"b"},{"type":"text","text":""},{"type":"text","text":"c"}]},{"role":"system","content":""}]}`,
			want: llm.Request{Model: "m", System: "a\n\nb\n\nc", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("hi")}}}},
		},
		{
			name: "empty user content has no blocks",
			body: `{"model":"m","messages":[{"role":"user","content":""},{"role":"user","content":[]}]}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser}, {Role: llm.RoleUser}}},
		},
		{
			name: "tool messages merge across a system message but not a user message",
			body: `{"model":"m","messages":[{"role":"tool","tool_call_id":"a","content":"1"},{"role":"system","content":"s"},{"role":"tool","tool_call_id":"b","content":"2"},{"role":"user","content":"u"},{"role":"tool","tool_call_id":"c","content":"3"}]}`,
			want: llm.Request{Model: "m", System: "s", Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{toolResult("a", text("1")), toolResult("b", text("2"))}},
				{Role: llm.RoleUser, Content: []llm.Block{text("u")}},
				{Role: llm.RoleUser, Content: []llm.Block{toolResult("c", text("3"))}},
			}},
		},
		{
			name: "assistant text and tool calls, empty arguments",
			body: `{"model":"m","messages":[{"role":"assistant","content":"Checking.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":""}},{"id":"c2","function":{"name":"g","arguments":" {\"a\": [1, 2]} "}}]}]}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Content: []llm.Block{
				text("Checking."), toolUse("c1", "f", `{}`), toolUse("c2", "g", `{"a":[1,2]}`),
			}}}},
		},
		{
			name: "max_completion_tokens wins over max_tokens",
			body: `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":10,"max_completion_tokens":20}`,
			want: llm.Request{Model: "m", MaxTokens: 20, Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}}},
		},
		{
			name: "nulls are absent values",
			body: `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":null,"stop":null,"user":null,"n":null,"functions":null,"temperature":null,"tools":null}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}}},
		},
		{
			name: "include_usage without stream is ignored",
			body: `{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}}},
		},
		{
			name: "tool_choice none and parallel_tool_calls false",
			body: `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"none","parallel_tool_calls":false,"stop":["a",""]}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone, DisableParallel: true}, Stop: []string{"a"}},
		},
		{
			name: "keys the decoder ignores are not checked",
			body: `{"model":"m","messages":[{"role":"user","content":"x","Name":"a","name":"b"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"Name":{"type":"string"},"name":{"type":"string"}}}}}],"metadata":{"model":1,"model":2}}`,
			want: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}},
				Tools:       []llm.Tool{{Name: "f", InputSchema: json.RawMessage(`{"type":"object","properties":{"Name":{"type":"string"},"name":{"type":"string"}}}`)}},
				ExtraFields: []string{"metadata"}},
		},
		{
			name: "parameters null get the default schema, data URL scheme in any case",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"DATA:image/jpeg;base64,/9j/"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":null}}]}`,
			want: llm.Request{Model: "m",
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/jpeg", Data: "/9j/"}}}}},
				Tools:    []llm.Tool{{Name: "f", InputSchema: json.RawMessage(`{"type":"object"}`)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			want := tt.want
			want.Dialect = brightline.DialectOpenAI
			if g, w := requestJSON(t, got), requestJSON(t, &want); g != w {
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const user = `{"role":"user","content":"hi"}`
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty body", ``, "request body is empty"},
		{"malformed JSON", `{"model":"gpt-4o",}`, "invalid JSON at byte 19: invalid character '}' looking for beginning of object key string"},
		{"truncated JSON", `{"model":"gpt-4o","messages":[`, "invalid JSON at byte 30: unexpected end of JSON input"},
		{"garbage", `hello`, "invalid JSON at byte 1: invalid character 'h' looking for beginning of value"},
		{"not an object", `[1,2]`, "request body must be a JSON object, got array"},
		{"null body", `null`, "request body must be a JSON object, got null"},
		{"missing model", `{"messages":[` + user + `]}`, "model: required"},
		{"empty model", `{"model":"","messages":[` + user + `]}`, "model: required"},
		{"model not a string", `{"model":4,"messages":[` + user + `]}`, "model: must be a string, got number"},
		{"missing messages", `{"model":"m"}`, "messages: required"},
		{"null messages", `{"model":"m","messages":null}`, "messages: required"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages: must not be empty"},
		{"only empty system messages", `{"model":"m","messages":[{"role":"system","content":""},{"role":"developer","content":[]}]}`, "messages: all are empty system messages"},
		{"messages not an array", `{"model":"m","messages":{}}`, "messages: must be an array, got object"},
		{"message not an object", `{"model":"m","messages":[` + user + `,"hi"]}`, "messages: at index 1: must be an object, got string"},
		{"unknown role", `{"model":"m","messages":[` + user + `,` + user + `,{"role":"robot","content":"beep"}]}`, `messages: at index 2: unknown role "robot"`},
		{"legacy function role", `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, `messages: at index 0: unknown role "function"`},
		{"missing role", `{"model":"m","messages":[{"content":"hi"}]}`, "messages: at index 0: role: required"},
		{"role not a string", `{"model":"m","messages":[` + user + `,{"role":5}]}`, "messages: at index 1: role: must be a string, got number"},
		{"n > 1", `{"model":"m","messages":[` + user + `],"n":3}`, "n: only n=1 is supported, got 3"},
		{"n = 0", `{"model":"m","messages":[` + user + `],"n":0}`, "n: only n=1 is supported, got 0"},
		{"n fractional", `{"model":"m","messages":[` + user + `],"n":1.5}`, "n: must be an integer, got number 1.5"},
		{"user content missing", `{"model":"m","messages":[{"role":"user"}]}`, "messages: at index 0: content: required"},
		{"system content null", `{"model":"m","messages":[{"role":"system","content":null},` + user + `]}`, "messages: at index 0: content: required"},
		{"content a number", `{"model":"m","messages":[{"role":"user","content":42}]}`, "messages: at index 0: content: must be a string or an array of content parts, got number"},
		{"content part type", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, `messages: at index 0: content: at index 1: unsupported part type "input_audio"`},
		{"content part without type", `{"model":"m","messages":[{"role":"user","content":[{"text":"a"}]}]}`, "messages: at index 0: content: at index 0: type: required"},
		{"image part in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, `messages: at index 0: content: at index 0: unsupported part type "image_url"`},
		{"image_url not an object", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://x/y.png"}]}]}`, "messages: at index 0: content: at index 0: image_url: must be an object, got string"},
		{"image_url missing", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "messages: at index 0: content: at index 0: image_url: required"},
		{"image url scheme", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages: at index 0: content: at index 0: image_url.url: must be an http(s) or base64 data URL"},
		{"image data URL not base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages: at index 0: content: at index 0: image_url.url: data URL must be base64-encoded"},
		{"image data URL without comma", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64"}}]}]}`, "messages: at index 0: content: at index 0: image_url.url: malformed data URL"},
		{"tool call arguments not JSON", `{"model":"m","messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`, "messages: at index 1: tool_calls: at index 0: function.arguments: not valid JSON"},
		{"tool call arguments not an object", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages: at index 0: tool_calls: at index 0: function.arguments: must be a JSON object"},
		{"tool call name not a string", `{"model":"m","messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":3}}]}]}`, "messages: at index 1: tool_calls: at index 0: function.name: must be a string, got number"},
		{"tool call without id", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages: at index 0: tool_calls: at index 0: id: required"},
		{"custom tool call", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f","input":"x"}}]}]}`, `messages: at index 0: tool_calls: at index 0: unsupported type "custom"`},
		{"tool message without id", `{"model":"m","messages":[` + user + `,{"role":"tool","content":"x"}]}`, "messages: at index 1: tool_call_id: required"},
		{"stop a number", `{"model":"m","messages":[` + user + `],"stop":1}`, "stop: must be a string or an array of strings"},
		{"stop array of numbers", `{"model":"m","messages":[` + user + `],"stop":[1]}`, "stop: must be a string or an array of strings"},
		{"temperature a string", `{"model":"m","messages":[` + user + `],"temperature":"hot"}`, "temperature: must be a number, got string"},
		{"stream a string", `{"model":"m","messages":[` + user + `],"stream":"yes"}`, "stream: must be a boolean, got string"},
		{"negative max_tokens", `{"model":"m","messages":[` + user + `],"max_tokens":-1}`, "max_tokens: must not be negative"},
		{"negative max_completion_tokens", `{"model":"m","messages":[` + user + `],"max_completion_tokens":-5}`, "max_completion_tokens: must not be negative"},
		{"tool_choice unknown", `{"model":"m","messages":[` + user + `],"tool_choice":"sometimes"}`, `tool_choice: unknown value "sometimes"`},
		{"tool_choice allowed_tools", `{"model":"m","messages":[` + user + `],"tool_choice":{"type":"allowed_tools","allowed_tools":{}}}`, `tool_choice: unsupported type "allowed_tools"`},
		{"tool_choice function without name", `{"model":"m","messages":[` + user + `],"tool_choice":{"type":"function","function":{}}}`, "tool_choice: function.name: required"},
		{"tool_choice a number", `{"model":"m","messages":[` + user + `],"tool_choice":1}`, "tool_choice: must be a string or an object, got number"},
		{"tools custom", `{"model":"m","messages":[` + user + `],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, `tools: at index 0: unsupported type "custom"`},
		{"tool without name", `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{}}]}`, "tools: at index 1: function.name: required"},
		{"tool name not a string", `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":7}}]}`, "tools: at index 0: function.name: must be a string, got number"},
		{"tool parameters not an object", `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools: at index 0: function.parameters: must be a JSON object"},
		{"invalid UTF-8", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", "request body is not valid UTF-8"},
		{"key case", `{"model":"m","messages":[` + user + `],"Messages":[` + user + `]}`, `got field "Messages", want "messages": field names are case-sensitive`},
		{"key folded with long s", `{"model":"m","messages":[` + user + `],"meſſages":[` + user + `]}`, `got field "meſſages", want "messages": field names are case-sensitive`},
		{"nested key case", `{"model":"m","messages":[` + user + `,{"role":"user","content":[{"type":"text","Text":"x"}]}]}`, `messages: at index 1: content: at index 0: got field "Text", want "text": field names are case-sensitive`},
		{"escaped key case", `{"model":"m","messages":[{"role":"user","content":"a","\u0043ontent":"b"}]}`, `messages: at index 0: got field "Content", want "content": field names are case-sensitive`},
		{"duplicate key", `{"model":"m","messages":[` + user + `],"messages":[` + user + `]}`, `duplicate field "messages"`},
		{"escaped duplicate key", `{"model":"m","messages":[{"role":"user","content":"a","cont\u0065nt":"b"}]}`, `messages: at index 0: duplicate field "content"`},
		{"duplicate tool argument key", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}","name":"g"}}]}]}`, `messages: at index 0: tool_calls: at index 0: function: duplicate field "name"`},
		{"deprecated functions", `{"model":"m","messages":[` + user + `],"functions":[{"name":"f"}]}`, "functions: deprecated and not supported; use tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("got request %+v, want error %q", got, tt.want)
			}
			e, ok := errors.AsType[*brightline.Error](err)
			if !ok {
				t.Fatalf("got error %T %v, want *brightline.Error", err, err)
			}
			if e.Code != brightline.CodeInvalidRequest {
				t.Errorf("got code %q, want %q", e.Code, brightline.CodeInvalidRequest)
			}
			if e.Message != tt.want {
				t.Errorf("got message %q, want %q", e.Message, tt.want)
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, tt := range decodeRequestTests {
		t.Run(tt.file, func(t *testing.T) {
			first, err := DecodeRequest(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			body, err := EncodeRequest(first)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			second, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest of the encoded body: %v\n%s", err, body)
			}
			// The provider side always asks for usage when streaming.
			want := *first
			want.IncludeUsage = want.Stream
			want.ExtraFields, want.ExtraText = nil, nil // they live in Raw only
			if g, w := requestJSON(t, second), requestJSON(t, &want); g != w {
				t.Errorf("after a round trip got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{
			name: "from Anthropic: thinking dropped, tool results split out, images moved, defaults",
			req: llm.Request{
				Model:  "gpt-4o",
				System: "Be terse.",
				Messages: []llm.Message{
					{Role: llm.RoleUser, Content: []llm.Block{text("Screenshot the page."), {Type: llm.BlockImage, Image: &llm.Image{URL: "https://example.com/a.png"}}}},
					{Role: llm.RoleAssistant, Content: []llm.Block{
						{Type: llm.BlockThinking, Text: "The user wants a screenshot.", Signature: "sig"},
						text("Taking it."),
						toolUse("toolu_01", "screenshot", `{"full": true}`),
						{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_02", Name: "noop"}},
					}},
					{Role: llm.RoleUser, Content: []llm.Block{
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01", IsError: false, Content: []llm.Block{
							text("Here it is:"),
							{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/png", Data: pngData}},
						}}},
						{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_02", IsError: true, Content: []llm.Block{text("failed"), text("twice")}}},
						text("What do you see?"),
					}},
					{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockThinking, Text: "hmm"}}},
					{Role: llm.RoleUser},
				},
				Tools:       []llm.Tool{{Name: "screenshot", Description: "Take a screenshot.", InputSchema: json.RawMessage(`{"type":"object","properties":{"full":{"type":"boolean"}}}`)}, {Name: "noop"}},
				ToolChoice:  &llm.ToolChoice{Mode: llm.ToolChoiceAny, DisableParallel: true},
				MaxTokens:   4096,
				Temperature: ptr(1.0),
				TopP:        ptr(1e-7),
				Stop:        []string{"</answer>"},
				Stream:      true,
				User:        "u-1",
			},
			want: `{"model":"gpt-4o","messages":[
				{"role":"system","content":"Be terse."},
				{"role":"user","content":[{"type":"text","text":"Screenshot the page."},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
				{"role":"assistant","content":"Taking it.","tool_calls":[
					{"id":"toolu_01","type":"function","function":{"name":"screenshot","arguments":"{\"full\": true}"}},
					{"id":"toolu_02","type":"function","function":{"name":"noop","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"toolu_01","content":"Here it is:"},
				{"role":"tool","tool_call_id":"toolu_02","content":[{"type":"text","text":"failed"},{"type":"text","text":"twice"}]},
				{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + pngData + `"}},{"type":"text","text":"What do you see?"}]},
				{"role":"assistant","content":""},
				{"role":"user","content":""}],
				"tools":[
					{"type":"function","function":{"name":"screenshot","description":"Take a screenshot.","parameters":{"type":"object","properties":{"full":{"type":"boolean"}}}}},
					{"type":"function","function":{"name":"noop","parameters":{"type":"object"}}}],
				"tool_choice":"required","parallel_tool_calls":false,
				"max_completion_tokens":4096,"temperature":1,"top_p":1e-07,"stop":["</answer>"],
				"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}`,
		},
		{
			name: "named tool choice, no stream, escaping",
			req: llm.Request{
				Model:      "gpt-4.1",
				Messages:   []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("quote \" backslash \\ newline \n tab \t nul \x00 <b>&amp; \u2028 bad \xff")}}},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "f"},
			},
			want: `{"model":"gpt-4.1","messages":[{"role":"user","content":"quote \" backslash \\ newline \n tab \t nul \u0000 <b>&amp; \u2028 bad \ufffd"}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		},
		{
			name: "only tool results: no empty user message",
			req: llm.Request{
				Model:    "m",
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{toolResult("c1")}}},
			},
			want: `{"model":"m","messages":[{"role":"tool","tool_call_id":"c1","content":""}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeRequest(&tt.req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if !json.Valid(got) {
				t.Fatalf("got invalid JSON %s", got)
			}
			if !sameJSON(t, got, []byte(tt.want)) {
				t.Errorf("got\n%s\nwant\n%s", indent(got), indent([]byte(tt.want)))
			}
		})
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	user := []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("x")}}}
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{"unknown role", llm.Request{Model: "m", Messages: []llm.Message{{Role: "system"}}}, `unknown role "system"`},
		{"NaN temperature", llm.Request{Model: "m", Messages: user, Temperature: ptr(math.NaN())}, "temperature"},
		{"infinite top_p", llm.Request{Model: "m", Messages: user, TopP: ptr(math.Inf(1))}, "top_p"},
		{"invalid schema", llm.Request{Model: "m", Messages: user, Tools: []llm.Tool{{Name: "f", InputSchema: json.RawMessage(`{`)}}}, "input schema"},
		{"tool use in a user message", llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{toolUse("a", "b", "{}")}}}}, "tool_use"},
		{"image in an assistant message", llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockImage, Image: &llm.Image{URL: "https://x"}}}}}}, "image"},
		{"unknown tool choice", llm.Request{Model: "m", Messages: user, ToolChoice: &llm.ToolChoice{Mode: "sometimes"}}, "sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeRequest(&tt.req)
			if err == nil {
				t.Fatalf("got %s, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
