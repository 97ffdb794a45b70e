package openai

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// This file holds what the Responses API (internal/dialect/responses)
// shares with Chat Completions: ids, tool schemas, image URLs and
// tool_choice.

// DefaultSchema is the input schema of a tool that declares no parameters.
const DefaultSchema = `{"type":"object"}`

// PrefixedID returns the id, starting with prefix, of a response with the
// canonical id: the id itself if it already starts with prefix, otherwise
// the id after prefix, or a random id if there is none.
func PrefixedID(prefix, id string) string {
	if strings.HasPrefix(id, prefix) {
		return id
	}
	if id == "" {
		var b [12]byte
		rand.Read(b[:])
		return prefix + hex.EncodeToString(b[:])
	}
	return prefix + id
}

// AppendSchema appends the input schema of tool t: [DefaultSchema] if it
// has none. A schema that is not valid JSON is an error.
func AppendSchema(b []byte, t *llm.Tool) ([]byte, error) {
	switch {
	case len(t.InputSchema) == 0:
		return append(b, DefaultSchema...), nil
	case json.Valid(t.InputSchema):
		return append(b, t.InputSchema...), nil
	}
	return nil, fmt.Errorf("couldn't encode tool %q: input schema is not valid JSON", t.Name)
}

// AppendImageURL appends img as an image_url string: its URL, or a base64
// data: URL.
func AppendImageURL(b []byte, img *llm.Image) []byte {
	if img.URL != "" {
		return wire.AppendString(b, img.URL)
	}
	b = append(b, `"data:`...)
	b = wire.AppendEscaped(b, img.MediaType)
	b = append(b, ";base64,"...)
	b = wire.AppendEscaped(b, img.Data)
	return append(b, '"')
}

// DecodeToolChoice decodes a tool_choice value: null or absent (nil), one
// of the strings "auto", "none" and "required", or an object, which the
// API's own object decodes.
func DecodeToolChoice(raw json.RawMessage, object func(json.RawMessage) (*llm.ToolChoice, error)) (*llm.ToolChoice, error) {
	if !wire.IsSet(raw) {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errors.New("must be a string or an object")
		}
		switch s {
		case "auto":
			return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
		case "none":
			return &llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil
		case "required":
			return &llm.ToolChoice{Mode: llm.ToolChoiceAny}, nil
		}
		return nil, fmt.Errorf("unknown value %q", s)
	case '{':
		return object(raw)
	}
	return nil, fmt.Errorf("must be a string or an object, got %s", wire.JSONKind(raw[0]))
}

// WithParallelToolCalls applies parallel_tool_calls to the decoded
// tool_choice tc: false disables parallel calls, under "auto" if tc is
// nil.
func WithParallelToolCalls(tc *llm.ToolChoice, parallel *bool) *llm.ToolChoice {
	if parallel != nil && !*parallel {
		if tc == nil {
			tc = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		}
		tc.DisableParallel = true
	}
	return tc
}

// AppendToolChoice appends the tool_choice and parallel_tool_calls fields
// for tc, if it is not nil. A choice of one tool is written as toolOpen,
// the name and toolClose, which differ between the APIs.
func AppendToolChoice(b []byte, tc *llm.ToolChoice, toolOpen, toolClose string) ([]byte, error) {
	if tc == nil {
		return b, nil
	}
	switch tc.Mode {
	case llm.ToolChoiceAuto:
		b = append(b, `,"tool_choice":"auto"`...)
	case llm.ToolChoiceNone:
		b = append(b, `,"tool_choice":"none"`...)
	case llm.ToolChoiceAny:
		b = append(b, `,"tool_choice":"required"`...)
	case llm.ToolChoiceTool:
		b = append(b, `,"tool_choice":`...)
		b = append(b, toolOpen...)
		b = wire.AppendString(b, tc.Name)
		b = append(b, toolClose...)
	case "":
	default:
		return nil, fmt.Errorf("couldn't encode tool choice: unknown mode %q", tc.Mode)
	}
	if tc.DisableParallel {
		b = append(b, `,"parallel_tool_calls":false`...)
	}
	return b, nil
}

// RequestSizeHint estimates the encoded size of req, to allocate once: the
// text, arguments, images and schemas it holds, plus block bytes for each
// block, result bytes for each block of a tool result and tool bytes for
// each tool. With escapes, text counts 1/16 more for escaping.
func RequestSizeHint(req *llm.Request, block, result, tool int, escapes bool) int {
	n := 256 + len(req.System)
	for i := range req.Messages {
		for _, blk := range req.Messages[i].Content {
			n += block + len(blk.Text)
			if escapes {
				n += len(blk.Text) / 16
			}
			if blk.ToolCall != nil {
				n += len(blk.ToolCall.Arguments) * 5 / 4
			}
			if blk.Image != nil {
				n += len(blk.Image.Data) + len(blk.Image.URL)
			}
			if blk.ToolResult != nil {
				for _, c := range blk.ToolResult.Content {
					n += result + len(c.Text)
				}
			}
		}
	}
	for i := range req.Tools {
		n += tool + len(req.Tools[i].Description) + len(req.Tools[i].InputSchema)
	}
	return n
}
