package main

import (
	"context"
	"strings"
	"testing"
)

// TestTransitionPlan rehearses moving exposureSeed's traffic off a vendor.
func TestTransitionPlan(t *testing.T) {
	dir := exposureSeed(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"table", []string{"--from", "anthropic", "--to", "openai", "--since", "36500d"}, 0, []string{
			"Transition plan: anthropic -> openai",
			"Overall: NO-GO (0 of 4 routes ready)",
			"Route claude-sonnet (configured as claude-*): NO-GO",
			"targets at openai: openai/gpt-5",
			"shadow:     no results from a candidate at openai",
			"no shadow results from a candidate at openai in the window",
			"the route has no target at openai",
			"Principals affected (3):",
			"name-key_a (key_a): 14 requests",
		}, ""},
		{"nothing to move", []string{"--from", "xai", "--to", "openai", "--since", "36500d"}, 0, []string{"Nothing to move"}, ""},
		{"json", []string{"--from=anthropic", "--to=openai", "--format=json", "--since=36500d"}, 0, []string{`"from": "anthropic"`, `"go": false`}, ""},
		{"missing to", []string{"--from", "anthropic"}, 2, nil, "--from and --to are required"},
		{"same vendor", []string{"--from", "openai", "--to", "openai"}, 2, nil, "both"},
		{"bad since", []string{"--from", "anthropic", "--to", "openai", "--since", "x"}, 2, nil, "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand("", func(e *env) error {
				return transitionPlan(context.Background(), tt.args, openExposureIn(dir), exposureRoutes, e)
			})
			if code != tt.code {
				t.Errorf("got exit code %d, want %d; stderr %s", code, tt.code, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr)
			}
		})
	}
}
