package openai

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// evString renders an event's canonical fields (not Raw, Dialect or
// Continued) for comparing.
func evString(ev llm.StreamEvent) string {
	var s string
	switch ev.Type {
	case llm.EventStart:
		s = fmt.Sprintf("start %s %s", ev.ID, ev.Model)
	case llm.EventBlockStart:
		s = fmt.Sprintf("block_start %d %s", ev.Index, ev.Block.Type)
		if c := ev.Block.ToolCall; c != nil {
			s += fmt.Sprintf(" %s %s %s", c.ID, c.Name, c.Arguments)
		}
	case llm.EventTextDelta:
		s = fmt.Sprintf("text_delta %d %q", ev.Index, ev.Text)
	case llm.EventToolDelta:
		s = fmt.Sprintf("tool_delta %d %q", ev.Index, ev.PartialJSON)
	case llm.EventBlockStop:
		s = fmt.Sprintf("block_stop %d", ev.Index)
	case llm.EventStop:
		s = "stop " + string(ev.StopReason)
	default:
		s = ev.Type.String()
	}
	if u := ev.Usage; u != nil {
		s += fmt.Sprintf(" usage=%d/%d/%d/%d", u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheCreationTokens)
	}
	return s
}

// readAll reads events until Next fails and returns them with the error.
func readAll(t testing.TB, r io.Reader) ([]llm.StreamEvent, error) {
	t.Helper()
	sr := NewStreamReader(r)
	var evs []llm.StreamEvent
	for range 1_000_000 {
		ev, err := sr.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("reader did not stop")
	return nil, nil
}

func evStrings(evs []llm.StreamEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = evString(ev)
	}
	return out
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%-60s | %s\n", mark, g, w)
	}
	return b.String()
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var streamTests = []struct {
	file    string
	want    []string
	wantErr error // io.EOF for a complete stream
}{
	{
		file: "streams/text.sse",
		want: []string{
			"start chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT gpt-4o-2024-08-06",
			"block_start 0 text",
			`text_delta 0 "Hello"`, `text_delta 0 "!"`, `text_delta 0 " How"`, `text_delta 0 " can"`, `text_delta 0 " I"`,
			`text_delta 0 " help"`, `text_delta 0 " you"`, `text_delta 0 " today"`, `text_delta 0 "?"`,
			"block_stop 0",
			"stop end_turn",
			"end",
		},
		wantErr: io.EOF,
	},
	{
		file: "streams/tool_calls.sse",
		want: []string{
			"start chatcmpl-BJ6ayQQUmkNH0jT7qCgdJyE4cQ8sp gpt-4.1-2025-04-14",
			"block_start 0 tool_use call_DdmO9pD3xa9XTPNJ32zg2hcA get_weather ",
			`tool_delta 0 "{\""`, `tool_delta 0 "location"`, `tool_delta 0 "\":\""`, `tool_delta 0 "Paris"`,
			`tool_delta 0 ","`, `tool_delta 0 " France"`, `tool_delta 0 "\"}"`,
			"block_stop 0",
			"block_start 1 tool_use call_ABPl8hh8tIc0X1R4xyDPbsiM get_weather ",
			`tool_delta 1 "{\""`, `tool_delta 1 "location"`, `tool_delta 1 "\":\""`, `tool_delta 1 "Bogot"`,
			`tool_delta 1 "á"`, `tool_delta 1 ","`, `tool_delta 1 " Colombia"`, `tool_delta 1 "\"}"`,
			"block_stop 1",
			"stop tool_use",
			"usage usage=312/48/256/0",
			"end",
		},
		wantErr: io.EOF,
	},
	{
		file: "streams/text_then_tool.sse",
		want: []string{
			"start chatcmpl-C1aa2TnJ9Qk5bqZ7VlO3Xx0Yy8Zz7 gpt-4o-mini-2024-07-18",
			"block_start 0 text",
			`text_delta 0 "Let me"`, `text_delta 0 " check "`, `text_delta 0 "that."`,
			"other",
			"block_stop 0",
			"block_start 1 tool_use call_8fK2mQ get_shipment ",
			`tool_delta 1 "{\"shipment_id\""`, `tool_delta 1 ":\"4417\"}"`,
			"block_stop 1",
			"stop tool_use",
			"usage usage=95/22/0/0",
			"end",
		},
		wantErr: io.EOF,
	},
	{
		file: "streams/refusal.sse",
		want: []string{
			"start chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC gpt-4o-2024-08-06",
			"block_start 0 text",
			`text_delta 0 "I'm sorry,"`, `text_delta 0 " I cannot assist with that."`,
			"block_stop 0",
			"stop refusal",
			"end",
		},
		wantErr: io.EOF,
	},
	{
		file: "streams/length.sse",
		want: []string{
			"start chatcmpl-E5y gpt-4o-mini",
			"block_start 0 text",
			`text_delta 0 "Once upon a"`,
			"block_stop 0",
			"stop max_tokens",
			"end",
		},
		wantErr: io.EOF,
	},
	{
		file: "streams/error.sse",
		want: []string{
			"start chatcmpl-D4x gpt-4o",
			"block_start 0 text",
			`text_delta 0 "Partial"`,
		},
		wantErr: &llm.WireError{Type: "server_error", Message: "The server had an error while processing your request. Sorry about that!"},
	},
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func TestStreamReader(t *testing.T) {
	variants := []struct {
		name   string
		frame  func([]byte) []byte
		reader func(io.Reader) io.Reader
	}{
		{"lf", func(b []byte) []byte { return b }, func(r io.Reader) io.Reader { return r }},
		{"crlf", crlf, func(r io.Reader) io.Reader { return r }},
		{"one byte reads", func(b []byte) []byte { return b }, iotest.OneByteReader},
		{"crlf one byte reads", crlf, iotest.OneByteReader},
		{"half reads", crlf, iotest.HalfReader},
		{"data with EOF", func(b []byte) []byte { return b }, iotest.DataErrReader},
	}
	for _, tt := range streamTests {
		for _, v := range variants {
			t.Run(tt.file+"/"+v.name, func(t *testing.T) {
				input := v.frame(readFixture(t, tt.file))
				evs, err := readAll(t, v.reader(bytes.NewReader(input)))
				if got := evStrings(evs); !equalLines(got, tt.want) {
					t.Errorf("got events (left), want (right):\n%s", diffLines(got, tt.want))
				}
				checkErr(t, err, tt.wantErr)
				checkFrames(t, evs)
				if err == io.EOF {
					// Every byte of the stream is in some event's Raw.
					var raw []byte
					for _, ev := range evs {
						raw = append(raw, ev.Raw...)
					}
					if !bytes.Equal(raw, input) {
						t.Errorf("got Raw concatenated\n%q\nwant the input\n%q", raw, input)
					}
				}
			})
		}
	}
}

func checkErr(t *testing.T, got, want error) {
	t.Helper()
	if we, ok := want.(*llm.WireError); ok {
		g, ok := errors.AsType[*llm.WireError](got)
		if !ok {
			t.Fatalf("got error %v, want *llm.WireError %v", got, want)
		}
		if *g != *we {
			t.Errorf("got %+v, want %+v", *g, *we)
		}
		return
	}
	if got != want {
		t.Errorf("got error %v, want %v", got, want)
	}
}

// checkFrames checks that each frame's first event carries Raw and the
// others are marked Continued, and that all are marked OpenAI.
func checkFrames(t *testing.T, evs []llm.StreamEvent) {
	t.Helper()
	for i, ev := range evs {
		if ev.Dialect != brightline.DialectOpenAI {
			t.Errorf("event %d: got dialect %q, want openai", i, ev.Dialect)
		}
		if (ev.Raw == nil) != ev.Continued {
			t.Errorf("event %d (%s): got Raw %q and Continued %v, want exactly one", i, evString(ev), ev.Raw, ev.Continued)
		}
		if ev.Raw != nil && !bytes.HasSuffix(ev.Raw, []byte("\n\n")) && !bytes.HasSuffix(ev.Raw, []byte("\r\n\r\n")) {
			t.Errorf("event %d: got Raw %q, want a complete frame", i, ev.Raw)
		}
	}
	if len(evs) > 0 && evs[0].Continued {
		t.Errorf("first event is Continued")
	}
	// FrameEvents counts the frame's first event and its Continued ones.
	for i := 0; i < len(evs); {
		n := evs[i].FrameEvents
		if n < 1 {
			t.Fatalf("event %d (%s): FrameEvents %d, want >= 1", i, evString(evs[i]), n)
		}
		for j := i + 1; j < i+n; j++ {
			if j >= len(evs) || !evs[j].Continued {
				t.Fatalf("event %d: want it Continued, in the %d-event frame of event %d", j, n, i)
			}
		}
		i += n
		if i < len(evs) && evs[i].Continued {
			t.Fatalf("event %d is Continued beyond its frame", i)
		}
	}
}

// TestStreamReaderTruncated cuts a stream at every byte: each cut must be
// reported as io.ErrUnexpectedEOF, except the one that leaves
// "data: [DONE]\n" complete. (A lone "\r" does not end a line here.)
func TestStreamReaderTruncated(t *testing.T) {
	for _, file := range []string{"streams/text_then_tool.sse", "streams/refusal.sse"} {
		for _, frame := range []func([]byte) []byte{func(b []byte) []byte { return b }, crlf} {
			full := frame(readFixture(t, file))
			for n := range len(full) {
				cut := full[:n]
				_, err := readAll(t, bytes.NewReader(cut))
				want := io.ErrUnexpectedEOF
				if trimmed := bytes.TrimRight(cut, "\r\n"); bytes.HasSuffix(trimmed, []byte("data: [DONE]")) && bytes.HasSuffix(cut, []byte("\n")) {
					want = io.EOF
				}
				if err != want {
					t.Fatalf("%s cut to %d bytes (ending %q): got error %v, want %v", file, n, cut[max(0, n-20):], err, want)
				}
			}
		}
	}
}

func chunkJSON(delta string, finish string, extra string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	return `{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + fr + `}]` + extra + `}`
}

func TestStreamReaderCases(t *testing.T) {
	start := "data: " + chunkJSON(`{"role":"assistant","content":""}`, "", "") + "\n\n"
	stop := "data: " + chunkJSON(`{}`, "stop", "") + "\n\n"
	done := "data: [DONE]\n\n"
	tests := []struct {
		name    string
		input   string
		want    []string
		wantErr error
	}{
		{
			name:    "multi-line data, no space after colon, other fields",
			input:   "event: message\nid: 7\nretry: 100\ndata:{\"id\":\"chatcmpl-x\",\ndata: \"model\":\"m\",\"choices\":[]}\n\n: comment\n\nretry: 5\n\n" + done,
			want:    []string{"start chatcmpl-x m", "other", "other", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "stray blank lines between frames",
			input:   "\n\r\n" + start + "\n\n" + stop + "\n" + done,
			want:    []string{"start chatcmpl-x m", "stop end_turn", "end"},
			wantErr: io.EOF,
		},
		{
			name: "usage on every chunk goes to the stop",
			input: "data: " + chunkJSON(`{"content":"a"}`, "", `,"usage":{"prompt_tokens":5,"completion_tokens":1}`) + "\n\n" +
				"data: " + chunkJSON(`{"content":"b"}`, "", `,"usage":{"prompt_tokens":5,"completion_tokens":2}`) + "\n\n" +
				"data: " + chunkJSON(`{}`, "stop", "") + "\n\n" + done,
			want:    []string{"start chatcmpl-x m", "block_start 0 text", `text_delta 0 "a"`, `text_delta 0 "b"`, "block_stop 0", "stop end_turn usage=5/2/0/0", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "usage in the finish chunk",
			input:   start + "data: " + chunkJSON(`{}`, "length", `,"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}`) + "\n\n" + done,
			want:    []string{"start chatcmpl-x m", "stop max_tokens usage=3/4/2/0", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "other choices are ignored",
			input:   start + `data: {"id":"chatcmpl-x","choices":[{"index":1,"delta":{"content":"other"},"finish_reason":null},{"index":0,"delta":{"content":"mine"},"finish_reason":null}]}` + "\n\n" + stop + done,
			want:    []string{"start chatcmpl-x m", "block_start 0 text", `text_delta 0 "mine"`, "block_stop 0", "stop end_turn", "end"},
			wantErr: io.EOF,
		},
		{
			name: "tool call id repeated on every delta",
			input: start +
				"data: " + chunkJSON(`{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}`, "", "") + "\n\n" +
				"data: " + chunkJSON(`{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"arguments":":1}"}}]}`, "", "") + "\n\n" +
				"data: " + chunkJSON(`{}`, "tool_calls", "") + "\n\n" + done,
			want:    []string{"start chatcmpl-x m", "block_start 0 tool_use c1 f ", `tool_delta 0 "{\"a\""`, `tool_delta 0 ":1}"`, "block_stop 0", "stop tool_use", "end"},
			wantErr: io.EOF,
		},
		{
			name: "text after a tool call opens a new block",
			input: start +
				"data: " + chunkJSON(`{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "", "") + "\n\n" +
				"data: " + chunkJSON(`{"content":"done"}`, "stop", "") + "\n\n" + done,
			want:    []string{"start chatcmpl-x m", "block_start 0 tool_use c1 f ", `tool_delta 0 "{}"`, "block_stop 0", "block_start 1 text", `text_delta 1 "done"`, "block_stop 1", "stop end_turn", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "[DONE] without a finish_reason closes the open block",
			input:   "data: " + chunkJSON(`{"content":"a"}`, "", "") + "\n\n" + done,
			want:    []string{"start chatcmpl-x m", "block_start 0 text", `text_delta 0 "a"`, "block_stop 0", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "[DONE] without the blank line",
			input:   start + stop + "data: [DONE]\n",
			want:    []string{"start chatcmpl-x m", "stop end_turn", "end"},
			wantErr: io.EOF,
		},
		{
			name:    "[DONE] cut inside its line",
			input:   start + stop + "data: [DONE]",
			want:    []string{"start chatcmpl-x m", "stop end_turn"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "nothing after the data",
			input:   start + stop,
			want:    []string{"start chatcmpl-x m", "stop end_turn"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "empty",
			input:   "",
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "error before anything",
			input:   `data: {"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}` + "\n\n",
			wantErr: &llm.WireError{Type: "requests", Message: "Rate limit reached"},
		},
		{
			name:    "error as a string",
			input:   start + `data: {"error":"upstream overloaded"}` + "\n\n",
			want:    []string{"start chatcmpl-x m"},
			wantErr: &llm.WireError{Message: "upstream overloaded"},
		},
		{
			name:    "error of an unknown shape",
			input:   start + `data: {"error":{"detail":42}}` + "\n\n",
			want:    []string{"start chatcmpl-x m"},
			wantErr: &llm.WireError{Message: `{"detail":42}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := readAll(t, strings.NewReader(tt.input))
			if got := evStrings(evs); !equalLines(got, tt.want) {
				t.Errorf("got events (left), want (right):\n%s", diffLines(got, tt.want))
			}
			checkErr(t, err, tt.wantErr)
			checkFrames(t, evs)
		})
	}
}

func TestStreamReaderFailures(t *testing.T) {
	start := "data: " + chunkJSON(`{"role":"assistant","content":""}`, "", "") + "\n\n"
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"malformed JSON", start + "data: {\"id\":\n\n", "couldn't decode stream chunk"},
		{"data not an object", start + "data: hello\n\n", "couldn't decode stream chunk"},
		{"delta for a call that is not open", start + "data: " + chunkJSON(`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`, "", "") + "\n\n", "tool call 0"},
		{"delta for an earlier call", start +
			"data: " + chunkJSON(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f"}}]}`, "", "") + "\n\n" +
			"data: " + chunkJSON(`{"tool_calls":[{"index":1,"id":"b","function":{"name":"g"}}]}`, "", "") + "\n\n" +
			"data: " + chunkJSON(`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`, "", "") + "\n\n", "tool call 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := NewStreamReader(strings.NewReader(tt.input))
			var err error
			for range 100 {
				if _, err = sr.Next(); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tt.want)
			}
			if _, again := sr.Next(); again != err {
				t.Errorf("got %v on the next call, want the same error %v", again, err)
			}
		})
	}
}

func TestStreamReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: "+chunkJSON(`{"content":"a"}`, "", "")+"\n\n"), iotest.ErrReader(boom))
	evs, err := readAll(t, r)
	if len(evs) != 3 {
		t.Errorf("got %d events before the failure, want 3: %v", len(evs), evStrings(evs))
	}
	if !errors.Is(err, boom) {
		t.Errorf("got error %v, want %v", err, boom)
	}
}

func TestStreamReaderAfterEnd(t *testing.T) {
	sr := NewStreamReader(strings.NewReader("data: [DONE]\n\ndata: " + chunkJSON(`{"content":"late"}`, "", "") + "\n\n"))
	ev, err := sr.Next()
	if err != nil || ev.Type != llm.EventEnd {
		t.Fatalf("got %s, %v; want end", evString(ev), err)
	}
	for range 3 {
		if ev, err := sr.Next(); err != io.EOF {
			t.Fatalf("got %s, %v after the end; want io.EOF", evString(ev), err)
		}
	}
}

func TestStreamReaderLargeFrame(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	input := "data: " + chunkJSON(`{"content":"`+big+`"}`, "stop", "") + "\n\ndata: [DONE]\n\n"
	evs, err := readAll(t, iotest.HalfReader(strings.NewReader(input)))
	if err != io.EOF {
		t.Fatalf("got error %v, want io.EOF", err)
	}
	if len(evs) != 6 || evs[2].Text != big {
		t.Errorf("got %d events, want 6 with the 1 MiB text in the third", len(evs))
	}
}

