package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// wireRequest is the part of a chat completion request body the gateway
// models. Unknown fields are ignored here and survive in Request.Raw.
// requestKeys (strict.go) must list every field these types decode;
// TestRequestKeysCoverWireTypes checks.
type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Tools               []wireTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                wireStop        `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	User      string          `json:"user"`
	N         *int            `json:"n"`
	Functions json.RawMessage `json:"functions"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    wireContent    `json:"content"`
	Refusal    string         `json:"refusal"`
	ToolCalls  []wireToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// wireContent is message content: a string, an array of parts, or null.
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
		return wire.DecodeList(data, &c.Parts, "content")
	}
	return &wire.DecodeError{Msg: "content: must be a string or an array of content parts, got " + wire.JSONKind(data[0])}
}

// wireStop is the stop parameter: a string, an array of strings, or null.
type wireStop []string

func (s *wireStop) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case 'n':
		*s = nil
		return nil
	case '"':
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*s = wireStop{one}
		return nil
	case '[':
		var many []string
		if json.Unmarshal(data, &many) == nil {
			*s = many
			return nil
		}
	}
	return &wire.DecodeError{Msg: "stop: must be a string or an array of strings"}
}

// locateRequestError finds where a request body that failed to decode went
// wrong and describes it. The fast path decodes whole arrays at once and
// loses the element index; this one decodes the arrays element by element.
func locateRequestError(body []byte, err error) string {
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return wire.Describe(err)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok &&
		!strings.HasPrefix(te.Field, "messages") && !strings.HasPrefix(te.Field, "tools") {
		return wire.Describe(err) // the field path is exact
	}
	var lists struct {
		Messages []json.RawMessage `json:"messages"`
		Tools    []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &lists); err != nil {
		return wire.Describe(err)
	}
	for i, raw := range lists.Messages {
		var m wireMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Sprintf("messages: at index %d: %s", i, locateToolCallError(raw, err))
		}
	}
	for i, raw := range lists.Tools {
		var t wireTool
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Sprintf("tools: at index %d: %s", i, wire.Describe(err))
		}
	}
	return wire.Describe(err)
}

