package transition

import (
	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/vendor"
)

// Support says how well a vendor serves a feature through Brightline.
type Support string

// Levels of support. Rehearse blocks a move on Missing and Unknown, and notes
// Differs.
const (
	Supported Support = "supported" // works the same, as far as a client can tell
	Differs   Support = "differs"   // works, with different semantics, limits or costs
	Missing   Support = "missing"   // the vendor's API, or Brightline's translation to it, lacks it
	Unknown   Support = "unknown"   // no data: find out with shadow traffic before moving
)

// Capability is one vendor's support for one feature, with why.
type Capability struct {
	Support Support `json:"support"`
	Note    string  `json:"note,omitempty"`
}

// Capabilities says how each vendor serves each feature of [exposure.AllFeatures]
// as a move target through Brightline: Anthropic through the Messages API,
// every other vendor through the OpenAI Chat Completions API (their own or
// an openai-compatible one). A move between dialects keeps only what the
// canonical model holds (see internal/llm), which is why some features
// read as missing even where the vendor has a counterpart under another
// name. Vendors and features not listed are [Unknown].
//
// It is written to be conservative and should be updated as vendors and
// Brightline's translations change; a shadow run is the real test.
var Capabilities = map[string]map[string]Capability{
	vendor.Anthropic: {
		exposure.FeatureTools:         {Supported, ""},
		exposure.FeatureToolChoice:    {Supported, ""},
		exposure.FeatureParallelTools: {Supported, ""},
		exposure.FeatureImages:        {Supported, ""},
		exposure.FeatureStreaming:     {Supported, ""},
		exposure.FeatureSystem:        {Supported, ""},
		exposure.FeatureThinking:      {Supported, "extended thinking with signed thinking blocks"},
		exposure.FeaturePromptCaching: {Supported, "explicit cache_control breakpoints"},
		exposure.FeatureJSONMode:      {Missing, "response_format does not cross into the Messages API; Anthropic structured outputs use other fields"},
		exposure.FeatureStopSequences: {Supported, ""},
		exposure.FeatureTopK:          {Supported, ""},
		exposure.FeatureLogprobs:      {Missing, "the Messages API returns no log probabilities"},
		exposure.FeatureSeed:          {Missing, "the Messages API has no seed"},
	},
	vendor.OpenAI: {
		exposure.FeatureTools:         {Supported, ""},
		exposure.FeatureToolChoice:    {Supported, ""},
		exposure.FeatureParallelTools: {Supported, ""},
		exposure.FeatureImages:        {Supported, ""},
		exposure.FeatureStreaming:     {Supported, ""},
		exposure.FeatureSystem:        {Supported, ""},
		exposure.FeatureThinking:      {Missing, "Chat Completions returns no thinking blocks, and thinking configuration does not cross dialects; reasoning models keep their reasoning hidden"},
		exposure.FeaturePromptCaching: {Differs, "OpenAI caches long prompt prefixes automatically; cache_control breakpoints and TTLs are dropped, so cost and latency change"},
		exposure.FeatureJSONMode:      {Supported, ""},
		exposure.FeatureStopSequences: {Differs, "at most 4 stop sequences, and reasoning models reject stop"},
		exposure.FeatureTopK:          {Missing, "Chat Completions has no top_k"},
		exposure.FeatureLogprobs:      {Supported, ""},
		exposure.FeatureSeed:          {Supported, "best effort"},
	},
	vendor.Google: {
		exposure.FeatureTools:         {Supported, "through Gemini's OpenAI-compatible API"},
		exposure.FeatureToolChoice:    {Supported, ""},
		exposure.FeatureParallelTools: {Unknown, "not verified through the OpenAI-compatible API"},
		exposure.FeatureImages:        {Supported, ""},
		exposure.FeatureStreaming:     {Supported, ""},
		exposure.FeatureSystem:        {Supported, ""},
		exposure.FeatureThinking:      {Missing, "thinking blocks do not cross into the OpenAI-compatible API"},
		exposure.FeaturePromptCaching: {Differs, "implicit caching, or Gemini's separate context-caching API; cache_control is dropped"},
		exposure.FeatureJSONMode:      {Supported, ""},
		exposure.FeatureStopSequences: {Supported, ""},
		exposure.FeatureTopK:          {Missing, "not in the OpenAI-compatible API"},
		exposure.FeatureLogprobs:      {Unknown, ""},
		exposure.FeatureSeed:          {Unknown, ""},
	},
	// Amazon's own models (Nova, Titan) are reached through Bedrock's
	// Converse API, which Brightline translates to and from the canonical
	// model.
	vendor.Amazon: {
		exposure.FeatureTools:         {Supported, "through Bedrock Converse"},
		exposure.FeatureToolChoice:    {Differs, "Converse has auto, any and a named tool, but no \"none\": tools stay offered"},
		exposure.FeatureParallelTools: {Unknown, "not verified through Converse"},
		exposure.FeatureImages:        {Differs, "image data only (png, jpeg, gif, webp); images by URL are refused"},
		exposure.FeatureStreaming:     {Supported, "ConverseStream"},
		exposure.FeatureSystem:        {Supported, ""},
		exposure.FeatureThinking:      {Missing, "thinking blocks and configuration do not cross into Converse"},
		exposure.FeaturePromptCaching: {Missing, "Converse cache points are not mapped; cache_control is dropped"},
		exposure.FeatureJSONMode:      {Missing, "response_format does not cross into Converse"},
		exposure.FeatureStopSequences: {Supported, ""},
		exposure.FeatureTopK:          {Missing, "top_k is not mapped into Converse"},
		exposure.FeatureLogprobs:      {Missing, "Converse returns no log probabilities"},
		exposure.FeatureSeed:          {Missing, "Converse has no seed"},
	},
	vendor.XAI: {
		exposure.FeatureTools:         {Supported, ""},
		exposure.FeatureToolChoice:    {Supported, ""},
		exposure.FeatureParallelTools: {Supported, ""},
		exposure.FeatureImages:        {Differs, "only grok models with vision accept images"},
		exposure.FeatureStreaming:     {Supported, ""},
		exposure.FeatureSystem:        {Supported, ""},
		exposure.FeatureThinking:      {Missing, "thinking blocks do not cross into the OpenAI-compatible API"},
		exposure.FeaturePromptCaching: {Differs, "automatic caching; cache_control is dropped"},
		exposure.FeatureJSONMode:      {Supported, ""},
		exposure.FeatureStopSequences: {Unknown, "reasoning models may reject stop"},
		exposure.FeatureTopK:          {Missing, "not in the OpenAI-compatible API"},
		exposure.FeatureLogprobs:      {Unknown, ""},
		exposure.FeatureSeed:          {Unknown, ""},
	},
}

