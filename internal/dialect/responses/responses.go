// Package responses translates the OpenAI Responses API wire format
// (POST /v1/responses) to and from the canonical model in internal/llm,
// for both sides of the gateway: requests from clients and answers to them
// ([DecodeClientRequest], [EncodeResponse], [StreamWriter], [ErrorBody]),
// and requests to providers and answers from them ([EncodeRequest],
// [DecodeResponse], [StreamReader], [DecodeError]).
//
// The functions are pure: they work on bytes and hold no global state.
//
// # Conversation state
//
// The Responses API can keep a conversation at the provider and continue
// it by reference (previous_response_id, conversation, item_reference
// items, background mode). The gateway keeps no conversation state and
// must see the whole conversation to decide it, so a request that refers
// to stored state is refused with a message that says to send the full
// input instead. store is accepted either way: on passthrough it reaches
// the provider as sent; an answer the gateway encodes itself says
// "store": false, since nothing was stored where previous_response_id
// could find it.
//
// # Choices the canonical model forces
//
//   - instructions and system or developer messages become
//     [llm.Request.System], in order. Message, function_call and
//     function_call_output items become canonical messages: consecutive
//     assistant items (text, calls, reasoning) share one assistant
//     message, consecutive call outputs share one user message.
//   - A function_call's call_id is the canonical tool call ID; its item id
//     (fc_...) is not kept. An answer the gateway encodes derives item ids
//     from the response id.
//   - A reasoning item becomes a [llm.BlockThinking] with its summary (or
//     reasoning text) as Text and encrypted_content as Signature. The
//     request encoder drops thinking blocks, as the Chat Completions one
//     does: an item id is needed to send one back.
//   - text (its format), reasoning, metadata, include, truncation and the
//     like are not modelled: they reach an OpenAI provider through
//     [llm.Request.Raw], their strings are inspected (ExtraText), and a
//     translated request goes without them.
//   - Hosted tools (web_search, file_search, code_interpreter, computer use,
//     mcp, image_generation) run at the provider: see features.go.
//   - Usage: input_tokens is InputTokens, input_tokens_details.cached_tokens
//     is CacheReadTokens; total_tokens is their sum with output_tokens.
package responses

import (
	"strconv"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

const dialect = brightline.DialectResponses

// idPrefix starts every response id.
const idPrefix = "resp_"

// responseID returns the response id for a canonical response id (see
// openai.PrefixedID).
func responseID(id string) string { return openai.PrefixedID(idPrefix, id) }

// itemID returns the id of output item n of the response with id rid:
// prefix ("msg", "fc", "rs") and the response id's suffix.
func itemID(prefix, rid string, n int) string {
	b := make([]byte, 0, len(prefix)+len(rid)+8)
	b = append(b, prefix...)
	b = append(b, '_')
	b = append(b, strings.TrimPrefix(rid, idPrefix)...)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(n), 10)
	return string(b)
}

// wireUsage is the usage object of a response.
type wireUsage struct {
	InputTokens        int `json:"input_tokens"`
	OutputTokens       int `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

func (u *wireUsage) canonical() llm.Usage {
	out := llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if u.InputTokensDetails != nil {
		out.CacheReadTokens = u.InputTokensDetails.CachedTokens
	}
	return out
}

// appendUsage appends the usage object for u.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CacheReadTokens)
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
	b = appendInt(b, u.InputTokens+u.OutputTokens)
	return append(b, '}')
}

// status returns a response's status and, for an incomplete one, the
// reason, for a stop reason.
func status(r llm.StopReason) (status, reason string) {
	switch r {
	case llm.StopMaxTokens:
		return "incomplete", "max_output_tokens"
	case llm.StopRefusal:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// stopReason returns the stop reason for a response's status, the reason
// it is incomplete, and whether it holds function calls.
func stopReason(status, reason string, calls bool) llm.StopReason {
	switch {
	case status == "incomplete" && reason == "content_filter":
		return llm.StopRefusal
	case status == "incomplete":
		return llm.StopMaxTokens
	case calls:
		return llm.StopToolUse
	case status == "":
		return ""
	}
	return llm.StopEndTurn
}

func appendInt(b []byte, n int) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}

// comma appends the separator before an array element unless it is the
// first.
func comma(b []byte) []byte {
	if c := b[len(b)-1]; c != '[' && c != '{' {
		b = append(b, ',')
	}
	return b
}

// appendField appends ,"name": and the JSON string s.
func appendField(b []byte, name, s string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return wire.AppendString(b, s)
}