// locateToolCallError describes err, the failure to decode message raw,
// naming the tool call at fault if there is one.
func locateToolCallError(raw []byte, err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok || !strings.HasPrefix(te.Field, "tool_calls") {
		return wire.Describe(err)
	}
	var m struct {
		ToolCalls []json.RawMessage `json:"tool_calls"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return wire.Describe(err)
	}
	for j, raw := range m.ToolCalls {
		var tc wireToolCall
		if err := json.Unmarshal(raw, &tc); err != nil {
			return fmt.Sprintf("tool_calls: at index %d: %s", j, wire.Describe(err))
		}
	}
	return wire.Describe(err)
}

func invalid(format string, args ...any) *brightline.Error {
	return brightline.Errorf(brightline.CodeInvalidRequest, format, args...)
}

// DecodeRequest decodes a chat completion request. The request keeps body
// as Raw. Errors are *brightline.Error with CodeInvalidRequest and a
// message that names the field at fault.
//
// It applies no allow-list: top-level fields the model does not hold
// survive in Raw and are named in ExtraFields, their strings in ExtraText.
// Requests from clients are decoded with [DecodeClientRequest] instead.
//
// Because the gateway may forward body itself, DecodeRequest refuses what
// the provider could read differently: invalid UTF-8, and keys it models
// that are misspelt in case or repeated (see requestKeys).
func DecodeRequest(body []byte) (*llm.Request, error) {
	return decodeRequest(body, nil, false)
}

// DecodeClientRequest decodes a chat completion request from a client, as
// [DecodeRequest] does, and applies the allow-list (see Allow): a
// top-level field neither the built-in list nor allow lets through is
// refused with CodeInvalidRequest naming it. allow may be nil.
func DecodeClientRequest(body []byte, allow Allow) (*llm.Request, error) {
	return decodeRequest(body, allow, true)
}

func decodeRequest(body []byte, allow Allow, client bool) (*llm.Request, error) {
	if err := wire.CheckObjectBody(body); err != nil {
		return nil, invalid("%s", err)
	}
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, invalid("%s", locateRequestError(body, err))
	}
	if err := wire.CheckKeys(body, requestKeys); err != nil {
		return nil, invalid("%s", err)
	}
	if w.Model == "" {
		return nil, invalid("model: required")
	}
	if w.Messages == nil {
		return nil, invalid("messages: required")
	}
	if len(w.Messages) == 0 {
		return nil, invalid("messages: must not be empty")
	}
	if w.N != nil && *w.N != 1 {
		return nil, invalid("n: only n=1 is supported, got %d", *w.N)
	}
	if wire.IsSet(w.Functions) {
		return nil, invalid("functions: deprecated and not supported; use tools")
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
	req.IncludeUsage = w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage
	if err := checkFields(body, req, allow, client); err != nil {
		return nil, err
	}
	switch {
	case w.MaxCompletionTokens != nil:
		if *w.MaxCompletionTokens < 0 {
			return nil, invalid("max_completion_tokens: must not be negative")
		}
		req.MaxTokens = *w.MaxCompletionTokens
	case w.MaxTokens != nil:
		if *w.MaxTokens < 0 {
			return nil, invalid("max_tokens: must not be negative")
		}
		req.MaxTokens = *w.MaxTokens
	}
	for _, s := range w.Stop {
		if s != "" {
			req.Stop = append(req.Stop, s)
		}
	}
	if err := decodeMessages(req, w.Messages); err != nil {
		return nil, err
	}
	if len(req.Messages) == 0 && req.System == "" {
		return nil, invalid("messages: all are empty system messages")
	}
	if len(w.Tools) > 0 {
		req.Tools = make([]llm.Tool, len(w.Tools))
		for i := range w.Tools {
			t, err := decodeTool(&w.Tools[i])
			if err != nil {
				return nil, invalid("tools: at index %d: %s", i, err)
			}
			req.Tools[i] = t
		}
	}
	tc, err := DecodeToolChoice(w.ToolChoice, decodeToolChoiceObject)
	if err != nil {
		return nil, invalid("tool_choice: %s", err)
	}
	req.ToolChoice = WithParallelToolCalls(tc, w.ParallelToolCalls)
	return req, nil
}

func decodeMessages(req *llm.Request, msgs []wireMessage) error {
	var system strings.Builder
	// Canonical messages are usually one per wire message.
	req.Messages = make([]llm.Message, 0, len(msgs))
	prevTool := false // the last canonical message holds tool messages
	for i := range msgs {
		m := &msgs[i]
		isTool := false
		switch m.Role {
		case "system", "developer":
			if !m.Content.Set {
				return invalid("messages: at index %d: content: required", i)
			}
			blocks, err := textBlocks(&m.Content, false)
			if err != nil {
				return invalid("messages: at index %d: %s", i, err)
			}
			for _, b := range blocks {
				wire.AppendParagraph(&system, b.Text)
			}
		case "user":
			if !m.Content.Set {
				return invalid("messages: at index %d: content: required", i)
			}
			blocks, err := userBlocks(&m.Content)
			if err != nil {
				return invalid("messages: at index %d: %s", i, err)
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: blocks})
		case "assistant":
			blocks, err := assistantBlocks(m)
			if err != nil {
				return invalid("messages: at index %d: %s", i, err)
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Content: blocks})
		case "tool":
			isTool = true
			if m.ToolCallID == "" {
				return invalid("messages: at index %d: tool_call_id: required", i)
			}
			if !m.Content.Set {
				return invalid("messages: at index %d: content: required", i)
			}
			blocks, err := textBlocks(&m.Content, false)
			if err != nil {
				return invalid("messages: at index %d: %s", i, err)
			}
			b := llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: m.ToolCallID, Content: blocks}}
			if prevTool {
				last := &req.Messages[len(req.Messages)-1]
				last.Content = append(last.Content, b)
			} else {
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: []llm.Block{b}})
			}
		case "":
			return invalid("messages: at index %d: role: required", i)
		default:
			return invalid("messages: at index %d: unknown role %q", i, m.Role)
		}
		// A system message between tool messages does not end the run.
		if isTool || m.Role != "system" && m.Role != "developer" {
			prevTool = isTool
		}
	}
	req.System = system.String()
	return nil
}

// textBlocks returns the text of content that may hold only text parts (and
// refusal parts, if refusals is set). Empty text yields no block.
func textBlocks(c *wireContent, refusals bool) ([]llm.Block, error) {
	if c.Parts == nil {
		return wire.TextBlocks(c.Text), nil
	}
	var blocks []llm.Block
	for j := range c.Parts {
		p := &c.Parts[j]
		var text string
		switch {
		case p.Type == "text":
			text = p.Text
		case p.Type == "refusal" && refusals:
			text = p.Refusal
		case p.Type == "":
			return nil, fmt.Errorf("content: at index %d: type: required", j)
		default:
			return nil, fmt.Errorf("content: at index %d: unsupported part type %q", j, p.Type)
		}
		if text != "" {
			blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: text})
		}
	}
	return blocks, nil
}

func userBlocks(c *wireContent) ([]llm.Block, error) {
	if c.Parts == nil {
		return textBlocks(c, false)
	}
	blocks := make([]llm.Block, 0, len(c.Parts))
	for j := range c.Parts {
		p := &c.Parts[j]
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, fmt.Errorf("content: at index %d: image_url: required", j)
			}
			img, err := ParseImageURL(p.ImageURL.URL)
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: image_url.url: %s", j, err)
			}
			blocks = append(blocks, llm.Block{Type: llm.BlockImage, Image: img})
		case "":
			return nil, fmt.Errorf("content: at index %d: type: required", j)
		default:
			return nil, fmt.Errorf("content: at index %d: unsupported part type %q", j, p.Type)
		}
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	return blocks, nil
}

// ParseImageURL reads an image_url value of the OpenAI APIs (Chat
// Completions and Responses): a base64 data: URL or an http(s) URL.
func ParseImageURL(u string) (*llm.Image, error) {
	if rest, ok := cutPrefixFold(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		if !ok {
			return nil, errors.New("malformed data URL")
		}
		media, ok := strings.CutSuffix(meta, ";base64")
		if !ok {
			return nil, errors.New("data URL must be base64-encoded")
		}
		if media == "" {
			return nil, errors.New("data URL has no media type")
		}
		return &llm.Image{MediaType: media, Data: data}, nil
	}
	if _, ok := cutPrefixFold(u, "https://"); ok {
		return &llm.Image{URL: u}, nil
	}
	if _, ok := cutPrefixFold(u, "http://"); ok {
		return &llm.Image{URL: u}, nil
	}
	if u == "" {
		return nil, errors.New("required")
	}
	return nil, errors.New("must be an http(s) or base64 data URL")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func assistantBlocks(m *wireMessage) ([]llm.Block, error) {
	blocks, err := textBlocks(&m.Content, true)
	if err != nil {
		return nil, err
	}
	if m.Refusal != "" {
		blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: m.Refusal})
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		call, err := decodeToolCall(tc)
		if err != nil {
			return nil, fmt.Errorf("tool_calls: at index %d: %s", j, err)
		}
		blocks = append(blocks, llm.Block{Type: llm.BlockToolUse, ToolCall: call})
	}
	return blocks, nil
}

func decodeToolCall(tc *wireToolCall) (*llm.ToolCall, error) {
	if tc.Type != "" && tc.Type != "function" {
		return nil, fmt.Errorf("unsupported type %q", tc.Type)
	}
	if tc.ID == "" {
		return nil, errors.New("id: required")
	}
	if tc.Function.Name == "" {
		return nil, errors.New("function.name: required")
	}
	args, err := wire.ObjectArguments(tc.Function.Arguments)
	if err != nil {
		return nil, fmt.Errorf("function.arguments: %s", err)
	}
	return &llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args}, nil
}

func decodeTool(t *wireTool) (llm.Tool, error) {
	if t.Type != "" && t.Type != "function" {
		return llm.Tool{}, fmt.Errorf("unsupported type %q", t.Type)
	}
	f := &t.Function
	if f.Name == "" {
		return llm.Tool{}, errors.New("function.name: required")
	}
	schema := json.RawMessage(DefaultSchema)
	if wire.IsSet(f.Parameters) {
		if f.Parameters[0] != '{' {
			return llm.Tool{}, errors.New("function.parameters: must be a JSON object")
		}
		schema = f.Parameters
	}
	return llm.Tool{Name: f.Name, Description: f.Description, InputSchema: schema}, nil
}

// decodeToolChoiceObject decodes a tool_choice object: a function to call.
func decodeToolChoiceObject(raw json.RawMessage) (*llm.ToolChoice, error) {
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, errors.New(wire.Describe(err))
	}
	if o.Type != "function" {
		return nil, fmt.Errorf("unsupported type %q", o.Type)
	}
	if o.Function.Name == "" {
		return nil, errors.New("function.name: required")
	}
	return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Function.Name}, nil
}

// EncodeRequest encodes req as a chat completion request body for an
// OpenAI provider. A streaming request always asks for the usage chunk.
// Thinking blocks are dropped; tool results become "tool" messages ahead of
// the rest of their user message, and images in tool results move into that
// user message, since tool messages carry only text. A tool result's
// IsError has no OpenAI equivalent and is dropped.
func EncodeRequest(req *llm.Request) ([]byte, error) {
	b := make([]byte, 0, requestSizeHint(req))
	b = append(b, `{"model":`...)
	b = wire.AppendString(b, req.Model)
	b = append(b, `,"messages":[`...)
	if req.System != "" {
		b = append(b, `{"role":"system","content":`...)
		b = wire.AppendString(b, req.System)
		b = append(b, '}')
	}
	var err error
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case llm.RoleUser:
			b, err = appendUserMessage(b, m)
		case llm.RoleAssistant:
			b, err = appendAssistantMessage(b, m)
		default:
			err = fmt.Errorf("unknown role %q", m.Role)
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't encode message %d: %w", i, err)
		}
	}
	b = append(b, ']')
	if len(req.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range req.Tools {
			t := &req.Tools[i]
			if t.Type != "" {
				return nil, fmt.Errorf("couldn't encode request: tools: at index %d: tool %q of type %q has no Chat Completions form", i, t.Name, t.Type)
			}
			b = comma(b)
			b = append(b, `{"type":"function","function":{"name":`...)
			b = wire.AppendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = wire.AppendString(b, t.Description)
			}
			b = append(b, `,"parameters":`...)
			if b, err = AppendSchema(b, t); err != nil {
				return nil, err
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if b, err = AppendToolChoice(b, req.ToolChoice, `{"type":"function","function":{"name":`, "}}"); err != nil {
		return nil, err
	}
	if req.MaxTokens > 0 {
		b = append(b, `,"max_completion_tokens":`...)
		b = appendInt(b, req.MaxTokens)
	}
	if b, err = wire.AppendFloatField(b, "temperature", req.Temperature); err != nil {
		return nil, err
	}
	if b, err = wire.AppendFloatField(b, "top_p", req.TopP); err != nil {
		return nil, err
	}
	if len(req.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for _, s := range req.Stop {
			b = comma(b)
			b = wire.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if req.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	if req.User != "" {
		b = append(b, `,"user":`...)
		b = wire.AppendString(b, req.User)
	}
	return append(b, '}'), nil
}

// requestSizeHint estimates the encoded size of req, to allocate once.
func requestSizeHint(req *llm.Request) int { return RequestSizeHint(req, 64, 32, 64, false) }

// comma appends the separator before an array element unless it is the
// first.
func comma(b []byte) []byte {
	if b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	return b
}

func appendUserMessage(b []byte, m *llm.Message) ([]byte, error) {
	var rest []llm.Block // non-tool-result content, for a user message
	results := 0
	for i := range m.Content {
		blk := &m.Content[i]
		switch blk.Type {
		case llm.BlockToolResult:
			if blk.ToolResult == nil {
				return nil, errors.New("tool_result block without a result")
			}
			results++
			var err error
			b = comma(b)
			b = append(b, `{"role":"tool","tool_call_id":`...)
			b = wire.AppendString(b, blk.ToolResult.CallID)
			b = append(b, `,"content":`...)
			var texts []llm.Block
			for _, c := range blk.ToolResult.Content {
				switch c.Type {
				case llm.BlockText:
					texts = append(texts, c)
				case llm.BlockImage:
					rest = append(rest, c)
				default:
					return nil, fmt.Errorf("unsupported %s block in a tool result", c.Type)
				}
			}
			if b, err = appendContent(b, texts, false); err != nil {
				return nil, err
			}
			b = append(b, '}')
		case llm.BlockText, llm.BlockImage:
			rest = append(rest, *blk)
		default:
			return nil, fmt.Errorf("unsupported %s block in a user message", blk.Type)
		}
	}
	if len(rest) == 0 && results > 0 {
		return b, nil
	}
	b = comma(b)
	b = append(b, `{"role":"user","content":`...)
	b, err := appendContent(b, rest, false)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendAssistantMessage(b []byte, m *llm.Message) ([]byte, error) {
	var texts []llm.Block
	calls := 0
	for i := range m.Content {
		switch m.Content[i].Type {
		case llm.BlockText:
			texts = append(texts, m.Content[i])
		case llm.BlockToolUse:
			if m.Content[i].ToolCall == nil {
				return nil, errors.New("tool_use block without a call")
			}
			calls++
		case llm.BlockThinking, llm.BlockRedactedThinking: // OpenAI has no place for it
		default:
			return nil, fmt.Errorf("unsupported %s block in an assistant message", m.Content[i].Type)
		}
	}
	b = comma(b)
	b = append(b, `{"role":"assistant","content":`...)
	b, err := appendContent(b, texts, calls > 0)
	if err != nil {
		return nil, err
	}
	if calls > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range m.Content {
			if m.Content[i].Type == llm.BlockToolUse {
				b = comma(b)
				b = appendToolCall(b, m.Content[i].ToolCall)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendToolCall(b []byte, c *llm.ToolCall) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, c.ID)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = wire.AppendString(b, c.Name)
	b = append(b, `,"arguments":`...)
	if len(c.Arguments) == 0 {
		b = append(b, `"{}"`...)
	} else {
		b = wire.AppendString(b, string(c.Arguments))
	}
	return append(b, "}}"...)
}

// appendContent appends message content made of text and image blocks: a
// plain string when it is a single text (or nothing), else an array of
// parts. With nullIfEmpty, no blocks give null.
func appendContent(b []byte, blocks []llm.Block, nullIfEmpty bool) ([]byte, error) {
	switch {
	case len(blocks) == 0 && nullIfEmpty:
		return append(b, "null"...), nil
	case len(blocks) == 0:
		return append(b, `""`...), nil
	case len(blocks) == 1 && blocks[0].Type == llm.BlockText:
		return wire.AppendString(b, blocks[0].Text), nil
	}
	b = append(b, '[')
	for i := range blocks {
		blk := &blocks[i]
		b = comma(b)
		switch blk.Type {
		case llm.BlockText:
			b = append(b, `{"type":"text","text":`...)
			b = wire.AppendString(b, blk.Text)
			b = append(b, '}')
		case llm.BlockImage:
			if blk.Image == nil {
				return nil, errors.New("image block without an image")
			}
			b = append(b, `{"type":"image_url","image_url":{"url":`...)
			b = AppendImageURL(b, blk.Image)
			b = append(b, "}}"...)
		}
	}
	return append(b, ']'), nil
}
