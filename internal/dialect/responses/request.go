package responses

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// wireRequest is the part of a Responses request body the gateway models.
// Unknown fields are ignored here and survive in Request.Raw. requestKeys
// (strict.go) must list every field these types decode.
type wireRequest struct {
	Model              string          `json:"model"`
	Instructions       json.RawMessage `json:"instructions"`
	Input              wireInput       `json:"input"`
	Tools              []wireTool      `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	Stream             bool            `json:"stream"`
	User               string          `json:"user"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Conversation       json.RawMessage `json:"conversation"`
	Background         *bool           `json:"background"`
}

// wireItem is one input item. Type says which fields are set; a message
// may leave it out ("easy" input messages).
type wireItem struct {
	Type             string      `json:"type"`
	Role             string      `json:"role"`
	Content          wireContent `json:"content"`
	CallID           string      `json:"call_id"`
	Name             string      `json:"name"`
	Arguments        string      `json:"arguments"`
	Output           wireContent `json:"output"`
	Summary          []wirePart  `json:"summary"`
	EncryptedContent string      `json:"encrypted_content"`
}

// wirePart is a content part of a message, a function call output or a
// reasoning item.
type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
}

// wireContent is content that is a string, an array of parts, or null.
type wireContent struct {
	Set   bool // present and not null
	Parts []wirePart
	Text  string // when Set and Parts is nil
}

func (c *wireContent) UnmarshalJSON(data []byte) error {
	*c = wireContent{}
	switch data[0] {
	case 'n':
		return nil
	case '"':
		c.Set = true
		var err error
		c.Text, err = wire.Unquote(data)
		return err
	case '[':
		c.Set = true
		c.Parts = []wirePart{}
		return json.Unmarshal(data, &c.Parts)
	}
	return &wire.DecodeError{Msg: "must be a string or an array of content parts, got " + wire.JSONKind(data[0])}
}

type wireTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Tools       []wireTool      `json:"tools"` // a namespace's
}

// wireInput is input: a string or a list of items.
type wireInput struct {
	Set   bool // present and not null
	Text  string
	Items []wireItem // when Set and not a string
}

func (in *wireInput) UnmarshalJSON(data []byte) error {
	*in = wireInput{}
	switch data[0] {
	case 'n':
		return nil
	case '"':
		in.Set = true
		return json.Unmarshal(data, &in.Text)
	case '[':
		in.Set = true
		in.Items = []wireItem{}
		return wire.DecodeList(data, &in.Items, "input")
	}
	return &wire.DecodeError{Msg: "input: must be a string or an array of items, got " + wire.JSONKind(data[0])}
}

func invalid(format string, args ...any) *brightline.Error {
	return brightline.Errorf(brightline.CodeInvalidRequest, format, args...)
}

// noState is the end of every refusal of a reference to stored state.
const noState = "the gateway keeps no conversation state, so it cannot continue a stored response; send the whole conversation in input instead (store: false is fine)"

// DecodeRequest decodes a Responses request. The request keeps body as
// Raw. Errors are *brightline.Error with CodeInvalidRequest and a message
// that names the field at fault. It applies no allow-list (see
// [DecodeClientRequest]); hosted tools are refused.
func DecodeRequest(body []byte) (*llm.Request, error) {
	return decodeRequest(body, nil, false)
}

// DecodeClientRequest decodes a Responses request from a client, as
// [DecodeRequest] does, and applies the allow-list (see Allow): a
// top-level field or hosted tool neither the built-in list nor allow lets
// through is refused with CodeInvalidRequest naming it. allow may be nil.
func DecodeClientRequest(body []byte, allow Allow) (*llm.Request, error) {
	return decodeRequest(body, allow, true)
}

