package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// wireEvent is the union of the data objects of Messages stream events.
type wireEvent struct {
	Type         string           `json:"type"`
	Message      *wireResponse    `json:"message"`
	Index        int              `json:"index"`
	ContentBlock *wireBlock       `json:"content_block"`
	Delta        *wireDelta       `json:"delta"`
	Usage        *wireUsage       `json:"usage"`
	Error        *wireErrorDetail `json:"error"`
}

// wireDelta is the delta of content_block_delta and message_delta.
type wireDelta struct {
	Type         string `json:"type"`
	Text         string `json:"text"`
	PartialJSON  string `json:"partial_json"`
	Thinking     string `json:"thinking"`
	StopReason   string `json:"stop_reason"`
	StopSequence string `json:"stop_sequence"`
}

// StreamReader reads a Messages event stream from Anthropic and returns
// canonical events. It is not safe for concurrent use.
type StreamReader struct {
	br *bufio.Reader

	// Buffers reused from frame to frame.
	line  []byte // a line longer than br's buffer
	frame []byte // every byte of the frame being read
	event []byte // the event field
	data  []byte // the data field, lines joined with "\n"

	hasData  bool
	queue    []llm.StreamEvent // events decoded but not yet returned
	next     int               // next event of queue to return
	queueLen int               // bytes of the frame the queue was decoded from

	// skipped holds the indices of open redacted_thinking blocks, which
	// have no canonical form; their events become EventOther.
	skipped map[int]bool
	stopped bool // a message_delta has produced EventStop
	done    bool // EventEnd has been returned
	err     error
}

// NewStreamReader returns a StreamReader reading server-sent events from r.
func NewStreamReader(r io.Reader) *StreamReader {
	return &StreamReader{br: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next canonical event. Each event carries the frame it
// came from in Raw; further events from the same frame have Continued set.
// Pings, signature_delta and frames of blocks with no canonical form are
// EventOther. After EventEnd (message_stop) Next returns io.EOF; if the
// input ends before it, io.ErrUnexpectedEOF. An error event is returned as a
// *llm.WireError with Status 0. Errors are sticky.
func (s *StreamReader) Next() (llm.StreamEvent, error) {
	for {
		if s.next < len(s.queue) {
			ev := s.queue[s.next]
			s.queue[s.next] = llm.StreamEvent{}
			s.next++
			return ev, nil
		}
		if s.err != nil {
			return llm.StreamEvent{}, s.err
		}
		if s.done {
			return llm.StreamEvent{}, io.EOF
		}
		s.queue, s.next = s.queue[:0], 0
		if err := s.readFrame(); err != nil {
			s.err = err
			return llm.StreamEvent{}, err
		}
		if err := s.decodeFrame(); err != nil {
			s.err = err
			return llm.StreamEvent{}, err
		}
		s.queueLen = len(s.frame)
		if len(s.queue) > 0 {
			s.queue[0].FrameEvents = len(s.queue)
		}
	}
}

// Buffered returns the number of bytes read from the underlying reader that
// Next has not finished returning as events: the input buffered after the
// last frame decoded, plus that frame itself while events decoded from it
// (Continued ones) are still to be returned. While Buffered is positive,
// the next call to Next returns without reading, or reads only what
// completes a frame already begun. It is 0 once Next has returned EventEnd
// or an error, since no further event will come.
//
// A caller relaying events can use it to flush its output only when the
// next event is not already at hand.
func (s *StreamReader) Buffered() int {
	n := 0
	if s.next < len(s.queue) {
		n = s.queueLen
	}
	if !s.done && s.err == nil {
		n += s.br.Buffered()
	}
	return n
}

// readFrame reads lines up to and including the blank line that ends a
// frame. Blank lines before any field are skipped.
func (s *StreamReader) readFrame() error {
	s.frame, s.event, s.data, s.hasData = s.frame[:0], s.event[:0], s.data[:0], false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF {
				// An unterminated frame is discarded, as the SSE spec says.
				return io.ErrUnexpectedEOF
			}
			return err
		}
		content := line[:len(line)-1] // drop '\n'
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
		}
		if len(content) == 0 {
			if len(s.frame) == 0 {
				continue
			}
			s.frame = append(s.frame, line...)
			return nil
		}
		if len(s.frame)+len(line) > wire.MaxFrame {
			return fmt.Errorf("couldn't read Anthropic stream: event exceeds %d bytes", wire.MaxFrame)
		}
		s.frame = append(s.frame, line...)
		if content[0] == ':' {
			continue // comment
		}
		name, value := wire.SplitField(content)
		switch string(name) {
		case "event":
			s.event = append(s.event[:0], value...)
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			s.hasData = true
		}
	}
}

