package anthropic

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
)

// TestDecodeRequestKeyVariants checks that a key which encoding/json would
// match to a field but Anthropic would not (a case or Unicode-folding
// variant), or which both would read but differently (a duplicate, where the
// last wins in encoding/json), is refused at every level DecodeRequest reads.
func TestDecodeRequestKeyVariants(t *testing.T) {
	const head = `"model":"m","max_tokens":16`
	msgs := func(content string) string { return `"messages":[{"role":"user","content":` + content + `}]` }
	body := func(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }
	text := `[{"type":"text","text":"hi"}]`
	tests := []struct {
		name, body, want string
	}{
		// Top level.
		{"duplicate messages", body(head, msgs(`"A"`), msgs(`"B"`)), `duplicate field "messages"`},
		{"case variant messages", body(head, msgs(`"A"`), `"Messages":[{"role":"user","content":"B"}]`), `got field "Messages", want "messages": field names are case-sensitive`},
		{"case variant first", body(head, `"MESSAGES":[{"role":"user","content":"B"}]`, msgs(`"A"`)), `got field "MESSAGES", want "messages": field names are case-sensitive`},
		{"long s folds to s", body(head, msgs(`"A"`), `"meſſages":[{"role":"user","content":"B"}]`), `got field "meſſages", want "messages": field names are case-sensitive`},
		{"Kelvin sign folds to k", body(`"model":"m","max_to\u212Aens":16`, msgs(`"A"`)), "got field \"max_to\u212Aens\", want \"max_tokens\": field names are case-sensitive"},
		{"raw Kelvin sign", body(head, msgs(`"A"`), "\"\u212Aeep\":1", "\"max_to\u212Aens\":2"), "got field \"max_to\u212Aens\", want \"max_tokens\": field names are case-sensitive"},
		{"escaped duplicate", body(head, msgs(`"A"`), `"\u006dessages":[]`), `duplicate field "messages"`},
		{"escaped case variant", body(head, msgs(`"A"`), `"\u004dodel":"n"`), `got field "Model", want "model": field names are case-sensitive`},
		{"duplicate model", body(head, msgs(`"A"`), `"model":"n"`), `duplicate field "model"`},
		{"duplicate null", body(head, msgs(`"A"`), `"system":"s"`, `"system":null`), `duplicate field "system"`},
		{"case variant stream", body(head, msgs(`"A"`), `"Stream":true`), `got field "Stream", want "stream": field names are case-sensitive`},
		{"case variant max_tokens", body(head, msgs(`"A"`), `"Max_Tokens":1`), `got field "Max_Tokens", want "max_tokens": field names are case-sensitive`},
		{"long s in stop_sequences", body(head, msgs(`"A"`), `"ſtop_sequences":["x"]`), `got field "ſtop_sequences", want "stop_sequences": field names are case-sensitive`},
		{"case variant top_p", body(head, msgs(`"A"`), `"TOP_P":0.5`), `got field "TOP_P", want "top_p": field names are case-sensitive`},
		// Messages and their content blocks.
		{"message role", body(head, `"messages":[{"role":"user","Role":"assistant","content":"A"}]`), `messages: at index 0: got field "Role", want "role": field names are case-sensitive`},
		{"message duplicate content", body(head, `"messages":[{"role":"user","content":"A"},{"role":"assistant","content":"B","content":"C"}]`), `messages: at index 1: duplicate field "content"`},
		{"block text", body(head, msgs(`[{"type":"text","text":"A","Text":"B"}]`)), `messages: at index 0: content: at index 0: got field "Text", want "text": field names are case-sensitive`},
		{"block duplicate type", body(head, msgs(`[{"type":"text","text":"A"},{"type":"text","text":"B","type":"image"}]`)), `messages: at index 0: content: at index 1: duplicate field "type"`},
		{"tool_use name", body(head, `"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","naMe":"b","input":{}}]}]`), `messages: at index 0: content: at index 0: got field "naMe", want "name": field names are case-sensitive`},
		{"tool_use duplicate input", body(head, `"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","input":{},"input":{"x":1}}]}]`), `messages: at index 0: content: at index 0: duplicate field "input"`},
		{"tool_result id", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","Tool_Use_Id":"b"}]`)), `messages: at index 0: content: at index 0: got field "Tool_Use_Id", want "tool_use_id": field names are case-sensitive`},
		{"tool_result is_error", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","is_error":true,"is_error":false}]`)), `messages: at index 0: content: at index 0: duplicate field "is_error"`},
		{"tool_result content", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","content":"A","ContenT":"B"}]`)), `messages: at index 0: content: at index 0: got field "ContenT", want "content": field names are case-sensitive`},
		{"tool_result nested near miss", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"A"},{"type":"text","text":"A","teſt":"B"}]}]`)), ""},
		{"tool_result nested text case", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"A"},{"type":"text","text":"A","TEXT":"B"}]}]`)), `messages: at index 0: content: at index 0: content: at index 1: got field "TEXT", want "text": field names are case-sensitive`},
		{"tool_result nested source", body(head, msgs(`[{"type":"tool_result","tool_use_id":"a","content":[{"type":"image","source":{"type":"url","url":"https://a","url":"https://b"}}]}]`)), `messages: at index 0: content: at index 0: content: at index 0: source: duplicate field "url"`},
		{"image source media type", body(head, msgs(`[{"type":"image","source":{"type":"base64","media_type":"image/png","Media_Type":"image/gif","data":"AA=="}}]`)), `messages: at index 0: content: at index 0: source: got field "Media_Type", want "media_type": field names are case-sensitive`},
		{"image source data", body(head, msgs(`[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA==","data":"AB=="}}]`)), `messages: at index 0: content: at index 0: source: duplicate field "data"`},
		{"image duplicate source", body(head, msgs(`[{"type":"image","source":{"type":"url","url":"https://a"},"source":{"type":"url","url":"https://b"}}]`)), `messages: at index 0: content: at index 0: duplicate field "source"`},
		{"thinking", body(head, `"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"a","signature":"s","Thinking":"b"}]}]`), `messages: at index 0: content: at index 0: got field "Thinking", want "thinking": field names are case-sensitive`},
		// System, tools, tool_choice, metadata.
		{"system block", body(head, `"system":[{"type":"text","text":"a"},{"type":"text","text":"b","tExt":"c"}]`, msgs(`"A"`)), `system: at index 1: got field "tExt", want "text": field names are case-sensitive`},
		{"tool name", body(head, msgs(`"A"`), `"tools":[{"name":"a","NAME":"b"}]`), `tools: at index 0: got field "NAME", want "name": field names are case-sensitive`},
		{"tool duplicate schema", body(head, msgs(`"A"`), `"tools":[{"name":"a","input_schema":{},"input_schema":{"type":"object"}}]`), `tools: at index 0: duplicate field "input_schema"`},
		{"tool type", body(head, msgs(`"A"`), `"tools":[{"name":"a"},{"name":"b","Type":"custom"}]`), `tools: at index 1: got field "Type", want "type": field names are case-sensitive`},
		{"tool_choice type", body(head, msgs(`"A"`), `"tool_choice":{"type":"auto","Type":"none"}`), `tool_choice: got field "Type", want "type": field names are case-sensitive`},
		{"tool_choice parallel", body(head, msgs(`"A"`), `"tool_choice":{"type":"auto","disable_parallel_tool_use":true,"disable_parallel_tool_use":false}`), `tool_choice: duplicate field "disable_parallel_tool_use"`},
		{"metadata user_id", body(head, msgs(`"A"`), `"metadata":{"user_id":"a","uſer_id":"b"}`), `metadata: got field "uſer_id", want "user_id": field names are case-sensitive`},
		{"metadata duplicate", body(head, msgs(`"A"`), `"metadata":{"user_id":"a"}`, `"metadata":{"user_id":"b"}`), `duplicate field "metadata"`},

		// Accepted: keys the decoder does not read are not checked.
		{"unread duplicates", body(head, msgs(text), `"top_k":1`, `"top_k":2`, `"Top_K":3`), ""},
		{"cache_control variants", body(head, msgs(`[{"type":"text","text":"a","cache_control":{"type":"ephemeral"},"Cache_Control":{}}]`)), ""},
		{"inside input and schema", body(head, `"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"Name":1,"name":2,"name":3}}]}]`, `"tools":[{"name":"f","input_schema":{"type":"object","Type":"x","type":"y"}}]`), ""},
		{"not a fold", body(head, msgs(text), `"ıd":1`, `"modеl":"cyrillic e"`), ""},
		{"strings that look like keys", body(head, `"messages":[{"role":"user","content":"\"messages\":[] \\\"Messages\\\" }{"}]`, `"x":"\\\\","y":["model",{"model":1}]`), ""},
		{"escaped known key once", body(`"\u006dodel":"m"`, `"max_tokens":16`, msgs(`"A"`)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got request %s, want error %q", dump(req), tt.want)
			}
			be, ok := errors.AsType[*brightline.Error](err)
			if !ok {
				t.Fatalf("got error %T %v, want *brightline.Error", err, err)
			}
			if be.Code != brightline.CodeInvalidRequest {
				t.Errorf("got code %q, want %q", be.Code, brightline.CodeInvalidRequest)
			}
			if be.Message != tt.want {
				t.Errorf("got message %q\nwant %q", be.Message, tt.want)
			}
		})
	}
}

func TestDecodeRequestInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"in text", "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", "request body is not valid UTF-8: invalid byte at offset 67"},
		{"in key", "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"mess\xc3ges\":[]}", "request body is not valid UTF-8: invalid byte at offset 47"},
		{"surrogate half", "{\"model\":\"\xed\xa0\x80\"}", "request body is not valid UTF-8: invalid byte at offset 10"},
		{"truncated at end", "{\"model\":\"m\"}\xe2\x82", "request body is not valid UTF-8: invalid byte at offset 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			be, ok := errors.AsType[*brightline.Error](err)
			if !ok {
				t.Fatalf("got error %v, want *brightline.Error", err)
			}
			if be.Code != brightline.CodeInvalidRequest || be.Message != tt.want {
				t.Errorf("got %s: %q, want %s: %q", be.Code, be.Message, brightline.CodeInvalidRequest, tt.want)
			}
		})
	}
	// Escapes are not raw bytes: a lone surrogate escape is valid JSON and
	// valid UTF-8, and decodes to U+FFFD.
	req, err := DecodeRequest([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\ud800"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[0].Content[0].Text; got != "\uFFFD" {
		t.Errorf("got text %q, want U+FFFD", got)
	}
}

// TestRequestKeysCoverWireTypes checks that requestKeys lists exactly the
// keys each wire type decodes, so that a field added to a wire type cannot
// silently reopen the case-folding gap.
func TestRequestKeysCoverWireTypes(t *testing.T) {
	message := requestKeys.Field("messages").Elem()
	block := message.Field("content").Elem()
	tests := []struct {
		name   string
		typ    reflect.Type
		schema *wire.Keys
	}{
		{"request", reflect.TypeFor[wireRequest](), requestKeys},
		{"message", reflect.TypeFor[wireMessage](), message},
		{"block", reflect.TypeFor[wireBlock](), block},
		{"system block", reflect.TypeFor[wireBlock](), requestKeys.Field("system").Elem()},
		{"tool_result block", reflect.TypeFor[wireLeaf](), block.Field("content").Elem()},
		{"source", reflect.TypeFor[wireSource](), block.Field("source")},
		{"tool_result source", reflect.TypeFor[wireSource](), block.Field("content").Elem().Field("source")},
		{"tool", reflect.TypeFor[wireTool](), requestKeys.Field("tools").Elem()},
		{"tool_choice", reflect.TypeFor[wireToolChoice](), requestKeys.Field("tool_choice")},
		{"metadata", reflect.TypeFor[wireMetadata](), requestKeys.Field("metadata")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.schema.Names() == nil {
				t.Fatalf("got no object schema, want one listing the fields of %s", tt.typ)
			}
			fields := jsonFields(tt.typ)
			for name, ft := range fields {
				if !slices.Contains(tt.schema.Names(), name) {
					t.Errorf("field %q is decoded but not in the key schema", name)
					continue
				}
				// A field holding objects needs a schema of its own; the
				// table above checks which.
				if holdsObjects(ft) && tt.schema.Field(name) == nil {
					t.Errorf("field %q holds objects, but its key schema is nil", name)
				}
			}
			for _, name := range tt.schema.Names() {
				if _, ok := fields[name]; !ok {
					t.Errorf("key schema lists %q, which %s does not decode", name, tt.typ)
				}
			}
		})
	}
}

// jsonFields returns the JSON field names of struct type typ, with those of
// embedded structs, and their types.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for f := range typ.Fields() {
		if f.Anonymous && f.Tag.Get("json") == "" {
			for name, ft := range jsonFields(f.Type) {
				out[name] = ft
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

// holdsObjects reports whether values of typ are decoded from JSON objects
// or arrays of them: struct types, or types with their own UnmarshalJSON
// (content), which hold blocks.
func holdsObjects(typ reflect.Type) bool {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	return typ.Kind() == reflect.Struct
}
