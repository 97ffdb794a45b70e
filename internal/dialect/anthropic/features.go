package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// # Provider features
//
// A same-dialect gateway forwards the client's own bytes, so whatever the
// canonical model does not hold would reach the provider uninspected. A
// client request ([DecodeClientRequest]) may therefore carry only:
//
//   - the top-level fields in knownFields: the ones the model holds, and
//     parameters of the current API that run nothing at the provider
//     (top_k, thinking, service_tier, output_config, cache_control, ...);
//     context_management only with edits that remove content from what
//     the model sees (see checkContextManagement); any other field needs
//     the signed policy's allow.request_fields.anthropic;
//   - provider-executed tools only of a kind the signed policy's
//     allow.server_tools names: mcp_servers (kind mcp), container
//     (code_execution) and tools whose type is a server tool (web_search_*,
//     web_fetch_*, code_execution_*, mcp_toolset);
//   - anthropic-beta values in harmlessBetas or the policy's
//     allow.anthropic_beta ([CheckBetas]).
//
// Tools Anthropic defines but the client runs (computer_*, bash_*,
// text_editor_*) are ordinary tools: their calls come back as tool_use
// blocks and are decided like any other.
//
// Every string under a field the model does not hold is kept in
// llm.Request.ExtraText for the detectors.

// Allow is what the signed policy lets through beyond the built-in lists;
// *policy.Policy implements it. A nil Allow adds nothing.
type Allow interface {
	// AllowsRequestField reports whether the unmodelled top-level field
	// may be sent in dialect ("anthropic" here).
	AllowsRequestField(dialect, field string) bool
	// AllowsAnthropicBeta reports whether the anthropic-beta value may be
	// sent.
	AllowsAnthropicBeta(beta string) bool
	// AllowsServerTool reports whether the provider may run tools of kind
	// (llm.ServerToolMCP, ...) itself.
	AllowsServerTool(kind string) bool
}

// knownFields are the top-level request fields a client may send without
// the policy's leave: true for the ones wireRequest decodes, false for
// harmless parameters the model does not hold.
//
// The harmless ones: top_k, thinking (its configuration; thinking blocks
// are content and decoded), service_tier and speed (capacity), inference_geo
// (where the model runs), cache_control (prompt caching of the last
// block), output_config (effort and an output JSON schema) and diagnostics
// (asks why a cache missed). Their strings still go to the detectors.
var knownFields = map[string]bool{
	"model": true, "max_tokens": true, "system": true, "messages": true, "tools": true,
	"tool_choice": true, "stop_sequences": true, "temperature": true, "top_p": true,
	"metadata": true, "stream": true,
	"top_k": false, "thinking": false, "service_tier": false, "speed": false,
	"inference_geo": false, "cache_control": false, "output_config": false,
	"diagnostics": false, "context_management": false,
}

// serverFields are top-level fields that make the provider run tools
// itself, and their server tool kind.
var serverFields = map[string]string{
	"mcp_servers": llm.ServerToolMCP,
	"container":   llm.ServerToolCodeExecution,
}

// harmlessBetas are the anthropic-beta values a client may send without
// the policy's leave. Each changes how the model is called or billed and
// runs nothing at the provider: no server tools, no files, no context the
// provider edits on its own. computer-use only enables the computer,
// bash and text_editor tools, which the client runs and the gateway
// decides like any tool call.
//
// Claude Code 2.1 sends, besides some of those: claude-code-20250219 (names
// the client), context-management-2025-06-27 (lets the body carry
// context_management, whose edits checkContextManagement limits to
// removing content), effort-2025-11-24 (output_config.effort),
// thinking-token-count-2026-05-13 (thinking tokens reported in usage),
// per-turn-control-2026-07-01 and mid-conversation-tool-changes-2026-07-01
// (settings and tool definitions may change from one turn to the next;
// every turn's are decoded and decided as sent) and
// advanced-tool-use-2025-11-20 (deferred tool loading with tool_reference
// blocks; the tool search and programmatic calling it can enable are
// server tools, which the tool allow-list refuses on its own). Each beta
// only lets a request carry what the field, block and tool checks decide
// anyway.
var harmlessBetas = map[string]bool{
	"claude-code-20250219":                     true,
	"context-management-2025-06-27":            true,
	"effort-2025-11-24":                        true,
	"thinking-token-count-2026-05-13":          true,
	"per-turn-control-2026-07-01":              true,
	"mid-conversation-tool-changes-2026-07-01": true,
	"advanced-tool-use-2025-11-20":             true,
	"prompt-caching-2024-07-31":                true,
	"extended-cache-ttl-2025-04-11":            true,
	"token-efficient-tools-2025-02-19":         true,
	"fine-grained-tool-streaming-2025-05-14":   true,
	"interleaved-thinking-2025-05-14":          true,
	"output-128k-2025-02-19":                   true,
	"context-1m-2025-08-07":                    true,
	"computer-use-2024-10-22":                  true,
	"computer-use-2025-01-24":                  true,
}

// CheckBetas checks the values of the client's anthropic-beta headers
// (each may list several, comma-separated) against harmlessBetas and the
// policy. The error, for the first value allowed by neither, is a
// *brightline.Error with CodeInvalidRequest naming it.
func CheckBetas(values []string, allow Allow) error {
	for _, v := range values {
		for beta := range strings.SplitSeq(v, ",") {
			beta = strings.TrimSpace(beta)
			if beta == "" || harmlessBetas[beta] || allow != nil && allow.AllowsAnthropicBeta(beta) {
				continue
			}
			return invalid("anthropic-beta %q is not one the gateway knows to run nothing at the provider; the signed policy must allow it (allow.anthropic_beta)", beta)
		}
	}
	return nil
}

