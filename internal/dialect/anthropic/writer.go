package anthropic

import (
	"errors"
	"fmt"
	"io"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// errStreamDone is returned for writes after the end of the stream.
var errStreamDone = errors.New("anthropic stream already ended")

// StreamWriter writes canonical stream events to a client as a Messages
// event stream. Each frame goes out in one Write call. It is not safe for
// concurrent use.
//
// Events decoded from an Anthropic stream are forwarded byte for byte
// (Raw), others are encoded; the two can mix, because the writer tracks the
// stream's state from every event. EventStop is held until EventEnd, so
// that the message_delta it becomes carries the final usage.
type StreamWriter struct {
	w   io.Writer
	req *llm.Request
	buf []byte

	started      bool
	open         bool // a content block is open
	openIndex    int
	openType     llm.BlockType
	stopped      bool // EventStop has been seen
	stopWritten  bool // a message_delta has gone out (passthrough)
	stopReason   llm.StopReason
	stopSequence string
	usage        llm.Usage
	done         bool // the stream has ended, normally or not
}

// NewStreamWriter returns a StreamWriter writing to w. req is the client's
// request; its model is used in message_start when the stream does not name
// one.
func NewStreamWriter(w io.Writer, req *llm.Request) *StreamWriter {
	return &StreamWriter{w: w, req: req, buf: make([]byte, 0, 512)}
}

// WriteEvent writes ev. If ev came from an Anthropic stream its Raw frame is
// written unchanged and a Continued event writes nothing; otherwise ev is
// encoded. EventOther without Raw is dropped. Nothing may be written after
// EventEnd or WriteError.
func (s *StreamWriter) WriteEvent(ev llm.StreamEvent) error {
	if s.done {
		return errStreamDone
	}
	if ev.Dialect == brightline.DialectAnthropic && (ev.Raw != nil || ev.Continued) {
		return s.passthrough(ev)
	}
	s.buf = s.buf[:0]
	switch ev.Type {
	case llm.EventStart:
		if s.started {
			return nil
		}
		s.appendStart(ev.ID, ev.Dialect, ev.Model, ev.Usage)
	case llm.EventBlockStart:
		if ev.Block == nil {
			return errors.New("couldn't write Anthropic stream: block start without a block")
		}
		s.ensureStarted()
		s.closeOpen()
		if err := s.appendBlockStart(ev.Index, ev.Block); err != nil {
			return err
		}
	case llm.EventTextDelta, llm.EventToolDelta:
		if !s.open || s.openIndex != ev.Index {
			return fmt.Errorf("couldn't write Anthropic stream: delta for block %d, which is not open", ev.Index)
		}
		s.appendDelta(ev)
	case llm.EventBlockStop:
		if !s.open || s.openIndex != ev.Index {
			return nil // already closed
		}
		s.closeOpen()
	case llm.EventStop:
		s.ensureStarted()
		s.closeOpen()
		s.stopped, s.stopReason, s.stopSequence = true, ev.StopReason, ev.StopSequence
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
	case llm.EventEnd:
		s.ensureStarted()
		s.closeOpen()
		s.appendMessageDelta()
		s.appendFrame("message_stop", `{"type":"message_stop"}`)
		s.done = true
	default:
		return nil
	}
	return s.flush()
}

// passthrough forwards a frame from an Anthropic stream and tracks its
// effect on the stream's state.
func (s *StreamWriter) passthrough(ev llm.StreamEvent) error {
	s.buf = s.buf[:0]
	switch ev.Type {
	case llm.EventStart:
		s.started = true
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
	case llm.EventBlockStart:
		s.open, s.openIndex = true, ev.Index
		if ev.Block != nil {
			s.openType = ev.Block.Type
		}
	case llm.EventBlockStop:
		if s.openIndex == ev.Index {
			s.open = false
		}
	case llm.EventStop:
		s.stopped, s.stopWritten = true, true
		s.stopReason, s.stopSequence = ev.StopReason, ev.StopSequence
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
	case llm.EventEnd:
		// A stop held from an encoded EventStop must go out before the
		// raw message_stop. Otherwise the upstream bytes go out as they are.
		if s.stopped && !s.stopWritten {
			s.closeOpen()
			s.appendMessageDelta()
		}
		s.done = true
	}
	if ev.Raw == nil {
		return nil
	}
	s.buf = append(s.buf, ev.Raw...)
	return s.flush()
}

// WriteError writes an error event for e, the stream's last frame:
// event: error with {"type":"error","error":{"type":T,"message":M}}.
func (s *StreamWriter) WriteError(e *brightline.Error) error {
	if s.done {
		return errStreamDone
	}
	s.done = true
	s.buf = append(s.buf[:0], "event: error\ndata: "...)
	s.buf = appendError(s.buf, e)
	s.buf = append(s.buf, '\n', '\n')
	return s.flush()
}

func (s *StreamWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.done = true
		return fmt.Errorf("couldn't write Anthropic stream: %w", err)
	}
	return nil
}

// appendFrame appends an SSE frame; data must be a single line.
func (s *StreamWriter) appendFrame(event, data string) {
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, event...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, '\n', '\n')
}

// beginFrame appends the start of a frame up to the data; endFrame ends it.
func (s *StreamWriter) beginFrame(event string) {
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, event...)
	s.buf = append(s.buf, "\ndata: "...)
}

func (s *StreamWriter) endFrame() { s.buf = append(s.buf, '\n', '\n') }

