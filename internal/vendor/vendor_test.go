package vendor

import "testing"

func TestOf(t *testing.T) {
	tests := []struct {
		typ, url, model string
		want            string
	}{
		{"anthropic", "", "claude-sonnet-4-5", "anthropic"},
		{"anthropic", "https://api.anthropic.com", "anything", "anthropic"},
		{"openai", "", "gpt-5", "openai"},
		{"openai", "", "claude-x", "openai"}, // the type decides for first-party providers
		{"simulated", "", "claude-sonnet-4-5", "simulated"},
		{"openai-compatible", "https://api.x.ai/v1", "grok-4", "xai"},
		{"openai-compatible", "https://api.x.ai/v1", "some-model", "xai"},
		{"openai-compatible", "https://generativelanguage.googleapis.com/v1beta/openai/", "gemini-2.5-pro", "google"},
		{"openai-compatible", "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi", "meta/llama-3.1-405b", "google"},
		{"openai-compatible", "https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"},
		{"openai-compatible", "https://api.fireworks.ai/inference/v1", "accounts/fireworks/models/llama-v3p1-8b", "fireworks"},
		{"openai-compatible", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "groq"},
		{"openai-compatible", "https://api.groq.com/openai/v1", "openai/gpt-oss-120b", "groq"}, // open weights: the host serves them
		{"openai-compatible", "https://api.mistral.ai/v1", "mistral-large-latest", "mistral"},
		{"openai-compatible", "https://API.X.AI/v1", "", "xai"},
		// Closed weights are their maker's wherever they are served.
		{"openai-compatible", "https://openrouter.ai/api/v1", "anthropic/claude-sonnet-4.5", "anthropic"},
		{"openai-compatible", "http://localhost:4000", "claude-3-5-haiku", "anthropic"},
		{"openai-compatible", "https://us-east5-aiplatform.googleapis.com/v1", "claude-opus-4", "anthropic"},
		{"openai-compatible", "https://proxy.example.com/v1", "gpt-4o", "openai"},
		{"openai-compatible", "https://proxy.example.com/v1", "o3-mini", "openai"},
		{"openai-compatible", "https://proxy.example.com/v1", "o1", "openai"},
		{"openai-compatible", "https://proxy.example.com/v1", "grok-3", "xai"},
		{"openai-compatible", "https://proxy.example.com/v1", "gemini-2.0-flash", "google"},
		{"openai-compatible", "https://proxy.example.com/v1", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic"},
		// Self-hosted open weights.
		{"openai-compatible", "http://localhost:11434/v1", "llama3.1", "self-hosted"},
		{"openai-compatible", "http://127.0.0.1:8000/v1", "mistral-7b", "self-hosted"},
		{"openai-compatible", "http://10.0.3.7:8000/v1", "qwen2.5", "self-hosted"},
		{"openai-compatible", "http://ollama.svc.cluster.local:11434/v1", "qwen2.5", "self-hosted"},
		{"openai-compatible", "https://vllm.corp.example/v1", "qwen2.5", "self-hosted"},
		{"openai-compatible", "http://[::1]:8080/v1", "gemma-2-9b", "self-hosted"},
		// The host says nothing: the model's maker.
		{"openai-compatible", "https://llm.example.com/v1", "llama-3.1-8b", "meta"},
		{"openai-compatible", "https://llm.example.com/v1", "deepseek-chat", "deepseek"},
		{"openai-compatible", "https://llm.example.com/v1", "o1x", "unknown"}, // not the o1 family
		{"openai-compatible", "https://llm.example.com/v1", "qwen2.5", "unknown"},
		{"openai-compatible", "", "", "unknown"},
		// Bedrock: the model's maker; Vertex: Anthropic's models only.
		{"bedrock", "", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic"},
		{"bedrock", "https://bedrock-runtime.us-gov-west-1.amazonaws.com", "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic"},
		{"bedrock", "", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "anthropic"},
		{"bedrock", "", "amazon.nova-pro-v1:0", "amazon"},
		{"bedrock", "", "meta.llama3-1-70b-instruct-v1:0", "meta"},
		{"bedrock", "", "mistral.mistral-large-2407-v1:0", "mistral"},
		{"bedrock", "", "openai.gpt-oss-120b-1:0", "openai"},
		{"bedrock", "", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "unknown"},
		{"vertex", "", "claude-sonnet-4-5@20250929", "anthropic"},
		{"openai-compatible", "::not a url", "", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.model, func(t *testing.T) {
			if got := Of(tt.typ, tt.url, tt.model); got != tt.want {
				t.Errorf("Of(%q, %q, %q) = %q, want %q", tt.typ, tt.url, tt.model, got, tt.want)
			}
		})
	}
}
