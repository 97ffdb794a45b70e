// Package llm is the canonical model of a chat request, response and stream.
//
// Every wire format (internal/dialect/...) decodes into these types and
// encodes from them, for the client side and the provider side alike, so
// translating between formats is always "decode A, encode B". The model
// follows the Anthropic Messages shape, which is the richer of the two:
//
//   - System prompts are hoisted into [Request.System]. OpenAI "system" and
//     "developer" messages, and Anthropic "system" messages inside
//     "messages", are concatenated there in order.
//   - Tool results are [BlockToolResult] blocks in a [RoleUser] message.
//     OpenAI "tool" messages become such blocks, and consecutive ones share
//     one message; the OpenAI encoder splits them out again.
//   - Tool calls are [BlockToolUse] blocks in a [RoleAssistant] message.
//
// Values decoded from a wire format keep the original bytes ([Request.Raw],
// [Response.Raw], [StreamEvent.Raw]) so that when client and provider speak
// the same dialect the gateway can forward them unchanged.
package llm

import (
	"encoding/json"

	"github.com/brightline/brightline"
)

// Role is the author of a message.
type Role string

// Roles. There is no system role: system prompts live in Request.System.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// BlockType says which fields of a Block are set.
type BlockType string

// Block types.
const (
	BlockText       BlockType = "text"        // Text
	BlockImage      BlockType = "image"       // Image
	BlockToolUse    BlockType = "tool_use"    // ToolCall
	BlockToolResult BlockType = "tool_result" // ToolResult
	BlockThinking   BlockType = "thinking"    // Text (and Signature); Anthropic extended thinking

	// BlockRedactedThinking is thinking the provider encrypted: Signature
	// holds its opaque data. Only Anthropic encodes it; others skip it.
	BlockRedactedThinking BlockType = "redacted_thinking"
	// BlockDocument is a document given to the model (Anthropic document
	// blocks): Document.
	BlockDocument BlockType = "document"
	// BlockSearchResult is a search result the caller supplies (Anthropic
	// search_result blocks): Document, with Source its URL or origin and
	// Content its text blocks.
	BlockSearchResult BlockType = "search_result"
	// BlockToolReference names a tool whose definition the model should
	// load (Anthropic tool_reference, in a tool result): Text is the tool
	// name.
	BlockToolReference BlockType = "tool_reference"

	// BlockServerToolUse is a tool the provider ran itself (Anthropic
	// server_tool_use, mcp_tool_use): ToolCall and Opaque. It is in the
	// answer only because the request enabled a server tool, which policy
	// must allow; the call has already run when the gateway sees it.
	BlockServerToolUse BlockType = "server_tool_use"
	// BlockServerToolResult is the result of a server tool
	// (web_search_tool_result, mcp_tool_result, ...): Opaque.
	BlockServerToolResult BlockType = "server_tool_result"
	// BlockUnknown is a content block of a type the gateway does not know:
	// Opaque, with Kind empty. It is never released to a client.
	BlockUnknown BlockType = "unknown"
)

// Request is a chat request in canonical form.
type Request struct {
	Model       string
	System      string // all system/developer text, joined with "\n\n"
	Messages    []Message
	Tools       []Tool
	ToolChoice  *ToolChoice // nil: provider default
	MaxTokens   int         // 0: unset (OpenAI) — the Anthropic encoder supplies a default
	Temperature *float64
	TopP        *float64
	Stop        []string
	Stream      bool
	// IncludeUsage is OpenAI's stream_options.include_usage: the client wants
	// a final usage chunk. Anthropic streams always carry usage.
	IncludeUsage bool
	User         string // end-user id for abuse tracking (OpenAI user, Anthropic metadata.user_id)

	// ExtraFields names the top-level fields of Raw the canonical model
	// does not hold but the dialect's allow-list or the signed policy let
	// through (service_tier, prediction, mcp_servers, ...), in body order,
	// and "tools[N]" for a provider-executed tool definition. They reach a
	// provider only with Raw: a request re-encoded from the canonical
	// fields (translated, or redacted) goes without them.
	ExtraFields []string
	// ExtraText is every string value found under ExtraFields, in order.
	// The decider inspects it with the rest of the request's text, so a
	// roster in OpenAI's prediction.content is counted. Changing it changes
	// nothing that is sent: redaction drops Raw, and with it the fields.
	ExtraText []string

	// Raw is the body this request was decoded from, and Dialect its format.
	// Both are empty for requests built in code.
	Raw     []byte
	Dialect brightline.Dialect
}

