package responses

import (
	"io"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// StreamWriter writes a streamed response to a client as typed server-sent
// events ("event: TYPE" and "data: {...}"), each frame in one Write call.
//
// While every event it is given was decoded from a Responses stream and
// carries its frame, it forwards those frames unchanged. From the first
// event that must be encoded (one from another dialect, or one the
// gateway changed: a held tool call's notice, restored identifiers) it
// encodes every event, and drops the rest of the provider's frames that
// have no canonical meaning: a summary frame such as output_item.done or
// response.completed would otherwise repeat what was changed. It keeps
// the output items so far, so that the final response.completed lists what
// the client was actually sent, and numbers the frames it encodes on from
// the ones it forwarded.
type StreamWriter struct {
	w       io.Writer
	model   string
	created int64
	id      string
	buf     []byte

	seq      int  // frames written
	encoding bool // an event had to be encoded: every later one is
	started  bool // response.created went out
	ended    bool

	items []outItem
	open  blockKind // the open block, as the client sees it
	index int       // its canonical index
	stop  llm.StopReason
	usage llm.Usage
}

// outItem is an output item sent to the client.
type outItem struct {
	kind   blockKind // textBlock (a message) or toolBlock (a function call)
	id     string
	text   []byte // the message's text or the call's arguments, unescaped
	callID string
	name   string
	done   bool
}

// NewStreamWriter returns a writer of a stream answering req: encoded
// frames name req.Model, or if it is empty the model of the start event.
func NewStreamWriter(w io.Writer, req *llm.Request) *StreamWriter {
	s := &StreamWriter{w: w, created: time.Now().Unix(), buf: make([]byte, 0, 512)}
	if req != nil {
		s.model = req.Model
	}
	return s
}

// WriteEvent writes ev: forwarded, encoded or dropped, as the type doc
// says. Thinking blocks, hosted tool blocks and unknown blocks are
// dropped when encoding.
func (s *StreamWriter) WriteEvent(ev llm.StreamEvent) error {
	if s.ended {
		return wire.ErrStreamEnded
	}
	if !s.encoding && ev.Dialect == dialect && (ev.Raw != nil || ev.Continued) {
		if ev.Raw != nil {
			if err := s.write(ev.Raw); err != nil {
				return err
			}
			s.seq++
		}
		s.observe(ev)
		return nil
	}
	if ev.Type == llm.EventOther {
		return nil // a provider frame with no canonical meaning
	}
	s.encoding = true
	switch ev.Type {
	case llm.EventStart:
		return s.start(ev.ID, ev.Model, ev.Usage)
	case llm.EventBlockStart:
		if err := s.ensureStarted(); err != nil {
			return err
		}
		return s.blockStart(ev)
	case llm.EventTextDelta:
		// The deltas, most of a stream, are encoded here rather than in
		// a method of their own: the call cost measurably.
		if s.open != textBlock || ev.Index != s.index || ev.Text == "" {
			return nil
		}
		it := &s.items[len(s.items)-1]
		it.text = append(it.text, ev.Text...)
		b := s.event("response.output_text.delta")
		b = s.itemRef(b, it)
		b = append(b, `,"content_index":0,"delta":`...)
		b = wire.AppendString(b, ev.Text)
		b = append(b, `,"logprobs":[]`...)
		return s.send(b)
	case llm.EventToolDelta:
		if s.open != toolBlock || ev.Index != s.index || ev.PartialJSON == "" {
			return nil
		}
		it := &s.items[len(s.items)-1]
		it.text = append(it.text, ev.PartialJSON...)
		b := s.event("response.function_call_arguments.delta")
		b = s.itemRef(b, it)
		b = append(b, `,"delta":`...)
		b = wire.AppendString(b, ev.PartialJSON)
		return s.send(b)
	case llm.EventBlockStop:
		if ev.Index != s.index {
			return nil
		}
		return s.blockStop()
	case llm.EventStop:
		s.stop = ev.StopReason
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
		return nil
	case llm.EventUsage:
		if ev.Usage != nil {
			s.usage.Add(*ev.Usage)
		}
		return nil
	case llm.EventEnd:
		return s.end()
	}
	return nil
}

// start writes response.created and response.in_progress, for a
// response named id (made one of ours) and model unless the writer has
// them already. usage, if not nil, is the input tokens an Anthropic start
// carries.
func (s *StreamWriter) start(id, model string, usage *llm.Usage) error {
	if usage != nil {
		s.usage.Add(*usage)
	}
	if s.model == "" {
		s.model = model
	}
	if s.id == "" {
		s.id = responseID(id)
	}
	return s.ensureStarted()
}

// end closes the open block and writes response.completed (or
// response.incomplete), which lists the items sent and the usage.
func (s *StreamWriter) end() error {
	if err := s.ensureStarted(); err != nil {
		return err
	}
	if s.open != noBlock {
		if err := s.blockStop(); err != nil {
			return err
		}
	}
	st, reason := status(s.stop)
	typ := "response.completed"
	if st == "incomplete" {
		typ = "response.incomplete"
	}
	b := s.event(typ)
	b = append(b, `,"response":`...)
	b = s.appendResponse(b, st, reason, true)
	s.ended = true
	return s.send(b)
}

// observe keeps the writer's account of a forwarded event.
func (s *StreamWriter) observe(ev llm.StreamEvent) {
	switch ev.Type {
	case llm.EventStart:
		s.started = true
		if ev.ID != "" {
			s.id = ev.ID
		}
		if ev.Model != "" {
			s.model = ev.Model
		}
	case llm.EventBlockStart:
		s.index = ev.Index
		s.open = opaqueBlockKind
		if ev.Block == nil {
			return
		}
		switch ev.Block.Type {
		case llm.BlockText:
			s.open = textBlock
			if n := len(s.items); n > 0 && s.items[n-1].kind == textBlock && s.items[n-1].id == ev.ID && ev.ID != "" {
				s.items[n-1].done = false // another part of the same message
				return
			}
			s.items = append(s.items, outItem{kind: textBlock, id: ev.ID})
		case llm.BlockToolUse:
			s.open = toolBlock
			it := outItem{kind: toolBlock, id: ev.ID}
			if c := ev.Block.ToolCall; c != nil {
				it.callID, it.name = c.ID, c.Name
			}
			s.items = append(s.items, it)
		default:
			// A reasoning or hosted tool item the client has been sent:
			// it takes an output_index, but only forwarded frames hold
			// its content.
			s.items = append(s.items, outItem{kind: opaqueBlockKind, id: ev.ID, done: true})
		}
	case llm.EventTextDelta:
		if s.open == textBlock && ev.Index == s.index {
			it := &s.items[len(s.items)-1]
			it.text = append(it.text, ev.Text...)
		}
	case llm.EventToolDelta:
		if s.open == toolBlock && ev.Index == s.index {
			it := &s.items[len(s.items)-1]
			it.text = append(it.text, ev.PartialJSON...)
		}
	case llm.EventBlockStop:
		if s.open == textBlock || s.open == toolBlock {
			s.items[len(s.items)-1].done = true
		}
		s.open = noBlock
	case llm.EventStop:
		s.stop = ev.StopReason
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
	if s.id == "" {
		s.id = responseID("")
	}
	for _, typ := range []string{"response.created", "response.in_progress"} {
		b := s.event(typ)
		b = append(b, `,"response":`...)
		b = s.appendResponse(b, "in_progress", "", false)
		if err := s.send(b); err != nil {
			return err
		}
	}
	return nil
}

func (s *StreamWriter) blockStart(ev llm.StreamEvent) error {
	if s.open != noBlock {
		if err := s.blockStop(); err != nil {
			return err
		}
	}
	s.index = ev.Index
	s.open = opaqueBlockKind // dropped, unless it is one of these
	if ev.Block == nil {
		return nil
	}
	switch ev.Block.Type {
	case llm.BlockText:
		s.open = textBlock
		n := len(s.items)
		if n > 0 && s.items[n-1].kind == textBlock && !s.items[n-1].done {
			return nil // the provider's message item is still open
		}
		s.items = append(s.items, outItem{kind: textBlock, id: itemID("msg", s.id, n)})
		it := &s.items[n]
		b := s.event("response.output_item.added")
		b = append(b, `,"output_index":`...)
		b = appendInt(b, n)
		b = append(b, `,"item":`...)
		b = appendMessageItem(b, it.id, "in_progress", nil)
		if err := s.send(b); err != nil {
			return err
		}
		b = s.event("response.content_part.added")
		b = s.itemRef(b, it)
		b = append(b, `,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}`...)
		return s.send(b)
	case llm.BlockToolUse:
		if ev.Block.ToolCall == nil {
			return nil
		}
		s.open = toolBlock
		n := len(s.items)
		s.items = append(s.items, outItem{kind: toolBlock, id: itemID("fc", s.id, n),
			callID: ev.Block.ToolCall.ID, name: ev.Block.ToolCall.Name})
		it := &s.items[n]
		b := s.event("response.output_item.added")
		b = append(b, `,"output_index":`...)
		b = appendInt(b, n)
		b = append(b, `,"item":`...)
		b = appendFunctionCallItem(b, it.id, "in_progress", it.callID, it.name, "")
		return s.send(b)
	}
	return nil
}

func (s *StreamWriter) blockStop() error {
	open := s.open
	s.open = noBlock
	if open != textBlock && open != toolBlock {
		return nil
	}
	it := &s.items[len(s.items)-1]
	if it.done {
		return nil
	}
	it.done = true
	n := len(s.items) - 1
	var b []byte
	if open == textBlock {
		b = s.event("response.output_text.done")
		b = s.itemRef(b, it)
		b = append(b, `,"content_index":0,"text":`...)
		b = wire.AppendString(b, string(it.text))
		b = append(b, `,"logprobs":[]`...)
		if err := s.send(b); err != nil {
			return err
		}
		b = s.event("response.content_part.done")
		b = s.itemRef(b, it)
		b = append(b, `,"content_index":0,"part":{"type":"output_text","text":`...)
		b = wire.AppendString(b, string(it.text))
		b = append(b, `,"annotations":[],"logprobs":[]}`...)
		if err := s.send(b); err != nil {
			return err
		}
	} else {
		b = s.event("response.function_call_arguments.done")
		b = s.itemRef(b, it)
		b = append(b, `,"name":`...)
		b = wire.AppendString(b, it.name)
		b = append(b, `,"arguments":`...)
		b = wire.AppendString(b, argsOf(it))
		if err := s.send(b); err != nil {
			return err
		}
	}
	b = s.event("response.output_item.done")
	b = append(b, `,"output_index":`...)
	b = appendInt(b, n)
	b = append(b, `,"item":`...)
	b = s.appendItem(b, it)
	return s.send(b)
}

func argsOf(it *outItem) string {
	if len(it.text) == 0 {
		return "{}"
	}
	return string(it.text)
}

func (s *StreamWriter) appendItem(b []byte, it *outItem) []byte {
	if it.kind == toolBlock {
		return appendFunctionCallItem(b, it.id, "completed", it.callID, it.name, argsOf(it))
	}
	var blocks []llm.Block
	if len(it.text) > 0 {
		blocks = []llm.Block{{Type: llm.BlockText, Text: string(it.text)}}
	}
	return appendMessageItem(b, it.id, "completed", blocks)
}

// appendResponse appends the response object: in progress with no output
// and no usage, or final with the items sent and the usage.
func (s *StreamWriter) appendResponse(b []byte, st, reason string, final bool) []byte {
	b = appendResponseHead(b, s.id, s.model, s.created)
	b = appendStatus(b, st, reason)
	b = append(b, `,"output":[`...)
	if final {
		for i := range s.items {
			if s.items[i].kind == opaqueBlockKind {
				continue
			}
			b = comma(b)
			b = s.appendItem(b, &s.items[i])
		}
	}
	b = append(b, `],"usage":`...)
	if final {
		b = appendUsage(b, s.usage)
	} else {
		b = append(b, "null"...)
	}
	b = appendResponseTail(b)
	return append(b, '}')
}

// event starts the frame of an event of type typ, up to its
// sequence_number.
func (s *StreamWriter) event(typ string) []byte {
	b := append(s.buf[:0], "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	return appendInt(b, s.seq)
}

// itemRef appends item_id and output_index for the last item it.
func (s *StreamWriter) itemRef(b []byte, it *outItem) []byte {
	b = appendField(b, "item_id", it.id)
	b = append(b, `,"output_index":`...)
	return appendInt(b, len(s.items)-1)
}

// send ends a frame begun with event and writes it.
func (s *StreamWriter) send(b []byte) error {
	b = append(b, "}\n\n"...)
	s.buf = b[:0]
	s.seq++
	return s.write(b)
}

func (s *StreamWriter) write(frame []byte) error { return wire.WriteFrame(s.w, frame) }

// WriteError writes e as the stream's end: an error event, then
// response.failed with the same code and message. Nothing may be written
// after it.
func (s *StreamWriter) WriteError(e *brightline.Error) error {
	if s.ended {
		return wire.ErrStreamEnded
	}
	s.ended = true
	if s.id == "" {
		s.id = responseID("")
	}
	b := append(s.buf[:0], "event: error\ndata: "...)
	b = appendErrorEvent(b, e, s.seq)
	b = append(b, "\n\n"...)
	s.seq++
	if err := s.write(b); err != nil {
		return err
	}
	msg, code := "internal error", brightline.CodeInternal
	if e != nil {
		msg, code = e.Message, e.Code
	}
	b = s.event("response.failed")
	b = append(b, `,"response":`...)
	b = appendResponseHead(b, s.id, s.model, s.created)
	b = append(b, `,"status":"failed","error":{"code":`...)
	b = wire.AppendString(b, errorCode(code))
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, msg)
	b = append(b, `},"incomplete_details":null,"output":[],"usage":null`...)
	b = appendResponseTail(b)
	b = append(b, '}')
	return s.send(b)
}
