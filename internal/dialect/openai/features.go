package openai

import (
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// # Provider features
//
// A same-dialect gateway forwards the client's own bytes, so whatever the
// canonical model does not hold would reach the provider uninspected. A
// client request ([DecodeClientRequest]) may therefore carry only the
// top-level fields in knownFields (the ones the model holds, and
// parameters of the current API that run nothing at the provider and
// carry no text the model reads, or text that is inspected), fields the
// signed policy's allow.request_fields.openai names, and
// web_search_options (the provider searches the web itself) only if the
// policy's allow.server_tools names web_search. Fields such as prediction
// and audio carry text the model does not hold, so they need the policy.
//
// Every string under a field the model does not hold, allowed or
// built-in (response_format's schema, metadata, prediction.content), is
// kept in llm.Request.ExtraText for the detectors.

// Allow is what the signed policy lets through beyond the built-in list;
// *policy.Policy implements it. A nil Allow adds nothing.
type Allow interface {
	// AllowsRequestField reports whether the unmodelled top-level field
	// may be sent in dialect ("openai" here).
	AllowsRequestField(dialect, field string) bool
	// AllowsServerTool reports whether the provider may run tools of kind
	// (llm.ServerToolWebSearch, ...) itself.
	AllowsServerTool(kind string) bool
}

// knownFields are the top-level request fields a client may send without
// the policy's leave: true for the ones wireRequest decodes, false for
// harmless parameters the model does not hold.
var knownFields = map[string]bool{
	"model": true, "messages": true, "tools": true, "tool_choice": true, "parallel_tool_calls": true,
	"max_tokens": true, "max_completion_tokens": true, "temperature": true, "top_p": true,
	"stop": true, "stream": true, "stream_options": true, "user": true, "n": true, "functions": true,

	"response_format": false, "seed": false, "logprobs": false, "top_logprobs": false,
	"presence_penalty": false, "frequency_penalty": false, "logit_bias": false,
	"metadata": false, "store": false, "reasoning_effort": false, "service_tier": false,
	"modalities": false, "verbosity": false, "safety_identifier": false, "prompt_cache_key": false,
}

// serverFields are top-level fields that make the provider run tools
// itself, and their server tool kind.
var serverFields = map[string]string{
	"web_search_options": llm.ServerToolWebSearch,
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
		if client && !known {
			if kind, ok := serverFields[key]; ok {
				if allow == nil || !allow.AllowsServerTool(kind) {
					return invalid("%s: the provider would run tools of kind %q itself; the signed policy must allow that kind (allow.server_tools)", key, kind)
				}
			} else if allow == nil || !allow.AllowsRequestField("openai", key) {
				return invalid("%s: the gateway does not model this request field and does not know it to be harmless; the signed policy must allow it (allow.request_fields.openai)", key)
			}
		}
		req.ExtraFields = append(req.ExtraFields, key)
		req.ExtraText = wire.Strings(req.ExtraText, value)
		return nil
	})
}
