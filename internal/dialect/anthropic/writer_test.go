package anthropic

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// recorder is an io.Writer that keeps each Write call separately, like a
// gateway that flushes after every Write.
type recorder struct {
	writes []string
	err    error // returned by Write when set
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) String() string { return strings.Join(r.writes, "") }

// checkWrites fails unless every write holds whole SSE frames.
func (r *recorder) checkWrites(t *testing.T) {
	t.Helper()
	for i, w := range r.writes {
		if !strings.HasSuffix(w, "\n\n") || !strings.HasPrefix(w, "event: ") {
			t.Errorf("write %d is not whole frames: %q", i, w)
		}
	}
}

func TestStreamWriterPassthrough(t *testing.T) {
	for _, fx := range streamFixtures {
		t.Run(fx.file, func(t *testing.T) {
			body := readFixture(t, fx.file)
			r := NewStreamReader(bytes.NewReader(body))
			var rec recorder
			w := NewStreamWriter(&rec, &llm.Request{Model: "client-model"})
			frames := 0
			for {
				ev, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if !ev.Continued {
					frames++
				}
				if err := w.WriteEvent(ev); err != nil {
					t.Fatalf("WriteEvent(%v): %v", ev.Type, err)
				}
			}
			if got := rec.String(); got != string(body) {
				t.Errorf("output differs from the upstream bytes\ngot  %q\nwant %q", got, body)
			}
			if len(rec.writes) != frames {
				t.Errorf("got %d writes, want one per frame (%d)", len(rec.writes), frames)
			}
			rec.checkWrites(t)
		})
	}
	t.Run("continued events write nothing", func(t *testing.T) {
		var rec recorder
		w := NewStreamWriter(&rec, nil)
		err := w.WriteEvent(llm.StreamEvent{Type: llm.EventTextDelta, Text: "x", Continued: true, Dialect: brightline.DialectAnthropic})
		if err != nil || len(rec.writes) != 0 {
			t.Errorf("got %d writes and error %v, want none", len(rec.writes), err)
		}
	})
}

// translated is a canonical stream as the OpenAI reader produces it: no
// Raw, OpenAI dialect, usage only at the end.
var translated = []llm.StreamEvent{
	{Type: llm.EventStart, ID: "chatcmpl-123", Model: "gpt-4o-mini"},
	{Type: llm.EventOther},
	blockStart(0, llm.Block{Type: llm.BlockText}),
	textDelta(0, "Let me \"check\".\n"),
	blockStop(0),
	blockStart(1, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_abc", Name: "get_weather"}}),
	toolDelta(1, `{"location":`),
	toolDelta(1, `"Paris"}`),
	blockStop(1),
	{Type: llm.EventStop, StopReason: llm.StopToolUse},
	{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 82, OutputTokens: 17, CacheReadTokens: 64}},
	end,
}

const translatedSSE = `event: message_start
data: {"type":"message_start","message":{"id":"msg_chatcmpl-123","type":"message","role":"assistant","model":"gpt-4o-mini","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me \"check\".\n"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_abc","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":82,"cache_read_input_tokens":64,"output_tokens":17}}

event: message_stop
data: {"type":"message_stop"}

`

func TestStreamWriterTranslation(t *testing.T) {
	var rec recorder
	w := NewStreamWriter(&rec, &llm.Request{Model: "client-model"})
	for i, ev := range translated {
		ev.Dialect = brightline.DialectOpenAI
		if i == 1 {
			ev.Raw = []byte("data: {\"choices\":[]}\n\n") // OpenAI bytes must not leak
		}
		if err := w.WriteEvent(ev); err != nil {
			t.Fatalf("event %d (%v): %v", i, ev.Type, err)
		}
		if ev.Type == llm.EventStop || ev.Type == llm.EventUsage {
			if strings.Contains(rec.String(), "message_delta") {
				t.Fatalf("message_delta written at %v, want it held until End", ev.Type)
			}
		}
	}
	if got := rec.String(); got != translatedSSE {
		t.Errorf("got\n%s\nwant\n%s", got, translatedSSE)
	}
	rec.checkWrites(t)
	if last := rec.writes[len(rec.writes)-1]; !strings.HasPrefix(last, "event: message_delta") || !strings.Contains(last, "event: message_stop") {
		t.Errorf("got last write %q, want message_delta and message_stop together", last)
	}

	// What the writer produced reads back as the same canonical stream.
	evs, err := collect(NewStreamReader(strings.NewReader(rec.String())))
	if err != io.EOF {
		t.Fatalf("reading the output back: %v", err)
	}
	want := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_chatcmpl-123", Model: "gpt-4o-mini", Usage: &llm.Usage{}},
	}
	want = append(want, translated[2:9]...)
	want = append(want,
		llm.StreamEvent{Type: llm.EventStop, StopReason: llm.StopToolUse, Usage: &llm.Usage{InputTokens: 82, OutputTokens: 17, CacheReadTokens: 64}},
		end)
	if got := stripped(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("read back %s\nwant %s", dump(got), dump(want))
	}
}

