package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// benchRequest is the multi-turn fixture without indentation: about 2 KB,
// with a system prompt, tools, images, thinking and tool results.
func benchRequest(b *testing.B) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, readFixture(b, "request_multiturn_tools.json")); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := benchRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(benchRequest(b))
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
		ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-4o-2024-08-06", Dialect: brightline.DialectOpenAI,
		Content: []llm.Block{
			{Type: llm.BlockText, Text: strings.Repeat("Shipment 4471 is in transit and will reach San Francisco on Friday. ", 20)},
			{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_abc", Name: "get_weather", Arguments: json.RawMessage(`{"location":"San Francisco, CA","unit":"celsius"}`)}},
		},
		StopReason: llm.StopToolUse,
		Usage:      llm.Usage{InputTokens: 812, OutputTokens: 297, CacheReadTokens: 512},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamReader(b *testing.B) {
	body := readFixture(b, "stream_tool_use.sse")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewStreamReader(bytes.NewReader(body))
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStreamWriter writes a translated (OpenAI-sourced) stream: a text
// block of 50 deltas and a tool call of 10.
func BenchmarkStreamWriter(b *testing.B) {
	evs := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "chatcmpl-123", Model: "gpt-4o-mini"},
		blockStart(0, llm.Block{Type: llm.BlockText}),
	}
	for range 50 {
		evs = append(evs, textDelta(0, " the weather"))
	}
	evs = append(evs, blockStop(0), blockStart(1, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_abc", Name: "get_weather"}}))
	for range 10 {
		evs = append(evs, toolDelta(1, `"San Fr`))
	}
	evs = append(evs, blockStop(1),
		llm.StreamEvent{Type: llm.EventStop, StopReason: llm.StopToolUse},
		llm.StreamEvent{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 82, OutputTokens: 17}},
		end)
	for i := range evs {
		evs[i].Dialect = brightline.DialectOpenAI
	}
	b.ReportAllocs()
	for b.Loop() {
		w := NewStreamWriter(io.Discard, &llm.Request{Model: "gpt-4o-mini"})
		for _, ev := range evs {
			if err := w.WriteEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}