// ensureStarted appends a message_start if none has been written, for
// streams that begin without EventStart.
func (s *StreamWriter) ensureStarted() {
	if !s.started {
		s.appendStart("", "", "", nil)
	}
}

func (s *StreamWriter) appendStart(id string, from brightline.Dialect, model string, usage *llm.Usage) {
	s.started = true
	if model == "" && s.req != nil {
		model = s.req.Model
	}
	if usage != nil {
		s.usage.Add(*usage)
	}
	s.beginFrame("message_start")
	b := append(s.buf, `{"type":"message_start","message":{`...)
	b = appendStringField(b, "id", messageID(id, from))
	b = append(b, `,"type":"message","role":"assistant"`...)
	b = appendStringField(b, "model", model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null`...)
	b = appendUsage(appendKey(b, "usage"), s.usage)
	s.buf = append(b, '}', '}')
	s.endFrame()
}

func (s *StreamWriter) appendBlockStart(index int, blk *llm.Block) error {
	s.beginFrame("content_block_start")
	b := append(s.buf, `{"type":"content_block_start"`...)
	b = appendIntField(b, "index", index)
	b = append(appendKey(b, "content_block"), '{')
	switch blk.Type {
	case llm.BlockText:
		b = append(b, `"type":"text","text":""`...)
	case llm.BlockThinking:
		b = append(b, `"type":"thinking","thinking":""`...)
	case llm.BlockToolUse:
		if blk.ToolCall == nil {
			return errors.New("couldn't write Anthropic stream: tool_use block without a tool call")
		}
		b = appendStringField(b, "type", "tool_use")
		b = appendStringField(b, "id", blk.ToolCall.ID)
		b = appendStringField(b, "name", blk.ToolCall.Name)
		b = append(b, `,"input":{}`...)
	case llm.BlockServerToolUse:
		// The input follows in deltas, as for tool_use.
		if blk.ToolCall == nil || blk.Opaque == nil {
			return errors.New("couldn't write Anthropic stream: server tool block without its call")
		}
		b = appendStringField(b, "type", blk.Opaque.WireType)
		b = appendStringField(b, "id", blk.ToolCall.ID)
		b = appendStringField(b, "name", blk.ToolCall.Name)
		if blk.Opaque.Server != "" {
			b = appendStringField(b, "server_name", blk.Opaque.Server)
		}
		b = append(b, `,"input":{}`...)
	case llm.BlockServerToolResult:
		// Written whole, as the provider sent it.
		var err error
		if b, err = appendOpaque(b[:len(b)-1], blk); err != nil {
			return fmt.Errorf("couldn't write Anthropic stream: %w", err)
		}
		s.buf = append(b, '}')
		s.endFrame()
		s.open, s.openIndex, s.openType = true, index, blk.Type
		return nil
	default:
		// llm.BlockUnknown included: what the gateway does not know it
		// does not send.
		return fmt.Errorf("couldn't write Anthropic stream: unsupported block type %q", blk.Type)
	}
	s.buf = append(b, '}', '}')
	s.endFrame()
	s.open, s.openIndex, s.openType = true, index, blk.Type
	return nil
}

func (s *StreamWriter) appendDelta(ev llm.StreamEvent) {
	s.beginFrame("content_block_delta")
	b := append(s.buf, `{"type":"content_block_delta"`...)
	b = appendIntField(b, "index", ev.Index)
	b = append(appendKey(b, "delta"), '{')
	switch {
	case ev.Type == llm.EventToolDelta:
		b = append(b, `"type":"input_json_delta"`...)
		b = appendStringField(b, "partial_json", ev.PartialJSON)
	case s.openType == llm.BlockThinking:
		b = append(b, `"type":"thinking_delta"`...)
		b = appendStringField(b, "thinking", ev.Text)
	default:
		b = append(b, `"type":"text_delta"`...)
		b = appendStringField(b, "text", ev.Text)
	}
	s.buf = append(b, '}', '}')
	s.endFrame()
}

// closeOpen appends a content_block_stop for the open block, if any.
func (s *StreamWriter) closeOpen() {
	if !s.open {
		return
	}
	s.open = false
	s.beginFrame("content_block_stop")
	b := append(s.buf, `{"type":"content_block_stop"`...)
	b = appendIntField(b, "index", s.openIndex)
	s.buf = append(b, '}')
	s.endFrame()
}

// appendMessageDelta appends the message_delta with the held stop reason
// and the usage so far, unless one has already been forwarded.
func (s *StreamWriter) appendMessageDelta() {
	if s.stopWritten {
		return
	}
	s.stopWritten = true
	reason := s.stopReason
	if reason == "" {
		reason = llm.StopEndTurn
	}
	s.beginFrame("message_delta")
	b := append(s.buf, `{"type":"message_delta","delta":{`...)
	b = appendStopFields(b, reason, s.stopSequence)
	b = append(b, `},"usage":{`...)
	if s.usage.InputTokens > 0 {
		b = appendIntField(b, "input_tokens", s.usage.InputTokens)
	}
	if s.usage.CacheCreationTokens > 0 {
		b = appendIntField(b, "cache_creation_input_tokens", s.usage.CacheCreationTokens)
	}
	if s.usage.CacheReadTokens > 0 {
		b = appendIntField(b, "cache_read_input_tokens", s.usage.CacheReadTokens)
	}
	b = appendIntField(b, "output_tokens", s.usage.OutputTokens)
	s.buf = append(b, '}', '}')
	s.endFrame()
}
