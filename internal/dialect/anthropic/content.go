package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// serverBlocks lets decodeContent accept server tool blocks (a server
// tool's call and result in the conversation's history) in the messages
// of a request: only of a kind the policy allows, and only from a client.
// raw returns the JSON of the message's content blocks.
type serverBlocks struct {
	allow  Allow
	client bool
	req    *llm.Request
	raw    func() ([]json.RawMessage, error)
}

// decodeContent converts request content to canonical blocks. Errors are
// relative to the content field ("at index 2: ..."). Inside a tool_result
// (nested) only text, image, document, search_result and tool_reference
// blocks are allowed. sb, if not nil, allows server tool blocks.
func decodeContent[B wireBlock | wireLeaf](c *wireContentOf[B], nested bool, sb *serverBlocks) ([]llm.Block, error) {
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
	var raws []json.RawMessage
	for i := range c.blocks {
		b := c.block(i)
		if kind := serverBlockKind(b); kind != "" || isServerBlockType(b.Type) {
			if nested || sb == nil {
				return nil, fmt.Errorf("at index %d: unsupported block type %q", i, b.Type)
			}
			if kind == "" {
				return nil, fmt.Errorf("at index %d: unsupported block type %q", i, b.Type)
			}
			if !sb.client || sb.allow == nil || !sb.allow.AllowsServerTool(kind) {
				return nil, serverToolRefused(fmt.Sprintf("at index %d (type %q)", i, b.Type), kind)
			}
			if raws == nil {
				var err error
				if raws, err = sb.raw(); err != nil || len(raws) != len(c.blocks) {
					return nil, fmt.Errorf("at index %d: couldn't read the block: %v", i, err)
				}
			}
			blk, err := opaqueBlock(b, raws[i])
			if err != nil {
				return nil, fmt.Errorf("at index %d: %w", i, err)
			}
			// What the server tool returned reaches the model again:
			// its text goes to the detectors.
			sb.req.ExtraText = wire.Strings(sb.req.ExtraText, raws[i])
			out = append(out, blk)
			continue
		}
		blk, err := decodeBlock(b, nested)
		if err != nil {
			return nil, fmt.Errorf("at index %d: %w", i, err)
		}
		out = append(out, blk)
	}
	return out, nil
}

// isServerBlockType reports whether t is a block only a server tool
// produces, whatever its kind.
func isServerBlockType(t string) bool {
	switch t {
	case "server_tool_use", "mcp_tool_use", "tool_search_tool_result":
		return true
	}
	_, ok := serverResultKinds[t]
	return ok
}

// serverBlockKind returns the server tool kind of a server tool block, or
// "" if b is not one or its kind is unknown.
func serverBlockKind(b *wireBlock) string {
	switch b.Type {
	case "server_tool_use":
		return serverToolNames[b.Name]
	case "mcp_tool_use":
		return llm.ServerToolMCP
	}
	return serverResultKinds[b.Type]
}

