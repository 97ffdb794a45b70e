package responses

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
)

// The request benchmarks use testdata/multiturn_tools.json, the Responses
// form of the openai package's testdata/requests/multiturn_tools.json: the
// same conversation (instructions, images, a reasoning item, two calls and
// their outputs) and three tools, so that ns/op and MB/s compare.

func BenchmarkDecodeRequest(b *testing.B) {
	body := readFixture(b, "multiturn_tools.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeClientRequest(body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(readFixture(b, "multiturn_tools.json"))
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

// BenchmarkTranslateRequest is a Responses request sent to the other
// providers: decode, then encode as Chat Completions or Anthropic.
func BenchmarkTranslateRequest(b *testing.B) {
	body := readFixture(b, "multiturn_tools.json")
	for _, to := range []struct {
		name   string
		encode func(*llm.Request) ([]byte, error)
	}{{"openai", openai.EncodeRequest}, {"anthropic", anthropic.EncodeRequest}} {
		b.Run(to.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req, err := DecodeRequest(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := to.encode(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	resp := &llm.Response{
		ID:    "msg_01XFDUDYJgAACzvnptvVoYEL",
		Model: "claude-sonnet-4-5",
		Content: []llm.Block{
			{Type: llm.BlockThinking, Text: strings.Repeat("Considering the shipment. ", 20)},
			{Type: llm.BlockText, Text: strings.Repeat("Shipment 4417 is in transit in Rotterdam; \"on time\".\n", 20)},
			{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01A09q90qw90lq917835lq9", Name: "notify_consignee",
				Arguments: []byte(`{"shipment_id":"4417","message":"Your delivery arrives on 14 March."}`)}},
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

// benchStream is the Responses form of the openai package's benchmark
// stream: 100 text deltas, then a function call whose arguments come in
// 10 pieces, with the events the API sends around them.
func benchStream() []byte {
	var b bytes.Buffer
	seq := 0
	ev := func(typ, fields string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, seq, fields)
		seq++
	}
	resp := func(status, usage string) string {
		return `"response":{"id":"resp_68af4030592c81938ec0a5fbab4a3e9f","object":"response","created_at":1741570283,"status":"` + status +
			`","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"store":false,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"usage":` + usage + `}`
	}
	ev("response.created", resp("in_progress", "null"))
	ev("response.in_progress", resp("in_progress", "null"))
	ev("response.output_item.added", `"output_index":0,"item":{"id":"msg_68af4030592c81938ec0a5fbab4a3e9f","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
	ev("response.content_part.added", `"item_id":"msg_68af4030592c81938ec0a5fbab4a3e9f","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`)
	for i := range 100 {
		ev("response.output_text.delta", fmt.Sprintf(`"item_id":"msg_68af4030592c81938ec0a5fbab4a3e9f","output_index":0,"content_index":0,"delta":" word%d","logprobs":[],"obfuscation":"Xy"`, i))
	}
	ev("response.output_text.done", `"item_id":"msg_68af4030592c81938ec0a5fbab4a3e9f","output_index":0,"content_index":0,"text":"...","logprobs":[]`)
	ev("response.content_part.done", `"item_id":"msg_68af4030592c81938ec0a5fbab4a3e9f","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"..."}`)
	ev("response.output_item.done", `"output_index":0,"item":{"id":"msg_68af4030592c81938ec0a5fbab4a3e9f","type":"message","status":"completed","content":[],"role":"assistant"}`)
	ev("response.output_item.added", `"output_index":1,"item":{"id":"fc_68af4031","type":"function_call","status":"in_progress","arguments":"","call_id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","name":"notify_consignee"}`)
	for i := range 10 {
		ev("response.function_call_arguments.delta", fmt.Sprintf(`"item_id":"fc_68af4031","output_index":1,"delta":"{\"k%d\":\"v\"}","obfuscation":"Xy"`, i))
	}
	ev("response.function_call_arguments.done", `"item_id":"fc_68af4031","output_index":1,"arguments":"{}"`)
	ev("response.output_item.done", `"output_index":1,"item":{"id":"fc_68af4031","type":"function_call","status":"completed","arguments":"{}","call_id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","name":"notify_consignee"}`)
	ev("response.completed", resp("completed", `{"input_tokens":312,"input_tokens_details":{"cached_tokens":256},"output_tokens":148,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":460}`))
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

// BenchmarkStreamPassthrough reads a Responses stream and writes it to a
// Responses client: the frames are forwarded.
func BenchmarkStreamPassthrough(b *testing.B) {
	input := benchStream()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	req := &llm.Request{Model: "gpt-4.1"}
	for b.Loop() {
		sr := NewStreamReader(bytes.NewReader(input))
		sw := NewStreamWriter(io.Discard, req)
		for {
			ev, err := sr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := sw.WriteEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStreamWriter measures the translation path: events from another
// dialect, encoded into typed events.
func BenchmarkStreamWriter(b *testing.B) {
	evs := readAll(b, bytes.NewReader(benchStream()))
	for i := range evs {
		evs[i].Raw, evs[i].Dialect, evs[i].Continued = nil, "", false
	}
	req := &llm.Request{Model: "gpt-4.1"}
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
