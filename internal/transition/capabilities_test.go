package transition

import (
	"testing"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/vendor"
)

func TestCapabilityVia(t *testing.T) {
	tests := []struct {
		vendor, host, feature string
		want                  Support
	}{
		{vendor.Anthropic, "anthropic", FeatureCountTokens, Supported},
		{vendor.Anthropic, "bedrock", FeatureCountTokens, Missing},
		{vendor.Anthropic, "vertex", FeatureCountTokens, Missing},
		{vendor.Anthropic, "bedrock", FeatureBetas, Differs},
		{vendor.Anthropic, "bedrock", FeatureServerTools, Missing},
		{vendor.Anthropic, "vertex", FeatureServerTools, Differs},
		{vendor.Anthropic, "bedrock", exposure.FeatureThinking, Supported}, // the model's own, as on Anthropic's API
		{vendor.Amazon, "bedrock", exposure.FeatureImages, Differs},
		{vendor.Amazon, "bedrock", exposure.FeatureThinking, Missing},
	}
	for _, tt := range tests {
		if got := CapabilityVia(tt.vendor, tt.host, tt.feature); got.Support != tt.want {
			t.Errorf("CapabilityVia(%s, %s, %s) = %s, want %s", tt.vendor, tt.host, tt.feature, got.Support, tt.want)
		}
	}
}

// TestCapabilityAtHosts: a move to Anthropic through Bedrock is judged by
// what Bedrock offers, the worst of the route's targets.
func TestCapabilityAtHosts(t *testing.T) {
	if c := capabilityAt(vendor.Anthropic, nil, FeatureCountTokens); c.Support != Supported {
		t.Errorf("Anthropic's own API, count_tokens: got %s, want supported", c.Support)
	}
	if c := capabilityAt(vendor.Anthropic, []string{"anthropic", "bedrock"}, FeatureCountTokens); c.Support != Missing {
		t.Errorf("a route with a Bedrock target, count_tokens: got %s, want missing", c.Support)
	}
	if c := capabilityAt(vendor.Anthropic, []string{"bedrock"}, exposure.FeaturePromptCaching); c.Support != Differs {
		t.Errorf("Bedrock, prompt caching: got %s, want differs", c.Support)
	}
}
