package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

func addFixtureSeeds(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures match %s: %v", pattern, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	addFixtureSeeds(f, "request_*.json")
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}],"tool_choice":{"type":"tool","name":"f"}}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"\u2028","signature":"s"},{"type":"redacted_thinking","data":"d"}]}],"temperature":1e-300}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			return
		}
		enc, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("EncodeRequest failed on a decoded request: %v\nbody: %q", err, body)
		}
		again, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("DecodeRequest failed on EncodeRequest's output: %v\nencoded: %s", err, enc)
		}
		req.Raw, again.Raw = nil, nil
		if !reflect.DeepEqual(req, again) {
			t.Fatalf("round trip changed the request\nfirst  %s\nsecond %s", dump(req), dump(again))
		}
	})
}

func FuzzStreamReader(f *testing.F) {
	addFixtureSeeds(f, "stream_*.sse")
	f.Add([]byte("data: {\"type\":\"message_stop\"}\r\n\r\n"))
	f.Add([]byte(": c\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":[1]}}}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := NewStreamReader(bytes.NewReader(body))
		var evs []llm.StreamEvent
		var err error
		// Every event but the first of a frame consumes input, and a frame
		// yields at most two events, so this bound is never reached by a
		// reader that terminates.
		for range 2*len(body) + 2 {
			var ev llm.StreamEvent
			if ev, err = r.Next(); err != nil {
				break
			}
			evs = append(evs, ev)
		}
		if err == nil {
			t.Fatalf("reader did not terminate after %d events", len(evs))
		}
		if err == io.EOF && (len(evs) == 0 || evs[len(evs)-1].Type != llm.EventEnd) {
			t.Fatal("got io.EOF without EventEnd")
		}
		var raw []byte
		for _, ev := range evs {
			if (ev.Raw == nil) != ev.Continued {
				t.Fatalf("event %v: Raw %q with Continued %v", ev.Type, ev.Raw, ev.Continued)
			}
			raw = append(raw, ev.Raw...)
		}

		// Passthrough writes the frames back unchanged.
		var out bytes.Buffer
		w := NewStreamWriter(&out, &llm.Request{Model: "m"})
		for _, ev := range evs {
			if err := w.WriteEvent(ev); err != nil && !errors.Is(err, errStreamDone) {
				t.Fatalf("passthrough WriteEvent(%v): %v", ev.Type, err)
			}
		}
		if got := out.Bytes(); !bytes.HasPrefix(got, raw) || !validFrames(got[len(raw):]) {
			t.Fatalf("passthrough output %q, want the raw frames %q", got, raw)
		}

		// Translation never panics and writes only whole frames.
		out.Reset()
		w = NewStreamWriter(&out, &llm.Request{Model: "m"})
		for _, ev := range evs {
			ev.Raw, ev.Continued, ev.Dialect = nil, false, ""
			_ = w.WriteEvent(ev)
		}
		if !validFrames(out.Bytes()) {
			t.Fatalf("translated output is not whole frames: %q", out.Bytes())
		}
	})
}

// validFrames reports whether b is a sequence of "event: ...\ndata: ...\n\n"
// frames with one-line JSON data.
func validFrames(b []byte) bool {
	for _, frame := range strings.SplitAfter(string(b), "\n\n") {
		if frame == "" {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(frame, "\n\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: {") {
			return false
		}
	}
	return true
}

// FuzzParseDelta checks the content_block_delta fast path against
// encoding/json: whenever parseDelta accepts data, json.Unmarshal must accept
// it too and decode the same values.
func FuzzParseDelta(f *testing.F) {
	for _, s := range []string{
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
		`{"type": "content_block_delta", "index": 12, "delta": {"type": "thinking_delta", "thinking": "a\nb \"q\" \u00e9\ud83d\ude00 \ud800 \/"}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}`,
		"{\"index\":01,\"delta\":{}}",
		"{\"delta\":{\"text\":\"a\"},\"delta\":{\"type\":\"text_delta\"}}",
		"{\"delta\":{\"text\":\"caf\xc3\xa9 \xff\"}}",
		`{"delta":{"type":"text_delta\u0041","text":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, index, d, ok := parseDelta(data)
		if !ok {
			return
		}
		var w wireEvent
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatalf("parseDelta accepted %q, encoding/json says %v", data, err)
		}
		if w.Delta == nil {
			t.Fatalf("parseDelta accepted %q without a delta", data)
		}
		if typ != w.Type || index != w.Index || d != *w.Delta {
			t.Fatalf("parseDelta(%q) = %q, %d, %+v; encoding/json gives %q, %d, %+v", data, typ, index, d, w.Type, w.Index, *w.Delta)
		}
	})
}
