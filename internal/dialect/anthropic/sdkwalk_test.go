package anthropic_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// The SDK's param types are the checklist of what a client can send. The
// tests below walk them by reflection: every variant of a union gets a
// minimal value (its required fields filled, see fill), is marshalled by
// the SDK into a request, and must be decoded by DecodeClientRequest and
// still be there after EncodeRequest (encoded from the canonical model,
// as a translated or redacted request is). A variant the gateway refuses
// on purpose is listed with the refusal it must get; a new SDK variant
// fails the test until it is handled and listed.

// fill sets the required fields of the value v points to, recursively:
// strings "x", numbers 1, one element in slices, the first pointer or
// slice variant of a union, {} for an any. Optional fields stay unset;
// param.Opt fields cannot be set by reflection and stay unset too.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{}))
	case reflect.Struct:
		if variants := unionVariants(v.Type()); variants != nil {
			fill(v.FieldByName(variants[0]))
			return
		}
		for f := range v.Type().Fields() {
			if f.IsExported() && f.Tag.Get("api") == "required" && !strings.HasPrefix(f.Type.Name(), "Opt[") {
				fill(v.FieldByIndex(f.Index))
			}
		}
	}
}

// unionVariants returns the names of the variant fields (Of...) of an SDK
// union type whose values are pointers or slices, or nil if typ is not a
// union.
func unionVariants(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		if strings.HasPrefix(f.Name, "Of") && (f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice) {
			out = append(out, f.Name)
		}
	}
	return out
}

// variant returns a value of union type U with variant name set to a
// minimal value, after edit (if any) has adjusted it.
func variant[U any](t *testing.T, name string, edit func(reflect.Value)) U {
	t.Helper()
	var u U
	f := reflect.ValueOf(&u).Elem().FieldByName(name)
	fill(f)
	if edit != nil {
		edit(f.Elem())
	}
	return u
}

// wireType is the "type" the SDK writes for v.
func wireType(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var w struct {
		Type string `json:"type"`
	}
	json.Unmarshal(b, &w)
	return w.Type
}

// serverPolicy allows every server tool kind, or none.
type serverPolicy struct{ all bool }

func (p serverPolicy) AllowsRequestField(string, string) bool { return false }
func (p serverPolicy) AllowsAnthropicBeta(string) bool        { return false }
func (p serverPolicy) AllowsServerTool(string) bool           { return p.all }

// expectation is what must happen to a variant: represented after the
// round trip (refused ""), or refused with a message containing refused.
// server marks a server tool variant: refused without the policy's leave
// (with the allow.server_tools message), represented with it.
type expectation struct {
	server  bool
	refused string
}

// roundTrip decodes params as a client request under allow and, if that
// succeeds, encodes the canonical request again.
func roundTrip(t *testing.T, body []byte, allow anthropic.Allow) (req *llm.Request, encoded string, err error) {
	t.Helper()
	req, err = anthropic.DecodeClientRequest(body, allow)
	if err != nil {
		return nil, "", err
	}
	out, err := anthropic.EncodeRequest(req)
	if err != nil {
		t.Fatalf("EncodeRequest: %v\nbody: %s", err, body)
	}
	return req, string(out), nil
}

// checkVariant runs params through the decoder as exp says it must fare;
// present reports whether the round trip kept the variant.
func checkVariant(t *testing.T, params sdk.MessageNewParams, exp expectation, present func(req *llm.Request, encoded string) bool) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatalf("the SDK couldn't marshal the request: %v", err)
	}
	checkBody(t, body, exp, present)
}

// checkBody is checkVariant for a request body.
func checkBody(t *testing.T, body []byte, exp expectation, present func(req *llm.Request, encoded string) bool) {
	t.Helper()
	allows := []anthropic.Allow{nil}
	if exp.server {
		allows = append(allows, serverPolicy{all: true})
	}
	for _, allow := range allows {
		req, encoded, err := roundTrip(t, body, allow)
		switch {
		case exp.refused != "":
			if err == nil || !strings.Contains(err.Error(), exp.refused) {
				t.Errorf("got error %v, want a refusal saying %q", err, exp.refused)
			}
		case exp.server && allow == nil:
			if err == nil || !strings.Contains(err.Error(), "allow.server_tools") {
				t.Errorf("without the policy's leave: got error %v, want the server tool refusal", err)
			}
		case err != nil:
			t.Errorf("got error %v, want it decoded", err)
		case !present(req, encoded):
			t.Errorf("dropped: not represented after decode and encode; encoded %s", encoded)
		}
	}
}

