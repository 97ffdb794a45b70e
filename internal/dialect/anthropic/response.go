package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// wireResponse is a Message object: a complete response, or the message of
// a message_start event.
type wireResponse struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Model        string      `json:"model"`
	Content      []wireBlock `json:"content"`
	StopReason   string      `json:"stop_reason"`
	StopSequence string      `json:"stop_sequence"`
	Usage        *wireUsage  `json:"usage"`
}

// DecodeResponse decodes a Messages response body from Anthropic. It sets
// Raw to body and Dialect to Anthropic. Server tool blocks become llm.BlockServerToolUse and
// llm.BlockServerToolResult, and blocks of a type this package does not
// know llm.BlockUnknown, which the gateway refuses to release.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("couldn't decode Anthropic response: %s", describeJSONError(err))
	}
	if w.Type != "message" && w.Type != "" {
		return nil, fmt.Errorf("couldn't decode Anthropic response: type is %q, want \"message\"", w.Type)
	}
	content, err := decodeResponseBlocks(w.Content, func() ([]json.RawMessage, error) {
		var c struct {
			Content []json.RawMessage `json:"content"`
		}
		err := json.Unmarshal(body, &c)
		return c.Content, err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't decode Anthropic response: %w", err)
	}
	resp := &llm.Response{
		ID:           w.ID,
		Model:        w.Model,
		Content:      content,
		StopReason:   stopReason(w.StopReason),
		StopSequence: w.StopSequence,
		Raw:          body,
		Dialect:      brightline.DialectAnthropic,
	}
	if u := w.Usage.canonical(); u != nil {
		resp.Usage = *u
	}
	return resp, nil
}

// EncodeResponse encodes resp as a Messages response body for a client,
// always from the canonical fields. An id from another dialect gets a "msg_"
// prefix.
func EncodeResponse(resp *llm.Response) ([]byte, error) {
	if resp == nil {
		return nil, errors.New("couldn't encode response: response is nil")
	}
	b := make([]byte, 0, 256+len(resp.ID)+len(resp.Model)+contentSize(resp.Content))
	b = append(b, '{')
	b = appendStringField(b, "id", messageID(resp.ID, resp.Dialect))
	b = appendStringField(b, "type", "message")
	b = appendStringField(b, "role", "assistant")
	b = appendStringField(b, "model", resp.Model)
	b = append(appendKey(b, "content"), '[')
	for i := range resp.Content {
		blk := &resp.Content[i]
		switch blk.Type {
		case llm.BlockText, llm.BlockThinking, llm.BlockRedactedThinking, llm.BlockToolUse,
			llm.BlockServerToolUse, llm.BlockServerToolResult, llm.BlockUnknown:
		default:
			return nil, fmt.Errorf("couldn't encode response: content: at index %d: unsupported block type %q", i, blk.Type)
		}
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendBlock(b, blk, false); err != nil {
			return nil, fmt.Errorf("couldn't encode response: content: at index %d: %w", i, err)
		}
	}
	b = append(b, ']')
	b = appendStopFields(b, resp.StopReason, resp.StopSequence)
	b = appendUsage(appendKey(b, "usage"), resp.Usage)
	return append(b, '}'), nil
}

// appendStopFields appends stop_reason and stop_sequence. An empty reason is
// null; a sequence is only reported with StopSequence.
func appendStopFields(b []byte, reason llm.StopReason, seq string) []byte {
	if reason == "" {
		b = append(appendKey(b, "stop_reason"), "null"...)
	} else {
		b = appendStringField(b, "stop_reason", string(reason))
	}
	if reason == llm.StopSequence && seq != "" {
		return appendStringField(b, "stop_sequence", seq)
	}
	return append(appendKey(b, "stop_sequence"), "null"...)
}

// EncodeModels returns the body for GET /v1/models: one page holding every
// model. The display name is the id; a zero Created is the Unix epoch.
func EncodeModels(models []llm.Model) []byte {
	b := make([]byte, 0, 64+len(models)*128)
	b = append(b, `{"data":[`...)
	for i := range models {
		m := &models[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStringField(b, "type", "model")
		b = appendStringField(b, "id", m.ID)
		b = appendStringField(b, "display_name", m.ID)
		b = appendKey(b, "created_at")
		b = append(b, '"')
		b = time.Unix(m.Created, 0).UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"', '}')
	}
	b = append(b, `],"has_more":false`...)
	if len(models) == 0 {
		return append(b, `,"first_id":null,"last_id":null}`...)
	}
	b = appendStringField(b, "first_id", models[0].ID)
	b = appendStringField(b, "last_id", models[len(models)-1].ID)
	return append(b, '}')
}