// CapabilityOf returns vendor's support for feature, [Unknown] when the
// table has no entry.
func CapabilityOf(vendor, feature string) Capability {
	if c, ok := Capabilities[vendor][feature]; ok {
		return c
	}
	return Capability{Support: Unknown, Note: "no capability data for " + vendor}
}

// Features that depend on where a vendor's models are hosted rather than on
// the model, for [HostCapabilities]. The traffic inventory does not record
// them per request.
const (
	FeatureCountTokens = "count_tokens"   // POST /v1/messages/count_tokens
	FeatureBetas       = "anthropic_beta" // anthropic-beta features
	FeatureServerTools = "server_tools"   // tools the provider runs (web search, code execution, MCP connector)
)

// HostCapabilities says how a provider type that hosts another vendor's
// models differs from that vendor's own API, for the features where it
// does: Anthropic's models on Amazon Bedrock ("bedrock") and on Google
// Vertex AI ("vertex"). The models and the Messages body are the same, so
// every other feature is as in Capabilities[vendor.Anthropic].
var HostCapabilities = map[string]map[string]Capability{
	"bedrock": {
		FeatureCountTokens:            {Missing, "Brightline's bedrock provider serves no count_tokens"},
		FeatureBetas:                  {Differs, "Brightline moves anthropic-beta into the body's anthropic_beta; Bedrock accepts only some betas, and later than Anthropic's API"},
		FeatureServerTools:            {Missing, "web search, web fetch, code execution and the MCP connector are Anthropic API features, not offered on Bedrock's InvokeModel"},
		exposure.FeaturePromptCaching: {Differs, "available for some Claude models and regions only, with Bedrock's own pricing"},
	},
	"vertex": {
		FeatureCountTokens:            {Missing, "Brightline's vertex provider serves no count_tokens"},
		FeatureBetas:                  {Differs, "anthropic-beta is forwarded, but Vertex accepts only some betas, and later than Anthropic's API"},
		FeatureServerTools:            {Differs, "only some server tools are offered on Vertex; check the model's Vertex documentation"},
		exposure.FeaturePromptCaching: {Differs, "supported, with Google's pricing and regional availability"},
	},
}

// CapabilityVia returns vendor v's support for feature when its models are
// served by a provider of type providerType: the host's difference from
// [HostCapabilities] if it has one for the feature, else [CapabilityOf]
// (or, for a host-only feature, Supported).
func CapabilityVia(v, providerType, feature string) Capability {
	if c, ok := HostCapabilities[providerType][feature]; ok && v == vendor.Anthropic {
		return c
	}
	switch feature {
	case FeatureCountTokens, FeatureBetas, FeatureServerTools:
		if v == vendor.Anthropic {
			return Capability{Support: Supported}
		}
	}
	return CapabilityOf(v, feature)
}