// readLine returns the next line including its '\n'. The result is valid
// until the next call. A final line without '\n' is reported as io.EOF.
func (s *StreamReader) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	s.line = append(s.line[:0], line...)
	for {
		line, err = s.br.ReadSlice('\n')
		s.line = append(s.line, line...)
		if err == nil {
			return s.line, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
		if len(s.frame)+len(s.line) > wire.MaxFrame {
			return nil, fmt.Errorf("couldn't read Anthropic stream: event exceeds %d bytes", wire.MaxFrame)
		}
	}
}

// decodeFrame turns the frame just read into events on the queue.
func (s *StreamReader) decodeFrame() error {
	raw := bytes.Clone(s.frame)
	if !s.hasData {
		// A comment or a frame without data: nothing to decode.
		s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
		return nil
	}
	var w wireEvent
	parsed := false
	name := string(s.event)
	if name == "" {
		// Without an event field the type is only in the data.
		if err := json.Unmarshal(s.data, &w); err != nil {
			return fmt.Errorf("couldn't decode Anthropic stream event: %s", describeJSONError(err))
		}
		name, parsed = w.Type, true
	}
	switch name {
	case "message_start", "content_block_start", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop":
	case "error":
		if (!parsed && json.Unmarshal(s.data, &w) != nil) || w.Error == nil {
			return &llm.WireError{Message: bodyPrefix(s.data)}
		}
		return &llm.WireError{Type: w.Error.Type, Message: w.Error.Message}
	default:
		// ping, or an event type added after this code was written.
		s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
		return nil
	}
	if !parsed && name == "content_block_delta" {
		if typ, index, d, ok := parseDelta(s.data); ok {
			w.Type, w.Index, w.Delta, parsed = typ, index, &d, true
		}
	}
	if !parsed {
		if err := json.Unmarshal(s.data, &w); err != nil {
			return fmt.Errorf("couldn't decode Anthropic %s event: %s", name, describeJSONError(err))
		}
	}
	switch name {
	case "message_start":
		if w.Message == nil {
			return errors.New("couldn't decode Anthropic message_start event: message is missing")
		}
		s.emit(raw, llm.StreamEvent{Type: llm.EventStart, ID: w.Message.ID, Model: w.Message.Model, Usage: w.Message.Usage.canonical()})
	case "content_block_start":
		return s.blockStart(raw, &w)
	case "content_block_delta":
		s.delta(raw, &w)
	case "content_block_stop":
		if s.skipped[w.Index] {
			delete(s.skipped, w.Index)
			s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
			return nil
		}
		s.emit(raw, llm.StreamEvent{Type: llm.EventBlockStop, Index: w.Index})
	case "message_delta":
		usage := w.Usage.canonical()
		switch {
		case !s.stopped:
			s.stopped = true
			ev := llm.StreamEvent{Type: llm.EventStop, Usage: usage}
			if w.Delta != nil {
				ev.StopReason = stopReason(w.Delta.StopReason)
				ev.StopSequence = w.Delta.StopSequence
			}
			s.emit(raw, ev)
		case usage != nil:
			s.emit(raw, llm.StreamEvent{Type: llm.EventUsage, Usage: usage})
		default:
			s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
		}
	case "message_stop":
		s.done = true
		s.emit(raw, llm.StreamEvent{Type: llm.EventEnd})
	}
	return nil
}

