package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brightline/brightline/internal/llm"
)

// decodeContent converts request content to canonical blocks. Errors are
// relative to the content field ("at index 2: ..."). Inside a tool_result
// (nested) only text and image blocks are allowed.
func decodeContent[B wireBlock | wireLeaf](c *wireContentOf[B], nested bool) ([]llm.Block, error) {
	if c.err != nil {
		if errors.Is(c.err, errNotContent) {
			return nil, c.err
		}
		return nil, errors.New(describeJSONError(c.err))
	}
	if c.isString {
		return []llm.Block{{Type: llm.BlockText, Text: c.text}}, nil
	}
	out := make([]llm.Block, 0, len(c.blocks))
	for i := range c.blocks {
		blk, keep, err := decodeBlock(c.block(i), nested)
		if err != nil {
			return nil, fmt.Errorf("at index %d: %w", i, err)
		}
		if keep {
			out = append(out, blk)
		}
	}
	return out, nil
}

// decodeBlock converts one request block. keep is false for blocks that are
// valid but have no canonical form (redacted_thinking).
func decodeBlock(b *wireBlock, nested bool) (blk llm.Block, keep bool, err error) {
	switch b.Type {
	case "text":
		return llm.Block{Type: llm.BlockText, Text: b.Text}, true, nil
	case "image":
		img, err := decodeImage(b.Source)
		if err != nil {
			return blk, false, err
		}
		return llm.Block{Type: llm.BlockImage, Image: img}, true, nil
	case "":
		return blk, false, errors.New("type: field is required")
	}
	if nested {
		return blk, false, fmt.Errorf("unsupported block type %q in tool_result content, want text or image", b.Type)
	}
	switch b.Type {
	case "tool_use":
		if b.ID == "" {
			return blk, false, errors.New("tool_use: id is required")
		}
		if b.Name == "" {
			return blk, false, errors.New("tool_use: name is required")
		}
		args, err := objectOr(b.Input, "{}")
		if err != nil {
			return blk, false, fmt.Errorf("tool_use: input: %w", err)
		}
		return llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}}, true, nil
	case "tool_result":
		if b.ToolUseID == "" {
			return blk, false, errors.New("tool_result: tool_use_id is required")
		}
		var content []llm.Block
		if b.Content.set {
			content, err = decodeContent(&b.Content, true)
			if err != nil {
				return blk, false, fmt.Errorf("tool_result: content: %w", err)
			}
			if len(content) == 0 {
				content = nil
			}
		}
		return llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: b.ToolUseID, Content: content, IsError: b.IsError}}, true, nil
	case "thinking":
		return llm.Block{Type: llm.BlockThinking, Text: b.Thinking, Signature: b.Signature}, true, nil
	case "redacted_thinking":
		return blk, false, nil
	default:
		return blk, false, fmt.Errorf("unsupported block type %q", b.Type)
	}
}

func decodeImage(src *wireSource) (*llm.Image, error) {
	if src == nil {
		return nil, errors.New("image: source: field is required")
	}
	switch src.Type {
	case "base64":
		if src.MediaType == "" {
			return nil, errors.New("image: source: media_type is required")
		}
		if src.Data == "" {
			return nil, errors.New("image: source: data is required")
		}
		return &llm.Image{MediaType: src.MediaType, Data: src.Data}, nil
	case "url":
		if src.URL == "" {
			return nil, errors.New("image: source: url is required")
		}
		return &llm.Image{URL: src.URL}, nil
	default:
		return nil, fmt.Errorf("image: source: unsupported type %q, want base64 or url", src.Type)
	}
}

// objectOr returns raw if it is a JSON object, def if it is absent.
func objectOr(raw rawValue, def string) ([]byte, error) {
	if raw == nil {
		return []byte(def), nil
	}
	if !raw.isObject() {
		return nil, errors.New("must be a JSON object")
	}
	return raw, nil
}

// decodeResponseBlocks converts response content. redacted_thinking is
// dropped; server tool blocks and blocks of unknown types become opaque
// blocks (see opaqueBlock), whose JSON is read from raws, the content
// array's elements, when there are any.
func decodeResponseBlocks(blocks []wireBlock, raws func() ([]json.RawMessage, error)) ([]llm.Block, error) {
	out := make([]llm.Block, 0, len(blocks))
	var rawBlocks []json.RawMessage
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case "text":
			out = append(out, llm.Block{Type: llm.BlockText, Text: b.Text})
		case "thinking":
			out = append(out, llm.Block{Type: llm.BlockThinking, Text: b.Thinking, Signature: b.Signature})
		case "tool_use":
			args, err := objectOr(b.Input, "{}")
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: tool_use: input: %w", i, err)
			}
			out = append(out, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}})
		case "redacted_thinking":
		default:
			if rawBlocks == nil {
				var err error
				if rawBlocks, err = raws(); err != nil || len(rawBlocks) != len(blocks) {
					return nil, fmt.Errorf("content: couldn't read the blocks: %v", err)
				}
			}
			blk, err := opaqueBlock(b, rawBlocks[i])
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: %w", i, err)
			}
			out = append(out, blk)
		}
	}
	return out, nil
}

