package openai

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

// The request benchmarks use testdata/requests/multiturn_tools.json: about
// 2.7 KB, eight messages (system, images, tool calls and results) and three
// tools.

func BenchmarkDecodeRequest(b *testing.B) {
	body := readFixture(b, "requests/multiturn_tools.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(readFixture(b, "requests/multiturn_tools.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	resp := &llm.Response{
		ID:    "msg_01XFDUDYJgAACzvnptvVoYEL",
		Model: "claude-sonnet-4-5",
		Content: []llm.Block{
			{Type: llm.BlockThinking, Text: strings.Repeat("Considering the shipment. ", 20)},
			text(strings.Repeat("Shipment 4417 is in transit in Rotterdam; \"on time\".\n", 20)),
			toolUse("toolu_01A09q90qw90lq917835lq9", "notify_consignee", `{"shipment_id":"4417","message":"Your delivery arrives on 14 March."}`),
		},
		StopReason: llm.StopToolUse,
		Usage:      llm.Usage{InputTokens: 1117, OutputTokens: 246, CacheReadTokens: 1024},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStream is a realistic stream: a role chunk, 100 text chunks, a tool
// call whose arguments come in 10 pieces, the finish, usage and [DONE].
func benchStream() []byte {
	var b bytes.Buffer
	head := `{"id":"chatcmpl-BJ6ayQQUmkNH0jT7qCgdJyE4cQ8sp","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b705f0c291","choices":[`
	chunk := func(choice string) { fmt.Fprintf(&b, "data: %s%s],\"usage\":null}\n\n", head, choice) }
	chunk(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`)
	for i := range 100 {
		chunk(fmt.Sprintf(`{"index":0,"delta":{"content":" word%d"},"logprobs":null,"finish_reason":null}`, i))
	}
	chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"notify_consignee","arguments":""}}]},"logprobs":null,"finish_reason":null}`)
	for i := range 10 {
		chunk(fmt.Sprintf(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"k%d\":\"v\"}"}}]},"logprobs":null,"finish_reason":null}`, i))
	}
	chunk(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}`)
	fmt.Fprintf(&b, "data: %s],\"usage\":{\"prompt_tokens\":312,\"completion_tokens\":148,\"total_tokens\":460,\"prompt_tokens_details\":{\"cached_tokens\":256}}}\n\n", head)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func BenchmarkStreamReader(b *testing.B) {
	input := benchStream()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		sr := NewStreamReader(bytes.NewReader(input))
		for {
			_, err := sr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

// BenchmarkStreamWriter measures the translation path: events from another
// dialect, encoded into chunks.
func BenchmarkStreamWriter(b *testing.B) {
	evs, err := readAll(b, bytes.NewReader(benchStream()))
	if err != io.EOF {
		b.Fatal(err)
	}
	for i := range evs {
		evs[i].Raw, evs[i].Dialect, evs[i].Continued = nil, "", false
	}
	req := &llm.Request{Model: "gpt-4.1", IncludeUsage: true}
	b.ReportAllocs()
	for b.Loop() {
		sw := NewStreamWriter(io.Discard, req)
		for _, ev := range evs {
			if err := sw.WriteEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
