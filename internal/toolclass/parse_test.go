package toolclass

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseTools(t *testing.T) {
	const (
		openai    = `{"type":"function","function":{"name":"get_weather","description":"Weather.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}`
		responses = `{"type":"function","name":"send_email","description":"Send.","parameters":{"type":"object"}}`
		anthropic = `{"name":"fire_interceptor","description":"Fire.","input_schema":{"type":"object","properties":{"track_id":{"type":"string"}}}}`
		mcp       = `{"name":"list_files","description":"List.","inputSchema":{"type":"object"}}`
		plain     = `{"name":"noop"}`
	)
	want := []Tool{
		{Name: "get_weather", Description: "Weather.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
		{Name: "send_email", Description: "Send.", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Name: "fire_interceptor", Description: "Fire.", InputSchema: json.RawMessage(`{"type":"object","properties":{"track_id":{"type":"string"}}}`)},
		{Name: "list_files", Description: "List.", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Name: "noop"},
	}
	items := []string{openai, responses, anthropic, mcp, plain}
	tests := []struct {
		name, in string
	}{
		{"array", "[" + strings.Join(items, ",") + "]"},
		{"array with whitespace", "\n  [\n" + strings.Join(items, ",\n") + "\n]\n"},
		{"jsonl", strings.Join(items, "\n") + "\n"},
		{"jsonl with blank lines and CRLF", "\r\n" + strings.Join(items, "\r\n\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTools(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d tools, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || got[i].Description != want[i].Description || string(got[i].InputSchema) != string(want[i].InputSchema) {
					t.Errorf("tool %d: got %+v, want %+v", i+1, got[i], want[i])
				}
			}
		})
	}
}

func TestParseToolsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad array", `[{"name":"a"},`, "couldn't decode tool definitions as a JSON array"},
		{"no name in array", `[{"name":"a"},{"description":"x"}]`, `tool 2: no "name"`},
		{"empty name", `[{"name":" "}]`, `tool 1: empty "name"`},
		{"bad line", "{\"name\":\"a\"}\n\n{\"name\":", "tool 2 (line 3): couldn't decode tool definition"},
		{"not an object", `[1]`, "tool 1: couldn't decode tool definition"},
		{"schema not an object", `[{"name":"a","input_schema":[1]}]`, `tool 1: tool "a": input schema is not a JSON object`},
		{"wrong type", `[{"type":"web_search","function":{"name":"a"}}]`, `tool 1: tool type "web_search"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTools(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
