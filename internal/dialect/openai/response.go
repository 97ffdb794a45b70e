package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

type wireResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message      wireMessage `json:"message"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

// DecodeResponse decodes a chat completion from a provider. Only the first
// choice is read. The response keeps body as Raw.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("couldn't decode chat completion: %w", err)
	}
	if len(w.Choices) == 0 {
		return nil, errors.New("couldn't decode chat completion: no choices")
	}
	c := &w.Choices[0]
	content, err := assistantBlocks(&c.Message)
	if err != nil {
		return nil, fmt.Errorf("couldn't decode chat completion: message: %s", err)
	}
	resp := &llm.Response{
		ID:         w.ID,
		Model:      w.Model,
		Content:    content,
		StopReason: stopReason(c.FinishReason),
		Raw:        body,
		Dialect:    dialect,
	}
	if c.Message.Refusal != "" && (resp.StopReason == llm.StopEndTurn || resp.StopReason == "") {
		resp.StopReason = llm.StopRefusal
	}
	if w.Usage != nil {
		resp.Usage = w.Usage.canonical()
	}
	return resp, nil
}

// EncodeResponse encodes resp as a chat completion for a client, always
// from the canonical fields. Text blocks are joined into the content
// string and thinking blocks are dropped. The id is derived from resp.ID
// (see the package doc), and created is the current time.
func EncodeResponse(resp *llm.Response) ([]byte, error) {
	size := 384
	calls := 0
	for i := range resp.Content {
		blk := &resp.Content[i]
		switch blk.Type {
		case llm.BlockText:
			size += len(blk.Text) + len(blk.Text)/8
		case llm.BlockToolUse:
			if blk.ToolCall == nil {
				return nil, errors.New("couldn't encode response: tool_use block without a call")
			}
			calls++
			size += 96 + len(blk.ToolCall.Arguments)*5/4
		case llm.BlockThinking, llm.BlockRedactedThinking, llm.BlockServerToolUse, llm.BlockServerToolResult: // no Chat Completions form
		default:
			return nil, fmt.Errorf("couldn't encode response: unsupported %s block", blk.Type)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, completionID(resp.ID))
	b = append(b, `,"object":"chat.completion","created":`...)
	b = appendInt(b, int(time.Now().Unix()))
	b = append(b, `,"model":`...)
	b = wire.AppendString(b, resp.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	texts := 0
	for i := range resp.Content {
		if resp.Content[i].Type == llm.BlockText {
			if texts == 0 {
				b = append(b, '"')
			}
			b = wire.AppendEscaped(b, resp.Content[i].Text)
			texts++
		}
	}
	switch {
	case texts > 0:
		b = append(b, '"')
	case calls > 0:
		b = append(b, "null"...)
	default:
		b = append(b, `""`...)
	}
	b = append(b, `,"refusal":null`...)
	if calls > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range resp.Content {
			if resp.Content[i].Type == llm.BlockToolUse {
				b = comma(b)
				b = appendToolCall(b, resp.Content[i].ToolCall)
			}
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":"`...)
	b = append(b, finishReason(resp.StopReason)...)
	b = append(b, `"}],"usage":`...)
	b = appendUsage(b, resp.Usage)
	return append(b, '}'), nil
}

// EncodeModels returns the body of GET /v1/models: a list of model objects.
func EncodeModels(models []llm.Model) []byte {
	b := make([]byte, 0, 32+len(models)*96)
	b = append(b, `{"object":"list","data":[`...)
	for i := range models {
		m := &models[i]
		b = comma(b)
		b = append(b, `{"id":`...)
		b = wire.AppendString(b, m.ID)
		b = append(b, `,"object":"model","created":`...)
		b = strconv.AppendInt(b, m.Created, 10)
		b = append(b, `,"owned_by":`...)
		b = wire.AppendString(b, m.OwnedBy)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
