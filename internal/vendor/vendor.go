// Package vendor is the identity of AI vendors: their names, the API hosts
// they run and the models they make, and [Of], which names the vendor
// behind a provider and model. It is the one place these facts are
// written: the traffic inventory (internal/exposure) reports vendors by
// [Of], and the code scanner's profiles (internal/scan/profiles) are named
// after these vendors and tested to attribute their hosts and model ids as
// [Of] does.
package vendor

import (
	"net"
	"net/url"
	"strings"
)

// Vendors [Of] names. Any other answer is the name of a hosting service
// that runs open-weight models behind an openai-compatible API (together,
// groq, …), or Unknown.
const (
	Anthropic  = "anthropic"
	OpenAI     = "openai"
	Google     = "google"
	XAI        = "xai"
	Meta       = "meta"
	Mistral    = "mistral"
	DeepSeek   = "deepseek"
	Amazon     = "amazon" // Nova and Titan, on Bedrock
	SelfHosted = "self-hosted"
	Simulated  = "simulated"
	Unknown    = "unknown"
)

// hostVendors maps API host suffixes to the vendor that runs them, for
// openai-compatible providers. A host matches a suffix when it equals it
// or ends with "." followed by it.
var hostVendors = []struct{ suffix, vendor string }{
	{"api.anthropic.com", Anthropic},
	{"api.openai.com", OpenAI},
	{"openai.azure.com", "azure-openai"},
	{"api.x.ai", XAI},
	{"generativelanguage.googleapis.com", Google},
	{"aiplatform.googleapis.com", Google},
	{"api.mistral.ai", Mistral},
	{"api.deepseek.com", DeepSeek},
	{"api.together.xyz", "together"},
	{"api.together.ai", "together"},
	{"api.fireworks.ai", "fireworks"},
	{"api.groq.com", "groq"},
	{"api.cerebras.ai", "cerebras"},
	{"api.perplexity.ai", "perplexity"},
	{"openrouter.ai", "openrouter"},
	{"api.cohere.com", "cohere"},
	{"api.cohere.ai", "cohere"},
	{"api.llama.com", Meta},
}

// modelVendors maps model name prefixes to the vendor that makes the model,
// for when the host does not say (a router, a self-hosted server).
// closed marks closed-weight families: they run only on the maker's or its
// resellers' servers. Earlier entries win, so open-weight families of a
// closed-weight maker (gpt-oss, gemma) come first.
var modelVendors = []struct {
	prefix, vendor string
	closed         bool
}{
	{"gpt-oss", OpenAI, false},
	{"gemma", Google, false},
	{"claude", Anthropic, true},
	{"anthropic.claude", Anthropic, true}, // Bedrock ids
	{"gpt-", OpenAI, true},
	{"chatgpt-", OpenAI, true},
	{"o1", OpenAI, true},
	{"o3", OpenAI, true},
	{"o4", OpenAI, true},
	{"gemini", Google, true},
	{"grok", XAI, true},
	{"llama", Meta, false},
	{"meta-llama", Meta, false},
	{"mistral", Mistral, false},
	{"mixtral", Mistral, false},
	{"codestral", Mistral, false},
	{"deepseek", DeepSeek, false},
	// Bedrock ids name the maker first: amazon.nova-pro-v1:0,
	// meta.llama3-1-70b-instruct-v1:0, openai.gpt-oss-120b-1:0.
	{"openai.gpt-oss", OpenAI, false},
	{"amazon.", Amazon, true},
	{"meta.llama", Meta, false},
	{"mistral.", Mistral, false},
	{"deepseek.", DeepSeek, false},
	{"cohere.", "cohere", true},
	{"ai21.", "ai21", true},
	{"writer.", "writer", true},
}

// Of names the vendor behind a provider of type providerType at
// baseURL serving model.
//
// anthropic and openai providers are those vendors and simulated is
// "simulated", whatever the model. A vertex provider serves Anthropic's
// models only, so it is "anthropic". A bedrock provider is the model's
// maker: anthropic.claude-… and us.anthropic.claude-… are "anthropic",
// amazon.nova-… "amazon", meta.llama… "meta", and so on; an id that
// names no maker (an application inference profile ARN) is "unknown".
// For an openai-compatible provider:
//
//  1. A closed-weight model is its maker's whatever the host: claude-* is
//     "anthropic", gpt-*, o1, o3 and o4 "openai", gemini-* "google",
//     grok-* "xai" (gpt-oss and gemma are open weights and do not count).
//     Such weights run only on the maker's or a reseller's servers, so a
//     claude model behind Vertex, OpenRouter or a local proxy is still
//     Anthropic in the serving path.
//  2. Otherwise the base URL's host names it: api.x.ai is "xai",
//     generativelanguage.googleapis.com and *aiplatform.googleapis.com
//     "google", api.groq.com "groq", api.together.xyz "together", and so
//     on. localhost, private addresses and hosts or paths that name ollama,
//     vllm, llama.cpp or lmstudio are "self-hosted": open weights on the
//     operator's hardware.
//  3. Otherwise an open-weight model's maker: llama-* is "meta", mistral-*
//     "mistral", deepseek-* "deepseek".
//
// Anything else is "unknown".
func Of(providerType, baseURL, model string) string {
	switch providerType {
	case "anthropic":
		return Anthropic
	case "openai":
		return OpenAI
	case "simulated":
		return Simulated
	case "vertex":
		return Anthropic
	case "bedrock":
		m := model
		if strings.HasPrefix(m, "arn:") {
			m = m[strings.LastIndexByte(m, '/')+1:]
		}
		if v, _ := vendorOfModel(m); v != "" {
			return v
		}
		return Unknown
	}
	mv, closed := vendorOfModel(model)
	if closed {
		return mv
	}
	if v := vendorOfURL(baseURL); v != "" {
		return v
	}
	if mv != "" {
		return mv
	}
	return Unknown
}

// vendorOfURL names the vendor by the URL's host, or "" if it cannot.
func vendorOfURL(baseURL string) string {
	if baseURL == "" {
		return ""
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	for _, hv := range hostVendors {
		if host == hv.suffix || strings.HasSuffix(host, "."+hv.suffix) {
			return hv.vendor
		}
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return SelfHosted
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
		return SelfHosted
	}
	where := host + u.Path
	for _, s := range []string{"ollama", "vllm", "llama.cpp", "llamacpp", "lmstudio", "localai", "tgi"} {
		if strings.Contains(where, s) {
			return SelfHosted
		}
	}
	if strings.HasSuffix(host, "aiplatform.googleapis.com") { // {region}-aiplatform.googleapis.com
		return Google
	}
	return ""
}

// vendorOfModel names the vendor that makes model, or "", and whether the
// model's weights are closed.
func vendorOfModel(model string) (vendor string, closed bool) {
	m := strings.ToLower(model)
	// Router-style ids: "anthropic/claude-…", "openai/gpt-…", "us.anthropic.claude-…".
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca."} {
		m = strings.TrimPrefix(m, p)
	}
	for _, mv := range modelVendors {
		if strings.HasPrefix(m, mv.prefix) {
			// "o1", "o3", "o4" are whole names or followed by "-".
			if len(mv.prefix) == 2 && len(m) > 2 && m[2] != '-' {
				continue
			}
			return mv.vendor, mv.closed
		}
	}
	return "", false
}
