package exposure

import (
	"slices"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
)

func TestFeaturesOf(t *testing.T) {
	tests := []struct {
		name    string
		dialect string // "anthropic" or "openai"
		body    string
		want    []string
	}{
		{"plain anthropic", "anthropic", `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, []string{}},
		{"plain openai", "openai", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`, []string{}},
		{"system and stream", "anthropic", `{"model":"claude-x","max_tokens":10,"system":"be brief","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{FeatureStreaming, FeatureSystem}},
		{"openai developer message and stop", "openai", `{"model":"gpt-x","stop":["END"],"messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]}`,
			[]string{FeatureSystem, FeatureStopSequences}},
		{"tools and forced choice", "anthropic", `{"model":"claude-x","max_tokens":10,"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"hi"}]}`,
			[]string{FeatureTools, FeatureToolChoice}},
		{"auto tool choice is not forced", "openai", `{"model":"gpt-x","tools":[{"type":"function","function":{"name":"t","parameters":{"type":"object"}}}],"tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`,
			[]string{FeatureTools}},
		{"parallel calls in history", "anthropic", `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"},
			{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":{}},{"type":"tool_use","id":"b","name":"t","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"1"},{"type":"tool_result","tool_use_id":"b","content":"2"}]}]}`,
			[]string{FeatureTools, FeatureParallelTools}},
		{"image", "openai", `{"model":"gpt-x","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`,
			[]string{FeatureImages}},
		{"image in a tool result", "anthropic", `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"},
			{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]}`,
			[]string{FeatureTools, FeatureImages}},
		{"thinking config and cache_control", "anthropic", `{"model":"claude-x","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},
			"system":[{"type":"text","text":"long","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`,
			[]string{FeatureSystem, FeatureThinking, FeaturePromptCaching}},
		{"thinking block in history", "anthropic", `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"},
			{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"hello"}]},{"role":"user","content":"and?"}]}`,
			[]string{FeatureThinking}},
		{"top_k", "anthropic", `{"model":"claude-x","max_tokens":10,"top_k" : 5,"messages":[{"role":"user","content":"hi"}]}`, []string{FeatureTopK}},
		{"openai extras", "openai", `{"model":"gpt-x","reasoning_effort":"low","response_format":{"type":"json_object"},"logprobs":true,"seed":7,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{FeatureThinking, FeatureJSONMode, FeatureLogprobs, FeatureSeed}},
		// Text that mentions a key is not the key.
		{"key named in text", "openai", `{"model":"gpt-x","messages":[{"role":"user","content":"set \"seed\": 7 and \"cache_control\" please; top_k"}]}`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				req *llm.Request
				err error
			)
			if tt.dialect == "anthropic" {
				req, err = anthropic.DecodeRequest([]byte(tt.body))
			} else {
				req, err = openai.DecodeRequest([]byte(tt.body))
			}
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			got := FeaturesOf(req)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRawKeys(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`{"seed":1}`, true},
		{`{"seed"  :1}`, true},
		{"{\"seed\"\n\t:1}", true},
		{`{"x":"seed"}`, false},
		{`{"x":"seed","y":1}`, false},
		{`{"x":"a \"seed\": b"}`, false},
		{`{"seeds":1}`, false},
		{`{"x":"seed", "seed":2}`, true},
		{`{"x":"aseed":1}`, false},
		{`{"x":"\\"seed":1}`, false}, // not JSON, but the quote before seed is escaped
		{`"seed":1`, true},
		{`{"reasoning_effort_x":1,"seed_":2}`, false},
		{``, false},
		{`:`, false},
		{`":`, false},
	}
	for _, tt := range tests {
		if got := rawKeys([]byte(tt.raw))&keySeed != 0; got != tt.want {
			t.Errorf("rawKeys(%s) has seed: got %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func BenchmarkFeaturesOf(b *testing.B) {
	body := []byte(`{"model":"claude-x","max_tokens":2000,"stream":true,"system":[{"type":"text","text":"You are a logistics assistant.","cache_control":{"type":"ephemeral"}}],
		"tools":[{"name":"lookup","description":"find a shipment","input_schema":{"type":"object","properties":{"id":{"type":"string"}}}}],
		"messages":[{"role":"user","content":"Where is shipment 42? It left the depot on Monday and should have arrived by now; please check the tracker and tell me."}]}`)
	req, err := anthropic.DecodeRequest(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		FeaturesOf(req)
	}
}

// BenchmarkFeaturesOfLarge measures a 100 KB conversation, where finding
// the keys in the raw body dominates.
func BenchmarkFeaturesOfLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-x","max_tokens":2000,"stream":true,"messages":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		sb.WriteString(`{"role":"` + role + `","content":"` + strings.Repeat("The shipment left the depot on Monday: route 7. ", 10) + `"}`)
	}
	sb.WriteString(`]}`)
	req, err := anthropic.DecodeRequest([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		FeaturesOf(req)
	}
}
