package gateway

import (
	"io"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/safeguard"
)

// policyStream applies the tool_call and response stages to a stream.
// Text flows through as it arrives. A tool-call block is held until it is
// complete, then decided: released as it was, or replaced by a text block
// with a notice. Response rules run at the end of each text block (with
// finished false) and at the stop (finished true); a denial ends the stream
// with an error.
//
// Events are read a wire frame at a time (see llm.StreamEvent.FrameEvents)
// so that a frame whose events are held or changed is never forwarded as
// raw bytes: all its events are encoded instead.
type policyStream struct {
	src  llm.Stream
	g    *Gateway
	x    *exchange
	tool bool // decide tool calls
	resp bool // decide the response
	// restore puts redacted identifiers back in text deltas; pending is
	// text held back because it may be the start of a placeholder.
	restore *safeguard.Placeholders
	pending string

	out  []llm.StreamEvent // ready to return, in order
	held []llm.StreamEvent // the open tool-call block, until it is decided
	call *llm.ToolCall     // the open tool-call block's call; nil if none
	args strings.Builder
	// withheldServer holds the ids of server tool calls not released;
	// drop is the index of the open block being dropped (their result),
	// or -1.
	withheldServer map[string]bool
	drop           int

	text     int // bytes of text the model produced so far (notices excluded)
	withheld int // tool calls not released
	released int // tool calls released
	err      error
}

func (g *Gateway) withPolicy(s llm.Stream, x *exchange) llm.Stream {
	tool, resp := x.sg.Decides(brightline.StageToolCall), x.sg.Decides(brightline.StageResponse)
	// Always wrapped, even with no rules to run: server tool and unknown
	// blocks are checked on every stream (see servertools.go).
	return &policyStream{src: s, g: g, x: x, tool: tool, resp: resp, restore: x.restore, drop: -1}
}

func (s *policyStream) Next() (llm.StreamEvent, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return llm.StreamEvent{}, s.err
		}
		frame, err := s.readFrame()
		if err != nil {
			// io.EOF included. Held events are dropped: a tool call that
			// was never completed and decided is never released.
			s.err = err
			return llm.StreamEvent{}, err
		}
		s.process(frame)
	}
	ev := s.out[0]
	s.out[0] = llm.StreamEvent{}
	s.out = s.out[1:]
	return ev, nil
}

// readFrame returns the next event and the rest of its frame's events.
func (s *policyStream) readFrame() ([]llm.StreamEvent, error) {
	ev, err := s.src.Next()
	if err != nil {
		return nil, err
	}
	frame := []llm.StreamEvent{ev}
	for i := 1; i < ev.FrameEvents; i++ {
		e, err := s.src.Next()
		if err != nil {
			return nil, err
		}
		frame = append(frame, e)
	}
	return frame, nil
}

// process decides a frame and queues what may be sent.
func (s *policyStream) process(frame []llm.StreamEvent) {
	var ready []llm.StreamEvent
	changed := false
	for _, ev := range frame {
		if s.pending != "" && (ev.Type == llm.EventBlockStop || ev.Type == llm.EventStop) {
			// The held-back text was not a placeholder after all.
			ready = append(ready, llm.StreamEvent{Type: llm.EventTextDelta, Index: ev.Index, Text: s.pending})
			s.pending = ""
			changed = true
		}
		if ev.Type == llm.EventBlockStart && ev.Block != nil && isServerBlock(ev.Block.Type) {
			if err := checkAnswerBlock(s.x.sg.Policy, ev.Block); err != nil {
				s.err = err
				return
			}
			if ev.Block.Type == llm.BlockServerToolResult && s.withheldServer[ev.Block.Opaque.CallID] {
				s.drop = ev.Index
			}
		}
		if s.drop >= 0 && ev.Index == s.drop && (ev.Type == llm.EventBlockStart || ev.Type == llm.EventTextDelta ||
			ev.Type == llm.EventToolDelta || ev.Type == llm.EventBlockStop) {
			// The result of a withheld server tool call.
			if ev.Type == llm.EventBlockStop {
				s.drop = -1
			}
			changed = true
			continue
		}
		var err error
		ready, err = s.decideEvent(ev, ready, &changed)
		if err != nil {
			s.err = err
			return
		}
	}
	if changed {
		for i := range ready {
			ready[i].Raw, ready[i].Continued, ready[i].FrameEvents = nil, false, 0
		}
	}
	s.out = append(s.out, ready...)
}

