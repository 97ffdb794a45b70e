// Package llm is the canonical model of a chat request, response and stream.
//
// Every wire format (internal/dialect/...) decodes into these types and
// encodes from them, for the client side and the provider side alike, so
// translating between formats is always "decode A, encode B". The model
// follows the Anthropic Messages shape, which is the richer of the two:
//
//   - System prompts are hoisted into [Request.System]. OpenAI "system" and
//     "developer" messages are concatenated there in order.
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
	Text       string      // BlockText, BlockThinking
	Signature  string      // BlockThinking
	Image      *Image      // BlockImage
	ToolCall   *ToolCall   // BlockToolUse
	ToolResult *ToolResult // BlockToolResult
}

// Image is an image passed through to the model. Exactly one of URL or Data
// is set.
type Image struct {
	MediaType string // e.g. "image/png"; empty for URLs
	Data      string // base64, without a data: prefix
	URL       string // http(s) URL
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

// Tool is a tool the model may call.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage // JSON Schema object; "{"type":"object"}" if absent
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
}

// Add merges u2 into u, keeping the larger of each count. Stream formats
// report usage in pieces (Anthropic) or cumulatively, so max is right for both.
func (u *Usage) Add(u2 Usage) {
	u.InputTokens = max(u.InputTokens, u2.InputTokens)
	u.OutputTokens = max(u.OutputTokens, u2.OutputTokens)
	u.CacheReadTokens = max(u.CacheReadTokens, u2.CacheReadTokens)
	u.CacheCreationTokens = max(u.CacheCreationTokens, u2.CacheCreationTokens)
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