func decodeRequest(body []byte, allow Allow, client bool) (*llm.Request, error) {
	if err := wire.CheckObjectBody(body); err != nil {
		return nil, invalid("%s", err)
	}
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, invalid("%s", wire.Describe(err))
	}
	if err := wire.CheckKeys(body, requestKeys); err != nil {
		return nil, invalid("%s", err)
	}
	if w.Model == "" {
		return nil, invalid("model: required")
	}
	if err := checkStateless(&w); err != nil {
		return nil, err
	}
	req := &llm.Request{
		Model:       w.Model,
		Temperature: w.Temperature,
		TopP:        w.TopP,
		Stream:      w.Stream,
		User:        w.User,
		Raw:         body,
		Dialect:     dialect,
	}
	if err := checkFields(body, req, allow, client); err != nil {
		return nil, err
	}
	if w.MaxOutputTokens != nil {
		if *w.MaxOutputTokens < 0 {
			return nil, invalid("max_output_tokens: must not be negative")
		}
		req.MaxTokens = *w.MaxOutputTokens
	}
	var system strings.Builder
	if err := decodeInstructions(&system, w.Instructions); err != nil {
		return nil, err
	}
	if err := decodeInput(req, &system, body, &w.Input, allow, client); err != nil {
		return nil, err
	}
	req.System = system.String()
	if err := decodeTools(req, w.Tools, body, allow, client); err != nil {
		return nil, err
	}
	tc, err := openai.DecodeToolChoice(w.ToolChoice, decodeToolChoiceObject)
	if err != nil {
		return nil, invalid("tool_choice: %s", err)
	}
	req.ToolChoice = openai.WithParallelToolCalls(tc, w.ParallelToolCalls)
	return req, nil
}

// checkStateless refuses a request that refers to state kept at the
// provider (a stored response or conversation) or asks for a background
// response.
func checkStateless(w *wireRequest) error {
	if w.PreviousResponseID != nil && *w.PreviousResponseID != "" {
		return invalid("previous_response_id: %s", noState)
	}
	if wire.IsSet(w.Conversation) {
		return invalid("conversation: %s", noState)
	}
	if w.Background != nil && *w.Background {
		return invalid("background: the gateway decides every answer before it is released and keeps no responses to poll; send the request without background")
	}
	return nil
}

// decodeInstructions writes instructions, if set, to system: the first
// paragraph of the system prompt.
func decodeInstructions(system *strings.Builder, instructions json.RawMessage) error {
	if !wire.IsSet(instructions) {
		return nil
	}
	if instructions[0] != '"' {
		return invalid("instructions: must be a string, got %s", wire.JSONKind(instructions[0]))
	}
	var s string
	if err := json.Unmarshal(instructions, &s); err != nil {
		return invalid("instructions: %s", wire.Describe(err))
	}
	system.WriteString(s)
	return nil
}

// decodeTools adds the tools to req.Tools (see decodeTool). A hosted tool
// stays in Raw only: it is named in req.ExtraFields and its text goes to
// req.ExtraText.
func decodeTools(req *llm.Request, tools []wireTool, body []byte, allow Allow, client bool) error {
	var rawTools []json.RawMessage // only for hosted tools, if any
	for i := range tools {
		hosted, err := decodeTool(i, "", &tools[i], req, allow, client)
		if err != nil {
			return err
		}
		if hosted {
			if rawTools == nil {
				var t struct {
					Tools []json.RawMessage `json:"tools"`
				}
				json.Unmarshal(body, &t)
				rawTools = t.Tools
			}
			req.ExtraFields = append(req.ExtraFields, fmt.Sprintf("tools[%d]", i))
			req.ExtraText = wire.Strings(req.ExtraText, rawTools[i])
		}
	}
	return nil
}

