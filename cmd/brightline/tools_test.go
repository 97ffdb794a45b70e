package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/toolclass"
)

func TestToolsClassify(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tools.json")
	if err := os.WriteFile(file, []byte(`[{"name":"fire_interceptor","description":"Fire an interceptor."},{"name":"get_weather"},{"name":"weapons_test"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	declared := func(name string) string {
		if strings.HasPrefix(name, "weapons_") {
			return toolclass.Informational
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
			{Name: "fire_interceptor", Class: toolclass.Force},
			{Name: "get_weather", Class: toolclass.Informational},
			{Name: "weapons_test", Class: toolclass.Informational, Declared: true, Reason: "declared in config"},
		}},
		{name: "stdin jsonl, nothing declared", stdin: `{"name":"send_email"}` + "\n", want: []line{{Name: "send_email", Class: toolclass.Consequential}}},
		{name: "dash is stdin", args: []string{"-"}, stdin: `[]`},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.json")}, code: 1, stderr: "nope.json"},
		{name: "bad input", stdin: `[{"description":"x"}]`, code: 1, stderr: `stdin: tool 1: no "name"`},
		{name: "two files", args: []string{file, file}, code: 2, stderr: "usage:"},
		{name: "bad flag", args: []string{"-x"}, code: 2, stderr: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, code: 0, stderr: "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			declared := tt.declared
			if declared == nil {
				declared = func(string) string { return "" }
			}
			code, stdout, stderr := runCommand(tt.stdin, func(e *env) error {
				return toolsClassify(context.Background(), tt.args, declared, e)
			})
			if code != tt.code {
				t.Fatalf("got exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.stderr)
			}
			var got []line
			dec := json.NewDecoder(strings.NewReader(stdout))
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