// Message is one turn of the conversation.
type Message struct {
	Role    Role
	Content []Block
}

// Block is one piece of message content. Type says which field is set.
type Block struct {
	Type       BlockType
	Text       string      // BlockText, BlockThinking, BlockToolReference
	Signature  string      // BlockThinking, BlockRedactedThinking
	Image      *Image      // BlockImage
	ToolCall   *ToolCall   // BlockToolUse
	ToolResult *ToolResult // BlockToolResult
	Opaque     *Opaque     // BlockServerToolUse, BlockServerToolResult, BlockUnknown
	Document   *Document   // BlockDocument, BlockSearchResult
	// Citations are the sources a BlockText answer cites (Anthropic
	// citations). Their cited text is inspected like any other.
	Citations []Citation
}

// Document is a document or search result given to the model. Its text is
// in Content as text blocks (a plain-text document is one block); a
// binary document (a PDF) has Data or URL or FileID instead.
type Document struct {
	Title   string
	Context string // a document's context field
	Source  string // a search result's source (a URL or other origin)
	Content []Block
	// MediaType, Data (base64), URL and FileID locate a document whose
	// content is not text: at most one of Data, URL and FileID is set.
	MediaType string
	Data      string
	URL       string
	FileID    string
	// Citations is true when the client asked for citations of it.
	Citations bool
}

// Citation is one source a text block cites.
type Citation struct {
	// CitedText is the text cited, as the wire gives it.
	CitedText string
	// Raw is the citation's wire form, for the dialect that decoded it;
	// an encoder writes it with cited_text set to CitedText.
	Raw json.RawMessage
}

// Server tool kinds, as the signed policy's allow.server_tools names them.
const (
	ServerToolWebSearch     = "web_search"
	ServerToolWebFetch      = "web_fetch"
	ServerToolCodeExecution = "code_execution"
	ServerToolMCP           = "mcp"
)

// Opaque is a response block the canonical model does not read, kept as
// the provider sent it so that the same dialect can encode it again.
type Opaque struct {
	// WireType is the block's type on the wire: "mcp_tool_use",
	// "web_search_tool_result", or an unknown one.
	WireType string
	// Kind is the server tool kind (ServerToolWebSearch, ...), empty for
	// a BlockUnknown.
	Kind string
	// Server is the MCP server that ran the tool (mcp_tool_use,
	// mcp_tool_result), if the wire says.
	Server string
	// CallID is, for a result, the id of the tool use it answers.
	CallID string
	// Raw is the block's JSON as the provider sent it. In a stream it is
	// the content_block of content_block_start; a server tool use's input
	// then follows in EventToolDelta events.
	Raw json.RawMessage
}

// Image is an image passed through to the model. Exactly one of URL, Data
// or FileID is set.
type Image struct {
	MediaType string // e.g. "image/png"; empty for URLs
	Data      string // base64, without a data: prefix
	URL       string // http(s) URL
	FileID    string // a file uploaded to the provider (Anthropic Files API)
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage // a JSON object; "{}" when the model gave none
}

// ToolResult is the caller's answer to a ToolCall.
type ToolResult struct {
	CallID  string
	Content []Block // text and image blocks
	IsError bool
}