// decodeInput decodes input, a string or a list of items, into
// req.Messages, and appends system and developer text to system.
func decodeInput(req *llm.Request, system *strings.Builder, body []byte, input *wireInput, allow Allow, client bool) error {
	if !input.Set {
		return invalid("input: required")
	}
	if input.Items == nil {
		if input.Text != "" {
			req.Messages = []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: input.Text}}}}
		}
		return nil
	}
	items := input.Items
	d := inputDecoder{req: req, body: body, allow: allow, client: client}
	req.Messages = make([]llm.Message, 0, len(items))
	for i := range items {
		it := &items[i]
		var err error
		switch it.Type {
		case "message", "":
			err = d.message(i, it, system)
		case "function_call":
			err = d.functionCall(i, it)
		case "function_call_output":
			err = d.functionCallOutput(i, it)
		case "reasoning":
			d.reasoning(it)
		case "item_reference":
			err = invalid("input: at index %d: item_reference: %s", i, noState)
		default:
			err = d.hostedItem(i, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inputDecoder holds what decoding the items of input needs beyond the
// item itself.
type inputDecoder struct {
	req    *llm.Request
	body   []byte // the whole request
	allow  Allow
	client bool
	raws   []json.RawMessage // the raw items, read only for a hosted tool item
}

// add appends blocks to the last message if it has role r, else to a new
// one: an assistant turn's items (reasoning, text, calls) make one
// message, and so do consecutive call outputs. A user message item always
// starts a message of its own, as in Chat Completions.
func (d *inputDecoder) add(r llm.Role, results bool, blocks ...llm.Block) {
	req := d.req
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == r && (r == llm.RoleAssistant || results) {
		last := &req.Messages[n-1]
		lastResults := len(last.Content) > 0 && last.Content[0].Type == llm.BlockToolResult
		if r == llm.RoleAssistant || lastResults == results {
			last.Content = append(last.Content, blocks...)
			return
		}
	}
	req.Messages = append(req.Messages, llm.Message{Role: r, Content: blocks})
}

// message decodes input[i], a message item. The text of a system or
// developer message goes to system. (system is not a field of
// inputDecoder: the compiler would then move the caller's Builder to the
// heap.)
func (d *inputDecoder) message(i int, it *wireItem, system *strings.Builder) error {
	if !it.Content.Set {
		return invalid("input: at index %d: content: required", i)
	}
	switch it.Role {
	case "system", "developer":
		blocks, err := contentBlocks(&it.Content, false)
		if err != nil {
			return invalid("input: at index %d: %s", i, err)
		}
		for _, b := range blocks {
			wire.AppendParagraph(system, b.Text)
		}
	case "user":
		blocks, err := contentBlocks(&it.Content, true)
		if err != nil {
			return invalid("input: at index %d: %s", i, err)
		}
		if len(blocks) > 0 {
			d.add(llm.RoleUser, false, blocks...)
		}
	case "assistant":
		blocks, err := contentBlocks(&it.Content, false)
		if err != nil {
			return invalid("input: at index %d: %s", i, err)
		}
		if len(blocks) > 0 {
			d.add(llm.RoleAssistant, false, blocks...)
		}
	case "":
		return invalid("input: at index %d: role: required", i)
	default:
		return invalid("input: at index %d: unknown role %q", i, it.Role)
	}
	return nil
}

// functionCall decodes input[i], a function_call item, into a tool_use
// block of the assistant's turn.
func (d *inputDecoder) functionCall(i int, it *wireItem) error {
	if it.CallID == "" {
		return invalid("input: at index %d: call_id: required", i)
	}
	if it.Name == "" {
		return invalid("input: at index %d: name: required", i)
	}
	args, err := wire.ObjectArguments(it.Arguments)
	if err != nil {
		return invalid("input: at index %d: arguments: %s", i, err)
	}
	d.add(llm.RoleAssistant, false, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: args}})
	return nil
}

// functionCallOutput decodes input[i], a function_call_output item, into
// a tool_result block of a user message.
func (d *inputDecoder) functionCallOutput(i int, it *wireItem) error {
	if it.CallID == "" {
		return invalid("input: at index %d: call_id: required", i)
	}
	if !it.Output.Set {
		return invalid("input: at index %d: output: required", i)
	}
	blocks, err := contentBlocks(&it.Output, true)
	if err != nil {
		return invalid("input: at index %d: output: %s", i, strings.TrimPrefix(err.Error(), "content: "))
	}
	d.add(llm.RoleUser, true, llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: it.CallID, Content: blocks}})
	return nil
}

// reasoning decodes a reasoning item into a thinking block of the
// assistant's turn: its summary and content text, one paragraph each.
func (d *inputDecoder) reasoning(it *wireItem) {
	var text strings.Builder
	for _, p := range it.Summary {
		wire.AppendParagraph(&text, p.Text)
	}
	for _, p := range it.Content.Parts {
		wire.AppendParagraph(&text, p.Text)
	}
	d.add(llm.RoleAssistant, false, llm.Block{Type: llm.BlockThinking, Text: text.String(), Signature: it.EncryptedContent})
}

// hostedItem takes input[i], an item of any other type. Only an earlier
// answer's hosted tool item, from a client whose policy allows its kind,
// is accepted: it stays in Raw for the provider, and its text is
// inspected.
func (d *inputDecoder) hostedItem(i int, it *wireItem) error {
	kind := hostedItemKind(it.Type)
	if kind == "" || !d.client {
		return invalid("input: at index %d: unsupported item type %q", i, it.Type)
	}
	if d.allow == nil || !d.allow.AllowsServerTool(kind) {
		return serverToolRefused(fmt.Sprintf("input: at index %d (type %q)", i, it.Type), kind)
	}
	if d.raws == nil {
		var in struct {
			Input []json.RawMessage `json:"input"`
		}
		json.Unmarshal(d.body, &in)
		d.raws = in.Input
	}
	d.req.ExtraFields = append(d.req.ExtraFields, fmt.Sprintf("input[%d]", i))
	d.req.ExtraText = wire.Strings(d.req.ExtraText, d.raws[i])
	return nil
}

