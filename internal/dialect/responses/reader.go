package responses

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

type blockKind uint8

const (
	noBlock blockKind = iota
	textBlock
	toolBlock
	thinkingBlock
	opaqueBlockKind // a hosted tool's item or an unknown one
)

// StreamReader reads a streamed response (typed server-sent events) from a
// provider and returns it as canonical events:
//
//   - response.created is the start; response.completed and
//     response.incomplete are the stop (with usage) and the end, in one
//     frame; response.failed and error are a *llm.WireError.
//   - A text block is one content part of a message item: it opens at
//     content_part.added, its deltas are output_text.delta (or
//     refusal.delta) and it closes at content_part.done.
//   - A function_call item is a tool_use block, from output_item.added to
//     output_item.done; a reasoning item is a thinking block whose deltas
//     are its summary (or reasoning) text; a hosted tool's item is a
//     server tool block whose arguments (its action) come as one delta
//     before it closes; any other item is an unknown block.
//   - Every other event inside an open block (function_call_arguments.done,
//     output_text.done, a hosted tool's progress) is an empty delta of that
//     block, so that whoever holds the block holds them too: they repeat
//     its content. Events outside blocks are EventOther.
//
// BlockStart events carry the item's id in ID.
type StreamReader struct {
	br   *bufio.Reader
	line []byte // a long line being assembled
	buf  []byte // the frame being read
	data []byte // its data field

	events wire.EventQueue

	started bool
	open    blockKind
	index   int    // index of the open block, or of the next one
	output  int    // output_index of the open block's item
	item    string // id of the message item open at the provider, if any
	calls   bool   // a function call was seen
	refusal bool
}

