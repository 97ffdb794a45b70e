package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/brightline/brightline/internal/llm"
)

// Bedrock's Converse API, mapped to and from the canonical model. Converse
// has no message id (the answer's ID is the request id AWS returns), no
// "none" tool choice (tools stay offered with "auto") and no parallel-call
// switch; thinking blocks in the conversation are not sent. Images must be
// data, not URLs.

type converseRequest struct {
	Messages        []converseMessage `json:"messages"`
	System          []converseBlock   `json:"system,omitempty"`
	InferenceConfig *converseInfer    `json:"inferenceConfig,omitempty"`
	ToolConfig      *converseTools    `json:"toolConfig,omitempty"`
}

type converseInfer struct {
	MaxTokens     int      `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type converseTools struct {
	Tools      []converseTool  `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type converseTool struct {
	ToolSpec struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		InputSchema struct {
			JSON json.RawMessage `json:"json"`
		} `json:"inputSchema"`
	} `json:"toolSpec"`
}

type converseMessage struct {
	Role    string          `json:"role"`
	Content []converseBlock `json:"content"`
}

// converseBlock is the union of Converse content blocks; exactly one field
// is set.
type converseBlock struct {
	Text       *string             `json:"text,omitempty"`
	Image      *converseImage      `json:"image,omitempty"`
	ToolUse    *converseToolUse    `json:"toolUse,omitempty"`
	ToolResult *converseToolResult `json:"toolResult,omitempty"`
	Reasoning  *converseReasoning  `json:"reasoningContent,omitempty"`
}

type converseImage struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type converseToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type converseToolResult struct {
	ToolUseID string          `json:"toolUseId"`
	Content   []converseBlock `json:"content"`
	Status    string          `json:"status,omitempty"`
}

type converseReasoning struct {
	ReasoningText *struct {
		Text string `json:"text"`
	} `json:"reasoningText,omitempty"`
}

type converseUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

func (u *converseUsage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheReadTokens: u.CacheReadInputTokens, CacheCreationTokens: u.CacheWriteInputTokens}
}

