package openai

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// frameRecorder records each Write call.
type frameRecorder struct {
	writes [][]byte
	fail   error
}

func (r *frameRecorder) Write(p []byte) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *frameRecorder) bytes() []byte { return bytes.Join(r.writes, nil) }

// checkOneFramePerWrite checks that every Write held exactly one SSE frame.
func checkOneFramePerWrite(t *testing.T, writes [][]byte) {
	t.Helper()
	for i, w := range writes {
		body, ok := bytes.CutSuffix(w, []byte("\n\n"))
		if !ok {
			body, ok = bytes.CutSuffix(w, []byte("\r\n\r\n"))
		}
		if !ok || bytes.Contains(body, []byte("\n\n")) || bytes.Contains(body, []byte("\r\n\r\n")) || len(body) == 0 {
			t.Errorf("write %d is not exactly one frame: %q", i, w)
		}
	}
}

func writeAll(t *testing.T, sw *StreamWriter, evs []llm.StreamEvent) {
	t.Helper()
	for i, ev := range evs {
		if err := sw.WriteEvent(ev); err != nil {
			t.Fatalf("WriteEvent %d (%s): %v", i, evString(ev), err)
		}
	}
}

func TestStreamWriterEncode(t *testing.T) {
	anthropic := brightline.DialectAnthropic
	evs := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-sonnet-4-5", Usage: &llm.Usage{InputTokens: 25, CacheReadTokens: 3},
			Dialect: anthropic, Raw: []byte("event: message_start\ndata: {}\n\n")},
		{Type: llm.EventOther, Dialect: anthropic, Raw: []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n")},
		{Type: llm.EventBlockStart, Index: 0, Block: &llm.Block{Type: llm.BlockThinking}},
		{Type: llm.EventTextDelta, Index: 0, Text: "Let me think."},
		{Type: llm.EventBlockStop, Index: 0},
		{Type: llm.EventBlockStart, Index: 1, Block: &llm.Block{Type: llm.BlockText}},
		{Type: llm.EventTextDelta, Index: 1, Text: "Hello \"world\"\n"},
		{Type: llm.EventTextDelta, Index: 1, Text: ""},
		{Type: llm.EventBlockStop, Index: 1},
		{Type: llm.EventBlockStart, Index: 2, Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01", Name: "get_weather"}}},
		{Type: llm.EventToolDelta, Index: 2, PartialJSON: ""},
		{Type: llm.EventToolDelta, Index: 2, PartialJSON: `{"city":`},
		{Type: llm.EventToolDelta, Index: 2, PartialJSON: `"Paris"}`},
		{Type: llm.EventBlockStop, Index: 2},
		{Type: llm.EventBlockStart, Index: 3, Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_02", Name: "get_time"}}},
		{Type: llm.EventBlockStop, Index: 3},
		{Type: llm.EventStop, StopReason: llm.StopToolUse, Usage: &llm.Usage{OutputTokens: 40}, Dialect: anthropic, Continued: true},
		{Type: llm.EventEnd, Dialect: anthropic, Raw: []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")},
	}
	frame := func(choice string, includeUsage bool) string {
		s := `{"id":"chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion.chunk","created":0,"model":"gpt-4o","choices":[` + choice + `]`
		if includeUsage {
			s += `,"usage":null`
		}
		return s + "}"
	}
	choices := []string{
		`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{"content":"Hello \"world\"\n"},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_01","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}`,
		`{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}`,
	}
	for _, includeUsage := range []bool{true, false} {
		t.Run(map[bool]string{true: "with usage", false: "without usage"}[includeUsage], func(t *testing.T) {
			var want []string
			for _, c := range choices {
				want = append(want, frame(c, includeUsage))
			}
			if includeUsage {
				want = append(want, `{"id":"chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion.chunk","created":0,"model":"gpt-4o","choices":[],
					"usage":{"prompt_tokens":25,"completion_tokens":40,"total_tokens":65,"prompt_tokens_details":{"cached_tokens":3}}}`)
			}
			want = append(want, "[DONE]")

			var rec frameRecorder
			sw := NewStreamWriter(&rec, &llm.Request{Model: "gpt-4o", IncludeUsage: includeUsage})
			writeAll(t, sw, evs)
			checkOneFramePerWrite(t, rec.writes)
			if len(rec.writes) != len(want) {
				t.Fatalf("got %d frames, want %d:\n%s", len(rec.writes), len(want), rec.bytes())
			}
			for i, w := range rec.writes {
				data, ok := bytes.CutPrefix(w, []byte("data: "))
				if !ok {
					t.Errorf("frame %d: got %q, want a data frame", i, w)
					continue
				}
				data = bytes.TrimSuffix(data, []byte("\n\n"))
				if want[i] == "[DONE]" {
					if string(data) != "[DONE]" {
						t.Errorf("frame %d: got %q, want [DONE]", i, w)
					}
					continue
				}
				if !sameJSON(t, data, []byte(want[i])) {
					t.Errorf("frame %d: got\n%s\nwant\n%s", i, indent(data), indent([]byte(want[i])))
				}
			}
		})
	}
}

// TestStreamWriterTranslation reads each fixture, strips what marks the
// events as OpenAI's so that the writer must encode them, and reads the
// result back: the canonical events must survive.
func TestStreamWriterTranslation(t *testing.T) {
	for _, tt := range streamTests {
		if tt.wantErr != io.EOF {
			continue
		}
		t.Run(tt.file, func(t *testing.T) {
			evs, err := readAll(t, bytes.NewReader(readFixture(t, tt.file)))
			if err != io.EOF {
				t.Fatalf("reading the fixture: %v", err)
			}
			var want []string
			includeUsage := false
			for _, ev := range evs {
				if ev.Type == llm.EventUsage {
					includeUsage = true
				}
				if ev.Type != llm.EventOther {
					want = append(want, evString(ev))
				}
			}
			var rec frameRecorder
			sw := NewStreamWriter(&rec, &llm.Request{Model: evs[0].Model, IncludeUsage: includeUsage})
			for _, ev := range evs {
				ev.Raw, ev.Dialect, ev.Continued = nil, "", false
				if err := sw.WriteEvent(ev); err != nil {
					t.Fatalf("WriteEvent: %v", err)
				}
			}
			checkOneFramePerWrite(t, rec.writes)
			back, err := readAll(t, bytes.NewReader(rec.bytes()))
			if err != io.EOF {
				t.Fatalf("reading the written stream: %v\n%s", err, rec.bytes())
			}
			if got := evStrings(back); !equalLines(got, want) {
				t.Errorf("got events (left), want (right):\n%s", diffLines(got, want))
			}
		})
	}
}

func TestStreamWriterPassthrough(t *testing.T) {
	for _, tt := range streamTests {
		for _, includeUsage := range []bool{true, false} {
			input := readFixture(t, tt.file)
			if includeUsage && !bytes.Contains(input, []byte(`"choices":[]`)) {
				continue // the writer would add the usage chunk the stream lacks
			}
			t.Run(fmt.Sprintf("%s/include_usage=%v", tt.file, includeUsage), func(t *testing.T) {
				evs, _ := readAll(t, bytes.NewReader(input))
				var rec frameRecorder
				sw := NewStreamWriter(&rec, &llm.Request{Model: "alias", IncludeUsage: includeUsage})
				writeAll(t, sw, evs)
				checkOneFramePerWrite(t, rec.writes)
				want := input
				if !includeUsage {
					// The usage chunk is the only frame with "choices":[].
					var kept [][]byte
					for _, f := range bytes.SplitAfter(input, []byte("\n\n")) {
						if !bytes.Contains(f, []byte(`"choices":[]`)) {
							kept = append(kept, f)
						}
					}
					want = bytes.Join(kept, nil)
				}
				if tt.wantErr != io.EOF {
					// The error frame is not an event; the reader returns it.
					want = want[:bytes.LastIndex(want, []byte("data: {\"error\""))]
				}
				if got := rec.bytes(); !bytes.Equal(got, want) {
					t.Errorf("got\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

func TestStreamWriterMixed(t *testing.T) {
	// Forward the raw stream up to the arguments of its first tool call,
	// then encode a second tool call, the stop and the end.
	evs, err := readAll(t, bytes.NewReader(readFixture(t, "streams/text_then_tool.sse")))
	if err != io.EOF {
		t.Fatal(err)
	}
	var raw []llm.StreamEvent
	for _, ev := range evs {
		if ev.Type == llm.EventBlockStop && ev.Index == 1 {
			break
		}
		raw = append(raw, ev)
	}
	encoded := []llm.StreamEvent{
		{Type: llm.EventBlockStop, Index: 1},
		{Type: llm.EventBlockStart, Index: 2, Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_b", Name: "notify_consignee"}}},
		{Type: llm.EventToolDelta, Index: 2, PartialJSON: `{"shipment_id":"4417"}`},
		{Type: llm.EventBlockStop, Index: 2},
		{Type: llm.EventStop, StopReason: llm.StopToolUse, Usage: &llm.Usage{InputTokens: 10, OutputTokens: 5}},
		{Type: llm.EventEnd},
	}
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "gpt-4o-mini", IncludeUsage: true})
	writeAll(t, sw, raw)
	writeAll(t, sw, encoded)
	checkOneFramePerWrite(t, rec.writes)

	out := rec.bytes()
	// The encoded frames continue the forwarded ones: same id and model,
	// and the next tool-call index.
	header := `"id":"chatcmpl-C1aa2TnJ9Qk5bqZ7VlO3Xx0Yy8Zz7","object":"chat.completion.chunk","created":`
	if n := bytes.Count(out, []byte(header)); n != bytes.Count(out, []byte("data: {")) {
		t.Errorf("got %d of %d frames with the forwarded id:\n%s", n, bytes.Count(out, []byte("data: {")), out)
	}
	if n := bytes.Count(out, []byte(`"model":"gpt-4o-mini-2024-07-18"`)); n != bytes.Count(out, []byte("data: {")) {
		t.Errorf("got %d of %d frames naming the forwarded model:\n%s", n, bytes.Count(out, []byte("data: {")), out)
	}
	if !bytes.Contains(out, []byte(`"tool_calls":[{"index":1,"id":"call_b"`)) {
		t.Errorf("got no encoded tool call with index 1:\n%s", out)
	}
	back, err := readAll(t, bytes.NewReader(out))
	if err != io.EOF {
		t.Fatalf("reading the written stream: %v\n%s", err, out)
	}
	want := []string{
		"start chatcmpl-C1aa2TnJ9Qk5bqZ7VlO3Xx0Yy8Zz7 gpt-4o-mini-2024-07-18",
		"block_start 0 text",
		`text_delta 0 "Let me"`, `text_delta 0 " check "`, `text_delta 0 "that."`,
		"other",
		"block_stop 0",
		"block_start 1 tool_use call_8fK2mQ get_shipment ",
		`tool_delta 1 "{\"shipment_id\""`, `tool_delta 1 ":\"4417\"}"`,
		"block_stop 1",
		"block_start 2 tool_use call_b notify_consignee ",
		`tool_delta 2 "{\"shipment_id\":\"4417\"}"`,
		"block_stop 2",
		"stop tool_use",
		"usage usage=10/5/0/0",
		"end",
	}
	if got := evStrings(back); !equalLines(got, want) {
		t.Errorf("got events (left), want (right):\n%s", diffLines(got, want))
	}
}

func TestStreamWriterRawUsageThenEncodedEnd(t *testing.T) {
	// A forwarded usage chunk is not followed by a second one.
	evs, _ := readAll(t, bytes.NewReader(readFixture(t, "streams/tool_calls.sse")))
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "m", IncludeUsage: true})
	last := len(evs) - 1
	writeAll(t, sw, evs[:last])
	if err := sw.WriteEvent(llm.StreamEvent{Type: llm.EventEnd}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(rec.bytes(), []byte(`"choices":[]`)); n != 1 {
		t.Errorf("got %d usage chunks, want 1", n)
	}
}

func TestStreamWriterError(t *testing.T) {
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "gpt-4o"})
	writeAll(t, sw, []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_1", Model: "claude"},
		{Type: llm.EventBlockStart, Index: 0, Block: &llm.Block{Type: llm.BlockText}},
		{Type: llm.EventTextDelta, Index: 0, Text: "Hi"},
	})
	e := &brightline.Error{Code: brightline.CodeUpstream, Message: "The upstream provider failed.", Err: errors.New("read tcp: reset")}
	if err := sw.WriteError(e); err != nil {
		t.Fatalf("WriteError: %v", err)
	}
	checkOneFramePerWrite(t, rec.writes)
	want := `data: {"error":{"message":"The upstream provider failed.","type":"server_error","param":null,"code":"upstream_error"}}` + "\n\n"
	if got := string(rec.writes[len(rec.writes)-1]); got != want {
		t.Errorf("got last frame %q, want %q", got, want)
	}
	_, err := readAll(t, bytes.NewReader(rec.bytes()))
	checkErr(t, err, &llm.WireError{Type: "server_error", Message: "The upstream provider failed."})

	n := len(rec.writes)
	if err := sw.WriteEvent(llm.StreamEvent{Type: llm.EventEnd}); err == nil {
		t.Error("WriteEvent after WriteError succeeded, want an error")
	}
	if err := sw.WriteError(e); err == nil {
		t.Error("WriteError after WriteError succeeded, want an error")
	}
	if len(rec.writes) != n {
		t.Errorf("got %d more writes after the error, want none", len(rec.writes)-n)
	}
}

func TestStreamWriterAfterEnd(t *testing.T) {
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "m"})
	writeAll(t, sw, []llm.StreamEvent{{Type: llm.EventStart, ID: "x"}, {Type: llm.EventStop, StopReason: llm.StopEndTurn}, {Type: llm.EventEnd}})
	if err := sw.WriteError(&brightline.Error{Code: brightline.CodeInternal, Message: "late"}); err == nil {
		t.Error("WriteError after the end succeeded, want an error")
	}
	if got := string(rec.writes[len(rec.writes)-1]); got != "data: [DONE]\n\n" {
		t.Errorf("got last frame %q, want data: [DONE]", got)
	}
}

func TestStreamWriterImplicitStart(t *testing.T) {
	// A stream that fails before its start event still gets a role chunk
	// and an id.
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "m"})
	writeAll(t, sw, []llm.StreamEvent{{Type: llm.EventTextDelta, Text: "a"}, {Type: llm.EventStop}, {Type: llm.EventEnd}})
	evs, err := readAll(t, bytes.NewReader(rec.bytes()))
	if err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	if evs[0].Type != llm.EventStart || !strings.HasPrefix(evs[0].ID, "chatcmpl-") || len(evs[0].ID) < 20 {
		t.Errorf("got first event %s, want a start with a random chatcmpl- id", evString(evs[0]))
	}
}

func TestStreamWriterWriteFailure(t *testing.T) {
	boom := errors.New("client went away")
	sw := NewStreamWriter(&frameRecorder{fail: boom}, &llm.Request{Model: "m"})
	if err := sw.WriteEvent(llm.StreamEvent{Type: llm.EventStart, ID: "x"}); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
	raw := llm.StreamEvent{Type: llm.EventOther, Raw: []byte(": ping\n\n"), Dialect: brightline.DialectOpenAI}
	if err := sw.WriteEvent(raw); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}

func TestStreamWriterSecondStart(t *testing.T) {
	// A start encoded after a forwarded one adds no second role chunk.
	evs, _ := readAll(t, bytes.NewReader(readFixture(t, "streams/length.sse")))
	var rec frameRecorder
	sw := NewStreamWriter(&rec, &llm.Request{Model: "m"})
	writeAll(t, sw, evs[:1])
	writeAll(t, sw, []llm.StreamEvent{{Type: llm.EventStart, ID: "msg_x", Model: "claude"}})
	if len(rec.writes) != 1 {
		t.Errorf("got %d frames, want 1:\n%s", len(rec.writes), rec.bytes())
	}
}
