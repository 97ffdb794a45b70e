// Package exposure answers, for the traffic side, how deeply an AI vendor is
// embedded in an organisation's operations. Rehearsing a move off it is
// internal/transition's.
//
// The gateway sees every call, so it records for each one a [Use]: who
// called, which route (the model name asked for), which provider and model
// served it, its tokens, and the features it relied on that matter when
// moving to another provider ([FeaturesOf]). A [Recorder] aggregates uses in
// memory per principal, route, provider, model and hour, and writes the
// aggregates to a [store.Exposure] periodically; recording never waits for
// storage.
//
// # Reports
//
// [Report] turns the aggregates into one row per principal, provider and
// model: requests, tokens, first and last use, the routes, the features and
// whether the route has a configured target at another vendor to move to.
// [vendor.Of] names the vendor behind a provider and model. The same report
// is served as JSON by [Handler] (GET /brightline/v1/exposure), printed by
// brightline exposure (cmd/brightline) and shown on the console.

package exposure

import (
	"bytes"
	"slices"
	"time"

	"github.com/brightline/brightline/internal/llm"
)

// Use is one request served through the gateway, as the exposure inventory
// sees it. It holds no content.
type Use struct {
	PrincipalID   string
	PrincipalName string
	Route         string // the model name the client asked for
	Provider      string // the configured name of the provider that served it
	ProviderType  string // anthropic, openai, openai-compatible or simulated
	Model         string // the model the provider served
	InputTokens   int64
	OutputTokens  int64
	Features      []string // see FeaturesOf
	At            time.Time
}

// Features a request can use that matter when moving it to another
// provider. [FeaturesOf] reports them in this order.
const (
	FeatureTools         = "tools"               // tools declared, or tool calls and results in the conversation
	FeatureToolChoice    = "tool_choice"         // the caller forces tool use (any, or a named tool)
	FeatureParallelTools = "parallel_tool_calls" // an assistant turn holds more than one tool call
	FeatureImages        = "images"              // image input
	FeatureStreaming     = "streaming"           // a streamed answer
	FeatureSystem        = "system"              // a system (or developer) prompt
	FeatureThinking      = "thinking"            // extended thinking or reasoning: configured, or thinking blocks in the conversation
	FeaturePromptCaching = "prompt_caching"      // Anthropic cache_control breakpoints
	FeatureJSONMode      = "json_mode"           // OpenAI response_format (JSON mode or structured outputs)
	FeatureStopSequences = "stop_sequences"      // custom stop sequences
	FeatureTopK          = "top_k"               // Anthropic top_k sampling
	FeatureLogprobs      = "logprobs"            // OpenAI logprobs
	FeatureSeed          = "seed"                // OpenAI seed for reproducible sampling
)

// AllFeatures lists every feature [FeaturesOf] can report, in its order.
var AllFeatures = []string{
	FeatureTools, FeatureToolChoice, FeatureParallelTools, FeatureImages, FeatureStreaming, FeatureSystem,
	FeatureThinking, FeaturePromptCaching, FeatureJSONMode, FeatureStopSequences, FeatureTopK,
	FeatureLogprobs, FeatureSeed,
}

// FeaturesOf returns the features req uses, in the order of [AllFeatures].
//
// Most come from the canonical request. The canonical model does not hold
// thinking configuration, cache_control, response_format, top_k, logprobs or
// seed, so those are found in req.Raw, the client's own bytes, by looking
// for the field's key ("name" followed by a colon). That can over-report (a
// tool's schema with a property named "seed" counts as seed) but never
// misses the wire form, which is the safe direction for a transition plan.
// Document, file, audio and server-tool inputs need no check: the dialect
// decoders reject them, so no such request reaches a provider.
func FeaturesOf(req *llm.Request) []string {
	var (
		tools, parallel, images, thinking bool
	)
	tools = len(req.Tools) > 0
	for _, m := range req.Messages {
		calls := 0
		for _, b := range m.Content {
			switch b.Type {
			case llm.BlockToolUse:
				tools = true
				calls++
			case llm.BlockToolResult:
				tools = true
				if b.ToolResult != nil && slices.ContainsFunc(b.ToolResult.Content, func(c llm.Block) bool { return c.Type == llm.BlockImage }) {
					images = true
				}
			case llm.BlockImage:
				images = true
			case llm.BlockThinking:
				thinking = true
			}
		}
		if calls > 1 {
			parallel = true
		}
	}
	keys := rawKeys(req.Raw)
	thinking = thinking || keys&(keyThinking|keyReasoningEffort) != 0
	out := make([]string, 0, 8)
	add := func(ok bool, f string) {
		if ok {
			out = append(out, f)
		}
	}
	add(tools, FeatureTools)
	add(req.ToolChoice != nil && (req.ToolChoice.Mode == llm.ToolChoiceAny || req.ToolChoice.Mode == llm.ToolChoiceTool), FeatureToolChoice)
	add(parallel, FeatureParallelTools)
	add(images, FeatureImages)
	add(req.Stream, FeatureStreaming)
	add(req.System != "", FeatureSystem)
	add(thinking, FeatureThinking)
	add(keys&keyCacheControl != 0, FeaturePromptCaching)
	add(keys&keyResponseFormat != 0, FeatureJSONMode)
	add(len(req.Stop) > 0, FeatureStopSequences)
	add(keys&keyTopK != 0, FeatureTopK)
	add(keys&keyLogprobs != 0, FeatureLogprobs)
	add(keys&keySeed != 0, FeatureSeed)
	return out
}

// The raw-body keys FeaturesOf looks for, as bits.
const (
	keyThinking = 1 << iota
	keyReasoningEffort
	keyCacheControl
	keyResponseFormat
	keyTopK
	keyLogprobs
	keySeed
)

// maxKeyLen is the length of the longest key rawKeys looks for.
const maxKeyLen = len("reasoning_effort")

// rawKeys reports which of the keys FeaturesOf needs appear in raw JSON as
// an object key anywhere: the quoted name followed, after optional white
// space, by a colon. It makes one pass over raw, from colon to colon. A
// quoted string inside a JSON string has its quotes escaped, so text that
// merely mentions a key does not count.
func rawKeys(raw []byte) int {
	found := 0
	for off := 0; ; {
		i := bytes.IndexByte(raw[off:], ':')
		if i < 0 {
			return found
		}
		i += off
		off = i + 1
		j := i - 1
		for j >= 0 && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
			j--
		}
		// raw[j] must be the closing quote of a key, not an escaped quote.
		if j < 1 || raw[j] != '"' || raw[j-1] == '\\' {
			continue
		}
		lo := max(0, j-maxKeyLen-1)
		k := bytes.LastIndexByte(raw[lo:j], '"')
		if k < 0 {
			continue
		}
		k += lo
		if k > 0 && raw[k-1] == '\\' {
			continue
		}
		switch string(raw[k+1 : j]) {
		case "thinking":
			found |= keyThinking
		case "reasoning_effort":
			found |= keyReasoningEffort
		case "cache_control":
			found |= keyCacheControl
		case "response_format":
			found |= keyResponseFormat
		case "top_k":
			found |= keyTopK
		case "logprobs", "top_logprobs":
			found |= keyLogprobs
		case "seed":
			found |= keySeed
		}
	}
}