func TestStreamWriterEncoded(t *testing.T) {
	tests := []struct {
		name   string
		events []llm.StreamEvent
		want   string
	}{
		{
			name: "no start: message_start from the request, open blocks closed at end",
			events: []llm.StreamEvent{
				blockStart(0, llm.Block{Type: llm.BlockThinking}),
				textDelta(0, "hmm"),
				blockStart(1, llm.Block{Type: llm.BlockText}),
				textDelta(1, "hi"),
				{Type: llm.EventStop, StopReason: llm.StopSequence, StopSequence: "END", Usage: &llm.Usage{OutputTokens: 2}},
				end,
			},
			want: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_RANDOM\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"client-model\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n" +
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"},\"usage\":{\"output_tokens\":2}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		},
		{
			name: "refusal with input usage known at start",
			events: []llm.StreamEvent{
				{Type: llm.EventStart, ID: "msg_keep", Model: "claude", Usage: &llm.Usage{InputTokens: 9}},
				{Type: llm.EventStop, StopReason: llm.StopRefusal},
				end,
			},
			want: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_keep\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":9,\"output_tokens\":0}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			w := NewStreamWriter(&rec, &llm.Request{Model: "client-model"})
			for _, ev := range tt.events {
				if err := w.WriteEvent(ev); err != nil {
					t.Fatalf("WriteEvent(%v): %v", ev.Type, err)
				}
			}
			got := rec.String()
			if i := strings.Index(got, `"id":"msg_`); i >= 0 && strings.Contains(tt.want, "msg_RANDOM") {
				j := strings.IndexByte(got[i+6:], '"')
				got = got[:i+6] + "msg_RANDOM" + got[i+6+j:]
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			rec.checkWrites(t)
		})
	}
}

// TestStreamWriterMixed interleaves frames from an Anthropic stream with
// events the gateway encodes itself.
func TestStreamWriterMixed(t *testing.T) {
	evs, err := collect(NewStreamReader(bytes.NewReader(readFixture(t, "stream_tool_use.sse"))))
	if err != io.EOF {
		t.Fatal(err)
	}
	// evs[0:6] is message_start, the text block with a ping; evs[6:17] the
	// tool_use block; then message_delta and message_stop.
	start, textBlock, stop, msgStop := evs[0], evs[1:6], evs[17], evs[18]

	t.Run("encoded block and held stop before raw message_stop", func(t *testing.T) {
		var rec recorder
		w := NewStreamWriter(&rec, nil)
		write := func(ev llm.StreamEvent) {
			t.Helper()
			if err := w.WriteEvent(ev); err != nil {
				t.Fatalf("WriteEvent(%v): %v", ev.Type, err)
			}
		}
		write(start)
		for _, ev := range textBlock {
			write(ev)
		}
		// The gateway replaces the tool call with its own text.
		write(blockStart(1, llm.Block{Type: llm.BlockText}))
		write(textDelta(1, "[tool call withheld]"))
		write(blockStop(1))
		write(llm.StreamEvent{Type: llm.EventStop, StopReason: llm.StopEndTurn, Usage: &llm.Usage{OutputTokens: 89}})
		write(msgStop)

		got, err := collect(NewStreamReader(strings.NewReader(rec.String())))
		if err != io.EOF {
			t.Fatalf("reading the output back: %v\n%s", err, rec.String())
		}
		want := append(stripped(evs[:6]),
			blockStart(1, llm.Block{Type: llm.BlockText}), textDelta(1, "[tool call withheld]"), blockStop(1),
			llm.StreamEvent{Type: llm.EventStop, StopReason: llm.StopEndTurn, Usage: &llm.Usage{InputTokens: 472, OutputTokens: 89}},
			end)
		if !reflect.DeepEqual(stripped(got), want) {
			t.Errorf("got %s\nwant %s", dump(stripped(got)), dump(want))
		}
		last := rec.writes[len(rec.writes)-1]
		if !strings.HasSuffix(last, string(msgStop.Raw)) || !strings.HasPrefix(last, "event: message_delta") {
			t.Errorf("got last write %q, want the held message_delta then the raw message_stop", last)
		}
		rec.checkWrites(t)
	})

	t.Run("raw stop then encoded end", func(t *testing.T) {
		var rec recorder
		w := NewStreamWriter(&rec, nil)
		for _, ev := range append([]llm.StreamEvent{start}, textBlock...) {
			if err := w.WriteEvent(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteEvent(stop); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEvent(llm.StreamEvent{Type: llm.EventEnd}); err != nil {
			t.Fatal(err)
		}
		out := rec.String()
		if n := strings.Count(out, "event: message_delta"); n != 1 {
			t.Errorf("got %d message_delta frames, want 1:\n%s", n, out)
		}
		if !strings.HasSuffix(out, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
			t.Errorf("got output ending %q, want message_stop", out[max(0, len(out)-80):])
		}
	})
}

func TestStreamWriterWriteError(t *testing.T) {
	var rec recorder
	w := NewStreamWriter(&rec, nil)
	if err := w.WriteEvent(llm.StreamEvent{Type: llm.EventStart, ID: "msg_1", Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteError(&brightline.Error{Code: brightline.CodeOverloaded, Message: "Overloaded", Err: errors.New("hidden")}); err != nil {
		t.Fatal(err)
	}
	want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	if got := rec.writes[len(rec.writes)-1]; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := w.WriteEvent(llm.StreamEvent{Type: llm.EventEnd}); err == nil {
		t.Error("WriteEvent after WriteError: got no error, want one")
	}
	if err := w.WriteError(&brightline.Error{Code: brightline.CodeInternal}); err == nil {
		t.Error("second WriteError: got no error, want one")
	}
	if len(rec.writes) != 2 {
		t.Errorf("got %d writes, want 2", len(rec.writes))
	}
	// The error frame reads back as the provider error it mirrors.
	_, err := collect(NewStreamReader(strings.NewReader(rec.String())))
	var we *llm.WireError
	if !errors.As(err, &we) || we.Type != "overloaded_error" || we.Message != "Overloaded" {
		t.Errorf("read back %v, want overloaded_error", err)
	}
}

func TestStreamWriterErrors(t *testing.T) {
	t.Run("delta for a block that is not open", func(t *testing.T) {
		w := NewStreamWriter(io.Discard, nil)
		if err := w.WriteEvent(toolDelta(3, "{")); err == nil {
			t.Error("got no error, want one")
		}
	})
	t.Run("unsupported block", func(t *testing.T) {
		w := NewStreamWriter(io.Discard, nil)
		if err := w.WriteEvent(blockStart(0, llm.Block{Type: llm.BlockImage})); err == nil {
			t.Error("got no error, want one")
		}
	})
	t.Run("after end", func(t *testing.T) {
		w := NewStreamWriter(io.Discard, nil)
		if err := w.WriteEvent(end); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEvent(textDelta(0, "x")); err == nil {
			t.Error("got no error, want one")
		}
	})
	t.Run("write failure", func(t *testing.T) {
		boom := errors.New("client went away")
		w := NewStreamWriter(&recorder{err: boom}, nil)
		if err := w.WriteEvent(llm.StreamEvent{Type: llm.EventStart}); !errors.Is(err, boom) {
			t.Errorf("got %v, want %v", err, boom)
		}
		if err := w.WriteEvent(end); err == nil {
			t.Error("WriteEvent after a failed write: got no error, want one")
		}
	})
	t.Run("other events without raw are dropped", func(t *testing.T) {
		var rec recorder
		w := NewStreamWriter(&rec, nil)
		if err := w.WriteEvent(other); err != nil || len(rec.writes) != 0 {
			t.Errorf("got %d writes and error %v, want none", len(rec.writes), err)
		}
	})
}
