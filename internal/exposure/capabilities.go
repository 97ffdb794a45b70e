package exposure

import "github.com/brightline/brightline/internal/vendor"

// Support says how well a vendor serves a feature through Brightline.
type Support string

// Levels of support. Plan blocks a move on Missing and Unknown, and notes
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

// Capabilities says how each vendor serves each feature of [AllFeatures]
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
		FeatureTools:         {Supported, ""},
		FeatureToolChoice:    {Supported, ""},
		FeatureParallelTools: {Supported, ""},
		FeatureImages:        {Supported, ""},
		FeatureStreaming:     {Supported, ""},
		FeatureSystem:        {Supported, ""},
		FeatureThinking:      {Supported, "extended thinking with signed thinking blocks"},
		FeaturePromptCaching: {Supported, "explicit cache_control breakpoints"},
		FeatureJSONMode:      {Missing, "response_format does not cross into the Messages API; Anthropic structured outputs use other fields"},
		FeatureStopSequences: {Supported, ""},
		FeatureTopK:          {Supported, ""},
		FeatureLogprobs:      {Missing, "the Messages API returns no log probabilities"},
		FeatureSeed:          {Missing, "the Messages API has no seed"},
	},
	vendor.OpenAI: {
		FeatureTools:         {Supported, ""},
		FeatureToolChoice:    {Supported, ""},
		FeatureParallelTools: {Supported, ""},
		FeatureImages:        {Supported, ""},
		FeatureStreaming:     {Supported, ""},
		FeatureSystem:        {Supported, ""},
		FeatureThinking:      {Missing, "Chat Completions returns no thinking blocks, and thinking configuration does not cross dialects; reasoning models keep their reasoning hidden"},
		FeaturePromptCaching: {Differs, "OpenAI caches long prompt prefixes automatically; cache_control breakpoints and TTLs are dropped, so cost and latency change"},
		FeatureJSONMode:      {Supported, ""},
		FeatureStopSequences: {Differs, "at most 4 stop sequences, and reasoning models reject stop"},
		FeatureTopK:          {Missing, "Chat Completions has no top_k"},
		FeatureLogprobs:      {Supported, ""},
		FeatureSeed:          {Supported, "best effort"},
	},
	vendor.Google: {
		FeatureTools:         {Supported, "through Gemini's OpenAI-compatible API"},
		FeatureToolChoice:    {Supported, ""},
		FeatureParallelTools: {Unknown, "not verified through the OpenAI-compatible API"},
		FeatureImages:        {Supported, ""},
		FeatureStreaming:     {Supported, ""},
		FeatureSystem:        {Supported, ""},
		FeatureThinking:      {Missing, "thinking blocks do not cross into the OpenAI-compatible API"},
		FeaturePromptCaching: {Differs, "implicit caching, or Gemini's separate context-caching API; cache_control is dropped"},
		FeatureJSONMode:      {Supported, ""},
		FeatureStopSequences: {Supported, ""},
		FeatureTopK:          {Missing, "not in the OpenAI-compatible API"},
		FeatureLogprobs:      {Unknown, ""},
		FeatureSeed:          {Unknown, ""},
	},
	// Amazon's own models (Nova, Titan) are reached through Bedrock's
	// Converse API, which Brightline translates to and from the canonical
	// model.
	vendor.Amazon: {
		FeatureTools:         {Supported, "through Bedrock Converse"},
		FeatureToolChoice:    {Differs, "Converse has auto, any and a named tool, but no \"none\": tools stay offered"},
		FeatureParallelTools: {Unknown, "not verified through Converse"},
		FeatureImages:        {Differs, "image data only (png, jpeg, gif, webp); images by URL are refused"},
		FeatureStreaming:     {Supported, "ConverseStream"},
		FeatureSystem:        {Supported, ""},
		FeatureThinking:      {Missing, "thinking blocks and configuration do not cross into Converse"},
		FeaturePromptCaching: {Missing, "Converse cache points are not mapped; cache_control is dropped"},
		FeatureJSONMode:      {Missing, "response_format does not cross into Converse"},
		FeatureStopSequences: {Supported, ""},
		FeatureTopK:          {Missing, "top_k is not mapped into Converse"},
		FeatureLogprobs:      {Missing, "Converse returns no log probabilities"},
		FeatureSeed:          {Missing, "Converse has no seed"},
	},
	vendor.XAI: {
		FeatureTools:         {Supported, ""},
		FeatureToolChoice:    {Supported, ""},
		FeatureParallelTools: {Supported, ""},
		FeatureImages:        {Differs, "only grok models with vision accept images"},
		FeatureStreaming:     {Supported, ""},
		FeatureSystem:        {Supported, ""},
		FeatureThinking:      {Missing, "thinking blocks do not cross into the OpenAI-compatible API"},
		FeaturePromptCaching: {Differs, "automatic caching; cache_control is dropped"},
		FeatureJSONMode:      {Supported, ""},
		FeatureStopSequences: {Unknown, "reasoning models may reject stop"},
		FeatureTopK:          {Missing, "not in the OpenAI-compatible API"},
		FeatureLogprobs:      {Unknown, ""},
		FeatureSeed:          {Unknown, ""},
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
		FeatureCountTokens:   {Missing, "Brightline's bedrock provider serves no count_tokens"},
		FeatureBetas:         {Differs, "Brightline moves anthropic-beta into the body's anthropic_beta; Bedrock accepts only some betas, and later than Anthropic's API"},
		FeatureServerTools:   {Missing, "web search, web fetch, code execution and the MCP connector are Anthropic API features, not offered on Bedrock's InvokeModel"},
		FeaturePromptCaching: {Differs, "available for some Claude models and regions only, with Bedrock's own pricing"},
	},
	"vertex": {
		FeatureCountTokens:   {Missing, "Brightline's vertex provider serves no count_tokens"},
		FeatureBetas:         {Differs, "anthropic-beta is forwarded, but Vertex accepts only some betas, and later than Anthropic's API"},
		FeatureServerTools:   {Differs, "only some server tools are offered on Vertex; check the model's Vertex documentation"},
		FeaturePromptCaching: {Differs, "supported, with Google's pricing and regional availability"},
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