// contentBlocks returns the blocks of message or call output content.
// input_text, output_text and refusal parts are text; input_image parts
// (with an image_url) are images if images is set.
func contentBlocks(c *wireContent, images bool) ([]llm.Block, error) {
	if c.Parts == nil {
		return wire.TextBlocks(c.Text), nil
	}
	blocks := make([]llm.Block, 0, len(c.Parts))
	for j := range c.Parts {
		p := &c.Parts[j]
		switch p.Type {
		case "input_text", "output_text":
			if p.Text != "" {
				blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: p.Text})
			}
		case "refusal":
			if p.Refusal != "" {
				blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: p.Refusal})
			}
		case "input_image":
			if !images {
				return nil, fmt.Errorf("content: at index %d: an image is not allowed here", j)
			}
			if p.FileID != "" {
				return nil, fmt.Errorf("content: at index %d: file_id: files stored at the provider are not supported; send the image as image_url (a data: or https URL)", j)
			}
			img, err := openai.ParseImageURL(p.ImageURL)
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: image_url: %s", j, err)
			}
			blocks = append(blocks, llm.Block{Type: llm.BlockImage, Image: img})
		case "":
			return nil, fmt.Errorf("content: at index %d: type: required", j)
		default:
			return nil, fmt.Errorf("content: at index %d: unsupported part type %q", j, p.Type)
		}
	}
	return blocks, nil
}

// decodeTool adds tools[i] (or, in a namespace, the tool of that name)
// to req.Tools: a function tool, or each function tool of a namespace,
// under its own name (the namespace is not kept: a call names the tool).
// hosted says it is a tool the provider runs, which stays in Raw only: it
// is refused unless client and the policy allows its kind.
func decodeTool(i int, namespace string, t *wireTool, req *llm.Request, allow Allow, client bool) (hosted bool, err error) {
	where := fmt.Sprintf("tools: at index %d", i)
	if namespace != "" {
		where = fmt.Sprintf("tools (namespace %q): at index %d", namespace, i)
	}
	switch t.Type {
	case "function":
		if t.Name == "" {
			return false, invalid("%s: name: required", where)
		}
		schema := json.RawMessage(openai.DefaultSchema)
		if wire.IsSet(t.Parameters) {
			if t.Parameters[0] != '{' {
				return false, invalid("%s: parameters: must be a JSON object", where)
			}
			schema = t.Parameters
		}
		req.Tools = append(req.Tools, llm.Tool{Name: t.Name, Description: t.Description, InputSchema: schema})
		return false, nil
	case "namespace":
		if namespace != "" {
			return false, invalid("%s: a namespace may not hold a namespace", where)
		}
		for j := range t.Tools {
			if _, err := decodeTool(j, t.Name, &t.Tools[j], req, nil, false); err != nil {
				return false, err
			}
		}
		return false, nil
	case "":
		return false, invalid("%s: type: required", where)
	}
	kind := hostedToolKind(t.Type)
	switch {
	case kind == "" || !client:
		return false, invalid("%s: unsupported tool type %q", where, t.Type)
	case allow == nil || !allow.AllowsServerTool(kind):
		return false, serverToolRefused(fmt.Sprintf("%s (type %q)", where, t.Type), kind)
	}
	return true, nil
}

// decodeToolChoiceObject decodes a tool_choice object: a function, the
// allowed tools, or a hosted tool.
func decodeToolChoiceObject(raw json.RawMessage) (*llm.ToolChoice, error) {
	var o struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, errors.New(wire.Describe(err))
	}
	switch {
	case o.Type == "function":
		if o.Name == "" {
			return nil, errors.New("name: required")
		}
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Name}, nil
	case o.Type == "allowed_tools" && o.Mode == "required":
		// The list only narrows what the model may call; every
		// call is decided whichever it is.
		return &llm.ToolChoice{Mode: llm.ToolChoiceAny}, nil
	case o.Type == "allowed_tools":
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
	case hostedToolKind(o.Type) != "" || o.Type == "mcp":
		// A hosted tool, which tools must enable (and the policy
		// allow) for the provider to accept this.
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
	}
	return nil, fmt.Errorf("unsupported type %q", o.Type)
}
