package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// wireRequest is the part of a Messages request body the gateway models.
// requestKeys (strict.go) must list every field these types decode;
// TestRequestKeysCoverWireTypes checks.
type wireRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int            `json:"max_tokens"`
	System        wireContent     `json:"system"`
	Messages      []wireMessage   `json:"messages"`
	Tools         []wireTool      `json:"tools"`
	ToolChoice    *wireToolChoice `json:"tool_choice"`
	StopSequences []string        `json:"stop_sequences"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	Metadata      *wireMetadata   `json:"metadata"`
	Stream        bool            `json:"stream"`
}

type wireMessage struct {
	Role    string      `json:"role"`
	Content wireContent `json:"content"`
}

type wireTool struct {
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	InputSchema rawValue `json:"input_schema"`
	raw         []byte   // the whole definition
}

func (t *wireTool) UnmarshalJSON(data []byte) error {
	type plain wireTool
	if err := json.Unmarshal(data, (*plain)(t)); err != nil {
		return err
	}
	t.raw = append(t.raw[:0], data...)
	return nil
}

type wireToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

type wireMetadata struct {
	UserID string `json:"user_id"`
}

// invalid returns a client-visible invalid_request error.
func invalid(format string, args ...any) *brightline.Error {
	return brightline.Errorf(brightline.CodeInvalidRequest, format, args...)
}

// DecodeRequest decodes a Messages request body. It sets Raw to body and
// Dialect to Anthropic. Errors are *brightline.Error with
// CodeInvalidRequest and a message naming the field at fault, such as
// `messages: at index 2: unknown role "robot"`.
//
// It applies no allow-list: top-level fields the model does not hold
// survive in Raw and are named in ExtraFields, their strings in ExtraText.
// Tools the provider runs itself are refused. Requests from clients are
// decoded with [DecodeClientRequest] instead.
//
// Because the gateway may forward body itself, DecodeRequest refuses what
// Anthropic could read differently from encoding/json: invalid UTF-8, and
// keys of fields it reads that differ from the field name in case or appear
// twice (see requestKeys).
func DecodeRequest(body []byte) (*llm.Request, error) {
	return decodeRequest(body, nil, false)
}

// DecodeClientRequest decodes a Messages request body from a client, as
// [DecodeRequest] does, and applies the allow-lists (see Allow): a
// top-level field neither the built-in list nor allow lets through, and a
// provider-executed tool of a kind allow does not name, is refused with
// CodeInvalidRequest naming it. allow may be nil.
func DecodeClientRequest(body []byte, allow Allow) (*llm.Request, error) {
	return decodeRequest(body, allow, true)
}

// DecodeClientCountTokensRequest decodes the body of a client's POST
// /v1/messages/count_tokens as [DecodeClientRequest] does, with the same
// allow-lists, except that max_tokens is optional (the count_tokens
// request has none). MaxTokens is then 0.
func DecodeClientCountTokensRequest(body []byte, allow Allow) (*llm.Request, error) {
	return decodeRequestFor(body, allow, true, true)
}

func decodeRequest(body []byte, allow Allow, client bool) (*llm.Request, error) {
	return decodeRequestFor(body, allow, client, false)
}

func decodeRequestFor(body []byte, allow Allow, client, count bool) (*llm.Request, error) {
	var w wireRequest
	if err := unmarshalRequest(body, &w); err != nil {
		return nil, err
	}
	if count && w.MaxTokens == nil {
		w.MaxTokens = new(int)
	}
	if err := checkRequired(&w, count); err != nil {
		return nil, err
	}
	req := &llm.Request{
		Model:       w.Model,
		MaxTokens:   *w.MaxTokens,
		Temperature: w.Temperature,
		TopP:        w.TopP,
		Stream:      w.Stream,
		Raw:         body,
		Dialect:     brightline.DialectAnthropic,
	}
	if err := checkFields(body, req, allow, client); err != nil {
		return nil, err
	}
	if len(w.StopSequences) > 0 {
		req.Stop = w.StopSequences
	}
	if w.Metadata != nil {
		req.User = w.Metadata.UserID
	}
	if w.System.set {
		system, err := decodeSystem(&w.System)
		if err != nil {
			return nil, invalid("system: %v", err)
		}
		req.System = system
	}
	if err := decodeMessages(req, w.Messages, body, allow, client); err != nil {
		return nil, err
	}
	if err := decodeTools(req, w.Tools, allow, client); err != nil {
		return nil, err
	}
	if w.ToolChoice != nil {
		choice, err := decodeToolChoice(w.ToolChoice)
		if err != nil {
			return nil, err
		}
		req.ToolChoice = choice
	}
	return req, nil
}

// unmarshalRequest decodes body into w after checking that it is valid
// UTF-8, and checks its keys against requestKeys.
func unmarshalRequest(body []byte, w *wireRequest) error {
	if !utf8.Valid(body) {
		return invalid("request body is not valid UTF-8: invalid byte at offset %d", invalidUTF8(body))
	}
	if err := json.Unmarshal(body, w); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field == "" {
			return &brightline.Error{Code: brightline.CodeInvalidRequest, Message: "request body must be a JSON object", Err: err}
		}
		return &brightline.Error{Code: brightline.CodeInvalidRequest, Message: describeJSONError(err), Err: err}
	}
	if err := wire.CheckKeys(body, requestKeys); err != nil {
		return &brightline.Error{Code: brightline.CodeInvalidRequest, Message: err.Error(), Err: err}
	}
	return nil
}

// checkRequired refuses a request without model, max_tokens (at least 1
// unless count) or messages.
func checkRequired(w *wireRequest, count bool) error {
	switch {
	case w.Model == "":
		return invalid("model: field is required")
	case w.MaxTokens == nil:
		return invalid("max_tokens: field is required")
	case *w.MaxTokens < 1 && !count:
		return invalid("max_tokens: must be at least 1, got %d", *w.MaxTokens)
	case w.Messages == nil:
		return invalid("messages: field is required")
	case len(w.Messages) == 0:
		return invalid("messages: must not be empty")
	}
	return nil
}

// decodeMessages sets req.Messages from the wire messages, and appends the
// text of system messages to req.System in order. body is the whole request,
// read again for the raw bytes of server tool blocks.
func decodeMessages(req *llm.Request, messages []wireMessage, body []byte, allow Allow, client bool) error {
	req.Messages = make([]llm.Message, 0, len(messages))
	var rawMessages []json.RawMessage
	for i := range messages {
		m := &messages[i]
		switch m.Role {
		case "user", "assistant", "system":
		case "":
			return invalid("messages: at index %d: role: field is required", i)
		default:
			return invalid("messages: at index %d: unknown role %q, want user, assistant or system", i, m.Role)
		}
		if !m.Content.set {
			return invalid("messages: at index %d: content: field is required", i)
		}
		if m.Role == "system" {
			// A system message in the conversation is instructions, like
			// the top-level system: the canonical model holds both in
			// System, in order. The original bytes keep its place.
			system, err := decodeSystem(&m.Content)
			if err != nil {
				return invalid("messages: at index %d: content: %v", i, err)
			}
			if req.System != "" && system != "" {
				req.System += "\n\n"
			}
			req.System += system
			continue
		}
		sb := &serverBlocks{allow: allow, client: client, req: req, raw: func() ([]json.RawMessage, error) {
			if rawMessages == nil {
				var all struct {
					Messages []json.RawMessage `json:"messages"`
				}
				if err := json.Unmarshal(body, &all); err != nil {
					return nil, err
				}
				rawMessages = all.Messages
			}
			var c struct {
				Content []json.RawMessage `json:"content"`
			}
			err := json.Unmarshal(rawMessages[i], &c)
			return c.Content, err
		}}
		content, err := decodeContent(&m.Content, false, sb)
		if err != nil {
			if be, ok := errors.AsType[*brightline.Error](err); ok {
				return invalid("messages: at index %d: content: %s", i, be.Message)
			}
			return invalid("messages: at index %d: content: %v", i, err)
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.Role(m.Role), Content: content})
	}
	if len(req.Messages) == 0 {
		return invalid("messages: must hold a user or assistant message, not only system messages")
	}
	return nil
}

// decodeTools sets req.Tools from the wire tools, leaving out those
// decodeTool does not keep; req.Tools stays nil if none is kept.
func decodeTools(req *llm.Request, tools []wireTool, allow Allow, client bool) error {
	if len(tools) == 0 {
		return nil
	}
	req.Tools = make([]llm.Tool, 0, len(tools))
	for i := range tools {
		t, keep, err := decodeTool(i, &tools[i], req, allow, client)
		if err != nil {
			return err
		}
		if keep {
			req.Tools = append(req.Tools, t)
		}
	}
	if len(req.Tools) == 0 {
		req.Tools = nil
	}
	return nil
}

// decodeToolChoice converts tool_choice. Name is kept only for mode
// "tool", and DisableParallel never for "none".
func decodeToolChoice(tc *wireToolChoice) (*llm.ToolChoice, error) {
	choice := &llm.ToolChoice{Name: tc.Name, DisableParallel: tc.DisableParallelToolUse}
	switch tc.Type {
	case "auto":
		choice.Mode = llm.ToolChoiceAuto
	case "any":
		choice.Mode = llm.ToolChoiceAny
	case "none":
		choice.Mode = llm.ToolChoiceNone
	case "tool":
		choice.Mode = llm.ToolChoiceTool
		if tc.Name == "" {
			return nil, invalid(`tool_choice: name is required when type is "tool"`)
		}
	case "":
		return nil, invalid("tool_choice: type: field is required")
	default:
		return nil, invalid("tool_choice: unknown type %q, want auto, any, tool or none", tc.Type)
	}
	if choice.Mode != llm.ToolChoiceTool {
		choice.Name = ""
	}
	if choice.Mode == llm.ToolChoiceNone {
		// The wire format has no disable_parallel_tool_use for "none".
		choice.DisableParallel = false
	}
	return choice, nil
}

// invalidUTF8 returns the offset of the first byte of b that is not part of
// a valid UTF-8 sequence.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// decodeSystem returns the system prompt, given as a string or an array of
// text blocks (joined with "\n\n").
func decodeSystem(c *wireContent) (string, error) {
	if c.err != nil {
		if errors.Is(c.err, errNotContent) {
			return "", errors.New("must be a string or an array of text blocks")
		}
		return "", errors.New(describeJSONError(c.err))
	}
	if c.isString {
		return c.text, nil
	}
	var sb strings.Builder
	for i := range c.blocks {
		if t := c.blocks[i].Type; t != "text" {
			return "", fmt.Errorf("at index %d: unsupported block type %q, want text", i, t)
		}
		if i > 0 {
			sb.WriteString("\n\n")
		}
		sb.WriteString(c.blocks[i].Text)
	}
	return sb.String(), nil
}

// EncodeRequest encodes req as a Messages request body for Anthropic. A
// MaxTokens of 0 becomes [DefaultMaxTokens]. "stream":true is set when
// req.Stream is.
func EncodeRequest(req *llm.Request) ([]byte, error) {
	if req == nil {
		return nil, errors.New("couldn't encode request: request is nil")
	}
	maxTokens := req.MaxTokens
	switch {
	case maxTokens == 0:
		maxTokens = DefaultMaxTokens
	case maxTokens < 0:
		return nil, fmt.Errorf("couldn't encode request: max_tokens is negative (%d)", maxTokens)
	}
	b := make([]byte, 0, requestSize(req))
	b = append(b, '{')
	b = appendStringField(b, "model", req.Model)
	b = appendIntField(b, "max_tokens", maxTokens)
	if req.System != "" {
		b = appendStringField(b, "system", req.System)
	}
	b, err := appendMessages(b, req.Messages)
	if err != nil {
		return nil, err
	}
	if len(req.Tools) > 0 {
		if b, err = appendTools(b, req.Tools); err != nil {
			return nil, err
		}
	}
	if req.ToolChoice != nil {
		if b, err = appendToolChoice(b, req.ToolChoice); err != nil {
			return nil, err
		}
	}
	if len(req.Stop) > 0 {
		b = appendStop(b, req.Stop)
	}
	if req.Temperature != nil {
		if b, err = appendFloat(appendKey(b, "temperature"), *req.Temperature); err != nil {
			return nil, fmt.Errorf("couldn't encode request: temperature: %w", err)
		}
	}
	if req.TopP != nil {
		if b, err = appendFloat(appendKey(b, "top_p"), *req.TopP); err != nil {
			return nil, fmt.Errorf("couldn't encode request: top_p: %w", err)
		}
	}
	if req.User != "" {
		b = append(appendKey(b, "metadata"), '{')
		b = appendStringField(b, "user_id", req.User)
		b = append(b, '}')
	}
	if req.Stream {
		b = append(appendKey(b, "stream"), "true"...)
	}
	return append(b, '}'), nil
}

// requestSize estimates the size of req encoded, so that EncodeRequest
// allocates once.
func requestSize(req *llm.Request) int {
	size := 256 + len(req.Model) + len(req.System)
	for i := range req.Messages {
		size += 32 + contentSize(req.Messages[i].Content)
	}
	for i := range req.Tools {
		size += 64 + len(req.Tools[i].Name) + len(req.Tools[i].Description) + len(req.Tools[i].InputSchema)
	}
	return size
}

// appendMessages appends the "messages" field. Only user and assistant
// messages can be encoded: the system prompt is a field of its own.
func appendMessages(b []byte, messages []llm.Message) ([]byte, error) {
	b = append(appendKey(b, "messages"), '[')
	for i := range messages {
		m := &messages[i]
		if m.Role != llm.RoleUser && m.Role != llm.RoleAssistant {
			return nil, fmt.Errorf("couldn't encode request: messages: at index %d: unknown role %q", i, m.Role)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStringField(b, "role", string(m.Role))
		var err error
		if b, err = appendBlocks(appendKey(b, "content"), m.Content, false); err != nil {
			return nil, fmt.Errorf("couldn't encode request: messages: at index %d: content: %w", i, err)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendTools appends the "tools" field. A tool Anthropic defines (Type
// set) is written as the client gave it, from its Definition.
func appendTools(b []byte, tools []llm.Tool) ([]byte, error) {
	b = append(appendKey(b, "tools"), '[')
	for i := range tools {
		t := &tools[i]
		if i > 0 {
			b = append(b, ',')
		}
		if t.Type != "" {
			// A tool Anthropic defines: its definition as the client
			// gave it.
			def := bytes.TrimSpace(t.Definition)
			if len(def) == 0 || def[0] != '{' || !json.Valid(def) {
				return nil, fmt.Errorf("couldn't encode request: tools: at index %d: tool %q of type %q has no definition", i, t.Name, t.Type)
			}
			b = append(b, def...)
			continue
		}
		b = append(b, '{')
		b = appendStringField(b, "name", t.Name)
		if t.Description != "" {
			b = appendStringField(b, "description", t.Description)
		}
		var err error
		if b, err = appendObject(appendKey(b, "input_schema"), t.InputSchema, `{"type":"object"}`); err != nil {
			return nil, fmt.Errorf("couldn't encode request: tools: at index %d: input_schema %w", i, err)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendStop appends the "stop_sequences" field.
func appendStop(b []byte, stop []string) []byte {
	b = append(appendKey(b, "stop_sequences"), '[')
	for i, s := range stop {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, s)
	}
	return append(b, ']')
}

// appendToolChoice appends the "tool_choice" field.
func appendToolChoice(b []byte, tc *llm.ToolChoice) ([]byte, error) {
	b = append(appendKey(b, "tool_choice"), '{')
	switch tc.Mode {
	case llm.ToolChoiceAuto, llm.ToolChoiceAny, llm.ToolChoiceNone:
		b = appendStringField(b, "type", string(tc.Mode))
	case llm.ToolChoiceTool:
		if tc.Name == "" {
			return nil, errors.New(`couldn't encode request: tool_choice: mode "tool" without a name`)
		}
		b = appendStringField(b, "type", "tool")
		b = appendStringField(b, "name", tc.Name)
	default:
		return nil, fmt.Errorf("couldn't encode request: tool_choice: unknown mode %q", tc.Mode)
	}
	if tc.DisableParallel && tc.Mode != llm.ToolChoiceNone {
		b = append(appendKey(b, "disable_parallel_tool_use"), "true"...)
	}
	return append(b, '}'), nil
}