// enumTypes are the type values of tool variants whose type is a
// required enum rather than a constant.
var enumTypes = map[string]string{
	"OfToolSearchToolBm25_20251119": "tool_search_tool_bm25_20251119",
	"OfToolSearchToolRegex20251119": "tool_search_tool_regex_20251119",
}

// optionalFields are values for the top-level fields fill leaves unset.
var optionalFields = map[string]string{
	"inference_geo": `"us"`, "temperature": `0.5`, "top_k": `5`, "top_p": `0.9`,
	"cache_control": `{"type":"ephemeral"}`, "diagnostics": `{"previous_message_id":"msg_1"}`,
	"metadata": `{"user_id":"u"}`, "output_config": `{"effort":"low"}`,
}

func userParams(blocks ...sdk.ContentBlockParamUnion) sdk.MessageNewParams {
	return sdk.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16, Messages: []sdk.MessageParam{{Role: sdk.MessageParamRoleUser, Content: blocks}}}
}

// TestSDKParamVariants walks every variant of the SDK's request unions:
// content blocks, tool result content, image and document sources,
// citations, tools, message roles and top-level fields.
func TestSDKParamVariants(t *testing.T) {
	hasType := func(typ string) func(*llm.Request, string) bool {
		return func(_ *llm.Request, encoded string) bool { return strings.Contains(encoded, `"type":"`+typ+`"`) }
	}

	t.Run("ContentBlockParamUnion", func(t *testing.T) {
		server := expectation{server: true}
		exp := map[string]expectation{
			"OfServerToolUse":                     server,
			"OfWebSearchToolResult":               server,
			"OfWebFetchToolResult":                server,
			"OfCodeExecutionToolResult":           server,
			"OfBashCodeExecutionToolResult":       server,
			"OfTextEditorCodeExecutionToolResult": server,
			"OfContainerUpload":                   server,
			// Tool search runs at the provider, and the policy has no
			// server tool kind for it yet.
			"OfToolSearchToolResult": {refused: `unsupported block type "tool_search_tool_result"`},
		}
		for _, name := range unionVariants(reflect.TypeFor[sdk.ContentBlockParamUnion]()) {
			t.Run(name, func(t *testing.T) {
				blk := variant[sdk.ContentBlockParamUnion](t, name, func(v reflect.Value) {
					if n := v.FieldByName("Name"); name == "OfServerToolUse" {
						n.SetString("web_search") // an enum: a server tool's name
					}
				})
				checkVariant(t, userParams(blk), exp[name], hasType(wireType(t, blk)))
			})
		}
	})

	t.Run("ToolResultBlockParamContentUnion", func(t *testing.T) {
		exp := map[string]expectation{
			// Browser state comes from a browser the provider drives.
			"OfBrowserState": {refused: `unsupported block type "browser_state"`},
		}
		for _, name := range unionVariants(reflect.TypeFor[sdk.ToolResultBlockParamContentUnion]()) {
			t.Run(name, func(t *testing.T) {
				c := variant[sdk.ToolResultBlockParamContentUnion](t, name, nil)
				blk := sdk.ContentBlockParamUnion{OfToolResult: &sdk.ToolResultBlockParam{ToolUseID: "toolu_1", Content: []sdk.ToolResultBlockParamContentUnion{c}}}
				checkVariant(t, userParams(blk), exp[name], hasType(wireType(t, c)))
			})
		}
	})

	t.Run("ImageBlockParamSourceUnion", func(t *testing.T) {
		for _, name := range unionVariants(reflect.TypeFor[sdk.ImageBlockParamSourceUnion]()) {
			t.Run(name, func(t *testing.T) {
				src := variant[sdk.ImageBlockParamSourceUnion](t, name, nil)
				blk := sdk.ContentBlockParamUnion{OfImage: &sdk.ImageBlockParam{Source: src}}
				checkVariant(t, userParams(blk), expectation{}, func(_ *llm.Request, encoded string) bool {
					return strings.Contains(encoded, `"source":{"type":"`+wireType(t, src)+`"`)
				})
			})
		}
	})

	t.Run("DocumentBlockParamSourceUnion", func(t *testing.T) {
		for _, name := range unionVariants(reflect.TypeFor[sdk.DocumentBlockParamSourceUnion]()) {
			t.Run(name, func(t *testing.T) {
				src := variant[sdk.DocumentBlockParamSourceUnion](t, name, nil)
				blk := sdk.ContentBlockParamUnion{OfDocument: &sdk.DocumentBlockParam{Source: src}}
				checkVariant(t, userParams(blk), expectation{}, func(_ *llm.Request, encoded string) bool {
					return strings.Contains(encoded, `"source":{"type":"`+wireType(t, src)+`"`)
				})
			})
		}
	})

	t.Run("TextCitationParamUnion", func(t *testing.T) {
		for _, name := range unionVariants(reflect.TypeFor[sdk.TextCitationParamUnion]()) {
			t.Run(name, func(t *testing.T) {
				c := variant[sdk.TextCitationParamUnion](t, name, func(v reflect.Value) {
					v.FieldByName("CitedText").SetString("cited words")
				})
				blk := sdk.ContentBlockParamUnion{OfText: &sdk.TextBlockParam{Text: "x", Citations: []sdk.TextCitationParamUnion{c}}}
				checkVariant(t, userParams(blk), expectation{}, func(req *llm.Request, encoded string) bool {
					cites := req.Messages[0].Content[0].Citations
					return len(cites) == 1 && cites[0].CitedText == "cited words" &&
						strings.Contains(encoded, `"type":"`+wireType(t, c)+`"`)
				})
			})
		}
	})

	t.Run("ToolUnionParam", func(t *testing.T) {
		server := expectation{server: true}
		unsupported := func(typ string) expectation {
			return expectation{refused: `unsupported tool type "` + typ + `"`}
		}
		exp := map[string]expectation{
			"OfCodeExecutionTool20250522": server, "OfCodeExecutionTool20250825": server,
			"OfCodeExecutionTool20260120": server, "OfCodeExecutionTool20260521": server,
			"OfWebSearchTool20250305": server, "OfWebSearchTool20260209": server, "OfWebSearchTool20260318": server,
			"OfWebFetchTool20250910": server, "OfWebFetchTool20260209": server, "OfWebFetchTool20260309": server,
			"OfWebFetchTool20260318": server,
			// The policy has no kind for tool search, and who runs the
			// browser and computer toolsets is not yet known here.
			"OfToolSearchToolBm25_20251119": unsupported("tool_search_tool_bm25_20251119"),
			"OfToolSearchToolRegex20251119": unsupported("tool_search_tool_regex_20251119"),
			"OfBrowserToolset20260801":      unsupported("browser_toolset_20260801"),
			"OfComputerToolset20260801":     unsupported("computer_toolset_20260801"),
		}
		for _, name := range unionVariants(reflect.TypeFor[sdk.ToolUnionParam]()) {
			t.Run(name, func(t *testing.T) {
				tool := variant[sdk.ToolUnionParam](t, name, func(v reflect.Value) {
					if f := v.FieldByName("Type"); f.Kind() == reflect.String && f.String() == "x" {
						// A required enum: the tool's versioned type.
						f.SetString(enumTypes[name])
					}
				})
				params := userParams(sdk.NewTextBlock("hi"))
				params.Tools = []sdk.ToolUnionParam{tool}
				typ := wireType(t, tool)
				e, ok := exp[name]
				if !ok && typ == "" {
					e = expectation{}
				}
				checkVariant(t, params, e, func(req *llm.Request, encoded string) bool {
					if e.server {
						return slices.Contains(req.ExtraFields, "tools[0]")
					}
					if typ == "" {
						return len(req.Tools) == 1 && strings.Contains(encoded, `"name":"x"`)
					}
					return strings.Contains(encoded, `"type":"`+typ+`"`)
				})
			})
		}
	})

	t.Run("MessageParamRole", func(t *testing.T) {
		for _, role := range []sdk.MessageParamRole{sdk.MessageParamRoleUser, sdk.MessageParamRoleAssistant, sdk.MessageParamRoleSystem} {
			t.Run(string(role), func(t *testing.T) {
				params := userParams(sdk.NewTextBlock("hi"))
				params.Messages = append(params.Messages, sdk.MessageParam{Role: role, Content: []sdk.ContentBlockParamUnion{sdk.NewTextBlock("said by " + string(role))}})
				checkVariant(t, params, expectation{}, func(req *llm.Request, encoded string) bool {
					return strings.Contains(encoded, "said by "+string(role)) && (role != sdk.MessageParamRoleSystem || req.System == "said by system")
				})
			})
		}
	})

	t.Run("MessageNewParams", func(t *testing.T) {
		// Every top-level field, filled; the ones the model does not hold
		// must be let through and named in ExtraFields.
		exp := map[string]expectation{
			"container": {server: true},
		}
		typ := reflect.TypeFor[sdk.MessageNewParams]()
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			t.Run(name, func(t *testing.T) {
				params := userParams(sdk.NewTextBlock("hi"))
				v := reflect.ValueOf(&params).Elem().FieldByIndex(f.Index)
				if v.IsZero() {
					fill(v)
				}
				body, _ := json.Marshal(params)
				var top map[string]json.RawMessage
				json.Unmarshal(body, &top)
				if _, ok := top[name]; !ok {
					// An optional field of param.Opt or with no required
					// members: the SDK writes it only when set, which
					// reflection cannot do.
					v, ok := optionalFields[name]
					if !ok {
						t.Fatalf("no value for the optional field %s: add one to optionalFields", name)
					}
					top[name] = json.RawMessage(v)
					body, _ = json.Marshal(top)
				}
				checkBody(t, body, exp[name], func(req *llm.Request, encoded string) bool {
					return strings.Contains(encoded, `"`+name+`"`) || slices.Contains(req.ExtraFields, name)
				})
			})
		}
	})
}

