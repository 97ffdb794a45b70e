// Package openai translates the OpenAI Chat Completions wire format to and
// from the canonical model in internal/llm, for both sides of the gateway:
// requests from clients and answers to them ([DecodeRequest],
// [EncodeResponse], [StreamWriter], [ErrorBody]), and requests to providers
// and answers from them ([EncodeRequest], [DecodeResponse], [StreamReader],
// [DecodeError]).
//
// The functions are pure: they work on bytes and hold no global state.
//
// # Choices the canonical model forces
//
//   - Only one choice is served: a request with n > 1 is rejected and only
//     choices[0] of a response is read.
//   - Content the canonical model cannot carry (audio and file parts, custom
//     tools, the deprecated functions parameter) is rejected by
//     [DecodeRequest] rather than dropped, so that nothing reaches a provider
//     without having been inspected. Unknown fields are ignored; they still
//     reach an OpenAI provider through [llm.Request.Raw].
//   - Empty text never becomes a block, so content "" and content [] decode
//     alike.
//   - An assistant "refusal" (the field, or a content part of that type) is
//     kept as text. In a response it also sets [llm.StopRefusal], which is
//     what Anthropic reports for a refusal; encoding StopRefusal writes
//     finish_reason "content_filter" and keeps the text as content.
//   - Usage maps field for field as the dialect contract says:
//     prompt_tokens is InputTokens and prompt_tokens_details.cached_tokens
//     is CacheReadTokens.
package openai

import (
	"strconv"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

const dialect = brightline.DialectOpenAI

// idPrefix starts every chat completion id.
const idPrefix = "chatcmpl-"

// completionID returns the chat completion id for a canonical response id
// (see [PrefixedID]).
func completionID(id string) string { return PrefixedID(idPrefix, id) }

// finishReason returns the OpenAI finish_reason for a stop reason.
func finishReason(r llm.StopReason) string {
	switch r {
	case llm.StopMaxTokens:
		return "length"
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopRefusal:
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn, unknown
		return "stop"
	}
}

// stopReason returns the stop reason for an OpenAI finish_reason. "stop"
// cannot tell a stop sequence from the end of the turn and becomes
// StopEndTurn; so does any reason this package does not know.
func stopReason(fr string) llm.StopReason {
	switch fr {
	case "":
		return ""
	case "length":
		return llm.StopMaxTokens
	case "tool_calls", "function_call":
		return llm.StopToolUse
	case "content_filter":
		return llm.StopRefusal
	default:
		return llm.StopEndTurn
	}
}

// wireUsage is the usage object of responses and stream chunks.
type wireUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *wireUsage) canonical() llm.Usage {
	out := llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CacheReadTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

// appendUsage appends the usage object for u.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, u.InputTokens+u.OutputTokens)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CacheReadTokens)
	return append(b, "}}"...)
}

// wireToolCall is an entry of an assistant message's tool_calls, or of a
// stream delta's (where index is set and the other fields come in pieces).
type wireToolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func appendInt(b []byte, n int) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}
