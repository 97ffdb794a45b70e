package responses

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

type wireResponse struct {
	ID                string            `json:"id"`
	Model             string            `json:"model"`
	Status            string            `json:"status"`
	Output            []json.RawMessage `json:"output"`
	Usage             *wireUsage        `json:"usage"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wireOutputItem is one item of a response's output.
type wireOutputItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Content          []wirePart      `json:"content"`
	CallID           string          `json:"call_id"`
	Name             string          `json:"name"`
	Arguments        json.RawMessage `json:"arguments"`
	Action           json.RawMessage `json:"action"`
	ServerLabel      string          `json:"server_label"`
	Summary          []wirePart      `json:"summary"`
	EncryptedContent string          `json:"encrypted_content"`
}

// DecodeResponse decodes a response from a provider. The response keeps
// body as Raw. A response whose status is failed is an error.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("couldn't decode response: %w", err)
	}
	if w.Status == "failed" {
		we := &llm.WireError{Type: "server_error", Message: "the response failed"}
		if w.Error != nil {
			we.Type, we.Message = w.Error.Code, w.Error.Message
		}
		return nil, we
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, Raw: body, Dialect: dialect}
	calls, refusal := false, false
	for i, raw := range w.Output {
		blocks, r, err := decodeOutputItem(raw)
		if err != nil {
			return nil, fmt.Errorf("couldn't decode response: output: at index %d: %w", i, err)
		}
		refusal = refusal || r
		for _, b := range blocks {
			calls = calls || b.Type == llm.BlockToolUse
		}
		resp.Content = append(resp.Content, blocks...)
	}
	reason := ""
	if w.IncompleteDetails != nil {
		reason = w.IncompleteDetails.Reason
	}
	resp.StopReason = stopReason(w.Status, reason, calls)
	if refusal && (resp.StopReason == llm.StopEndTurn || resp.StopReason == "") {
		resp.StopReason = llm.StopRefusal
	}
	if w.Usage != nil {
		resp.Usage = w.Usage.canonical()
	}
	return resp, nil
}

// decodeOutputItem decodes one output item into blocks; refusal says it
// held a refusal.
func decodeOutputItem(raw json.RawMessage) (blocks []llm.Block, refusal bool, err error) {
	var it wireOutputItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return nil, false, err
	}
	switch it.Type {
	case "message":
		for _, p := range it.Content {
			switch p.Type {
			case "output_text":
				if p.Text != "" {
					blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: p.Text})
				}
			case "refusal":
				refusal = true
				if p.Refusal != "" {
					blocks = append(blocks, llm.Block{Type: llm.BlockText, Text: p.Refusal})
				}
			default:
				return nil, false, fmt.Errorf("unsupported content part type %q", p.Type)
			}
		}
		return blocks, refusal, nil
	case "function_call":
		var args string
		if len(it.Arguments) > 0 && it.Arguments[0] == '"' {
			json.Unmarshal(it.Arguments, &args)
		}
		call, err := functionCall(it.CallID, it.Name, args)
		if err != nil {
			return nil, false, err
		}
		return []llm.Block{{Type: llm.BlockToolUse, ToolCall: call}}, false, nil
	case "reasoning":
		return []llm.Block{reasoningBlock(&it)}, false, nil
	}
	return []llm.Block{opaqueBlock(&it, raw)}, false, nil
}

func functionCall(callID, name, args string) (*llm.ToolCall, error) {
	if callID == "" {
		return nil, errors.New("function_call: call_id: required")
	}
	if name == "" {
		return nil, errors.New("function_call: name: required")
	}
	a, err := wire.ObjectArguments(args)
	if err != nil {
		return nil, fmt.Errorf("function_call: arguments: %s", err)
	}
	return &llm.ToolCall{ID: callID, Name: name, Arguments: a}, nil
}

func reasoningBlock(it *wireOutputItem) llm.Block {
	b := llm.Block{Type: llm.BlockThinking, Signature: it.EncryptedContent}
	for _, p := range it.Summary {
		if b.Text != "" {
			b.Text += "\n\n"
		}
		b.Text += p.Text
	}
	return b
}

// opaqueBlock is the block of an output item the canonical model does
// not read: a hosted tool's call, or an unknown item.
func opaqueBlock(it *wireOutputItem, raw json.RawMessage) llm.Block {
	kind := hostedItemKind(it.Type)
	o := &llm.Opaque{WireType: it.Type, Kind: kind, Server: it.ServerLabel, Raw: raw}
	if kind == "" {
		return llm.Block{Type: llm.BlockUnknown, Opaque: o}
	}
	if it.Type == "mcp_list_tools" {
		return llm.Block{Type: llm.BlockServerToolResult, Opaque: o}
	}
	name, args := kind, json.RawMessage("{}")
	if it.Name != "" {
		name = it.Name
	}
	switch {
	case len(it.Arguments) > 0 && it.Arguments[0] == '"':
		var s string
		if json.Unmarshal(it.Arguments, &s) == nil && json.Valid([]byte(s)) && len(s) > 0 && s[0] == '{' {
			args = json.RawMessage(s)
		}
	case len(it.Action) > 0 && it.Action[0] == '{':
		args = it.Action
	}
	return llm.Block{Type: llm.BlockServerToolUse, ToolCall: &llm.ToolCall{ID: it.ID, Name: name, Arguments: args}, Opaque: o}
}

// EncodeResponse encodes resp as a response object for a client, always
// from the canonical fields. Each run of text blocks becomes one message
// item, each tool call a function_call item; thinking blocks are dropped,
// and so are hosted tool items decoded from another dialect. Item ids are
// derived from the response id (see the package doc); created_at is the
// current time.
func EncodeResponse(resp *llm.Response) ([]byte, error) {
	size := 640
	for i := range resp.Content {
		blk := &resp.Content[i]
		switch blk.Type {
		case llm.BlockText:
			size += 160 + len(blk.Text) + len(blk.Text)/8
		case llm.BlockToolUse:
			if blk.ToolCall == nil {
				return nil, errors.New("couldn't encode response: tool_use block without a call")
			}
			size += 160 + len(blk.ToolCall.Arguments)*5/4
		case llm.BlockServerToolUse, llm.BlockServerToolResult:
			if blk.Opaque != nil {
				size += len(blk.Opaque.Raw)
			}
		case llm.BlockThinking:
		default:
			return nil, fmt.Errorf("couldn't encode response: unsupported %s block", blk.Type)
		}
	}
	rid := responseID(resp.ID)
	b := make([]byte, 0, size)
	b = appendResponseHead(b, rid, resp.Model, time.Now().Unix())
	st, reason := status(resp.StopReason)
	b = appendStatus(b, st, reason)
	b = append(b, `,"output":[`...)
	n := 0
	for i := 0; i < len(resp.Content); i++ {
		blk := &resp.Content[i]
		switch blk.Type {
		case llm.BlockText:
			j := i
			for j+1 < len(resp.Content) && resp.Content[j+1].Type == llm.BlockText {
				j++
			}
			b = comma(b)
			b = appendMessageItem(b, itemID("msg", rid, n), "completed", resp.Content[i:j+1])
			i = j
		case llm.BlockToolUse:
			b = comma(b)
			args := string(blk.ToolCall.Arguments)
			if args == "" {
				args = "{}"
			}
			b = appendFunctionCallItem(b, itemID("fc", rid, n), "completed", blk.ToolCall.ID, blk.ToolCall.Name, args)
		case llm.BlockServerToolUse, llm.BlockServerToolResult:
			if blk.Opaque == nil || hostedItemKind(blk.Opaque.WireType) == "" || !json.Valid(blk.Opaque.Raw) {
				continue // another dialect's: no Responses form
			}
			b = comma(b)
			b = append(b, blk.Opaque.Raw...)
		default:
			continue
		}
		n++
	}
	b = append(b, `],"usage":`...)
	b = appendUsage(b, resp.Usage)
	b = appendResponseTail(b)
	return append(b, '}'), nil
}

// appendResponseHead appends the start of a response object, up to its
// model.
func appendResponseHead(b []byte, rid, model string, created int64) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, rid)
	b = append(b, `,"object":"response","created_at":`...)
	b = appendInt(b, int(created))
	b = append(b, `,"model":`...)
	return wire.AppendString(b, model)
}

// appendStatus appends status, error and incomplete_details.
func appendStatus(b []byte, status, reason string) []byte {
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `","error":null,"incomplete_details":`...)
	if reason == "" {
		return append(b, "null"...)
	}
	b = append(b, `{"reason":"`...)
	b = append(b, reason...)
	return append(b, `"}`...)
}