func TestStreamReaderFrameTooLarge(t *testing.T) {
	input := "data: " + strings.Repeat("x", wire.MaxFrame) + "\n\n"
	_, err := readAll(t, strings.NewReader(input))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got error %v, want a frame size error", err)
	}
}

// scriptedReader returns one chunk per Read, then io.EOF, and counts the
// Read calls.
type scriptedReader struct {
	chunks []string
	reads  int
}

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	r.reads++
	n := copy(p, r.chunks[0])
	if n < len(r.chunks[0]) {
		r.chunks[0] = r.chunks[0][n:]
	} else {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestStreamReaderBuffered(t *testing.T) {
	start := "data: " + chunkJSON(`{"role":"assistant","content":""}`, "", "") + "\n\n"
	text := "data: " + chunkJSON(`{"content":"Hi"}`, "", "") + "\n\n"
	stop := "data: " + chunkJSON(`{}`, "stop", "") + "\n\n"
	done := "data: [DONE]\n\n"
	errFrame := `data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}` + "\n\n"
	step := func(ev string, buffered, reads int) string {
		return fmt.Sprintf("%s buffered=%d reads=%d", ev, buffered, reads)
	}
	tests := []struct {
		name   string
		chunks []string
		want   []string // after each Next: the event (or error), Buffered and the Read count
	}{
		{
			name:   "two frames in one read",
			chunks: []string{start + text, stop + done},
			want: []string{
				step("start chatcmpl-x m", len(text), 1),
				step("block_start 0 text", len(text), 1), // the text delta is still queued
				step(`text_delta 0 "Hi"`, 0, 1),
				step("block_stop 0", len(stop)+len(done), 2),
				step("stop end_turn", len(done), 2),
				step("end", 0, 2),
				step("EOF", 0, 2),
			},
		},
		{
			name:   "frame split across reads",
			chunks: []string{start + text[:10], text[10:] + done},
			want: []string{
				step("start chatcmpl-x m", 10, 1),
				step("block_start 0 text", len(text)+len(done), 2),
				step(`text_delta 0 "Hi"`, len(done), 2),
				step("block_stop 0", len(done), 2),
				step("end", 0, 2),
				step("EOF", 0, 2),
			},
		},
		{
			name:   "bytes after the end do not count",
			chunks: []string{done + text},
			want: []string{
				step("end", 0, 1),
				step("EOF", 0, 1),
			},
		},
		{
			name:   "error frame",
			chunks: []string{start + errFrame + text},
			want: []string{
				step("start chatcmpl-x m", len(errFrame)+len(text), 1),
				step("error", 0, 1),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &scriptedReader{chunks: slices.Clone(tt.chunks)}
			sr := NewStreamReader(r)
			if n := sr.Buffered(); n != 0 {
				t.Errorf("got Buffered %d before the first Next, want 0", n)
			}
			var got []string
			for range len(tt.want) + 1 {
				ev, err := sr.Next()
				s := evString(ev)
				if err == io.EOF {
					s = "EOF"
				} else if err != nil {
					s = "error"
				}
				got = append(got, step(s, sr.Buffered(), r.reads))
				if err != nil {
					break
				}
			}
			if !equalLines(got, tt.want) {
				t.Errorf("got (left), want (right):\n%s", diffLines(got, tt.want))
			}
		})
	}
}

// TestStreamReaderBufferedMeansNoRead checks the promise the gateway relies
// on: while Buffered reports bytes of complete frames, Next does not read.
// Each fixture arrives in one Read.
func TestStreamReaderBufferedMeansNoRead(t *testing.T) {
	for _, tt := range streamTests {
		t.Run(tt.file, func(t *testing.T) {
			r := &scriptedReader{chunks: []string{string(readFixture(t, tt.file))}}
			sr := NewStreamReader(r)
			for i := 0; ; i++ {
				before, reads := sr.Buffered(), r.reads
				_, err := sr.Next()
				if before > 0 && r.reads != reads {
					t.Fatalf("Next %d read from the reader with %d bytes buffered, want no read", i, before)
				}
				if i > 0 && before == 0 && err == nil {
					t.Fatalf("Next %d returned an event with Buffered 0 before it, want Buffered > 0", i)
				}
				if err != nil {
					break
				}
			}
		})
	}
}
