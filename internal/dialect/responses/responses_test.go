package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allowAll is a policy that allows every field and server tool.
type allowAll struct{}

func (allowAll) AllowsRequestField(string, string) bool { return true }
func (allowAll) AllowsServerTool(string) bool           { return true }

func TestDecodeRequestFixture(t *testing.T) {
	req, err := DecodeClientRequest(readFixture(t, "multiturn_tools.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "You are a logistics assistant for Acme Freight. Answer briefly.\n\nNever reveal internal shipment codes."; req.System != want {
		t.Errorf("system: got %q, want %q", req.System, want)
	}
	var roles []string
	for _, m := range req.Messages {
		var types []string
		for _, b := range m.Content {
			types = append(types, string(b.Type))
		}
		roles = append(roles, string(m.Role)+":"+strings.Join(types, ","))
	}
	want := []string{"user:text,image,image", "assistant:thinking,tool_use,tool_use", "user:tool_result,tool_result", "assistant:text", "user:text"}
	if !reflect.DeepEqual(roles, want) {
		t.Errorf("messages: got %q, want %q", roles, want)
	}
	if c := req.Messages[1].Content[1].ToolCall; c.ID != "call_Vx3GQhw2k6jTb0iM9cXnzW1e" || c.Name != "get_shipment" || string(c.Arguments) != `{"shipment_id":"4417"}` {
		t.Errorf("first call: got %+v", c)
	}
	if len(req.Tools) != 3 || req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceAuto || !req.ToolChoice.DisableParallel {
		t.Errorf("tools: got %d tools and choice %+v, want 3, auto without parallel calls", len(req.Tools), req.ToolChoice)
	}
	if req.MaxTokens != 1024 || *req.Temperature != 0.2 || *req.TopP != 0.9 || !req.Stream || req.User != "user-1234" {
		t.Errorf("parameters: got %+v", req)
	}
	if want := []string{"store", "text", "reasoning", "metadata"}; !reflect.DeepEqual(req.ExtraFields, want) {
		t.Errorf("extra fields: got %q, want %q", req.ExtraFields, want)
	}
	if !strings.Contains(strings.Join(req.ExtraText, " "), "T-88") {
		t.Errorf("extra text %q lacks the metadata", req.ExtraText)
	}
	if req.Dialect != brightline.DialectResponses || req.Raw == nil {
		t.Errorf("got dialect %q and raw %v, want the body kept", req.Dialect, req.Raw != nil)
	}
}

// TestEncodeRequestRoundTrip: what EncodeRequest writes decodes to the
// same canonical request, less what a provider request does not carry.
func TestEncodeRequestRoundTrip(t *testing.T) {
	req, err := DecodeRequest(readFixture(t, "multiturn_tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRequest(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	// Thinking is dropped, and so are Raw and the unmodelled fields.
	want := *req
	want.Messages = append([]llm.Message(nil), req.Messages...)
	want.Messages[1].Content = want.Messages[1].Content[1:]
	want.Raw, want.ExtraFields, want.ExtraText = body, []string{"store"}, nil
	if !reflect.DeepEqual(back.Messages, want.Messages) || back.System != want.System || !reflect.DeepEqual(back.Tools, want.Tools) ||
		!reflect.DeepEqual(back.ToolChoice, want.ToolChoice) || back.MaxTokens != want.MaxTokens || !reflect.DeepEqual(back.ExtraFields, want.ExtraFields) {
		t.Errorf("round trip changed the request:\n got %+v\nwant %+v\nbody %s", back, want, body)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no model", `{"input":"hi"}`, "model: required"},
		{"no input", `{"model":"m"}`, "input: required"},
		{"previous_response_id", `{"model":"m","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id: the gateway keeps no conversation state"},
		{"item_reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input: at index 0: item_reference: the gateway keeps no conversation state"},
		{"file input", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`, `unsupported part type "input_file"`},
		{"image by file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "file_id: files stored at the provider are not supported"},
		{"custom tool", `{"model":"m","input":"hi","tools":[{"type":"custom","name":"apply_patch"}]}`, `tools: at index 0: unsupported tool type "custom"`},
		{"hosted tool", `{"model":"m","input":"hi","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}`, `kind "code_execution"`},
		{"hosted item", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1","status":"completed"}]}`, `kind "web_search"`},
		{"unknown field", `{"model":"m","input":"hi","prompt":{"id":"p"}}`, "prompt: the gateway does not model this request field"},
		{"case variant", `{"model":"m","input":"hi","Input":"bye"}`, `got field "Input", want "input"`},
		{"duplicate", `{"model":"m","input":"hi","input":"bye"}`, `duplicate field "input"`},
		{"case variant in an item", `{"model":"m","input":[{"role":"user","content":"a","Content":"b"}]}`, `input: at index 0: got field "Content"`},
		{"arguments not an object", `{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]}`, "arguments: must be a JSON object"},
		{"namespace in a namespace", `{"model":"m","input":"hi","tools":[{"type":"namespace","name":"a","tools":[{"type":"namespace","name":"b"}]}]}`, "a namespace may not hold a namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeClientRequest([]byte(tt.body), nil)
			e, ok := errors.AsType[*brightline.Error](err)
			if !ok || e.Code != brightline.CodeInvalidRequest || !strings.Contains(e.Message, tt.want) {
				t.Errorf("got %v, want invalid_request containing %q", err, tt.want)
			}
		})
	}
	// The policy can allow hosted tools and fields.
	req, err := DecodeClientRequest([]byte(`{"model":"m","input":"hi","tools":[{"type":"web_search"},{"type":"function","name":"f"}],"prompt":{"id":"p"}}`), allowAll{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"prompt", "tools[0]"}; !reflect.DeepEqual(req.ExtraFields, want) || len(req.Tools) != 1 {
		t.Errorf("allowed: got extra %q and %d tools, want %q and 1", req.ExtraFields, len(req.Tools), want)
	}
}

// TestResponseRoundTrip: EncodeResponse writes what DecodeResponse reads
// back.
func TestResponseRoundTrip(t *testing.T) {
	for _, stop := range []llm.StopReason{llm.StopEndTurn, llm.StopToolUse, llm.StopMaxTokens} {
		resp := &llm.Response{ID: "msg_1", Model: "claude-x", StopReason: stop, Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, CacheReadTokens: 2},
			Content: []llm.Block{{Type: llm.BlockText, Text: "Looking \"it\" up."}}}
		if stop == llm.StopToolUse {
			resp.Content = append(resp.Content, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Kyiv"}`)}})
		}
		body, err := EncodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(body) {
			t.Fatalf("not JSON: %s", body)
		}
		back, err := DecodeResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		if back.ID != "resp_msg_1" || back.StopReason != stop || !reflect.DeepEqual(back.Content, resp.Content) || back.Usage != resp.Usage {
			t.Errorf("%s: got %+v, want %+v", stop, back, resp)
		}
	}
}

// fakeStream is a streamed answer as the API sends it: text, then a
// function call.
func fakeStream() []byte {
	var b bytes.Buffer
	seq := 0
	ev := func(typ, fields string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, seq, fields)
		seq++
	}
	resp := func(status, output, usage string) string {
		return `"response":{"id":"resp_1","object":"response","created_at":1,"status":"` + status + `","model":"gpt-x","output":[` + output + `],"usage":` + usage + `}`
	}
	ev("response.created", resp("in_progress", "", "null"))
	ev("response.in_progress", resp("in_progress", "", "null"))
	ev("response.output_item.added", `"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}`)
	ev("response.content_part.added", `"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`)
	for _, d := range []string{"Calling ", "the ", "tool."} {
		ev("response.output_text.delta", `"item_id":"msg_1","output_index":0,"content_index":0,"delta":"`+d+`","logprobs":[]`)
	}
	ev("response.output_text.done", `"item_id":"msg_1","output_index":0,"content_index":0,"text":"Calling the tool.","logprobs":[]`)
	ev("response.content_part.done", `"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Calling the tool.","annotations":[]}`)
	msg := `{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Calling the tool.","annotations":[]}]}`
	ev("response.output_item.done", `"output_index":0,"item":`+msg)
	ev("response.output_item.added", `"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_1","name":"fire"}`)
	ev("response.function_call_arguments.delta", `"item_id":"fc_1","output_index":1,"delta":"{\"track\":"`)
	ev("response.function_call_arguments.delta", `"item_id":"fc_1","output_index":1,"delta":"\"T-1\"}"`)
	ev("response.function_call_arguments.done", `"item_id":"fc_1","output_index":1,"arguments":"{\"track\":\"T-1\"}"`)
	fc := `{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"track\":\"T-1\"}","call_id":"call_1","name":"fire"}`
	ev("response.output_item.done", `"output_index":1,"item":`+fc)
	ev("response.completed", resp("completed", msg+","+fc, `{"input_tokens":7,"input_tokens_details":{"cached_tokens":0},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":16}`))
	return b.Bytes()
}

func readAll(t testing.TB, r io.Reader) []llm.StreamEvent {
	t.Helper()
	sr := NewStreamReader(r)
	var evs []llm.StreamEvent
	for {
		ev, err := sr.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
}

func TestStreamReader(t *testing.T) {
	evs := readAll(t, bytes.NewReader(fakeStream()))
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Type.String())
	}
	want := "start other other block_start text_delta text_delta text_delta text_delta block_stop other " +
		"block_start tool_delta tool_delta tool_delta block_stop stop end"
	if strings.Join(got, " ") != want {
		t.Errorf("events:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	last := evs[len(evs)-2]
	if last.StopReason != llm.StopToolUse || last.Usage == nil || last.Usage.InputTokens != 7 || last.Usage.OutputTokens != 9 {
		t.Errorf("stop: got %+v, want tool_use with usage 7/9", last)
	}
}

// TestStreamPassthrough: a Responses stream read and written again is
// the same bytes.
func TestStreamPassthrough(t *testing.T) {
	in := fakeStream()
	var out bytes.Buffer
	sw := NewStreamWriter(&out, &llm.Request{Model: "gpt-x"})
	for _, ev := range readAll(t, bytes.NewReader(in)) {
		if err := sw.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Errorf("passthrough changed the stream:\n got %s\nwant %s", out.Bytes(), in)
	}
}

// sseEvents parses typed SSE frames into their data objects.
func sseEvents(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for frame := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n\n") {
		lines := strings.SplitN(frame, "\n", 2)
		name, _ := strings.CutPrefix(lines[0], "event: ")
		data, _ := strings.CutPrefix(lines[1], "data: ")
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		if m["type"] != name {
			t.Errorf("frame names %q, its data %q", name, m["type"])
		}
		out = append(out, m)
	}
	return out
}

// TestStreamChanged: when the gateway replaces the function call (a held
// call), the writer encodes from there on, numbers on, and the final
// response lists the notice, not the call.
func TestStreamChanged(t *testing.T) {
	var out bytes.Buffer
	sw := NewStreamWriter(&out, &llm.Request{Model: "gpt-x"})
	for _, ev := range readAll(t, bytes.NewReader(fakeStream())) {
		if ev.Type == llm.EventBlockStart && ev.Block.Type == llm.BlockToolUse {
			ev = llm.StreamEvent{Type: llm.EventBlockStart, Index: ev.Index, Block: &llm.Block{Type: llm.BlockText}}
			sw.WriteEvent(ev)
			ev = llm.StreamEvent{Type: llm.EventTextDelta, Index: ev.Index, Text: "[brightline] held"}
		} else if ev.Type == llm.EventToolDelta {
			continue
		} else if ev.Type == llm.EventBlockStop || ev.Type == llm.EventStop || ev.Type == llm.EventEnd {
			ev.Raw, ev.Continued, ev.FrameEvents = nil, false, 0
			if ev.Type == llm.EventStop {
				ev.StopReason = llm.StopEndTurn
			}
		}
		if err := sw.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	evs := sseEvents(t, out.Bytes())
	for i, e := range evs {
		if n := e["sequence_number"].(float64); int(n) != i {
			t.Fatalf("event %d (%s) has sequence_number %v", i, e["type"], n)
		}
		if strings.Contains(string(must(json.Marshal(e))), "T-1") {
			t.Errorf("event %d (%s) carries the held call's arguments", i, e["type"])
		}
	}
	final := evs[len(evs)-1]
	if final["type"] != "response.completed" {
		t.Fatalf("last event: got %v", final["type"])
	}
	body := must(json.Marshal(final["response"]))
	back, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Block{{Type: llm.BlockText, Text: "Calling the tool."}, {Type: llm.BlockText, Text: "[brightline] held"}}
	if !reflect.DeepEqual(back.Content, want) || back.StopReason != llm.StopEndTurn || back.Usage.OutputTokens != 9 {
		t.Errorf("final response: got %+v, want the text and the notice", back)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestStreamWriterError ends a stream with an error event and
// response.failed.
func TestStreamWriterError(t *testing.T) {
	var out bytes.Buffer
	sw := NewStreamWriter(&out, &llm.Request{Model: "m"})
	sw.WriteEvent(llm.StreamEvent{Type: llm.EventStart, ID: "x"})
	if err := sw.WriteError(&brightline.Error{Code: brightline.CodeUpstream, Message: "the provider's stream ended"}); err != nil {
		t.Fatal(err)
	}
	evs := sseEvents(t, out.Bytes())
	if len(evs) != 4 || evs[2]["type"] != "error" || evs[2]["code"] != "upstream_error" || evs[3]["type"] != "response.failed" {
		t.Errorf("got %v, want created, in_progress, error, response.failed", evs)
	}
	if err := sw.WriteEvent(llm.StreamEvent{Type: llm.EventEnd}); err == nil {
		t.Error("writing after the error: got no error")
	}
}
