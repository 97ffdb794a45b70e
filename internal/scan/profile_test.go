package scan

import (
	"strings"
	"testing"
)

// TestProfilePatterns checks every shipped pattern against its own examples
// and counter-examples, and that each example holds one of the pattern's
// anchors (else the prefilter would never let the regexp see it).
func TestProfilePatterns(t *testing.T) {
	for _, v := range Vendors() {
		p, err := LoadProfile(v)
		if err != nil {
			t.Fatalf("LoadProfile(%q): %v", v, err)
		}
		for _, pt := range p.Patterns {
			t.Run(v+"/"+pt.ID, func(t *testing.T) {
				if len(pt.Examples) == 0 {
					t.Errorf("pattern has no examples")
				}
				for _, ex := range pt.Examples {
					if !pt.re.MatchString(ex) {
						t.Errorf("regexp doesn't match example %q", ex)
					}
					hasAnchor := false
					for _, a := range pt.Anchors {
						if strings.Contains(strings.ToLower(ex), strings.ToLower(a)) {
							hasAnchor = true
						}
					}
					if !hasAnchor {
						t.Errorf("example %q holds none of the anchors %q", ex, pt.Anchors)
					}
				}
				for _, ex := range pt.Counter {
					if pt.re.MatchString(ex) {
						t.Errorf("regexp matches counter-example %q", ex)
					}
				}
			})
		}
	}
}

func TestLoadProfileUnknown(t *testing.T) {
	_, err := LoadProfile("nosuchvendor")
	uv, ok := err.(*UnknownVendorError)
	if !ok {
		t.Fatalf("got error %v, want *UnknownVendorError", err)
	}
	if !strings.Contains(uv.Error(), "anthropic") || !strings.Contains(uv.Error(), "openai") {
		t.Errorf("got %q, want it to list anthropic and openai", uv.Error())
	}
}

func TestProfileHashStable(t *testing.T) {
	a, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() || !strings.HasPrefix(a.Hash(), "sha256:") || len(a.Hash()) != 7+64 {
		t.Errorf("got hashes %q and %q, want one sha256:<64 hex>", a.Hash(), b.Hash())
	}
	o, err := LoadProfile("openai")
	if err != nil {
		t.Fatal(err)
	}
	if o.Hash() == a.Hash() {
		t.Errorf("got the same hash %q for two profiles", a.Hash())
	}
}

func TestPackageMatches(t *testing.T) {
	tests := []struct {
		eco       Ecosystem
		want, got string
		match     bool
	}{
		{EcoNPM, "@anthropic-ai/*", "@anthropic-ai/sdk", true},
		{EcoNPM, "@anthropic-ai/*", "@anthropic-ai-fan/sdk", false},
		{EcoNPM, "openai", "openai-fan", false},
		{EcoGo, "github.com/anthropics/anthropic-sdk-go", "github.com/anthropics/anthropic-sdk-go/v2", true},
		{EcoGo, "github.com/anthropics/anthropic-sdk-go", "github.com/anthropics/anthropic-sdk-golang", false},
		{EcoMaven, "com.anthropic:*", "com.anthropic:anthropic-java", true},
		{EcoMaven, "com.anthropic:*", "com.anthropic-fan:tools", false},
		{EcoPyPI, "langchain-anthropic", "LangChain_Anthropic", true},
		{EcoNuGet, "Anthropic", "anthropic", true},
		{EcoNuGet, "Anthropic", "AnthropicFan", false},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.got, func(t *testing.T) {
			if got := packageMatches(tt.eco, tt.want, tt.got); got != tt.match {
				t.Errorf("got %v, want %v", got, tt.match)
			}
		})
	}
}