// NewStreamReader returns a reader of the SSE stream r.
func NewStreamReader(r io.Reader) *StreamReader {
	return &StreamReader{br: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event. It returns io.EOF after EventEnd and
// io.ErrUnexpectedEOF if the stream ends before it. Once Next has returned
// an error it returns the same error again.
func (s *StreamReader) Next() (llm.StreamEvent, error) { return s.events.Next(s.advance) }

// Buffered returns the number of bytes read from the underlying reader but
// not yet returned as events (see [wire.EventQueue.Buffered]).
func (s *StreamReader) Buffered() int { return s.events.Buffered(s.br.Buffered()) }

func (s *StreamReader) advance() error {
	hasData, err := s.readFrame()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if err := s.translate(hasData); err != nil {
		return err
	}
	return s.events.Seal(bytes.Clone(s.buf))
}

// readFrame reads the next non-empty frame into s.buf and its data into
// s.data. At the end of r it returns io.EOF; if r ends inside a frame,
// io.ErrUnexpectedEOF.
func (s *StreamReader) readFrame() (hasData bool, err error) {
	s.buf, s.data = s.buf[:0], s.data[:0]
	for {
		line, err := s.readLine()
		if err == io.EOF && len(s.buf) > 0 {
			return false, io.ErrUnexpectedEOF
		}
		if err != nil {
			return false, err
		}
		content := line[:len(line)-1]
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
		}
		if len(content) == 0 {
			if len(s.buf) == 0 {
				continue // a stray blank line between frames
			}
			s.buf = append(s.buf, line...)
			return hasData, nil
		}
		if len(s.buf)+len(line) > wire.MaxFrame {
			return false, fmt.Errorf("couldn't read stream: event larger than %d bytes", wire.MaxFrame)
		}
		s.buf = append(s.buf, line...)
		if content[0] == ':' {
			continue
		}
		name, value := wire.SplitField(content)
		if string(name) != "data" {
			continue // the event name repeats the data's type
		}
		if hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		hasData = true
	}
}

// readLine returns the next line including its '\n', valid until the next
// call. A final line without '\n' is io.ErrUnexpectedEOF.
func (s *StreamReader) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err == io.EOF && len(line) > 0 {
		return nil, io.ErrUnexpectedEOF
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	s.line = append(s.line[:0], line...)
	for {
		line, err = s.br.ReadSlice('\n')
		if len(s.line)+len(line) > wire.MaxFrame {
			return nil, fmt.Errorf("couldn't read stream: event larger than %d bytes", wire.MaxFrame)
		}
		s.line = append(s.line, line...)
		switch {
		case err == nil:
			return s.line, nil
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		case err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}

// wireEvent is the part of a stream event the reader looks at.
type wireEvent struct {
	Type        string          `json:"type"`
	OutputIndex int             `json:"output_index"`
	Delta       string          `json:"delta"`
	Item        json.RawMessage `json:"item"`
	Part        *wirePart       `json:"part"`
	Response    *wireResponse   `json:"response"`
	Code        string          `json:"code"`
	Message     string          `json:"message"`
}

func (s *StreamReader) translate(hasData bool) error {
	if !hasData {
		s.emit(llm.StreamEvent{Type: llm.EventOther})
		return nil
	}
	var e wireEvent
	if err := json.Unmarshal(s.data, &e); err != nil {
		return fmt.Errorf("couldn't decode stream event: %w", err)
	}
	switch e.Type {
	case "response.output_text.delta", "response.refusal.delta":
		if s.open == textBlock {
			s.emit(llm.StreamEvent{Type: llm.EventTextDelta, Index: s.index, Text: e.Delta})
			return nil
		}
	case "response.function_call_arguments.delta":
		if s.open == toolBlock {
			s.emit(llm.StreamEvent{Type: llm.EventToolDelta, Index: s.index, PartialJSON: e.Delta})
			return nil
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		if s.open == thinkingBlock {
			s.emit(llm.StreamEvent{Type: llm.EventTextDelta, Index: s.index, Text: e.Delta})
			return nil
		}
	case "response.created":
		if e.Response == nil {
			return fmt.Errorf("couldn't decode stream event: %s without a response", e.Type)
		}
		if !s.started {
			s.started = true
			s.emit(llm.StreamEvent{Type: llm.EventStart, ID: e.Response.ID, Model: e.Response.Model})
			return nil
		}
	case "response.content_part.added":
		if e.Part != nil {
			return s.partAdded(&e)
		}
	case "response.content_part.done":
		if s.open == textBlock {
			s.closeBlock()
			return nil
		}
	case "response.output_item.added":
		return s.itemAdded(&e)
	case "response.output_item.done":
		return s.itemDone(&e)
	case "response.completed", "response.incomplete":
		return s.completed(&e)
	case "response.failed":
		return failedError(e.Response)
	case "error":
		return &llm.WireError{Type: e.Code, Message: e.Message}
	}
	s.other(&e)
	return nil
}

// partAdded opens a text block for an output_text or refusal part.
func (s *StreamReader) partAdded(e *wireEvent) error {
	if e.Part.Type != "output_text" && e.Part.Type != "refusal" {
		return fmt.Errorf("couldn't decode stream event: unsupported content part type %q", e.Part.Type)
	}
	s.closeBlock()
	s.refusal = s.refusal || e.Part.Type == "refusal"
	s.open, s.output = textBlock, e.OutputIndex
	s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, ID: s.item, Block: &llm.Block{Type: llm.BlockText}})
	return nil
}

// completed closes the open block and emits the stop, with its reason and
// usage, and the end.
func (s *StreamReader) completed(e *wireEvent) error {
	if e.Response == nil {
		return fmt.Errorf("couldn't decode stream event: %s without a response", e.Type)
	}
	s.closeBlock()
	r := e.Response
	reason := ""
	if r.IncompleteDetails != nil {
		reason = r.IncompleteDetails.Reason
	}
	status := r.Status
	if status == "" {
		status = e.Type[len("response."):]
	}
	stop := stopReason(status, reason, s.calls)
	if s.refusal && stop == llm.StopEndTurn {
		stop = llm.StopRefusal
	}
	ev := llm.StreamEvent{Type: llm.EventStop, StopReason: stop}
	if r.Usage != nil {
		u := r.Usage.canonical()
		ev.Usage = &u
	}
	s.emit(ev)
	s.emit(llm.StreamEvent{Type: llm.EventEnd})
	return nil
}

// failedError returns the error a response.failed event carries.
func failedError(r *wireResponse) *llm.WireError {
	we := &llm.WireError{Type: "server_error", Message: "the response failed"}
	if r != nil && r.Error != nil {
		we.Type, we.Message = r.Error.Code, r.Error.Message
	}
	return we
}

// other emits an event translate has no other use for: inside an open
// block it belongs to that block, as an empty delta.
func (s *StreamReader) other(e *wireEvent) {
	switch {
	case s.open == noBlock || e.OutputIndex != s.output:
		s.emit(llm.StreamEvent{Type: llm.EventOther})
	case s.open == textBlock || s.open == thinkingBlock:
		s.emit(llm.StreamEvent{Type: llm.EventTextDelta, Index: s.index})
	default:
		s.emit(llm.StreamEvent{Type: llm.EventToolDelta, Index: s.index})
	}
}

func (s *StreamReader) itemAdded(e *wireEvent) error {
	var it wireOutputItem
	if err := json.Unmarshal(e.Item, &it); err != nil {
		return fmt.Errorf("couldn't decode stream event: %s: item: %w", e.Type, err)
	}
	s.closeBlock()
	s.output = e.OutputIndex
	switch it.Type {
	case "message":
		s.item = it.ID
		s.emit(llm.StreamEvent{Type: llm.EventOther})
		return nil
	case "function_call":
		if it.CallID == "" || it.Name == "" {
			return fmt.Errorf("couldn't decode stream event: %s: function_call without a call_id or name", e.Type)
		}
		s.calls = true
		s.open = toolBlock
		s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, ID: it.ID,
			Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: it.CallID, Name: it.Name}}})
		var args string
		if len(it.Arguments) > 0 && it.Arguments[0] == '"' {
			json.Unmarshal(it.Arguments, &args)
		}
		if args != "" {
			s.emit(llm.StreamEvent{Type: llm.EventToolDelta, Index: s.index, PartialJSON: args})
		}
		return nil
	case "reasoning":
		s.open = thinkingBlock
		b := reasoningBlock(&it)
		b.Text = ""
		s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, ID: it.ID, Block: &b})
		return nil
	}
	b := opaqueBlock(&it, bytes.Clone(e.Item))
	if b.ToolCall != nil {
		b.ToolCall.Arguments = nil // they come with the item's done
	}
	s.open = opaqueBlockKind
	s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, ID: it.ID, Block: &b})
	return nil
}

func (s *StreamReader) itemDone(e *wireEvent) error {
	switch s.open {
	case noBlock, textBlock:
		// A message item's end: its parts have closed (or are closed
		// now).
		s.closeBlock()
		s.item = ""
		s.emit(llm.StreamEvent{Type: llm.EventOther})
		return nil
	case opaqueBlockKind:
		var it wireOutputItem
		if err := json.Unmarshal(e.Item, &it); err != nil {
			return fmt.Errorf("couldn't decode stream event: %s: item: %w", e.Type, err)
		}
		if b := opaqueBlock(&it, e.Item); b.ToolCall != nil {
			s.emit(llm.StreamEvent{Type: llm.EventToolDelta, Index: s.index, PartialJSON: string(b.ToolCall.Arguments)})
		}
	}
	s.closeBlock()
	return nil
}

func (s *StreamReader) emit(ev llm.StreamEvent) {
	ev.Dialect = dialect
	s.events.Push(ev)
}

func (s *StreamReader) closeBlock() {
	if s.open == noBlock {
		return
	}
	s.emit(llm.StreamEvent{Type: llm.EventBlockStop, Index: s.index})
	s.open = noBlock
	s.index++
}
