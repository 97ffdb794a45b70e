package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// collect reads r to the end and returns its events and the error that
// ended it.
func collect(r *StreamReader) ([]llm.StreamEvent, error) {
	var evs []llm.StreamEvent
	for range 100000 {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, errors.New("stream reader did not terminate")
}

// stripped returns evs without Raw and Dialect, for comparison.
func stripped(evs []llm.StreamEvent) []llm.StreamEvent {
	out := make([]llm.StreamEvent, len(evs))
	for i, ev := range evs {
		ev.Raw, ev.Dialect, ev.FrameEvents = nil, "", 0
		out[i] = ev
	}
	return out
}

var (
	other = llm.StreamEvent{Type: llm.EventOther}
	end   = llm.StreamEvent{Type: llm.EventEnd}
)

func blockStart(i int, b llm.Block) llm.StreamEvent {
	return llm.StreamEvent{Type: llm.EventBlockStart, Index: i, Block: &b}
}
func textDelta(i int, s string) llm.StreamEvent {
	return llm.StreamEvent{Type: llm.EventTextDelta, Index: i, Text: s}
}
func toolDelta(i int, s string) llm.StreamEvent {
	return llm.StreamEvent{Type: llm.EventToolDelta, Index: i, PartialJSON: s}
}
func blockStop(i int) llm.StreamEvent { return llm.StreamEvent{Type: llm.EventBlockStop, Index: i} }

var streamFixtures = []struct {
	file string
	want []llm.StreamEvent
}{
	{
		file: "stream_text.sse",
		want: []llm.StreamEvent{
			{Type: llm.EventStart, ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", Model: "claude-opus-4-1-20250805", Usage: &llm.Usage{InputTokens: 25, OutputTokens: 1}},
			blockStart(0, llm.Block{Type: llm.BlockText}),
			other,
			textDelta(0, "Hello"),
			textDelta(0, "!"),
			blockStop(0),
			{Type: llm.EventStop, StopReason: llm.StopEndTurn, Usage: &llm.Usage{OutputTokens: 15}},
			end,
		},
	},
	{
		file: "stream_tool_use.sse",
		want: []llm.StreamEvent{
			{Type: llm.EventStart, ID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: "claude-opus-4-1-20250805", Usage: &llm.Usage{InputTokens: 472, OutputTokens: 2}},
			blockStart(0, llm.Block{Type: llm.BlockText}),
			other,
			textDelta(0, "Okay"),
			textDelta(0, ", let's check the weather for San Francisco, CA:"),
			blockStop(0),
			blockStart(1, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"}}),
			toolDelta(1, ""),
			toolDelta(1, `{"location":`),
			toolDelta(1, ` "San`),
			toolDelta(1, ` Francisc`),
			toolDelta(1, `o,`),
			toolDelta(1, ` CA"`),
			toolDelta(1, `, `),
			toolDelta(1, `"unit": "fah`),
			toolDelta(1, `renheit"}`),
			blockStop(1),
			{Type: llm.EventStop, StopReason: llm.StopToolUse, Usage: &llm.Usage{OutputTokens: 89}},
			end,
		},
	},
	{
		file: "stream_thinking.sse",
		want: []llm.StreamEvent{
			{Type: llm.EventStart, ID: "msg_01ThinkDemo", Model: "claude-opus-4-1-20250805"},
			blockStart(0, llm.Block{Type: llm.BlockThinking}),
			textDelta(0, "Let me solve this step by step:\n\n1. First break down 27 * 453"),
			textDelta(0, "\n2. 453 = 400 + 50 + 3"),
			other, // signature_delta
			blockStop(0),
			other, other, // redacted_thinking start and stop
			blockStart(2, llm.Block{Type: llm.BlockText}),
			textDelta(2, "27 * 453 = 12,231"),
			blockStop(2),
			{Type: llm.EventStop, StopReason: llm.StopEndTurn},
			end,
		},
	},
	{
		file: "stream_web_search.sse",
		want: []llm.StreamEvent{
			{Type: llm.EventStart, ID: "msg_01G8nLgc2Fw1nGrsFHBUGm5n", Model: "claude-opus-4-1-20250805", Usage: &llm.Usage{InputTokens: 2679, OutputTokens: 3}},
			blockStart(0, llm.Block{Type: llm.BlockText}),
			textDelta(0, "I'll check the current weather in New York City for you"),
			other, // ping
			blockStop(0),
			blockStart(1, llm.Block{Type: llm.BlockServerToolUse, ToolCall: &llm.ToolCall{ID: "srvtoolu_014hJH82Qum7Td6UV8gDXThB", Name: "web_search"},
				Opaque: &llm.Opaque{WireType: "server_tool_use", Kind: llm.ServerToolWebSearch,
					Raw: json.RawMessage(`{"type":"server_tool_use","id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","name":"web_search","input":{}}`)}}),
			{Type: llm.EventToolDelta, Index: 1, PartialJSON: `{"query": "weather NYC today"}`},
			blockStop(1),
			blockStart(2, llm.Block{Type: llm.BlockServerToolResult, Opaque: &llm.Opaque{WireType: "web_search_tool_result", Kind: llm.ServerToolWebSearch,
				CallID: "srvtoolu_014hJH82Qum7Td6UV8gDXThB",
				Raw:    json.RawMessage(`{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","content":[{"type":"web_search_result","title":"Weather in New York City","url":"https://world-weather.info/forecast/usa/new_york/may-2025/","encrypted_content":"Ev0DCioIAxgCIiQ3NmU4ZmI4OC1k","page_age":null}]}`)}}),
			blockStop(2),
			blockStart(3, llm.Block{Type: llm.BlockText}),
			textDelta(3, "Here's the current weather."),
			blockStop(3),
			{Type: llm.EventStop, StopReason: llm.StopEndTurn, Usage: &llm.Usage{InputTokens: 10682, OutputTokens: 510, WebSearchRequests: 1}},
			end,
		},
	},
}

func TestStreamReader(t *testing.T) {
	readers := []struct {
		name string
		wrap func(body []byte) io.Reader
	}{
		{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"one byte at a time", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
		{"half reads", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
		{"EOF with data", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
	}
	for _, fx := range streamFixtures {
		for _, crlf := range []bool{false, true} {
			for _, rd := range readers {
				name := fx.file + "/" + rd.name
				if crlf {
					name += "/crlf"
				}
				t.Run(name, func(t *testing.T) {
					body := readFixture(t, fx.file)
					if crlf {
						body = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
					}
					evs, err := collect(NewStreamReader(rd.wrap(body)))
					if err != io.EOF {
						t.Fatalf("got error %v, want io.EOF", err)
					}
					checkFrames(t, evs)
					if got := stripped(evs); !reflect.DeepEqual(got, fx.want) {
						t.Errorf("got events %s\nwant %s", dump(got), dump(fx.want))
					}
					// Raw frames, in order, are exactly the input.
					var raw []byte
					for i, ev := range evs {
						if ev.Dialect != brightline.DialectAnthropic {
							t.Errorf("event %d: got dialect %q, want anthropic", i, ev.Dialect)
						}
						if (ev.Raw == nil) != ev.Continued {
							t.Errorf("event %d: got Raw %q with Continued %v", i, ev.Raw, ev.Continued)
						}
						raw = append(raw, ev.Raw...)
					}
					if !bytes.Equal(raw, body) {
						t.Errorf("concatenated Raw differs from the input\ngot  %q\nwant %q", raw, body)
					}
				})
			}
		}
	}
}

func TestStreamReaderToolArguments(t *testing.T) {
	evs, err := collect(NewStreamReader(bytes.NewReader(readFixture(t, "stream_tool_use.sse"))))
	if err != io.EOF {
		t.Fatal(err)
	}
	var args strings.Builder
	for _, ev := range evs {
		if ev.Type == llm.EventToolDelta {
			args.WriteString(ev.PartialJSON)
		}
	}
	if want := `{"location": "San Francisco, CA", "unit": "fahrenheit"}`; args.String() != want {
		t.Errorf("got arguments %s, want %s", args.String(), want)
	}
}

func TestStreamReaderFrames(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []llm.StreamEvent
	}{
		{
			name: "comments, stray blank lines, id and retry fields",
			body: ": keep-alive\n\n\n\nid: 1\nretry: 100\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			want: []llm.StreamEvent{other, end},
		},
		{
			name: "no event field, no space after colon",
			body: "data:{\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"model\":\"m\"}}\n\ndata:{\"type\":\"ping\"}\n\ndata: {\"type\":\"message_stop\"}\n\n",
			want: []llm.StreamEvent{{Type: llm.EventStart, ID: "msg_x", Model: "m"}, other, end},
		},
		{
			name: "multi-line data",
			body: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\ndata: \"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\nevent: message_stop\ndata: {}\n\n",
			want: []llm.StreamEvent{textDelta(2, "hi"), end},
		},
		{
			name: "unknown event and delta types",
			body: "event: future_event\ndata: not even JSON\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\nevent: message_stop\ndata: {}\n\n",
			want: []llm.StreamEvent{other, other, end},
		},
		{
			name: "block starting with content",
			body: "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"pre\"}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}}}\n\n" +
				"event: message_stop\ndata: {}\n\n",
			want: []llm.StreamEvent{
				blockStart(0, llm.Block{Type: llm.BlockText}), {Type: llm.EventTextDelta, Text: "pre", Continued: true},
				blockStart(1, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "t", Name: "f"}}), {Type: llm.EventToolDelta, Index: 1, PartialJSON: `{"a":1}`, Continued: true},
				end,
			},
		},
		{
			name: "second message_delta is usage, pause_turn",
			body: "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"pause_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":4}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{}}\n\n" +
				"event: message_stop\ndata: {}\n\n",
			want: []llm.StreamEvent{
				{Type: llm.EventStop, StopReason: llm.StopPauseTurn, Usage: &llm.Usage{OutputTokens: 3}},
				{Type: llm.EventUsage, Usage: &llm.Usage{OutputTokens: 4}},
				other, end,
			},
		},
		{
			name: "stop sequence and refusal",
			body: "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"}}\n\nevent: message_stop\ndata: {}\n\n",
			want: []llm.StreamEvent{{Type: llm.EventStop, StopReason: llm.StopSequence, StopSequence: "END"}, end},
		},
		{
			name: "data after message_stop is not read",
			body: "event: message_stop\ndata: {}\n\nevent: garbage\ndata: {\n\n",
			want: []llm.StreamEvent{end},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := collect(NewStreamReader(strings.NewReader(tt.body)))
			if err != io.EOF {
				t.Fatalf("got error %v, want io.EOF", err)
			}
			if got := stripped(evs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestStreamReaderLargeFrame(t *testing.T) {
	text := strings.Repeat("abcdefghij", 20000) // 200 KB, longer than the read buffer
	body := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\nevent: message_stop\ndata: {}\n\n"
	evs, err := collect(NewStreamReader(iotest.HalfReader(strings.NewReader(body))))
	if err != io.EOF {
		t.Fatalf("got error %v, want io.EOF", err)
	}
	if len(evs) != 2 || evs[0].Text != text {
		t.Fatalf("got %d events, want the 200 KB delta and the end", len(evs))
	}
	if string(evs[0].Raw)+string(evs[1].Raw) != body {
		t.Error("Raw frames differ from the input")
	}
}

func TestStreamReaderTruncated(t *testing.T) {
	body := readFixture(t, "stream_tool_use.sse")
	end := bytes.LastIndex(body, []byte("event: message_stop"))
	// Cut everywhere from the first frame to inside the last one.
	for cut := 0; cut < len(body)-1; cut += 37 {
		r := NewStreamReader(bytes.NewReader(body[:cut]))
		evs, err := collect(r)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: got error %v after %d events, want io.ErrUnexpectedEOF", cut, err, len(evs))
		}
		for _, ev := range evs {
			if ev.Type == llm.EventEnd {
				t.Fatalf("cut at %d: got EventEnd", cut)
			}
		}
		if _, err := r.Next(); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: second Next got %v, want the same error", cut, err)
		}
	}
	// The last frame without its blank line is incomplete too.
	if _, err := collect(NewStreamReader(bytes.NewReader(body[:len(body)-1]))); err != io.ErrUnexpectedEOF {
		t.Errorf("without the final blank line: got %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := collect(NewStreamReader(bytes.NewReader(body[:end]))); err != io.ErrUnexpectedEOF {
		t.Errorf("without message_stop: got %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestStreamReaderErrorEvent(t *testing.T) {
	tests := []struct {
		name, body string
		want       llm.WireError
	}{
		{"fixture", string(readFixture(t, "stream_error.sse")), llm.WireError{Type: "overloaded_error", Message: "Overloaded"}},
		{"unnamed", "data: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n", llm.WireError{Type: "api_error", Message: "Internal server error"}},
		{"unparseable", "event: error\ndata: upstream exploded\n\n", llm.WireError{Message: "upstream exploded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewStreamReader(strings.NewReader(tt.body))
			_, err := collect(r)
			var we *llm.WireError
			if !errors.As(err, &we) {
				t.Fatalf("got error %T %v, want *llm.WireError", err, err)
			}
			if *we != tt.want {
				t.Errorf("got %+v, want %+v", *we, tt.want)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("second Next got %v, want the same error", again)
			}
		})
	}
}

func TestStreamReaderMalformed(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"bad JSON", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":\n\n", "couldn't decode Anthropic content_block_delta event: invalid JSON"},
		{"bad JSON unnamed", "data: {oops}\n\n", "couldn't decode Anthropic stream event: invalid JSON at byte 2"},
		{"wrong type", "event: content_block_stop\ndata: {\"index\":\"zero\"}\n\n", "couldn't decode Anthropic content_block_stop event: index: expected an integer, got string"},
		{"message_start without message", "event: message_start\ndata: {\"type\":\"message_start\"}\n\n", "message is missing"},
		{"block start without block", "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0}\n\n", "content_block is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collect(NewStreamReader(strings.NewReader(tt.body)))
			if err == nil || err == io.EOF || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStreamReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewStreamReader(io.MultiReader(strings.NewReader("event: ping\ndata: {}\n\n"), iotest.ErrReader(boom)))
	evs, err := collect(r)
	if len(evs) != 1 || !errors.Is(err, boom) {
		t.Errorf("got %d events and error %v, want 1 event and %v", len(evs), err, boom)
	}
}

// chunkReader returns one chunk per Read and counts the calls.
type chunkReader struct {
	chunks []string
	reads  int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	r.reads++
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestStreamReaderBuffered(t *testing.T) {
	const (
		start  = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n"
		text   = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
		delta  = "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
		tool   = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}}}\n\n"
		ping   = "event: ping\ndata: {\"type\": \"ping\"}\n\n"
		stop   = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
		errEv  = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
		halfOf = 20 // bytes of delta in the first chunk of a split frame
	)
	type step struct {
		typ      llm.EventType // 0: Next returns an error
		buffered int           // Buffered() after this step
		reads    int           // Read calls so far
	}
	tests := []struct {
		name   string
		chunks []string
		steps  []step
	}{
		{"two frames in one read", []string{start + text, delta}, []step{
			{llm.EventStart, len(text), 1},
			{llm.EventBlockStart, 0, 1}, // the second frame came without a Read
			{llm.EventTextDelta, 0, 2},
		}},
		{"three frames in one read", []string{start + text + delta}, []step{
			{llm.EventStart, len(text + delta), 1},
			{llm.EventBlockStart, len(delta), 1},
			{llm.EventTextDelta, 0, 1},
		}},
		{"a frame and a half", []string{start + delta[:halfOf], delta[halfOf:]}, []step{
			{llm.EventStart, halfOf, 1},
			{llm.EventTextDelta, 0, 2},
		}},
		{"one frame, two events", []string{tool + ping}, []step{
			{llm.EventBlockStart, len(tool + ping), 1},
			{llm.EventToolDelta, len(ping), 1}, // Continued: the frame is done now
			{llm.EventOther, 0, 1},
		}},
		{"leading blank lines", []string{"\n\r\n" + start + ping}, []step{
			{llm.EventStart, len(ping), 1},
		}},
		{"bytes after the end", []string{stop + ping}, []step{
			{llm.EventEnd, 0, 1},
			{0, 0, 1},
		}},
		{"bytes after an error event", []string{errEv + ping}, []step{
			{0, 0, 1},
		}},
		{"one frame per read", []string{start, text}, []step{
			{llm.EventStart, 0, 1},
			{llm.EventBlockStart, 0, 2},
			{0, 0, 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &chunkReader{chunks: tt.chunks}
			r := NewStreamReader(src)
			if got := r.Buffered(); got != 0 {
				t.Fatalf("before reading: got Buffered() = %d, want 0", got)
			}
			for i, st := range tt.steps {
				ev, err := r.Next()
				switch {
				case st.typ == 0 && err == nil:
					t.Fatalf("step %d: got event %v, want an error", i, ev.Type)
				case st.typ != 0 && err != nil:
					t.Fatalf("step %d: got error %v, want event %v", i, err, st.typ)
				case ev.Type != st.typ:
					t.Fatalf("step %d: got event %v, want %v", i, ev.Type, st.typ)
				}
				if got := r.Buffered(); got != st.buffered {
					t.Errorf("step %d (%v): got Buffered() = %d, want %d", i, st.typ, got, st.buffered)
				}
				if src.reads != st.reads {
					t.Errorf("step %d (%v): got %d reads, want %d", i, st.typ, src.reads, st.reads)
				}
			}
		})
	}
}

// checkFrames checks that each event carrying Raw counts, in FrameEvents,
// itself and exactly the Continued events that follow it.
func checkFrames(t *testing.T, evs []llm.StreamEvent) {
	t.Helper()
	for i := 0; i < len(evs); {
		ev := evs[i]
		if ev.Raw == nil || ev.FrameEvents < 1 {
			t.Fatalf("event %d (%v): Raw %q, FrameEvents %d; want a frame's first event", i, ev.Type, ev.Raw, ev.FrameEvents)
		}
		for j := i + 1; j < i+ev.FrameEvents; j++ {
			if j >= len(evs) || !evs[j].Continued || evs[j].Raw != nil {
				t.Fatalf("event %d: want it Continued, part of the frame of event %d", j, i)
			}
		}
		i += ev.FrameEvents
		if i < len(evs) && evs[i].Continued {
			t.Fatalf("event %d is Continued beyond the %d events of its frame", i, ev.FrameEvents)
		}
	}
}
