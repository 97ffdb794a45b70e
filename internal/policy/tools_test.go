package policy

import (
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/toolclass"
)

func TestToolEffectsNormalized(t *testing.T) {
	te, err := NewToolEffects([]ToolDecl{
		{Name: "fire_*", Effect: toolclass.Force},
		{Name: "get_weather", Effect: toolclass.Informational},
	}, NormalizeToolName)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		declared   bool
	}{
		{"fire_interceptor", toolclass.Force, true},
		{"f\u0456re_interceptor", toolclass.Force, true}, // Cyrillic і
		{"F1RE_interceptor", toolclass.Force, true},
		{"ＦＩＲＥ_interceptor", toolclass.Force, true}, // full-width
		{"get_weather", toolclass.Informational, true},
		{"GET_WEATHER", toolclass.Informational, true},
		{"launch_missile", "", false},
	}
	for _, tt := range tests {
		got, ok := te.Effect(NormalizeToolName(tt.name))
		if got != tt.want || ok != tt.declared {
			t.Errorf("Effect(%q): got %q, %v, want %q, %v", tt.name, got, ok, tt.want, tt.declared)
		}
	}
}

func TestCompileTools(t *testing.T) {
	for _, tt := range []struct {
		name, src, wantErr string
	}{
		{"bad effect", "tools:\n  - {name: x, effect: harmless}\n", `effect "harmless" is not informational, consequential or force`},
		{"bad switch", "undeclared_tools: release\n", `undeclared_tools: "release" is not classify or hold`},
		{"twice", "tools:\n  - {name: x, effect: force}\n  - {name: X, effect: informational}\n", `tool "x" declared twice`},
		{"cap", "approvals:\n  max_pending_per_requester: 0\n", "max_pending_per_requester"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("p.yaml", []byte(tt.src))
			if err == nil || !contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	p, err := Load("p.yaml", []byte("undeclared_tools: hold\napprovals:\n  max_pending_per_requester: 5\ntools:\n  - {name: fire_x, effect: force}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.UndeclaredTools() != UndeclaredHold || p.MaxPendingPerRequester() != 5 || p.Tools().Len() != 1 {
		t.Errorf("got %q, %d, %d declarations; want hold, 5, 1", p.UndeclaredTools(), p.MaxPendingPerRequester(), p.Tools().Len())
	}
	if d := Default(); d.UndeclaredTools() != UndeclaredClassify || d.MaxPendingPerRequester() != DefaultMaxPendingPerRequester {
		t.Errorf("default policy: got %q, %d", d.UndeclaredTools(), d.MaxPendingPerRequester())
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestAllow(t *testing.T) {
	p, err := Load("p.yaml", []byte("allow:\n  request_fields:\n    openai: [prediction]\n  anthropic_beta: [mcp-client-2025-04-04]\n  server_tools: [web_search]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowsRequestField("openai", "prediction") || p.AllowsRequestField("anthropic", "prediction") ||
		!p.AllowsAnthropicBeta("mcp-client-2025-04-04") || p.AllowsAnthropicBeta("x") ||
		!p.AllowsServerTool("web_search") || p.AllowsServerTool("mcp") {
		t.Error("allow-list doesn't say what the file says")
	}
	d := Default()
	if d.AllowsRequestField("openai", "prediction") || d.AllowsServerTool("mcp") || d.AllowsAnthropicBeta("mcp-client-2025-04-04") {
		t.Error("the default policy allows a provider feature")
	}
	if _, err := Load("p.yaml", []byte("allow:\n  server_tool: [x]\n")); err == nil || !strings.Contains(err.Error(), `unknown key "server_tool"`) {
		t.Errorf("misspelt allow key: got %v", err)
	}
}

func TestDiffSettings(t *testing.T) {
	parse := func(src string) *File {
		f, err := Parse("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	old := parse("undeclared_tools: hold\ntools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: informational}\n")
	tests := []struct {
		name, src, want string
		weakens         bool
	}{
		{"lowered", "undeclared_tools: hold\ntools:\n  - {name: fire_x, effect: informational}\n  - {name: get_x, effect: informational}\n", "fire_x from force to informational", true},
		{"raised", "undeclared_tools: hold\ntools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: force}\n", "get_x from informational to force", false},
		{"removed", "undeclared_tools: hold\ntools:\n  - {name: get_x, effect: informational}\n", "fire_x (force) no longer declared", true},
		{"new glob", "undeclared_tools: hold\ntools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: informational}\n  - {name: \"*\", effect: informational}\n", "* declared informational", true},
		{"switch", "tools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: informational}\n", "undeclared_tools from hold to classify", true},
		{"cap", "undeclared_tools: hold\napprovals: {max_pending_per_requester: 500}\ntools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: informational}\n", "max_pending_per_requester from 20 to 500", true},
		{"allow", "undeclared_tools: hold\nallow: {server_tools: [mcp]}\ntools:\n  - {name: fire_x, effect: force}\n  - {name: get_x, effect: informational}\n", "allows server tool mcp", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var found bool
			for _, c := range Diff(old, parse(tt.src)) {
				if strings.Contains(c.Detail, tt.want) {
					found = true
					if c.Weakens != tt.weakens {
						t.Errorf("%s: weakens %v, want %v", c, c.Weakens, tt.weakens)
					}
				}
			}
			if !found {
				t.Errorf("no change mentions %q: %v", tt.want, Diff(old, parse(tt.src)))
			}
		})
	}
}