// Tool is a tool the model may call. The client runs it and returns its
// result: provider-executed tools are not Tools (see Request.ExtraFields).
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage // JSON Schema object; "{"type":"object"}" if absent
	// Type is "" for a tool the client defines (a function, an Anthropic
	// custom tool). Otherwise it is the type of a tool the provider
	// defines and the client runs, such as Anthropic's "bash_20250124":
	// its calls are ordinary tool_use blocks, decided like any other, and
	// Definition holds its wire definition, which only that dialect can
	// encode.
	Type       string
	Definition json.RawMessage
}

// ToolChoiceMode says how the model may use tools.
type ToolChoiceMode string

// Tool choice modes. OpenAI "required" is ToolChoiceAny.
const (
	ToolChoiceAuto ToolChoiceMode = "auto"
	ToolChoiceNone ToolChoiceMode = "none"
	ToolChoiceAny  ToolChoiceMode = "any"
	ToolChoiceTool ToolChoiceMode = "tool" // Name is set
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
	// DisableParallel is Anthropic's disable_parallel_tool_use and the
	// inverse of OpenAI's parallel_tool_calls.
	DisableParallel bool
}

// StopReason is why the model stopped.
type StopReason string

// Stop reasons, with their wire equivalents.
const (
	StopEndTurn   StopReason = "end_turn"      // OpenAI "stop"
	StopMaxTokens StopReason = "max_tokens"    // OpenAI "length"
	StopSequence  StopReason = "stop_sequence" // OpenAI "stop"
	StopToolUse   StopReason = "tool_use"      // OpenAI "tool_calls"
	StopRefusal   StopReason = "refusal"       // OpenAI "content_filter"
	StopPauseTurn StopReason = "pause_turn"    // Anthropic only; OpenAI "stop"
)

// Usage counts tokens. Zero means unknown or none.
type Usage struct {
	InputTokens         int
	OutputTokens        int
	CacheReadTokens     int // Anthropic cache_read_input_tokens, OpenAI prompt_tokens_details.cached_tokens
	CacheCreationTokens int // Anthropic cache_creation_input_tokens
	// CacheCreation5m and CacheCreation1h split CacheCreationTokens by
	// cache lifetime (Anthropic cache_creation).
	CacheCreation5m int
	CacheCreation1h int
	// WebSearchRequests and WebFetchRequests count server tool requests
	// (Anthropic server_tool_use).
	WebSearchRequests int
	WebFetchRequests  int
	// ServiceTier is the capacity that served the request ("standard",
	// "priority", "batch"), if the provider says.
	ServiceTier string
}

// Add merges u2 into u, keeping the larger of each count. Stream formats
// report usage in pieces (Anthropic) or cumulatively, so max is right for both.
func (u *Usage) Add(u2 Usage) {
	u.InputTokens = max(u.InputTokens, u2.InputTokens)
	u.OutputTokens = max(u.OutputTokens, u2.OutputTokens)
	u.CacheReadTokens = max(u.CacheReadTokens, u2.CacheReadTokens)
	u.CacheCreationTokens = max(u.CacheCreationTokens, u2.CacheCreationTokens)
	u.CacheCreation5m = max(u.CacheCreation5m, u2.CacheCreation5m)
	u.CacheCreation1h = max(u.CacheCreation1h, u2.CacheCreation1h)
	u.WebSearchRequests = max(u.WebSearchRequests, u2.WebSearchRequests)
	u.WebFetchRequests = max(u.WebFetchRequests, u2.WebFetchRequests)
	if u2.ServiceTier != "" {
		u.ServiceTier = u2.ServiceTier
	}
}

// Response is a complete (non-streamed) model answer.
type Response struct {
	ID           string
	Model        string
	Content      []Block // text, thinking and tool_use blocks, in order
	StopReason   StopReason
	StopSequence string // the sequence that matched, when StopReason is StopSequence
	Usage        Usage

	// Raw is the body this response was decoded from, and Dialect its format.
	Raw     []byte
	Dialect brightline.Dialect
}

// Model describes one model the gateway serves, for GET /v1/models.
type Model struct {
	ID      string
	OwnedBy string // the provider of the route's first target
	Created int64  // Unix seconds
}
