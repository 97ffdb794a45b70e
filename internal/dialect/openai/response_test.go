package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

var decodeResponseTests = []struct {
	file string
	want llm.Response
}{
	{
		file: "responses/text.json",
		want: llm.Response{
			ID:         "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
			Model:      "gpt-4o-2024-08-06",
			Content:    []llm.Block{text("The image shows a wooden boardwalk path running through a lush green field or meadow.")},
			StopReason: llm.StopEndTurn,
			Usage:      llm.Usage{InputTokens: 1117, OutputTokens: 46, CacheReadTokens: 1024},
		},
	},
	{
		file: "responses/tool_calls.json",
		want: llm.Response{
			ID:    "chatcmpl-abc123",
			Model: "gpt-4o-mini",
			Content: []llm.Block{
				toolUse("call_abc123", "get_current_weather", "{\n\"location\": \"Boston, MA\"\n}"),
				toolUse("call_def456", "get_time", "{}"),
			},
			StopReason: llm.StopToolUse,
			Usage:      llm.Usage{InputTokens: 82, OutputTokens: 17},
		},
	},
	{
		file: "responses/refusal.json",
		want: llm.Response{
			ID:         "chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC",
			Model:      "gpt-4o-2024-08-06",
			Content:    []llm.Block{text("I'm sorry, I cannot assist with that request.")},
			StopReason: llm.StopRefusal,
			Usage:      llm.Usage{InputTokens: 81, OutputTokens: 11},
		},
	},
	{
		file: "responses/length.json",
		want: llm.Response{
			ID:         "chatcmpl-123",
			Model:      "gpt-4o-mini",
			Content:    []llm.Block{text("\n\nHello there, how may I")},
			StopReason: llm.StopMaxTokens,
			Usage:      llm.Usage{InputTokens: 9, OutputTokens: 6},
		},
	},
}

func TestDecodeResponse(t *testing.T) {
	for _, tt := range decodeResponseTests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			got, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if !bytes.Equal(got.Raw, body) {
				t.Errorf("got Raw %q, want the body", got.Raw)
			}
			want := tt.want
			want.Dialect = brightline.DialectOpenAI
			if g, w := responseJSON(t, got), responseJSON(t, &want); g != w {
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", `<html>502 Bad Gateway</html>`, "couldn't decode chat completion"},
		{"no choices", `{"id":"x","choices":[]}`, "no choices"},
		{"bad arguments", `{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"tool_calls"}]}`, "function.arguments: not valid JSON"},
		{"arguments not an object", `{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"\"x\""}}]},"finish_reason":"tool_calls"}]}`, "function.arguments: must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponse([]byte(tt.body))
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp llm.Response
		want string
	}{
		{
			name: "from Anthropic: text joined, thinking dropped, tool calls",
			resp: llm.Response{
				ID:    "msg_01XFDUDYJgAACzvnptvVoYEL",
				Model: "claude-sonnet-4-5",
				Content: []llm.Block{
					{Type: llm.BlockThinking, Text: "Let me look.", Signature: "sig"},
					text("I'll check "),
					text("the weather."),
					toolUse("toolu_01A09q90qw90lq917835lq9", "get_weather", `{"location": "San Francisco, CA"}`),
				},
				StopReason: llm.StopToolUse,
				Usage:      llm.Usage{InputTokens: 472, OutputTokens: 89, CacheReadTokens: 100, CacheCreationTokens: 7},
			},
			want: `{"id":"chatcmpl-msg_01XFDUDYJgAACzvnptvVoYEL","object":"chat.completion","created":0,"model":"claude-sonnet-4-5",
				"choices":[{"index":0,"message":{"role":"assistant","content":"I'll check the weather.","refusal":null,
					"tool_calls":[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"location\": \"San Francisco, CA\"}"}}]},
					"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":472,"completion_tokens":89,"total_tokens":561,"prompt_tokens_details":{"cached_tokens":100}}}`,
		},
		{
			name: "only tool calls: content null",
			resp: llm.Response{ID: "chatcmpl-1", Model: "m", Content: []llm.Block{toolUse("c", "f", "")}, StopReason: llm.StopToolUse},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
					"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "empty, refusal",
			resp: llm.Response{ID: "msg_2", Model: "m", StopReason: llm.StopRefusal},
			want: `{"id":"chatcmpl-msg_2","object":"chat.completion","created":0,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Unix()
			got, err := EncodeResponse(&tt.resp)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			if !sameJSON(t, got, []byte(tt.want)) {
				t.Errorf("got\n%s\nwant\n%s", indent(got), indent([]byte(tt.want)))
			}
			var created struct{ Created int64 }
			json.Unmarshal(got, &created)
			if created.Created < before || created.Created > time.Now().Unix() {
				t.Errorf("got created %d, want the current time", created.Created)
			}
		})
	}
}

func TestEncodeResponseStopReasons(t *testing.T) {
	tests := []struct {
		reason llm.StopReason
		want   string
	}{
		{llm.StopEndTurn, "stop"},
		{llm.StopSequence, "stop"},
		{llm.StopPauseTurn, "stop"},
		{llm.StopMaxTokens, "length"},
		{llm.StopToolUse, "tool_calls"},
		{llm.StopRefusal, "content_filter"},
		{"", "stop"},
	}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			got, err := EncodeResponse(&llm.Response{ID: "x", StopReason: tt.reason})
			if err != nil {
				t.Fatal(err)
			}
			var w struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				}
			}
			if err := json.Unmarshal(got, &w); err != nil {
				t.Fatal(err)
			}
			if w.Choices[0].FinishReason != tt.want {
				t.Errorf("got finish_reason %q, want %q", w.Choices[0].FinishReason, tt.want)
			}
		})
	}
}

func TestEncodeResponseRandomID(t *testing.T) {
	a, _ := EncodeResponse(&llm.Response{})
	b, _ := EncodeResponse(&llm.Response{})
	ra, _ := DecodeResponse(a)
	rb, _ := DecodeResponse(b)
	if !strings.HasPrefix(ra.ID, "chatcmpl-") || len(ra.ID) < len("chatcmpl-")+16 {
		t.Errorf("got id %q, want chatcmpl- and a random suffix", ra.ID)
	}
	if ra.ID == rb.ID {
		t.Errorf("got the same id %q twice, want random ids", ra.ID)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, tt := range decodeResponseTests {
		t.Run(tt.file, func(t *testing.T) {
			first, err := DecodeResponse(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			body, err := EncodeResponse(first)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			second, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("DecodeResponse of the encoded body: %v\n%s", err, body)
			}
			if g, w := responseJSON(t, second), responseJSON(t, first); g != w {
				t.Errorf("after a round trip got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestEncodeModels(t *testing.T) {
	tests := []struct {
		name   string
		models []llm.Model
		want   string
	}{
		{"none", nil, `{"object":"list","data":[]}`},
		{"two", []llm.Model{{ID: "gpt-4o", OwnedBy: "openai", Created: 1715367049}, {ID: "claude-sonnet-4-5", OwnedBy: "anthropic", Created: 1759104000}},
			`{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"openai"},{"id":"claude-sonnet-4-5","object":"model","created":1759104000,"owned_by":"anthropic"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodeModels(tt.models); string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