// serverToolKind returns the server tool kind of a tool type, or "".
func serverToolKind(typ string) string {
	switch {
	case strings.HasPrefix(typ, "web_search_"):
		return llm.ServerToolWebSearch
	case strings.HasPrefix(typ, "web_fetch_"):
		return llm.ServerToolWebFetch
	case strings.HasPrefix(typ, "code_execution_"):
		return llm.ServerToolCodeExecution
	case typ == "mcp_toolset":
		return llm.ServerToolMCP
	}
	return ""
}

// checkContextManagement accepts a context_management object whose edits
// only clear content (earlier thinking, tool uses and their results) from
// what the model sees, so the model sees less than the gateway inspected,
// never more. Other edits, such as a compaction the provider writes
// itself, need the policy's allow.request_fields.anthropic.
func checkContextManagement(value []byte) error {
	var cm struct {
		Edits []struct {
			Type string `json:"type"`
		} `json:"edits"`
	}
	if err := json.Unmarshal(value, &cm); err != nil {
		return invalid("context_management: must be an object with an array of edits")
	}
	for i, e := range cm.Edits {
		if !strings.HasPrefix(e.Type, "clear_thinking_") && !strings.HasPrefix(e.Type, "clear_tool_uses_") {
			return invalid("context_management: edits: at index %d: type %q is not an edit the gateway knows to only clear content; the signed policy must allow the field (allow.request_fields.anthropic)", i, e.Type)
		}
	}
	return nil
}

// isClientTool reports whether a tool type is one Anthropic defines and
// the client runs.
func isClientTool(typ string) bool {
	for _, p := range []string{"computer_", "bash_", "text_editor_", "memory_"} {
		if strings.HasPrefix(typ, p) && !strings.Contains(typ, "code_execution") && !strings.Contains(typ, "_toolset_") {
			return true
		}
	}
	return false
}

// serverToolRefused is the client's error for a server tool the policy
// does not allow.
func serverToolRefused(where, kind string) error {
	return invalid("%s: the provider would run tools of kind %q itself; the signed policy must allow that kind (allow.server_tools)", where, kind)
}

// checkFields applies the field allow-list to the top-level fields of
// body and fills req.ExtraFields and req.ExtraText. With client false
// nothing is refused. allow may be nil.
func checkFields(body []byte, req *llm.Request, allow Allow, client bool) error {
	return wire.Members(body, func(key string, value []byte) error {
		modelled, known := knownFields[key]
		if modelled {
			return nil
		}
		if client && key == "context_management" {
			if err := checkContextManagement(value); err != nil && (allow == nil || !allow.AllowsRequestField("anthropic", key)) {
				return err
			}
		}
		if client && !known {
			if kind, ok := serverFields[key]; ok {
				if allow == nil || !allow.AllowsServerTool(kind) {
					return serverToolRefused(key, kind)
				}
			} else if allow == nil || !allow.AllowsRequestField("anthropic", key) {
				return invalid("%s: the gateway does not model this request field and does not know it to be harmless; the signed policy must allow it (allow.request_fields.anthropic)", key)
			}
		}
		req.ExtraFields = append(req.ExtraFields, key)
		req.ExtraText = wire.Strings(req.ExtraText, value)
		return nil
	})
}

// decodeTool converts tools[i]. keep is false for a provider-executed
// tool, which stays in Raw only: it is refused unless client and the
// policy allows its kind, and then named in req.ExtraFields.
func decodeTool(i int, t *wireTool, req *llm.Request, allow Allow, client bool) (tool llm.Tool, keep bool, err error) {
	switch {
	case t.Type == "" || t.Type == "custom":
		if t.Name == "" {
			return tool, false, invalid("tools: at index %d: name: field is required", i)
		}
		schema, err := objectOr(t.InputSchema, `{"type":"object"}`)
		if err != nil {
			return tool, false, invalid("tools: at index %d: input_schema: %v", i, err)
		}
		return llm.Tool{Name: t.Name, Description: t.Description, InputSchema: schema}, true, nil
	case isClientTool(t.Type):
		if t.Name == "" {
			return tool, false, invalid("tools: at index %d: name: field is required", i)
		}
		schema, err := objectOr(t.InputSchema, `{"type":"object"}`)
		if err != nil {
			return tool, false, invalid("tools: at index %d: input_schema: %v", i, err)
		}
		return llm.Tool{Name: t.Name, Description: t.Description, InputSchema: schema,
			Type: t.Type, Definition: json.RawMessage(t.raw)}, true, nil
	}
	kind := serverToolKind(t.Type)
	if kind == "" || !client {
		return tool, false, invalid("tools: at index %d: unsupported tool type %q", i, t.Type)
	}
	if allow == nil || !allow.AllowsServerTool(kind) {
		return tool, false, serverToolRefused(fmt.Sprintf("tools: at index %d (type %q)", i, t.Type), kind)
	}
	req.ExtraFields = append(req.ExtraFields, fmt.Sprintf("tools[%d]", i))
	req.ExtraText = wire.Strings(req.ExtraText, t.raw)
	return tool, false, nil
}
