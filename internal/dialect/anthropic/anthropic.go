// Package anthropic translates the Anthropic Messages API wire format
// (POST /v1/messages) to and from the canonical model in internal/llm.
//
// It serves both sides of the gateway: [DecodeRequest], [EncodeResponse],
// [EncodeModels], [ErrorBody] and [StreamWriter] speak to clients;
// [EncodeRequest], [DecodeResponse], [DecodeError] and [StreamReader] speak
// to providers. Every function works on bytes only: no HTTP, no globals.
//
// # What is kept and what is lost
//
// Decoded values keep the original bytes (Raw), so a same-dialect gateway
// forwards fields this package does not model (cache_control, citations,
// top_k, thinking configuration, ...). When translating, only the canonical
// fields survive. In particular:
//
//   - A "system" given as an array of text blocks is joined with "\n\n".
//   - redacted_thinking blocks are dropped when decoding requests and
//     responses (the canonical model cannot hold their opaque data); in a
//     stream they become [llm.EventOther] frames, like signature_delta.
//   - Request content blocks other than text, image, tool_use, tool_result,
//     thinking and redacted_thinking are rejected: the gateway inspects all
//     content and fails closed on what it cannot model. Which top-level
//     fields, provider-executed tools and anthropic-beta values a client
//     may send is the allow-list's to say: see [Allow].
//   - In responses, server tool blocks (server_tool_use, mcp_tool_use and
//     their results) become [llm.BlockServerToolUse] and
//     [llm.BlockServerToolResult], kept whole in [llm.Opaque]; a block of
//     any other type this package does not know becomes [llm.BlockUnknown],
//     which no encoder writes and the gateway refuses to release.
//   - Stop reasons are carried verbatim, so "refusal", "pause_turn" and
//     newer values reach Anthropic clients unchanged.
package anthropic

import (
	"crypto/rand"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// DefaultMaxTokens is the max_tokens sent upstream when a request does not
// set one (OpenAI clients may omit it; Anthropic requires it).
const DefaultMaxTokens = 4096

// wireBlock is the union of every content block shape this package reads:
// text, image, tool_use, tool_result, thinking and redacted_thinking.
// requestKeys (strict.go) must list every field it decodes.
type wireBlock struct {
	Type       string                `json:"type"`
	Text       string                `json:"text"`
	Source     *wireSource           `json:"source"`
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Input      rawValue              `json:"input"`
	ToolUseID  string                `json:"tool_use_id"`
	Content    wireToolResultContent `json:"content"`
	IsError    bool                  `json:"is_error"`
	Thinking   string                `json:"thinking"`
	Signature  string                `json:"signature"`
	ServerName string                `json:"server_name"`
}

// wireLeaf is a block inside a tool_result. Only text and image blocks are
// allowed there, so its content is not decoded at all, which bounds the
// decoding depth: with a recursive type, every level of a deeply nested
// body would be decoded again by the level above it, taking time quadratic
// in the depth. A *wireLeaf converts to a *wireBlock, so the two must have
// the same fields, which the compiler checks; only the tags differ. (Sharing
// the fields through an embedded struct would cost allocations in
// encoding/json.)
type wireLeaf struct {
	Type       string                `json:"type"`
	Text       string                `json:"text"`
	Source     *wireSource           `json:"source"`
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Input      rawValue              `json:"input"`
	ToolUseID  string                `json:"tool_use_id"`
	Content    wireToolResultContent `json:"-"`
	IsError    bool                  `json:"is_error"`
	Thinking   string                `json:"thinking"`
	Signature  string                `json:"signature"`
	ServerName string                `json:"server_name"`
}

// wireSource is an image source: base64 data or a URL.
type wireSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

// wireUsage is the usage object of messages, message_start and
// message_delta.
type wireUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func (u *wireUsage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{
		InputTokens:         u.InputTokens,
		OutputTokens:        u.OutputTokens,
		CacheReadTokens:     u.CacheReadInputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
	}
}

// messageID returns the Anthropic message id for a canonical id. Ids from
// other dialects get a "msg_" prefix so Anthropic clients see the shape they
// expect; an empty id gets a random one.
func messageID(id string, from brightline.Dialect) string {
	switch {
	case id == "":
		return "msg_" + rand.Text()
	case from == brightline.DialectAnthropic, strings.HasPrefix(id, "msg_"):
		return id
	default:
		return "msg_" + id
	}
}

// stopReason maps a wire stop_reason to the canonical one. The canonical
// names are Anthropic's, so unknown values are kept as they are.
func stopReason(s string) llm.StopReason { return llm.StopReason(s) }
