package toolclass

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tools.json")
	if err := os.WriteFile(file, []byte(`[{"name":"fire_interceptor","description":"Fire an interceptor."},{"name":"get_weather"},{"name":"weapons_test"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	declared := func(name string) string {
		if strings.HasPrefix(name, "weapons_") {
			return Informational
		}
		return ""
	}
	type line struct {
		Name     string `json:"name"`
		Class    string `json:"class"`
		Declared bool   `json:"declared"`
		Reason   string `json:"reason"`
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		declared func(string) string
		code     int
		want     []line // reasons are checked for being non-empty only
		stderr   string
	}{
		{name: "file", args: []string{file}, declared: declared, want: []line{
			{Name: "fire_interceptor", Class: Force},
			{Name: "get_weather", Class: Informational},
			{Name: "weapons_test", Class: Informational, Declared: true, Reason: "declared in config"},
		}},
		{name: "stdin jsonl, nil declared", stdin: `{"name":"send_email"}` + "\n", want: []line{{Name: "send_email", Class: Consequential}}},
		{name: "dash is stdin", args: []string{"-"}, stdin: `[]`},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.json")}, code: 1, stderr: "nope.json"},
		{name: "bad input", stdin: `[{"description":"x"}]`, code: 1, stderr: `stdin: tool 1: no "name"`},
		{name: "two files", args: []string{file, file}, code: 2, stderr: "usage:"},
		{name: "bad flag", args: []string{"-x"}, code: 2, stderr: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, code: 0, stderr: "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Command(context.Background(), tt.args, tt.declared, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("got exit code %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			var got []line
			dec := json.NewDecoder(&stdout)
			for dec.More() {
				var l line
				if err := dec.Decode(&l); err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Name != w.Name || g.Class != w.Class || g.Declared != w.Declared || g.Reason == "" || (w.Reason != "" && g.Reason != w.Reason) {
					t.Errorf("line %d: got %+v, want %+v", i+1, g, w)
				}
			}
		})
	}
}
