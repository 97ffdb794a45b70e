package responses

import (
	"errors"
	"fmt"

	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// EncodeRequest encodes req as a Responses request body for an OpenAI
// provider. System becomes instructions; messages become input items
// (text and images as message items, tool calls as function_call items,
// tool results as function_call_output items). Thinking blocks are
// dropped, and so is a tool result's IsError, which has no Responses
// form. The request asks for store: false, since the gateway never refers
// to stored state.
func EncodeRequest(req *llm.Request) ([]byte, error) {
	b := make([]byte, 0, requestSizeHint(req))
	b = append(b, `{"model":`...)
	b = wire.AppendString(b, req.Model)
	if req.System != "" {
		b = appendField(b, "instructions", req.System)
	}
	b = append(b, `,"input":[`...)
	var err error
	for i := range req.Messages {
		if b, err = appendMessage(b, &req.Messages[i]); err != nil {
			return nil, fmt.Errorf("couldn't encode message %d: %w", i, err)
		}
	}
	b = append(b, ']')
	if len(req.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range req.Tools {
			t := &req.Tools[i]
			if t.Type != "" {
				return nil, fmt.Errorf("couldn't encode request: tools: at index %d: tool %q of type %q has no Responses form", i, t.Name, t.Type)
			}
			b = comma(b)
			b = append(b, `{"type":"function","name":`...)
			b = wire.AppendString(b, t.Name)
			if t.Description != "" {
				b = appendField(b, "description", t.Description)
			}
			b = append(b, `,"parameters":`...)
			if b, err = openai.AppendSchema(b, t); err != nil {
				return nil, err
			}
			b = append(b, `,"strict":false}`...)
		}
		b = append(b, ']')
	}
	if b, err = openai.AppendToolChoice(b, req.ToolChoice, `{"type":"function","name":`, "}"); err != nil {
		return nil, err
	}
	if req.MaxTokens > 0 {
		b = append(b, `,"max_output_tokens":`...)
		b = appendInt(b, req.MaxTokens)
	}
	if b, err = wire.AppendFloatField(b, "temperature", req.Temperature); err != nil {
		return nil, err
	}
	if b, err = wire.AppendFloatField(b, "top_p", req.TopP); err != nil {
		return nil, err
	}
	if req.Stream {
		b = append(b, `,"stream":true`...)
	}
	if req.User != "" {
		b = appendField(b, "user", req.User)
	}
	return append(b, `,"store":false}`...), nil
}

// requestSizeHint estimates the encoded size of req, to allocate once.
func requestSizeHint(req *llm.Request) int { return openai.RequestSizeHint(req, 80, 48, 80, true) }

// appendMessage appends the input items of one canonical message. Runs of
// text and image blocks become one message item; tool calls and results
// become items of their own, in order.
func appendMessage(b []byte, m *llm.Message) ([]byte, error) {
	var role, textType string
	switch m.Role {
	case llm.RoleUser:
		role, textType = "user", "input_text"
	case llm.RoleAssistant:
		role, textType = "assistant", "output_text"
	default:
		return nil, fmt.Errorf("unknown role %q", m.Role)
	}
	open := false // a message item is open
	for i := range m.Content {
		blk := &m.Content[i]
		var err error
		switch blk.Type {
		case llm.BlockText, llm.BlockImage:
			if blk.Type == llm.BlockImage && m.Role != llm.RoleUser {
				return nil, errors.New("image block in an assistant message")
			}
			if !open {
				b = comma(b)
				b = append(b, `{"type":"message","role":"`...)
				b = append(b, role...)
				b = append(b, `","content":[`...)
				open = true
			}
			b, err = appendPart(b, blk, textType)
		case llm.BlockToolUse:
			if blk.ToolCall == nil {
				return nil, errors.New("tool_use block without a call")
			}
			b, open = closeMessageItem(b, open), false
			b = appendFunctionCall(b, blk.ToolCall)
		case llm.BlockToolResult:
			if blk.ToolResult == nil {
				return nil, errors.New("tool_result block without a result")
			}
			b, open = closeMessageItem(b, open), false
			b, err = appendFunctionCallOutput(b, blk.ToolResult)
		case llm.BlockThinking: // needs the item id it came with; dropped
		default:
			return nil, fmt.Errorf("unsupported %s block in a %s message", blk.Type, m.Role)
		}
		if err != nil {
			return nil, err
		}
	}
	return closeMessageItem(b, open), nil
}

// closeMessageItem ends the message item appendMessage opened, if open.
func closeMessageItem(b []byte, open bool) []byte {
	if open {
		b = append(b, "]}"...)
	}
	return b
}

// appendFunctionCall appends a function_call input item.
func appendFunctionCall(b []byte, c *llm.ToolCall) []byte {
	b = comma(b)
	b = append(b, `{"type":"function_call","call_id":`...)
	b = wire.AppendString(b, c.ID)
	b = appendField(b, "name", c.Name)
	args := string(c.Arguments)
	if args == "" {
		args = "{}"
	}
	b = appendField(b, "arguments", args)
	return append(b, '}')
}

// appendFunctionCallOutput appends a function_call_output input item. Its
// output is a string if the result is one text block or empty, else an
// array of parts.
func appendFunctionCallOutput(b []byte, r *llm.ToolResult) ([]byte, error) {
	b = comma(b)
	b = append(b, `{"type":"function_call_output","call_id":`...)
	b = wire.AppendString(b, r.CallID)
	b = append(b, `,"output":`...)
	c := r.Content
	if len(c) == 1 && c[0].Type == llm.BlockText || len(c) == 0 {
		text := ""
		if len(c) == 1 {
			text = c[0].Text
		}
		b = wire.AppendString(b, text)
	} else {
		b = append(b, '[')
		for j := range c {
			var err error
			if b, err = appendPart(b, &c[j], "input_text"); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendPart appends a text or image content part.
func appendPart(b []byte, blk *llm.Block, textType string) ([]byte, error) {
	b = comma(b)
	switch blk.Type {
	case llm.BlockText:
		b = append(b, `{"type":"`...)
		b = append(b, textType...)
		b = append(b, `","text":`...)
		b = wire.AppendString(b, blk.Text)
		if textType == "output_text" {
			b = append(b, `,"annotations":[]`...)
		}
		return append(b, '}'), nil
	case llm.BlockImage:
		if blk.Image == nil {
			return nil, errors.New("image block without an image")
		}
		b = append(b, `{"type":"input_image","detail":"auto","image_url":`...)
		b = openai.AppendImageURL(b, blk.Image)
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("unsupported %s block in content", blk.Type)
}