// appendBlocks appends a JSON array of content blocks.
func appendBlocks(b []byte, blocks []llm.Block, nested bool) ([]byte, error) {
	b = append(b, '[')
	for i := range blocks {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		b, err = appendBlock(b, &blocks[i], nested)
		if err != nil {
			return b, fmt.Errorf("at index %d: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

func appendBlock(b []byte, blk *llm.Block, nested bool) ([]byte, error) {
	b = append(b, '{')
	switch blk.Type {
	case llm.BlockText:
		b = appendStringField(b, "type", "text")
		b = appendStringField(b, "text", blk.Text)
	case llm.BlockImage:
		img := blk.Image
		if img == nil {
			return b, errors.New("image block without an image")
		}
		b = appendStringField(b, "type", "image")
		b = append(appendKey(b, "source"), '{')
		switch {
		case img.URL != "" && img.Data != "":
			return b, errors.New("image has both url and data")
		case img.URL != "":
			b = appendStringField(b, "type", "url")
			b = appendStringField(b, "url", img.URL)
		case img.Data != "":
			if img.MediaType == "" {
				return b, errors.New("image data without a media type")
			}
			b = appendStringField(b, "type", "base64")
			b = appendStringField(b, "media_type", img.MediaType)
			b = appendStringField(b, "data", img.Data)
		default:
			return b, errors.New("image has neither url nor data")
		}
		b = append(b, '}')
	case llm.BlockToolUse, llm.BlockToolResult, llm.BlockThinking:
		if nested {
			return b, fmt.Errorf("%s block not allowed in tool_result content", blk.Type)
		}
		var err error
		if b, err = appendTurnBlock(b, blk); err != nil {
			return b, err
		}
	default:
		return b, fmt.Errorf("unsupported block type %q", blk.Type)
	}
	return append(b, '}'), nil
}

// appendTurnBlock appends the fields of a tool_use, tool_result or thinking
// block.
func appendTurnBlock(b []byte, blk *llm.Block) ([]byte, error) {
	var err error
	switch blk.Type {
	case llm.BlockToolUse:
		tc := blk.ToolCall
		if tc == nil {
			return b, errors.New("tool_use block without a tool call")
		}
		b = appendStringField(b, "type", "tool_use")
		b = appendStringField(b, "id", tc.ID)
		b = appendStringField(b, "name", tc.Name)
		if b, err = appendObject(appendKey(b, "input"), tc.Arguments, "{}"); err != nil {
			return b, fmt.Errorf("tool_use %q: input %w", tc.Name, err)
		}
	case llm.BlockToolResult:
		tr := blk.ToolResult
		if tr == nil {
			return b, errors.New("tool_result block without a result")
		}
		b = appendStringField(b, "type", "tool_result")
		b = appendStringField(b, "tool_use_id", tr.CallID)
		if len(tr.Content) > 0 {
			if b, err = appendBlocks(appendKey(b, "content"), tr.Content, true); err != nil {
				return b, fmt.Errorf("tool_result: content: %w", err)
			}
		}
		if tr.IsError {
			b = append(appendKey(b, "is_error"), "true"...)
		}
	case llm.BlockThinking:
		b = appendStringField(b, "type", "thinking")
		b = appendStringField(b, "thinking", blk.Text)
		b = appendStringField(b, "signature", blk.Signature)
	}
	return b, nil
}

// contentSize estimates the encoded size of blocks, to size buffers.
func contentSize(blocks []llm.Block) int {
	n := 0
	for i := range blocks {
		blk := &blocks[i]
		n += 48 + len(blk.Text) + len(blk.Signature)
		if blk.Image != nil {
			n += len(blk.Image.Data) + len(blk.Image.URL) + 64
		}
		if blk.ToolCall != nil {
			n += len(blk.ToolCall.ID) + len(blk.ToolCall.Name) + len(blk.ToolCall.Arguments) + 32
		}
		if blk.ToolResult != nil {
			n += len(blk.ToolResult.CallID) + contentSize(blk.ToolResult.Content) + 32
		}
	}
	return n
}