// decideEvent appends to ready what of ev may be sent: a tool call's
// events are held until the call is decided, text has its placeholders
// restored, and a block's or the answer's end is decided at stage
// response. It sets *changed if what it appends differs from the
// provider's events.
func (s *policyStream) decideEvent(ev llm.StreamEvent, ready []llm.StreamEvent, changed *bool) ([]llm.StreamEvent, error) {
	switch {
	case s.tool && ev.Type == llm.EventBlockStart && ev.Block != nil && (ev.Block.Type == llm.BlockToolUse || ev.Block.Type == llm.BlockServerToolUse):
		call := *ev.Block.ToolCall
		s.call = &call
		s.args.Reset()
		s.held = append(s.held[:0], ev)
		*changed = true
	case s.call != nil && ev.Type == llm.EventToolDelta && ev.Index == s.held[0].Index:
		s.args.WriteString(ev.PartialJSON)
		s.held = append(s.held, ev)
		*changed = true
	case s.call != nil && ev.Type == llm.EventBlockStop && ev.Index == s.held[0].Index:
		s.held = append(s.held, ev)
		*changed = true
		out, err := s.decideCall()
		if err != nil {
			return ready, err
		}
		ready = append(ready, out...)
	case ev.Type == llm.EventTextDelta:
		s.text += len(ev.Text)
		if s.restore != nil {
			ev.Text = s.restoreDelta(ev.Text)
			*changed = true
		}
		ready = append(ready, ev)
	case s.resp && ev.Type == llm.EventBlockStop:
		ready = append(ready, ev)
		if err := s.decideResponse("", false); err != nil {
			return ready, err
		}
	case ev.Type == llm.EventStop:
		if s.withheld > 0 && s.released == 0 && ev.StopReason == llm.StopToolUse {
			ev.StopReason = llm.StopEndTurn
			*changed = true
		}
		if s.resp {
			if err := s.decideResponse(ev.StopReason, true); err != nil {
				return ready, err
			}
		}
		ready = append(ready, ev)
	default:
		ready = append(ready, ev)
	}
	return ready, nil
}

// maxPlaceholder bounds a placeholder's length: "[" + type + "_" + number + "]".
const maxPlaceholder = 32

// restoreDelta restores the placeholders in a text delta. A placeholder
// may be split between deltas, so text from an unclosed '[' near the end is
// held back until the next delta or the block's end.
func (s *policyStream) restoreDelta(t string) string {
	t = s.pending + t
	s.pending = ""
	if i := strings.LastIndexByte(t, '['); i >= 0 && !strings.Contains(t[i:], "]") && len(t)-i < maxPlaceholder {
		s.pending = t[i:]
		t = t[:i]
	}
	return s.restore.Restore(t)
}

// decideCall decides the completed tool call and returns what replaces the
// held events: themselves, or a notice block at the same index.
func (s *policyStream) decideCall() ([]llm.StreamEvent, error) {
	call := s.call
	s.call = nil
	call.Arguments = []byte(s.args.String())
	upstream, server := s.x.served.Provider, s.held[0].Block
	if server.Type == llm.BlockServerToolUse {
		upstream = serverUpstream(s.x, server)
	} else {
		server = nil
	}
	o, err := s.x.sg.ToolCall(call.Name, call.Arguments, upstream)
	if err != nil {
		return nil, policyError(brightline.StageToolCall, err)
	}
	d := o.Decision
	s.x.record(d)
	held := s.held
	s.held = nil
	if d.Action.Rank() < brightline.ActionRequireApproval.Rank() {
		if err := s.g.audit(s.x, d, o.Input); err != nil {
			return nil, err
		}
		s.released++
		for i := range held {
			held[i].Raw, held[i].Continued, held[i].FrameEvents = nil, false, 0
		}
		return held, nil
	}
	idx := held[0].Index
	if server != nil {
		// The provider has run it: nothing to hold, only to withhold.
		if err := s.g.audit(s.x, d, o.Input); err != nil {
			return nil, err
		}
		if s.withheldServer == nil {
			s.withheldServer = map[string]bool{}
		}
		s.withheldServer[call.ID] = true
		b := llm.Block{Type: llm.BlockServerToolUse, ToolCall: call, Opaque: server.Opaque}
		return []llm.StreamEvent{
			{Type: llm.EventBlockStart, Index: idx, Block: &llm.Block{Type: llm.BlockText}},
			{Type: llm.EventTextDelta, Index: idx, Text: serverToolNotice(d, &b)},
			{Type: llm.EventBlockStop, Index: idx},
		}, nil
	}
	s.withheld++
	notice, err := s.g.withhold(s.x, o, call)
	if err != nil {
		return nil, err
	}
	if err := s.g.audit(s.x, d, o.Input); err != nil {
		return nil, err
	}
	return []llm.StreamEvent{
		{Type: llm.EventBlockStart, Index: idx, Block: &llm.Block{Type: llm.BlockText}},
		{Type: llm.EventTextDelta, Index: idx, Text: notice},
		{Type: llm.EventBlockStop, Index: idx},
	}, nil
}

func (s *policyStream) decideResponse(stop llm.StopReason, finished bool) error {
	o, err := s.x.sg.Response(stop, s.text, finished)
	if err != nil {
		return policyError(brightline.StageResponse, err)
	}
	d := o.Decision
	if finished || d.Action != brightline.ActionAllow {
		s.x.record(d)
		if err := s.g.audit(s.x, d, o.Input); err != nil {
			return err
		}
	}
	return decisionError(d, "The answer was")
}

// Buffered reports whether more events are ready without blocking.
func (s *policyStream) Buffered() int {
	n := len(s.out)
	if b, ok := s.src.(llm.Bufferer); ok {
		n += b.Buffered()
	}
	return n
}

func (s *policyStream) Close() error { return s.src.Close() }

var _ io.Closer = (*policyStream)(nil)