// decodeBlock converts one request block that is not a server tool block.
func decodeBlock(b *wireBlock, nested bool) (blk llm.Block, err error) {
	switch b.Type {
	case "text":
		cites, err := decodeCitations(b.Citations)
		if err != nil {
			return blk, err
		}
		return llm.Block{Type: llm.BlockText, Text: b.Text, Citations: cites}, nil
	case "image":
		img, err := decodeImage(b.Source)
		if err != nil {
			return blk, err
		}
		return llm.Block{Type: llm.BlockImage, Image: img}, nil
	case "document":
		doc, err := decodeDocument(b)
		if err != nil {
			return blk, fmt.Errorf("document: %w", err)
		}
		return llm.Block{Type: llm.BlockDocument, Document: doc}, nil
	case "search_result":
		doc, err := decodeSearchResult(b, nested)
		if err != nil {
			return blk, fmt.Errorf("search_result: %w", err)
		}
		return llm.Block{Type: llm.BlockSearchResult, Document: doc}, nil
	case "tool_reference":
		if b.ToolName == "" {
			return blk, errors.New("tool_reference: tool_name is required")
		}
		return llm.Block{Type: llm.BlockToolReference, Text: b.ToolName}, nil
	case "":
		return blk, errors.New("type: field is required")
	}
	if nested {
		return blk, fmt.Errorf("unsupported block type %q in tool_result content, want text, image, document, search_result or tool_reference", b.Type)
	}
	switch b.Type {
	case "tool_use":
		if b.ID == "" {
			return blk, errors.New("tool_use: id is required")
		}
		if b.Name == "" {
			return blk, errors.New("tool_use: name is required")
		}
		args, err := objectOr(b.Input, "{}")
		if err != nil {
			return blk, fmt.Errorf("tool_use: input: %w", err)
		}
		return llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}}, nil
	case "tool_result":
		if b.ToolUseID == "" {
			return blk, errors.New("tool_result: tool_use_id is required")
		}
		var content []llm.Block
		if b.Content.set {
			content, err = decodeContent(&b.Content, true, nil)
			if err != nil {
				return blk, fmt.Errorf("tool_result: content: %w", err)
			}
			if len(content) == 0 {
				content = nil
			}
		}
		return llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: b.ToolUseID, Content: content, IsError: b.IsError}}, nil
	case "thinking":
		return llm.Block{Type: llm.BlockThinking, Text: b.Thinking, Signature: b.Signature}, nil
	case "redacted_thinking":
		if b.Data == "" {
			return blk, errors.New("redacted_thinking: data is required")
		}
		return llm.Block{Type: llm.BlockRedactedThinking, Signature: b.Data}, nil
	default:
		return blk, fmt.Errorf("unsupported block type %q", b.Type)
	}
}

// decodeCitations reads the citations of a text block: each keeps its
// wire form, and its cited text is read for the detectors.
func decodeCitations(raw rawValue) ([]llm.Citation, error) {
	if raw == nil {
		return nil, nil
	}
	var cites []json.RawMessage
	if err := json.Unmarshal(raw, &cites); err != nil {
		return nil, errors.New("citations: must be an array of objects")
	}
	if len(cites) == 0 {
		return nil, nil
	}
	out := make([]llm.Citation, len(cites))
	for i, c := range cites {
		var w struct {
			CitedText string `json:"cited_text"`
		}
		if firstByte(c) != '{' || json.Unmarshal(c, &w) != nil {
			return nil, fmt.Errorf("citations: at index %d: must be an object", i)
		}
		out[i] = llm.Citation{CitedText: w.CitedText, Raw: c}
	}
	return out, nil
}

// citationsEnabled reads a document's or search result's citations
// configuration, {"enabled": bool}.
func citationsEnabled(raw rawValue) (bool, error) {
	if raw == nil {
		return false, nil
	}
	var w struct {
		Enabled bool `json:"enabled"`
	}
	if firstByte(raw) != '{' || json.Unmarshal(raw, &w) != nil {
		return false, errors.New(`citations: must be an object like {"enabled":true}`)
	}
	return w.Enabled, nil
}

// decodeDocument reads a document block: a PDF (base64, url or file) or
// text (a plain-text source, or a content source of text and image
// blocks).
func decodeDocument(b *wireBlock) (*llm.Document, error) {
	src := b.Source
	if src == nil {
		return nil, errors.New("source: field is required")
	}
	cites, err := citationsEnabled(b.Citations)
	if err != nil {
		return nil, err
	}
	doc := &llm.Document{Title: b.Title, Context: b.Context, Citations: cites}
	switch src.Type {
	case "base64":
		if src.Data == "" {
			return nil, errors.New("source: data is required")
		}
		doc.MediaType, doc.Data = src.MediaType, src.Data
		if doc.MediaType == "" {
			doc.MediaType = "application/pdf"
		}
	case "text":
		doc.MediaType = "text/plain"
		doc.Content = []llm.Block{{Type: llm.BlockText, Text: src.Data}}
	case "url":
		if src.URL == "" {
			return nil, errors.New("source: url is required")
		}
		doc.URL = src.URL
	case "file":
		if src.FileID == "" {
			return nil, errors.New("source: file_id is required")
		}
		doc.FileID = src.FileID
	case "content":
		if src.Content == nil {
			return nil, errors.New("source: content is required")
		}
		var c wireToolResultContent
		if err := json.Unmarshal(src.Content, &c); err != nil {
			return nil, fmt.Errorf("source: content: %s", describeJSONError(err))
		}
		blocks, err := decodeContent(&c, true, nil)
		if err != nil {
			return nil, fmt.Errorf("source: content: %w", err)
		}
		for _, blk := range blocks {
			if blk.Type != llm.BlockText && blk.Type != llm.BlockImage {
				return nil, fmt.Errorf("source: content: unsupported block type %q, want text or image", blk.Type)
			}
		}
		doc.Content = blocks
	case "":
		return nil, errors.New("source: type is required")
	default:
		return nil, fmt.Errorf("source: unsupported type %q, want base64, text, url, file or content", src.Type)
	}
	return doc, nil
}

