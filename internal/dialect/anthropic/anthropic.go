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
//   - A "system" given as an array of text blocks is joined with "\n\n",
//     and so are "system" messages inside "messages", after it, in order
//     (the bytes keep them where the client put them).
//   - Documents (base64, url, file, text and content sources) and search
//     results become [llm.BlockDocument] and [llm.BlockSearchResult], their
//     text as text blocks the detectors read; citations keep their wire
//     form with the cited text read out; redacted_thinking keeps its data
//     (in a stream it is an [llm.EventOther] frame, like signature_delta);
//     tool_reference names a tool. Server tool blocks in the conversation's
//     history (a server tool's earlier call and result) are decoded only
//     from a client whose policy allows their kind. Other block types are
//     rejected: the gateway inspects all content and fails closed on what
//     it cannot model. Which top-level fields, provider-executed tools and
//     anthropic-beta values a client may send is the allow-list's to say:
//     see [Allow].
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
	"encoding/json"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// DefaultMaxTokens is the max_tokens sent upstream when a request does not
// set one (OpenAI clients may omit it; Anthropic requires it).
const DefaultMaxTokens = 4096

// wireBlock is the union of every content block shape this package reads:
// text, image, document, search_result, tool_use, tool_result,
// tool_reference, thinking, redacted_thinking and the server tool blocks.
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
	Nested     rawValue              `json:"-"`
	IsError    bool                  `json:"is_error"`
	Thinking   string                `json:"thinking"`
	Signature  string                `json:"signature"`
	ServerName string                `json:"server_name"`
	Data       string                `json:"data"`
	Citations  rawValue              `json:"citations"`
	Title      string                `json:"title"`
	Context    string                `json:"context"`
	ToolName   string                `json:"tool_name"`
}

// wireLeaf is a block inside a tool_result. Its content is not decoded,
// only kept as bytes in Nested (for a search_result, whose content is read
// one level further when needed), which bounds the decoding depth: with a
// recursive type, every level of a deeply nested body would be decoded
// again by the level above it, taking time quadratic in the depth. A
// *wireLeaf converts to a *wireBlock, so the two must have the same
// fields, which the compiler checks; only the tags differ. (Sharing the
// fields through an embedded struct would cost allocations in
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
	Nested     rawValue              `json:"content"`
	IsError    bool                  `json:"is_error"`
	Thinking   string                `json:"thinking"`
	Signature  string                `json:"signature"`
	ServerName string                `json:"server_name"`
	Data       string                `json:"data"`
	Citations  rawValue              `json:"citations"`
	Title      string                `json:"title"`
	Context    string                `json:"context"`
	ToolName   string                `json:"tool_name"`
}

// wireSource is an image or document source (base64 data, a URL, a file,
// plain text or content blocks), or a search result's source, which is a
// string (name).
type wireSource struct {
	Type      string   `json:"type"`
	MediaType string   `json:"media_type"`
	Data      string   `json:"data"`
	URL       string   `json:"url"`
	FileID    string   `json:"file_id"`
	Content   rawValue `json:"content"` // a document's content source, read when needed
	name      string
}

func (s *wireSource) UnmarshalJSON(data []byte) error {
	if firstByte(data) == '"' {
		return json.Unmarshal(data, &s.name)
	}
	type plain wireSource
	return json.Unmarshal(data, (*plain)(s))
}

// wireUsage is the usage object of messages, message_start and
// message_delta.
type wireUsage struct {
	InputTokens              int    `json:"input_tokens"`
	OutputTokens             int    `json:"output_tokens"`
	CacheCreationInputTokens int    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int    `json:"cache_read_input_tokens"`
	ServiceTier              string `json:"service_tier"`
	CacheCreation            *struct {
		Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServerToolUse *struct {
		WebSearchRequests int `json:"web_search_requests"`
		WebFetchRequests  int `json:"web_fetch_requests"`
	} `json:"server_tool_use"`
}

func (u *wireUsage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	out := &llm.Usage{
		InputTokens:         u.InputTokens,
		OutputTokens:        u.OutputTokens,
		CacheReadTokens:     u.CacheReadInputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
		ServiceTier:         u.ServiceTier,
	}
	if c := u.CacheCreation; c != nil {
		out.CacheCreation5m, out.CacheCreation1h = c.Ephemeral5m, c.Ephemeral1h
	}
	if st := u.ServerToolUse; st != nil {
		out.WebSearchRequests, out.WebFetchRequests = st.WebSearchRequests, st.WebFetchRequests
	}
	return out
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
