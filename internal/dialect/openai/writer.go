package openai

import (
	"io"
	"strconv"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// StreamWriter writes a streamed chat completion to a client as server-sent
// events. Each frame goes out in one Write call.
//
// Events decoded from an OpenAI stream are forwarded as their raw frames;
// others are encoded. Either way the writer keeps track of the stream (its
// id, the open block, the tool-call count, usage) so that both kinds can
// be mixed in one stream.
type StreamWriter struct {
	w            io.Writer
	model        string // see NewStreamWriter
	includeUsage bool
	id           string
	created      int64
	buf          []byte // the frame being encoded; reused

	started   bool
	usageSent bool // a usage chunk went out
	ended     bool // [DONE] or an error went out
	open      blockKind
	index     int // index of the open block
	tool      int // OpenAI index of the open tool call
	tools     int // tool calls started so far
	usage     llm.Usage
}

// NewStreamWriter returns a writer of a stream answering req: encoded
// chunks name req.Model (or, if it is empty, the model of the start event;
// or, if the start was forwarded raw, the model its frame named), and a
// usage chunk is written before [DONE] if req.IncludeUsage.
func NewStreamWriter(w io.Writer, req *llm.Request) *StreamWriter {
	s := &StreamWriter{w: w, created: time.Now().Unix(), buf: make([]byte, 0, 512)}
	if req != nil {
		s.model, s.includeUsage = req.Model, req.IncludeUsage
	}
	return s
}

// WriteEvent writes ev. An OpenAI event with Raw is written verbatim, and
// one marked Continued is not written, except that a raw usage chunk is
// dropped when the client did not ask for usage. Other events are encoded:
// the start as the role chunk, text and tool-call deltas as delta chunks
// (text of thinking blocks is dropped), the stop as the finish_reason
// chunk, and the end as the usage chunk (if asked for) and data: [DONE].
// Events with no OpenAI form are dropped.
func (s *StreamWriter) WriteEvent(ev llm.StreamEvent) error {
	if s.ended {
		return wire.ErrStreamEnded
	}
	if ev.Dialect == dialect && (ev.Raw != nil || ev.Continued) {
		return s.passthrough(ev)
	}
	switch ev.Type {
	case llm.EventStart:
		started := s.started
		s.observe(ev)
		if started {
			return nil // the role chunk went out already
		}
		return s.writeStart()
	case llm.EventBlockStart:
		if err := s.ensureStarted(); err != nil {
			return err
		}
		s.observe(ev)
		if s.open != toolBlock {
			return nil
		}
		return s.writeToolStart(ev.Block.ToolCall)
	case llm.EventTextDelta:
		// The deltas, most of a stream, are encoded here rather than in
		// a method of their own: the call cost measurably.
		if ev.Text == "" || s.open == thinkingBlock && ev.Index == s.index {
			return nil
		}
		if err := s.ensureStarted(); err != nil {
			return err
		}
		b := s.chunk()
		b = append(b, `{"index":0,"delta":{"content":`...)
		b = wire.AppendString(b, ev.Text)
		b = append(b, `},"logprobs":null,"finish_reason":null}`...)
		return s.send(b)
	case llm.EventToolDelta:
		if ev.PartialJSON == "" || s.tools == 0 || s.open != toolBlock {
			return nil // nothing to attach it to
		}
		b := s.chunk()
		b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":`...)
		b = appendInt(b, s.tool)
		b = append(b, `,"function":{"arguments":`...)
		b = wire.AppendString(b, ev.PartialJSON)
		b = append(b, `}}]},"logprobs":null,"finish_reason":null}`...)
		return s.send(b)
	case llm.EventBlockStop, llm.EventUsage:
		s.observe(ev)
		return nil
	case llm.EventStop:
		if err := s.ensureStarted(); err != nil {
			return err
		}
		s.observe(ev)
		return s.writeFinish(ev.StopReason)
	case llm.EventEnd:
		if err := s.ensureStarted(); err != nil {
			return err
		}
		if err := s.writeUsage(); err != nil {
			return err
		}
		s.observe(ev)
		return s.flush(append(s.buf[:0], "data: [DONE]\n\n"...))
	}
	return nil // EventOther and unknown types have no OpenAI form
}

// writeToolStart writes the chunk that opens the tool call c (which may be
// nil) at OpenAI index s.tool.
func (s *StreamWriter) writeToolStart(c *llm.ToolCall) error {
	b := s.chunk()
	b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":`...)
	b = appendInt(b, s.tool)
	var id, name string
	if c != nil {
		id, name = c.ID, c.Name
	}
	b = append(b, `,"id":`...)
	b = wire.AppendString(b, id)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = wire.AppendString(b, name)
	b = append(b, `,"arguments":""}}]},"logprobs":null,"finish_reason":null}`...)
	return s.send(b)
}

// writeFinish writes the chunk that gives the finish_reason.
func (s *StreamWriter) writeFinish(reason llm.StopReason) error {
	b := s.chunk()
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	b = append(b, finishReason(reason)...)
	b = append(b, `"}`...)
	return s.send(b)
}

// passthrough handles an event decoded from an OpenAI stream.
func (s *StreamWriter) passthrough(ev llm.StreamEvent) error {
	switch {
	case ev.Raw == nil: // Continued: its frame went out with an earlier event
	case ev.Type == llm.EventUsage && !s.includeUsage:
		// The gateway asks providers for usage whether or not the client
		// did; a client that didn't may not expect a chunk without choices.
	case ev.Type == llm.EventEnd:
		if err := s.writeUsage(); err != nil {
			return err
		}
		fallthrough
	default:
		if err := s.write(ev.Raw); err != nil {
			return err
		}
		if ev.Type == llm.EventUsage {
			s.usageSent = true
		}
	}
	s.observe(ev)
	return nil
}

// observe updates the writer's state from ev, whether it was forwarded or
// encoded.
func (s *StreamWriter) observe(ev llm.StreamEvent) {
	switch ev.Type {
	case llm.EventStart:
		s.started = true
		if ev.ID != "" {
			s.id = completionID(ev.ID)
		}
		// Encoded chunks name req.Model, unless a forwarded frame has
		// already shown the client another name.
		if s.model == "" || ev.Raw != nil && ev.Dialect == dialect && ev.Model != "" {
			s.model = ev.Model
		}
	case llm.EventBlockStart:
		s.index = ev.Index
		s.open = textBlock
		if ev.Block != nil {
			switch ev.Block.Type {
			case llm.BlockToolUse:
				s.open, s.tool = toolBlock, s.tools
				s.tools++
			case llm.BlockThinking, llm.BlockServerToolUse, llm.BlockServerToolResult, llm.BlockUnknown:
				// Chat Completions has no place for these; the gateway has
				// decided server tool blocks and refused unknown ones.
				s.open = thinkingBlock
			}
		}
	case llm.EventBlockStop:
		s.open = noBlock
	case llm.EventEnd:
		s.ended = true
	}
	if ev.Usage != nil {
		s.usage.Add(*ev.Usage)
	}
}

func (s *StreamWriter) ensureStarted() error {
	if s.started {
		return nil
	}
	s.started = true
	return s.writeStart()
}

// writeStart writes the first chunk, which gives the role.
func (s *StreamWriter) writeStart() error {
	b := s.chunk()
	b = append(b, `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`...)
	return s.send(b)
}

// writeUsage writes the usage chunk if the client asked for one and none
// has gone out.
func (s *StreamWriter) writeUsage() error {
	if !s.includeUsage || s.usageSent {
		return nil
	}
	s.usageSent = true
	b := s.chunk()
	b = append(b, `],"usage":`...)
	b = appendUsage(b, s.usage)
	return s.flush(append(b, "}\n\n"...))
}

// chunk starts a chunk frame, up to the opening of its choices array.
func (s *StreamWriter) chunk() []byte {
	if s.id == "" {
		s.id = completionID("")
	}
	b := append(s.buf[:0], `data: {"id":`...)
	b = wire.AppendString(b, s.id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, s.created, 10)
	b = append(b, `,"model":`...)
	b = wire.AppendString(b, s.model)
	return append(b, `,"choices":[`...)
}

// send ends a chunk begun with chunk after its one choice, and writes it.
func (s *StreamWriter) send(b []byte) error {
	b = append(b, ']')
	if s.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return s.flush(append(b, "}\n\n"...))
}

// flush writes a frame built in s.buf, keeping the buffer if it grew.
func (s *StreamWriter) flush(b []byte) error {
	s.buf = b[:0]
	return s.write(b)
}

func (s *StreamWriter) write(frame []byte) error { return wire.WriteFrame(s.w, frame) }

// WriteError writes e as the stream's final event: a data frame holding the
// same error object as [ErrorBody]. Nothing may be written after it.
func (s *StreamWriter) WriteError(e *brightline.Error) error {
	if s.ended {
		return wire.ErrStreamEnded
	}
	s.ended = true
	b := append(s.buf[:0], "data: "...)
	b = appendError(b, e)
	return s.flush(append(b, "\n\n"...))
}