// decodeSearchResult reads a search_result block. Nested in a tool
// result, its content is still bytes (wireLeaf) and is read here.
func decodeSearchResult(b *wireBlock, nested bool) (*llm.Document, error) {
	source := ""
	if b.Source != nil {
		source = b.Source.name
	}
	if source == "" {
		return nil, errors.New("source: must be a non-empty string")
	}
	cites, err := citationsEnabled(b.Citations)
	if err != nil {
		return nil, err
	}
	content := &b.Content
	if nested {
		var c wireToolResultContent
		if b.Nested != nil {
			if err := json.Unmarshal(b.Nested, &c); err != nil {
				return nil, fmt.Errorf("content: %s", describeJSONError(err))
			}
		}
		content = &c
	}
	if !content.set || content.isString {
		return nil, errors.New("content: must be an array of text blocks")
	}
	blocks, err := decodeContent(content, true, nil)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	for i, blk := range blocks {
		if blk.Type != llm.BlockText {
			return nil, fmt.Errorf("content: at index %d: unsupported block type %q, want text", i, blk.Type)
		}
	}
	return &llm.Document{Title: b.Title, Source: source, Content: blocks, Citations: cites}, nil
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
	case "file":
		if src.FileID == "" {
			return nil, errors.New("image: source: file_id is required")
		}
		return &llm.Image{FileID: src.FileID}, nil
	default:
		return nil, fmt.Errorf("image: source: unsupported type %q, want base64, url or file", src.Type)
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

// decodeResponseBlocks converts response content. Server tool blocks and blocks of unknown types become opaque
// blocks (see opaqueBlock), whose JSON is read from raws, the content
// array's elements, when there are any.
func decodeResponseBlocks(blocks []wireBlock, raws func() ([]json.RawMessage, error)) ([]llm.Block, error) {
	out := make([]llm.Block, 0, len(blocks))
	var rawBlocks []json.RawMessage
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case "text":
			cites, err := decodeCitations(b.Citations)
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: %w", i, err)
			}
			out = append(out, llm.Block{Type: llm.BlockText, Text: b.Text, Citations: cites})
		case "thinking":
			out = append(out, llm.Block{Type: llm.BlockThinking, Text: b.Thinking, Signature: b.Signature})
		case "tool_use":
			args, err := objectOr(b.Input, "{}")
			if err != nil {
				return nil, fmt.Errorf("content: at index %d: tool_use: input: %w", i, err)
			}
			out = append(out, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}})
		case "redacted_thinking":
			out = append(out, llm.Block{Type: llm.BlockRedactedThinking, Signature: b.Data})
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
	switch blk.Type {
	case llm.BlockServerToolUse, llm.BlockServerToolResult, llm.BlockUnknown:
		if nested {
			return b, fmt.Errorf("%s block not allowed in tool_result content", blk.Type)
		}
		return appendOpaque(b, blk)
	}
	b = append(b, '{')
	switch blk.Type {
	case llm.BlockText:
		b = appendStringField(b, "type", "text")
		b = appendStringField(b, "text", blk.Text)
		if len(blk.Citations) > 0 {
			var err error
			if b, err = appendCitations(b, blk.Citations); err != nil {
				return b, err
			}
		}
	case llm.BlockImage:
		img := blk.Image
		if img == nil {
			return b, errors.New("image block without an image")
		}
		b = appendStringField(b, "type", "image")
		b = append(appendKey(b, "source"), '{')
		switch {
		case countSet(img.URL, img.Data, img.FileID) > 1:
			return b, errors.New("image has more than one of url, data and file id")
		case img.URL != "":
			b = appendStringField(b, "type", "url")
			b = appendStringField(b, "url", img.URL)
		case img.FileID != "":
			b = appendStringField(b, "type", "file")
			b = appendStringField(b, "file_id", img.FileID)
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
	case llm.BlockDocument, llm.BlockSearchResult:
		var err error
		if b, err = appendDocument(b, blk); err != nil {
			return b, err
		}
	case llm.BlockToolReference:
		b = appendStringField(b, "type", "tool_reference")
		b = appendStringField(b, "tool_name", blk.Text)
	case llm.BlockToolUse, llm.BlockToolResult, llm.BlockThinking, llm.BlockRedactedThinking:
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

func countSet(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

// appendCitations appends the citations of a text block: each in its wire
// form, with cited_text set to the canonical text (which redaction may
// have changed).
func appendCitations(b []byte, cites []llm.Citation) ([]byte, error) {
	b = append(appendKey(b, "citations"), '[')
	for i := range cites {
		c := &cites[i]
		if i > 0 {
			b = append(b, ',')
		}
		if len(c.Raw) == 0 {
			b = append(b, '{')
			b = appendStringField(b, "cited_text", c.CitedText)
			b = append(b, '}')
			continue
		}
		raw, err := llm.SetTopLevelString(c.Raw, "cited_text", c.CitedText)
		if err != nil {
			return b, fmt.Errorf("citations: at index %d: %w", i, err)
		}
		b = append(b, raw...)
	}
	return append(b, ']'), nil
}

// appendDocument appends the fields of a document or search_result block.
func appendDocument(b []byte, blk *llm.Block) ([]byte, error) {
	doc := blk.Document
	if doc == nil {
		return b, fmt.Errorf("%s block without a document", blk.Type)
	}
	var err error
	if blk.Type == llm.BlockSearchResult {
		b = appendStringField(b, "type", "search_result")
		b = appendStringField(b, "source", doc.Source)
		b = appendStringField(b, "title", doc.Title)
		if b, err = appendBlocks(appendKey(b, "content"), doc.Content, true); err != nil {
			return b, fmt.Errorf("search_result: content: %w", err)
		}
	} else {
		b = appendStringField(b, "type", "document")
		b = append(appendKey(b, "source"), '{')
		switch {
		case countSet(doc.Data, doc.URL, doc.FileID) > 1 || countSet(doc.Data, doc.URL, doc.FileID) == 1 && len(doc.Content) > 0:
			return b, errors.New("document has more than one source")
		case doc.Data != "":
			b = appendStringField(b, "type", "base64")
			b = appendStringField(b, "media_type", doc.MediaType)
			b = appendStringField(b, "data", doc.Data)
		case doc.URL != "":
			b = appendStringField(b, "type", "url")
			b = appendStringField(b, "url", doc.URL)
		case doc.FileID != "":
			b = appendStringField(b, "type", "file")
			b = appendStringField(b, "file_id", doc.FileID)
		case len(doc.Content) == 1 && doc.Content[0].Type == llm.BlockText && doc.MediaType == "text/plain":
			b = appendStringField(b, "type", "text")
			b = appendStringField(b, "media_type", "text/plain")
			b = appendStringField(b, "data", doc.Content[0].Text)
		default:
			b = appendStringField(b, "type", "content")
			if b, err = appendBlocks(appendKey(b, "content"), doc.Content, true); err != nil {
				return b, fmt.Errorf("document: source: content: %w", err)
			}
		}
		b = append(b, '}')
		if doc.Title != "" {
			b = appendStringField(b, "title", doc.Title)
		}
		if doc.Context != "" {
			b = appendStringField(b, "context", doc.Context)
		}
	}
	if doc.Citations {
		b = append(appendKey(b, "citations"), `{"enabled":true}`...)
	}
	return b, nil
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
	case llm.BlockRedactedThinking:
		b = appendStringField(b, "type", "redacted_thinking")
		b = appendStringField(b, "data", blk.Signature)
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
		if d := blk.Document; d != nil {
			n += 96 + len(d.Title) + len(d.Context) + len(d.Source) + len(d.Data) + len(d.URL) + len(d.FileID) + contentSize(d.Content)
		}
		if blk.Opaque != nil {
			n += len(blk.Opaque.Raw)
		}
		for _, c := range blk.Citations {
			n += len(c.Raw) + len(c.CitedText)
		}
	}
	return n
}