// encodeConverse encodes req as a Converse (or ConverseStream) body. What
// Converse cannot take is refused with a 400 *llm.WireError.
func encodeConverse(provider string, req *llm.Request) ([]byte, error) {
	out := converseRequest{Messages: make([]converseMessage, 0, len(req.Messages))}
	if req.System != "" {
		out.System = []converseBlock{{Text: &req.System}}
	}
	if req.MaxTokens > 0 || req.Temperature != nil || req.TopP != nil || len(req.Stop) > 0 {
		out.InferenceConfig = &converseInfer{MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		blocks, err := converseBlocks(provider, m.Content)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		out.Messages = append(out.Messages, converseMessage{Role: string(m.Role), Content: blocks})
	}
	if len(req.Tools) > 0 {
		tc := &converseTools{}
		for _, t := range req.Tools {
			if t.Type != "" {
				return nil, cannotEncode(provider, "the provider-defined tool "+t.Type+" through Converse")
			}
			var ct converseTool
			ct.ToolSpec.Name, ct.ToolSpec.Description = t.Name, t.Description
			ct.ToolSpec.InputSchema.JSON = t.InputSchema
			if len(ct.ToolSpec.InputSchema.JSON) == 0 {
				ct.ToolSpec.InputSchema.JSON = json.RawMessage(`{"type":"object"}`)
			}
			tc.Tools = append(tc.Tools, ct)
		}
		if c := req.ToolChoice; c != nil {
			switch c.Mode {
			case llm.ToolChoiceAny:
				tc.ToolChoice = json.RawMessage(`{"any":{}}`)
			case llm.ToolChoiceTool:
				tc.ToolChoice = mustJSON(map[string]any{"tool": map[string]string{"name": c.Name}})
			}
		}
		out.ToolConfig = tc
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode the request for provider %s: %w", provider, err)
	}
	return b, nil
}

func converseBlocks(provider string, in []llm.Block) ([]converseBlock, error) {
	out := make([]converseBlock, 0, len(in))
	for i := range in {
		b := &in[i]
		switch b.Type {
		case llm.BlockText:
			if strings.TrimSpace(b.Text) == "" {
				continue // Converse refuses blank text blocks
			}
			out = append(out, converseBlock{Text: &b.Text})
		case llm.BlockImage:
			img, err := converseImageOf(provider, b.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, converseBlock{Image: img})
		case llm.BlockToolUse:
			args := b.ToolCall.Arguments
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			out = append(out, converseBlock{ToolUse: &converseToolUse{ToolUseID: b.ToolCall.ID, Name: b.ToolCall.Name, Input: args}})
		case llm.BlockToolResult:
			r := &converseToolResult{ToolUseID: b.ToolResult.CallID, Content: []converseBlock{}}
			if b.ToolResult.IsError {
				r.Status = "error"
			}
			content, err := converseBlocks(provider, b.ToolResult.Content)
			if err != nil {
				return nil, err
			}
			r.Content = content
			if len(r.Content) == 0 {
				empty := " "
				r.Content = []converseBlock{{Text: &empty}}
			}
			out = append(out, converseBlock{ToolResult: r})
		case llm.BlockThinking:
			// Not sent: Converse wants the provider's own signed
			// reasoning blocks back, which only the Anthropic path keeps.
		default:
			return nil, cannotEncode(provider, "a "+string(b.Type)+" block through Converse")
		}
	}
	return out, nil
}

func converseImageOf(provider string, img *llm.Image) (*converseImage, error) {
	if img == nil || img.Data == "" {
		return nil, cannotEncode(provider, "an image by URL through Converse; send the image data")
	}
	format, ok := strings.CutPrefix(img.MediaType, "image/")
	switch {
	case !ok:
		return nil, cannotEncode(provider, "an image of type "+img.MediaType)
	case format == "jpg":
		format = "jpeg"
	}
	ci := &converseImage{Format: format}
	ci.Source.Bytes = img.Data
	return ci, nil
}

// converseStop maps a Converse stop reason to the canonical one.
func converseStop(s string) llm.StopReason {
	switch s {
	case "tool_use":
		return llm.StopToolUse
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopMaxTokens
	case "stop_sequence":
		return llm.StopSequence
	case "guardrail_intervened", "content_filtered":
		return llm.StopRefusal
	}
	return llm.StopEndTurn
}

// decodeConverse decodes a Converse answer. model and id are the model
// asked for and AWS's request id, which stand in for what Converse does
// not return.
func decodeConverse(data []byte, model, id string) (*llm.Response, error) {
	var w struct {
		Output struct {
			Message *converseMessage `json:"message"`
		} `json:"output"`
		StopReason string         `json:"stopReason"`
		Usage      *converseUsage `json:"usage"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("couldn't decode Converse answer: %w", err)
	}
	if w.Output.Message == nil {
		return nil, errors.New("couldn't decode Converse answer: output.message is missing")
	}
	out := &llm.Response{ID: id, Model: model, StopReason: converseStop(w.StopReason), Content: []llm.Block{}}
	if u := w.Usage.canonical(); u != nil {
		out.Usage = *u
	}
	for _, b := range w.Output.Message.Content {
		switch {
		case b.Text != nil:
			out.Content = append(out.Content, llm.Block{Type: llm.BlockText, Text: *b.Text})
		case b.ToolUse != nil:
			args := b.ToolUse.Input
			if len(args) == 0 || string(args) == "null" {
				args = json.RawMessage("{}")
			}
			out.Content = append(out.Content, llm.Block{Type: llm.BlockToolUse,
				ToolCall: &llm.ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: args}})
		case b.Reasoning != nil && b.Reasoning.ReasoningText != nil:
			out.Content = append(out.Content, llm.Block{Type: llm.BlockThinking, Text: b.Reasoning.ReasoningText.Text})
		}
	}
	return out, nil
}

// converseStreamReader reads ConverseStream's events (messageStart,
// contentBlockStart, contentBlockDelta, contentBlockStop, messageStop,
// metadata) as canonical events. Converse opens a text block with its
// first delta, so the reader makes the block start itself. The stream
// ends with EventEnd once it has stopped and the input ends.
type converseStreamReader struct {
	es       *eventStream
	model    string
	id       string
	queue    []llm.StreamEvent
	open     map[int]bool // blocks started and not yet stopped
	started  bool
	stopped  bool
	done     bool
	finalErr error
}

func newConverseStreamReader(r io.Reader, model, id string) *converseStreamReader {
	return &converseStreamReader{es: newEventStream(r), model: model, id: id, open: map[int]bool{}}
}

func (s *converseStreamReader) Buffered() int {
	if len(s.queue) > 0 {
		return 1 + s.es.buffered()
	}
	if s.done || s.finalErr != nil {
		return 0
	}
	return s.es.buffered()
}

func (s *converseStreamReader) Next() (llm.StreamEvent, error) {
	for len(s.queue) == 0 {
		if s.finalErr != nil {
			return llm.StreamEvent{}, s.finalErr
		}
		if s.done {
			return llm.StreamEvent{}, io.EOF
		}
		typ, payload, err := s.es.next()
		if err == io.EOF {
			if !s.stopped {
				err = io.ErrUnexpectedEOF
			} else {
				s.done = true
				s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventEnd})
				continue
			}
		}
		if err == nil {
			err = s.decode(typ, payload)
		}
		if err != nil {
			s.finalErr = err
		}
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev, nil
}

func (s *converseStreamReader) decode(typ string, payload []byte) error {
	var w struct {
		Index int `json:"contentBlockIndex"`
		Start *struct {
			ToolUse *converseToolUse `json:"toolUse"`
		} `json:"start"`
		Delta *struct {
			Text    *string `json:"text"`
			ToolUse *struct {
				Input string `json:"input"`
			} `json:"toolUse"`
			Reasoning *struct {
				Text *string `json:"text"`
			} `json:"reasoningContent"`
		} `json:"delta"`
		StopReason string         `json:"stopReason"`
		Usage      *converseUsage `json:"usage"`
	}
	if err := json.Unmarshal(payload, &w); err != nil {
		return fmt.Errorf("couldn't decode ConverseStream %s event: %w", typ, err)
	}
	if typ != "messageStart" && !s.started && typ != "metadata" {
		s.start()
	}
	switch typ {
	case "messageStart":
		if !s.started {
			s.start()
		}
	case "contentBlockStart":
		if w.Start != nil && w.Start.ToolUse != nil {
			s.open[w.Index] = true
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventBlockStart, Index: w.Index,
				Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: w.Start.ToolUse.ToolUseID, Name: w.Start.ToolUse.Name}}})
		}
	case "contentBlockDelta":
		d := w.Delta
		switch {
		case d == nil:
		case d.Text != nil:
			s.openBlock(w.Index, llm.BlockText)
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: *d.Text})
		case d.ToolUse != nil:
			if !s.open[w.Index] {
				return fmt.Errorf("couldn't decode ConverseStream: tool input for block %d, which has not started", w.Index)
			}
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventToolDelta, Index: w.Index, PartialJSON: d.ToolUse.Input})
		case d.Reasoning != nil && d.Reasoning.Text != nil:
			s.openBlock(w.Index, llm.BlockThinking)
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: *d.Reasoning.Text})
		}
	case "contentBlockStop":
		if s.open[w.Index] {
			delete(s.open, w.Index)
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventBlockStop, Index: w.Index})
		}
	case "messageStop":
		for i := range s.open {
			// A block Converse never stopped; blocks do not interleave,
			// so at most one is open.
			delete(s.open, i)
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventBlockStop, Index: i})
		}
		s.stopped = true
		s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventStop, StopReason: converseStop(w.StopReason)})
	case "metadata":
		if u := w.Usage.canonical(); u != nil && s.stopped {
			s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventUsage, Usage: u})
		}
	}
	return nil
}

func (s *converseStreamReader) start() {
	s.started = true
	s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventStart, ID: s.id, Model: s.model})
}

// openBlock starts block index of type t unless it is open.
func (s *converseStreamReader) openBlock(index int, t llm.BlockType) {
	if s.open[index] {
		return
	}
	s.open[index] = true
	s.queue = append(s.queue, llm.StreamEvent{Type: llm.EventBlockStart, Index: index, Block: &llm.Block{Type: t}})
}