// appendResponseTail appends the request parameters a response object
// echoes, as the gateway's defaults: the client's own are not kept.
func appendResponseTail(b []byte) []byte {
	return append(b, `,"instructions":null,"max_output_tokens":null,"parallel_tool_calls":true,"previous_response_id":null,`+
		`"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1,"text":{"format":{"type":"text"}},`+
		`"tool_choice":"auto","tools":[],"top_p":1,"truncation":"disabled","user":null,"metadata":{}`...)
}

// appendMessageItem appends a message output item holding the text of
// blocks as one output_text part.
func appendMessageItem(b []byte, id, status string, blocks []llm.Block) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, id)
	b = append(b, `,"type":"message","status":"`...)
	b = append(b, status...)
	b = append(b, `","role":"assistant","content":[`...)
	if len(blocks) > 0 {
		b = append(b, `{"type":"output_text","text":"`...)
		for i := range blocks {
			b = wire.AppendEscaped(b, blocks[i].Text)
		}
		b = append(b, `","annotations":[],"logprobs":[]}`...)
	}
	return append(b, "]}"...)
}

// appendFunctionCallItem appends a function_call output item. args is
// sent as it is: "" for an item whose arguments are still to stream.
func appendFunctionCallItem(b []byte, id, status, callID, name, args string) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, id)
	b = append(b, `,"type":"function_call","status":"`...)
	b = append(b, status...)
	b = append(b, `","arguments":`...)
	b = wire.AppendString(b, args)
	b = appendField(b, "call_id", callID)
	b = appendField(b, "name", name)
	return append(b, '}')
}
