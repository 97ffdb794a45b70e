package exposure

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
	VendorAnthropic: {
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
	VendorOpenAI: {
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
	VendorGoogle: {
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
	VendorXAI: {
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
