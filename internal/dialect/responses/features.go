package responses

import (
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
//     (text, reasoning, metadata, store, include, truncation, ...); any
//     other field needs the signed policy's allow.request_fields.responses;
//   - hosted tools, which the provider runs itself, only of a kind the
//     signed policy's allow.server_tools names: web_search (web_search,
//     web_search_preview and their dated versions), file_search,
//     code_execution (code_interpreter), computer_use (computer,
//     computer_use_preview), mcp and image_generation. The items an
//     earlier answer holds for them (web_search_call, ...) may be sent
//     back in input under the same rule.
//
// Tools the client runs but the canonical model cannot carry (custom
// tools with free-form input, local_shell, shell, apply_patch) are
// refused: their calls would not be decided.
//
// Every string under a field the model does not hold is kept in
// llm.Request.ExtraText for the detectors.

// Allow is what the signed policy lets through beyond the built-in list;
// *policy.Policy implements it. A nil Allow adds nothing.
type Allow interface {
	// AllowsRequestField reports whether the unmodelled top-level field
	// may be sent in dialect ("responses" here).
	AllowsRequestField(dialect, field string) bool
	// AllowsServerTool reports whether the provider may run tools of kind
	// (llm.ServerToolWebSearch, ...) itself.
	AllowsServerTool(kind string) bool
}

// Server tool kinds of hosted tools that have no Anthropic counterpart,
// as the signed policy's allow.server_tools names them.
const (
	ServerToolFileSearch      = "file_search"
	ServerToolComputerUse     = "computer_use"
	ServerToolImageGeneration = "image_generation"
)

// knownFields are the top-level request fields a client may send without
// the policy's leave: true for the ones wireRequest decodes, false for
// harmless parameters the model does not hold.
var knownFields = map[string]bool{
	"model": true, "instructions": true, "input": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "max_output_tokens": true, "temperature": true, "top_p": true,
	"stream": true, "user": true, "previous_response_id": true, "conversation": true, "background": true,

	"text": false, "reasoning": false, "metadata": false, "store": false, "include": false,
	"truncation": false, "service_tier": false, "safety_identifier": false, "prompt_cache_key": false,
	"prompt_cache_retention": false, "top_logprobs": false, "stream_options": false, "max_tool_calls": false,
	// The Codex CLI's: ids of the installation and session, for the
	// provider's logs.
	"client_metadata": false,
}

// hostedToolKind returns the server tool kind of a hosted tool type, or "".
func hostedToolKind(typ string) string {
	switch {
	case strings.HasPrefix(typ, "web_search"):
		return llm.ServerToolWebSearch
	case typ == "file_search":
		return ServerToolFileSearch
	case typ == "code_interpreter":
		return llm.ServerToolCodeExecution
	case typ == "computer" || strings.HasPrefix(typ, "computer_use"):
		return ServerToolComputerUse
	case typ == "mcp":
		return llm.ServerToolMCP
	case typ == "image_generation":
		return ServerToolImageGeneration
	}
	return ""
}

// hostedItemKind returns the server tool kind of an output item type that
// a hosted tool produces, or "".
func hostedItemKind(typ string) string {
	switch typ {
	case "web_search_call":
		return llm.ServerToolWebSearch
	case "file_search_call":
		return ServerToolFileSearch
	case "code_interpreter_call":
		return llm.ServerToolCodeExecution
	case "computer_call", "computer_call_output":
		return ServerToolComputerUse
	case "mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response":
		return llm.ServerToolMCP
	case "image_generation_call":
		return ServerToolImageGeneration
	}
	return ""
}

// serverToolRefused is the client's error for a hosted tool the policy
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
		if client && !known && (allow == nil || !allow.AllowsRequestField(string(dialect), key)) {
			return invalid("%s: the gateway does not model this request field and does not know it to be harmless; the signed policy must allow it (allow.request_fields.responses)", key)
		}
		req.ExtraFields = append(req.ExtraFields, key)
		req.ExtraText = wire.Strings(req.ExtraText, value)
		return nil
	})
}