// TestSDKResponseBlocks decodes an answer holding each content block type
// the SDK's Message can carry and encodes it again: each must survive,
// except the types the gateway refuses to release (BlockUnknown).
func TestSDKResponseBlocks(t *testing.T) {
	blocks := map[string]string{
		"text":                                   `{"type":"text","text":"See the report.","citations":[{"type":"char_location","cited_text":"a finding","document_index":0,"document_title":"r","start_char_index":0,"end_char_index":9}]}`,
		"thinking":                               `{"type":"thinking","thinking":"t","signature":"s"}`,
		"redacted_thinking":                      `{"type":"redacted_thinking","data":"d"}`,
		"tool_use":                               `{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}`,
		"server_tool_use":                        `{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}}`,
		"web_search_tool_result":                 `{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://example.com","title":"t","encrypted_content":"e"}]}`,
		"web_fetch_tool_result":                  `{"type":"web_fetch_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"web_fetch_tool_result_error","error_code":"url_not_accessible"}}`,
		"code_execution_tool_result":             `{"type":"code_execution_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"code_execution_result","stdout":"","stderr":"","return_code":0,"content":[]}}`,
		"bash_code_execution_tool_result":        `{"type":"bash_code_execution_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"bash_code_execution_result","stdout":"","stderr":"","return_code":0,"content":[]}}`,
		"text_editor_code_execution_tool_result": `{"type":"text_editor_code_execution_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"text_editor_code_execution_tool_result_error","error_code":"unavailable"}}`,
		"container_upload":                       `{"type":"container_upload","file_id":"file_1"}`,
		// Refused: tool search has no server tool kind in the policy.
		"tool_search_tool_result": `{"type":"tool_search_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"tool_search_tool_search_result","tool_references":[]}}`,
	}
	refused := map[string]bool{"tool_search_tool_result": true}
	// The checklist is the SDK's: the content block types of its
	// ContentBlockParamUnion that a model writes (documents, images and
	// search results are the client's, tool results the client's too).
	clientOnly := map[string]bool{"image": true, "document": true, "search_result": true, "tool_result": true}
	for _, name := range unionVariants(reflect.TypeFor[sdk.ContentBlockParamUnion]()) {
		blk := variant[sdk.ContentBlockParamUnion](t, name, nil)
		typ := wireType(t, blk)
		if clientOnly[typ] {
			continue
		}
		raw, ok := blocks[typ]
		if !ok {
			t.Errorf("%s: no response block for type %q: add one", name, typ)
			continue
		}
		t.Run(typ, func(t *testing.T) {
			body := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[` + raw + `],"stop_reason":"end_turn","stop_sequence":null,` +
				`"usage":{"input_tokens":10,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":2},"server_tool_use":{"web_search_requests":1,"web_fetch_requests":0},"service_tier":"standard"}}`
			var msg sdk.Message
			if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Content[0].Type != typ {
				t.Fatalf("the SDK doesn't read the fixture as a %q block: %v", typ, err)
			}
			resp, err := anthropic.DecodeResponse([]byte(body))
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if refused[typ] {
				if resp.Content[0].Type != llm.BlockUnknown {
					t.Errorf("got block %q, want %q, which the gateway never releases", resp.Content[0].Type, llm.BlockUnknown)
				}
				return
			}
			resp.Raw, resp.Dialect = nil, brightline.DialectAnthropic
			out, err := anthropic.EncodeResponse(resp)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			var back sdk.Message
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("the SDK can't read the encoded answer: %v\n%s", err, out)
			}
			if len(back.Content) != 1 || back.Content[0].Type != typ {
				t.Errorf("dropped: encoded %s", out)
			}
			if typ == "text" && (len(back.Content[0].Citations) != 1 || back.Content[0].Citations[0].CitedText != "a finding") {
				t.Errorf("citations dropped: encoded %s", out)
			}
			u := back.Usage
			if u.CacheCreationInputTokens != 3 || u.CacheReadInputTokens != 4 || u.CacheCreation.Ephemeral1hInputTokens != 2 ||
				u.ServerToolUse.WebSearchRequests != 1 || u.ServiceTier != "standard" {
				t.Errorf("usage fields dropped: encoded %s", out)
			}
		})
	}
}