func (s *StreamReader) blockStart(raw []byte, w *wireEvent) error {
	cb := w.ContentBlock
	if cb == nil {
		return errors.New("couldn't decode Anthropic content_block_start event: content_block is missing")
	}
	ev := llm.StreamEvent{Type: llm.EventBlockStart, Index: w.Index}
	var initial llm.StreamEvent // content the block starts with, rare
	switch cb.Type {
	case "text":
		ev.Block = &llm.Block{Type: llm.BlockText}
		if cb.Text != "" {
			initial = llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: cb.Text}
		}
	case "thinking":
		ev.Block = &llm.Block{Type: llm.BlockThinking, Signature: cb.Signature}
		if cb.Thinking != "" {
			initial = llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: cb.Thinking}
		}
	case "tool_use":
		ev.Block = &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: cb.ID, Name: cb.Name}}
		if cb.Input.isObject() && !isEmptyObject(cb.Input) {
			initial = llm.StreamEvent{Type: llm.EventToolDelta, Index: w.Index, PartialJSON: string(cb.Input)}
		}
	case "redacted_thinking":
		if s.skipped == nil {
			s.skipped = make(map[int]bool)
		}
		s.skipped[w.Index] = true
		s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
		return nil
	default:
		// A server tool block, or one of a type this package does not
		// know: an opaque block, which the gateway decides or refuses.
		var c struct {
			ContentBlock json.RawMessage `json:"content_block"`
		}
		if err := json.Unmarshal(s.data, &c); err != nil {
			return fmt.Errorf("couldn't decode Anthropic content_block_start event: %s", describeJSONError(err))
		}
		blk, err := opaqueBlock(cb, c.ContentBlock)
		if err != nil {
			return fmt.Errorf("couldn't decode Anthropic content_block_start event: %w", err)
		}
		if blk.Type == llm.BlockServerToolUse {
			// The input follows in input_json_delta events, as for
			// tool_use; one given up front is the first of them.
			if cb.Input.isObject() && !isEmptyObject(cb.Input) {
				initial = llm.StreamEvent{Type: llm.EventToolDelta, Index: w.Index, PartialJSON: string(cb.Input)}
			}
			blk.ToolCall.Arguments = nil
		}
		ev.Block = &blk
	}
	s.emit(raw, ev)
	if initial.Type != 0 {
		s.emit(nil, initial)
	}
	return nil
}

func (s *StreamReader) delta(raw []byte, w *wireEvent) {
	if s.skipped[w.Index] || w.Delta == nil {
		s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
		return
	}
	switch w.Delta.Type {
	case "text_delta":
		s.emit(raw, llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: w.Delta.Text})
	case "thinking_delta":
		s.emit(raw, llm.StreamEvent{Type: llm.EventTextDelta, Index: w.Index, Text: w.Delta.Thinking})
	case "input_json_delta":
		s.emit(raw, llm.StreamEvent{Type: llm.EventToolDelta, Index: w.Index, PartialJSON: w.Delta.PartialJSON})
	default:
		// signature_delta, citations_delta and newer delta types have no
		// canonical event; same-dialect passthrough still forwards them.
		s.emit(raw, llm.StreamEvent{Type: llm.EventOther})
	}
}

// emit queues ev. The first event of a frame carries raw; the others are
// marked Continued.
func (s *StreamReader) emit(raw []byte, ev llm.StreamEvent) {
	ev.Dialect = brightline.DialectAnthropic
	if len(s.queue) == 0 {
		ev.Raw = raw
	} else {
		ev.Continued = true
	}
	s.queue = append(s.queue, ev)
}

func isEmptyObject(raw []byte) bool {
	return len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}
