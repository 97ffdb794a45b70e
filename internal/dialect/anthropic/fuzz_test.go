package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
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
	// Near misses for the strict key check to mutate.
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"A"}],"Messages":[{"role":"user","content":"B"}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"meſſages":[{"role":"user","content":"B"}],"messages":[{"role":"user","content":[{"type":"text","text":"A","Text":"B"}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"A","text":"B"}]}]}],"metadata":{"user_id":"u","\u0075ser_id":"v"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			return
		}
		// Anthropic reads keys exactly: what it runs must be what the
		// gateway inspected.
		strict, err := strictView(body)
		if err != nil {
			t.Fatalf("DecodeRequest accepted a body the exact-key decoder rejects: %v\nbody: %q", err, body)
		}
		if got := viewOf(req); !reflect.DeepEqual(got, strict) {
			t.Fatalf("DecodeRequest and the exact-key decoder disagree\ngot  %+v\nwant %+v\nbody: %q", got, strict, body)
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
		req.ExtraFields, req.ExtraText = nil, nil
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
		for i := range 2*len(body) + 2 {
			buffered := r.Buffered()
			if buffered < 0 || buffered > len(body) {
				t.Fatalf("got Buffered() = %d, want 0 to %d", buffered, len(body))
			}
			var ev llm.StreamEvent
			if ev, err = r.Next(); err != nil {
				break
			}
			// A body this short arrives in the first Read, so Buffered
			// must count everything Next can still return.
			if i > 0 && buffered == 0 && len(body) <= 16<<10 {
				t.Fatalf("Next returned %v with Buffered() = 0 before it", ev.Type)
			}
			evs = append(evs, ev)
		}
		if got := r.Buffered(); got != 0 {
			t.Fatalf("got Buffered() = %d after %v, want 0", got, err)
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

// requestView is what inspection of a request depends on, in a form two
// independent decoders can produce.
type requestView struct {
	Model, MaxTokens, System, User, ToolChoice string
	Temperature, TopP                          *float64
	Stream                                     bool
	Stop, Tools                                []string
	Messages                                   []messageView
}

type messageView struct {
	Role   string
	Blocks []string
}

// viewOf describes a decoded request.
func viewOf(req *llm.Request) requestView {
	v := requestView{
		Model: req.Model, MaxTokens: strconv.Itoa(req.MaxTokens), System: req.System, User: req.User,
		Temperature: req.Temperature, TopP: req.TopP, Stream: req.Stream, Stop: req.Stop,
	}
	if tc := req.ToolChoice; tc != nil {
		v.ToolChoice = fmt.Sprintf("%s|%s|%v", tc.Mode, tc.Name, tc.DisableParallel)
	}
	for _, tool := range req.Tools {
		v.Tools = append(v.Tools, tool.Name+"|"+tool.Description+"|"+normalJSON(tool.InputSchema))
	}
	for _, m := range req.Messages {
		mv := messageView{Role: string(m.Role)}
		for _, b := range m.Content {
			mv.Blocks = append(mv.Blocks, blockView(b))
		}
		v.Messages = append(v.Messages, mv)
	}
	return v
}

func blockView(b llm.Block) string {
	switch b.Type {
	case llm.BlockText:
		return "text:" + b.Text
	case llm.BlockThinking:
		return "thinking:" + b.Text + "|" + b.Signature
	case llm.BlockRedactedThinking:
		return "redacted_thinking:" + b.Signature
	case llm.BlockImage:
		return "image:" + b.Image.MediaType + "|" + b.Image.Data + "|" + b.Image.URL
	case llm.BlockToolUse:
		return "tool_use:" + b.ToolCall.ID + "|" + b.ToolCall.Name + "|" + normalJSON(b.ToolCall.Arguments)
	case llm.BlockToolResult:
		var inner []string
		for _, c := range b.ToolResult.Content {
			inner = append(inner, blockView(c))
		}
		return fmt.Sprintf("tool_result:%s|%v|%q", b.ToolResult.CallID, b.ToolResult.IsError, inner)
	}
	return "unknown:" + string(b.Type)
}

// normalJSON re-encodes a JSON value with sorted keys and numbers as
// written.
func normalJSON(raw []byte) string {
	v, err := decodeExact(raw)
	if err != nil {
		return "invalid: " + err.Error()
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// decodeExact decodes body into maps, slices and json.Numbers. Maps keep
// keys exactly as written, as Anthropic reads them, and the first of
// duplicate keys, where encoding/json keeps the last: if DecodeRequest let a
// duplicate through, the two would disagree.
func decodeExact(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := decodeFirstWins(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func decodeFirstWins(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		m := make(map[string]any)
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := m[key.(string)]; !dup {
				m[key.(string)] = v
			}
		}
		_, err = dec.Token() // '}'
		return m, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = dec.Token() // ']'
		return a, err
	}
	return tok, nil
}

// strictView describes body decoded with exact keys, independently of
// DecodeRequest. It returns an error where body is not a request
// DecodeRequest could have accepted.
func strictView(body []byte) (requestView, error) {
	top, err := decodeExact(body)
	if err != nil {
		return requestView{}, err
	}
	x := &exact{}
	m := x.object(top)
	v := requestView{
		Model: x.str(m["model"]), System: x.system(m["system"]), Stream: x.boolean(m["stream"]),
		Temperature: x.float(m["temperature"]), TopP: x.float(m["top_p"]),
	}
	if n, ok := m["max_tokens"].(json.Number); ok {
		v.MaxTokens = n.String()
	} else {
		x.fail("max_tokens %v", m["max_tokens"])
	}
	if md := m["metadata"]; md != nil {
		v.User = x.str(x.object(md)["user_id"])
	}
	for _, s := range x.array(m["stop_sequences"]) {
		v.Stop = append(v.Stop, x.str(s))
	}
	for _, t := range x.array(m["tools"]) {
		tm := x.object(t)
		schema := `{"type":"object"}`
		if tm["input_schema"] != nil {
			out, _ := json.Marshal(tm["input_schema"])
			schema = string(out)
		}
		v.Tools = append(v.Tools, x.str(tm["name"])+"|"+x.str(tm["description"])+"|"+normalJSON([]byte(schema)))
	}
	if tc := m["tool_choice"]; tc != nil {
		tm := x.object(tc)
		typ, name, disable := x.str(tm["type"]), "", x.boolean(tm["disable_parallel_tool_use"])
		if typ == "tool" {
			name = x.str(tm["name"])
		}
		if typ == "none" {
			disable = false
		}
		v.ToolChoice = fmt.Sprintf("%s|%s|%v", typ, name, disable)
	}
	for _, msg := range x.array(m["messages"]) {
		mm := x.object(msg)
		v.Messages = append(v.Messages, messageView{Role: x.str(mm["role"]), Blocks: x.blocks(mm["content"], false)})
	}
	return v, x.err
}

// exact reads decodeExact's values, remembering the first surprise.
type exact struct{ err error }

func (x *exact) fail(format string, args ...any) {
	if x.err == nil {
		x.err = fmt.Errorf(format, args...)
	}
}

func (x *exact) object(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		x.fail("got %T, want an object", v)
	}
	return m
}

func (x *exact) array(v any) []any {
	a, ok := v.([]any)
	if !ok && v != nil {
		x.fail("got %T, want an array", v)
	}
	return a
}

func (x *exact) str(v any) string {
	s, ok := v.(string)
	if !ok && v != nil {
		x.fail("got %T, want a string", v)
	}
	return s
}

func (x *exact) boolean(v any) bool {
	b, ok := v.(bool)
	if !ok && v != nil {
		x.fail("got %T, want a boolean", v)
	}
	return b
}

func (x *exact) float(v any) *float64 {
	if v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	f, err := strconv.ParseFloat(string(n), 64)
	if !ok || err != nil {
		x.fail("got %v, want a number", v)
	}
	return &f
}

func (x *exact) system(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var texts []string
	for _, b := range x.array(v) {
		texts = append(texts, x.str(x.object(b)["text"]))
	}
	return strings.Join(texts, "\n\n")
}

// blocks describes message or tool_result content as blockView does.
func (x *exact) blocks(v any, nested bool) []string {
	if s, ok := v.(string); ok {
		return []string{"text:" + s}
	}
	var out []string
	for _, b := range x.array(v) {
		bm := x.object(b)
		switch typ := x.str(bm["type"]); typ {
		case "text":
			out = append(out, "text:"+x.str(bm["text"]))
		case "thinking":
			out = append(out, "thinking:"+x.str(bm["thinking"])+"|"+x.str(bm["signature"]))
		case "image":
			src := x.object(bm["source"])
			if x.str(src["type"]) == "url" {
				out = append(out, "image:||"+x.str(src["url"]))
			} else {
				out = append(out, "image:"+x.str(src["media_type"])+"|"+x.str(src["data"])+"|")
			}
		case "tool_use":
			input := []byte("{}")
			if bm["input"] != nil {
				input, _ = json.Marshal(bm["input"])
			}
			out = append(out, "tool_use:"+x.str(bm["id"])+"|"+x.str(bm["name"])+"|"+normalJSON(input))
		case "tool_result":
			if nested {
				x.fail("tool_result inside tool_result")
			}
			out = append(out, fmt.Sprintf("tool_result:%s|%v|%q", x.str(bm["tool_use_id"]), x.boolean(bm["is_error"]), x.blocks(bm["content"], true)))
		case "redacted_thinking":
			out = append(out, "redacted_thinking:"+x.str(bm["data"]))
		default:
			x.fail("block type %q", typ)
		}
	}
	return out
}
