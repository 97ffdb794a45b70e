package anthropic

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/brightline/brightline"
)

// allowList is a hand-written Allow.
type allowList struct {
	fields, betas, kinds []string
}

func (a allowList) AllowsRequestField(dialect, field string) bool {
	return dialect == "anthropic" && slices.Contains(a.fields, field)
}
func (a allowList) AllowsAnthropicBeta(beta string) bool { return slices.Contains(a.betas, beta) }
func (a allowList) AllowsServerTool(kind string) bool    { return slices.Contains(a.kinds, kind) }

func TestDecodeClientRequestAllowList(t *testing.T) {
	const head = `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]`
	mcp := allowList{kinds: []string{"mcp"}}
	tests := []struct {
		name    string
		body    string
		allow   Allow
		wantErr string // substring; "" means accepted
		fields  []string
		text    []string
		tools   int
	}{
		{"modelled and harmless", head + `,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto"}`, nil, "", []string{"top_k", "thinking", "service_tier"}, []string{"enabled", "auto"}, 0},
		{"unknown field", head + `,"future_field":1}`, nil, `future_field: the gateway does not model`, nil, nil, 0},
		{"escaped unknown field", head + `,"\u0066uture":1}`, nil, `future:`, nil, nil, 0},
		{"allowed by policy", head + `,"output_format":{"type":"json_schema","schema":{"description":"Ann Lee"}}}`, allowList{fields: []string{"output_format"}}, "", []string{"output_format"}, []string{"json_schema", "Ann Lee"}, 0},
		{"mcp_servers refused", head + `,"mcp_servers":[{"type":"url","name":"b","url":"https://x"}]}`, nil, `mcp_servers: the provider would run tools of kind "mcp" itself`, nil, nil, 0},
		{"mcp_servers not a request field", head + `,"mcp_servers":[]}`, allowList{fields: []string{"mcp_servers"}}, `kind "mcp"`, nil, nil, 0},
		{"mcp_servers allowed", head + `,"mcp_servers":[{"type":"url","name":"b","url":"https://x"}]}`, mcp, "", []string{"mcp_servers"}, []string{"url", "b", "https://x"}, 0},
		{"container refused", head + `,"container":"c1"}`, mcp, `kind "code_execution"`, nil, nil, 0},
		{"web search tool refused", head + `,"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, mcp, `tools: at index 0 (type "web_search_20250305"): the provider would run tools of kind "web_search"`, nil, nil, 0},
		{"web search tool allowed", head + `,"tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","allowed_domains":["example.com"]}]}`, allowList{kinds: []string{"web_search"}}, "", []string{"tools[1]"}, []string{"web_search_20250305", "web_search", "example.com"}, 1},
		{"mcp toolset", head + `,"tools":[{"type":"mcp_toolset","mcp_server_name":"b"}]}`, nil, `kind "mcp"`, nil, nil, 0},
		{"client tools decode", head + `,"tools":[{"type":"bash_20250124","name":"bash"},{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768},{"type":"text_editor_20250728","name":"str_replace_based_edit_tool"}]}`, nil, "", nil, nil, 3},
		{"unknown tool type", head + `,"tools":[{"type":"hologram_20990101","name":"h"}]}`, allowList{kinds: []string{"web_search", "mcp", "code_execution", "web_fetch"}}, `unsupported tool type "hologram_20990101"`, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeClientRequest([]byte(tt.body), tt.allow)
			if tt.wantErr != "" {
				var be *brightline.Error
				if !errors.As(err, &be) || be.Code != brightline.CodeInvalidRequest || !strings.Contains(be.Message, tt.wantErr) {
					t.Fatalf("got %v, want invalid_request containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if !slices.Equal(req.ExtraFields, tt.fields) || !slices.Equal(req.ExtraText, tt.text) || len(req.Tools) != tt.tools {
				t.Errorf("got fields %q text %q and %d tools, want %q %q %d", req.ExtraFields, req.ExtraText, len(req.Tools), tt.fields, tt.text, tt.tools)
			}
		})
	}
	// DecodeRequest applies no allow-list but still refuses server tools.
	if _, err := DecodeRequest([]byte(head + `,"future_field":1}`)); err != nil {
		t.Errorf("DecodeRequest: %v", err)
	}
	if _, err := DecodeRequest([]byte(head + `,"tools":[{"type":"web_search_20250305","name":"web_search"}]}`)); err == nil {
		t.Error("DecodeRequest accepted a server tool")
	}
}

func TestClientToolRoundTrip(t *testing.T) {
	body := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"bash_20250124","name":"bash","cache_control":{"type":"ephemeral"}}]}`
	req, err := DecodeClientRequest([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tl := req.Tools[0]; tl.Name != "bash" || tl.Type != "bash_20250124" {
		t.Fatalf("got %+v", tl)
	}
	enc, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(enc), `"tools":[{"type":"bash_20250124","name":"bash","cache_control":{"type":"ephemeral"}}]`) {
		t.Errorf("the definition was not kept: %s", enc)
	}
}

func TestCheckBetas(t *testing.T) {
	for _, c := range []struct {
		values  []string
		allow   Allow
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"interleaved-thinking-2025-05-14, prompt-caching-2024-07-31", "computer-use-2025-01-24"}, nil, ""},
		{[]string{"interleaved-thinking-2025-05-14,mcp-client-2025-04-04"}, nil, `"mcp-client-2025-04-04"`},
		{[]string{"mcp-client-2025-04-04"}, allowList{betas: []string{"mcp-client-2025-04-04"}}, ""},
		{[]string{"code-execution-2025-05-22"}, allowList{betas: []string{"mcp-client-2025-04-04"}}, `"code-execution-2025-05-22"`},
	} {
		err := CheckBetas(c.values, c.allow)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("CheckBetas(%q): got %v, want %q", c.values, err, c.wantErr)
		}
	}
}
