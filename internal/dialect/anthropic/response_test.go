package anthropic

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name, body string
		want       *llm.Response
	}{
		{
			name: "text",
			body: "response_text.json",
			want: &llm.Response{
				ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-sonnet-4-5-20250929",
				Content:    []llm.Block{{Type: llm.BlockText, Text: "Hi! My name is Claude."}},
				StopReason: llm.StopEndTurn,
				Usage:      llm.Usage{InputTokens: 2095, OutputTokens: 503, CacheReadTokens: 1024},
			},
		},
		{
			name: "thinking and tool use",
			body: "response_tool_use.json",
			want: &llm.Response{
				ID: "msg_01Aq9w938a90dw8q", Model: "claude-opus-4-1-20250805",
				Content: []llm.Block{
					{Type: llm.BlockThinking, Text: "The user asks for weather; I should call get_weather.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
					{Type: llm.BlockRedactedThinking, Signature: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
					{Type: llm.BlockText, Text: "I'll check the current weather in San Francisco for you."},
					{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: json.RawMessage(`{"location": "San Francisco, CA", "unit": "celsius"}`)}},
				},
				StopReason: llm.StopToolUse,
				Usage:      llm.Usage{InputTokens: 472, OutputTokens: 89},
			},
		},
		{
			name: "stop sequence and cache creation",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"a"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3}}`,
			want: &llm.Response{ID: "msg_1", Model: "m", Content: []llm.Block{{Type: llm.BlockText, Text: "a"}}, StopReason: llm.StopSequence, StopSequence: "END", Usage: llm.Usage{InputTokens: 1, OutputTokens: 2, CacheCreationTokens: 3}},
		},
		{
			name: "refusal with no content",
			body: `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":0}}`,
			want: &llm.Response{ID: "msg_2", Model: "m", Content: []llm.Block{}, StopReason: llm.StopRefusal, Usage: llm.Usage{InputTokens: 10}},
		},
		{
			name: "pause_turn with server tool blocks kept opaque",
			body: `{"id":"msg_3","type":"message","role":"assistant","model":"m","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]}],"stop_reason":"pause_turn","usage":{"input_tokens":1,"output_tokens":1}}`,
			want: &llm.Response{ID: "msg_3", Model: "m", Content: []llm.Block{
				{Type: llm.BlockServerToolUse, ToolCall: &llm.ToolCall{ID: "srvtoolu_1", Name: "web_search", Arguments: json.RawMessage(`{"query":"q"}`)},
					Opaque: &llm.Opaque{WireType: "server_tool_use", Kind: llm.ServerToolWebSearch, Raw: json.RawMessage(`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}}`)}},
				{Type: llm.BlockServerToolResult, Opaque: &llm.Opaque{WireType: "web_search_tool_result", Kind: llm.ServerToolWebSearch, CallID: "srvtoolu_1",
					Raw: json.RawMessage(`{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]}`)}},
			}, StopReason: llm.StopPauseTurn, Usage: llm.Usage{InputTokens: 1, OutputTokens: 1}},
		},
		{
			name: "mcp tool use, and a block of an unknown type",
			body: `{"id":"msg_4","type":"message","role":"assistant","model":"m","content":[{"type":"mcp_tool_use","id":"mcptoolu_1","name":"fire_interceptor","server_name":"battery","input":{"track":"T1"}},{"type":"hologram","data":"x"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`,
			want: &llm.Response{ID: "msg_4", Model: "m", Content: []llm.Block{
				{Type: llm.BlockServerToolUse, ToolCall: &llm.ToolCall{ID: "mcptoolu_1", Name: "fire_interceptor", Arguments: json.RawMessage(`{"track":"T1"}`)},
					Opaque: &llm.Opaque{WireType: "mcp_tool_use", Kind: llm.ServerToolMCP, Server: "battery", Raw: json.RawMessage(`{"type":"mcp_tool_use","id":"mcptoolu_1","name":"fire_interceptor","server_name":"battery","input":{"track":"T1"}}`)}},
				{Type: llm.BlockUnknown, Opaque: &llm.Opaque{WireType: "hologram", Raw: json.RawMessage(`{"type":"hologram","data":"x"}`)}},
			}, StopReason: llm.StopEndTurn, Usage: llm.Usage{InputTokens: 1, OutputTokens: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if strings.HasSuffix(tt.body, ".json") {
				body = readFixture(t, tt.body)
			}
			got, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if string(got.Raw) != string(body) || got.Dialect != brightline.DialectAnthropic {
				t.Errorf("got Raw %q Dialect %q, want the body and %q", got.Raw, got.Dialect, brightline.DialectAnthropic)
			}
			got.Raw, got.Dialect = nil, ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"malformed", `{"id":`, "invalid JSON at byte 6"},
		{"error body", `{"type":"error","error":{"type":"api_error","message":"x"}}`, `type is "error"`},
		{"bad tool input", `{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}`, "content: at index 0: tool_use: input: must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeResponse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp *llm.Response
		want string
	}{
		{
			name: "from OpenAI",
			resp: &llm.Response{
				ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-4o-2024-08-06", Dialect: brightline.DialectOpenAI,
				Content: []llm.Block{
					{Type: llm.BlockText, Text: "Calling."},
					{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_abc", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris"}`)}},
				},
				StopReason: llm.StopToolUse,
				Usage:      llm.Usage{InputTokens: 19, OutputTokens: 10, CacheReadTokens: 4},
			},
			want: `{"id":"msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","type":"message","role":"assistant","model":"gpt-4o-2024-08-06",` +
				`"content":[{"type":"text","text":"Calling."},{"type":"tool_use","id":"call_abc","name":"get_weather","input":{"location":"Paris"}}],` +
				`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":19,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":10}}`,
		},
		{
			name: "stop sequence and thinking",
			resp: &llm.Response{
				ID: "msg_01", Model: "claude", Dialect: brightline.DialectAnthropic,
				Content:    []llm.Block{{Type: llm.BlockThinking, Text: "t", Signature: "s"}, {Type: llm.BlockText, Text: "x"}},
				StopReason: llm.StopSequence, StopSequence: "\n\nHuman:",
			},
			want: `{"id":"msg_01","type":"message","role":"assistant","model":"claude","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"x"}],` +
				`"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:","usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "no stop reason, no content",
			resp: &llm.Response{ID: "msg_02", Model: "claude"},
			want: `{"id":"msg_02","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeResponse(tt.resp)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("empty id gets a random msg_ id", func(t *testing.T) {
		a, _ := EncodeResponse(&llm.Response{})
		b, _ := EncodeResponse(&llm.Response{})
		ra, _ := DecodeResponse(a)
		rb, _ := DecodeResponse(b)
		if !strings.HasPrefix(ra.ID, "msg_") || len(ra.ID) < 10 || ra.ID == rb.ID {
			t.Errorf("got ids %q and %q, want distinct msg_ ids", ra.ID, rb.ID)
		}
	})
	t.Run("image content is rejected", func(t *testing.T) {
		_, err := EncodeResponse(&llm.Response{Content: []llm.Block{{Type: llm.BlockImage, Image: &llm.Image{URL: "u"}}}})
		if err == nil {
			t.Error("got no error, want one")
		}
	})
}

func TestResponseRoundTrip(t *testing.T) {
	for _, name := range []string{"response_text.json", "response_tool_use.json"} {
		t.Run(name, func(t *testing.T) {
			first, err := DecodeResponse(readFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := EncodeResponse(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := DecodeResponse(enc)
			if err != nil {
				t.Fatalf("DecodeResponse(EncodeResponse(...)): %v\n%s", err, enc)
			}
			first.Raw, second.Raw = nil, nil
			if !reflect.DeepEqual(first, second) {
				t.Errorf("got %s\nwant %s", dump(second), dump(first))
			}
		})
	}
}

func TestEncodeModels(t *testing.T) {
	tests := []struct {
		name   string
		models []llm.Model
		want   string
	}{
		{"none", nil, `{"data":[],"has_more":false,"first_id":null,"last_id":null}`},
		{
			"two",
			[]llm.Model{{ID: "claude-sonnet-4-5", OwnedBy: "anthropic", Created: 1759104000}, {ID: "gpt-4o", OwnedBy: "openai"}},
			`{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"claude-sonnet-4-5","created_at":"2025-09-29T00:00:00Z"},` +
				`{"type":"model","id":"gpt-4o","display_name":"gpt-4o","created_at":"1970-01-01T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"gpt-4o"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(EncodeModels(tt.models)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
