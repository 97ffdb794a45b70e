package openai

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
	thinkingBlock // writer only: its deltas are dropped
)

// StreamReader reads a streamed chat completion (server-sent events) from a
// provider and returns it as canonical events. OpenAI streams have no
// content blocks; the reader makes them up: a text block opens at the first
// non-empty content, a tool_use block at the first delta of a tool call
// (the one with its id), and the open block closes when another opens or at
// the finish_reason.
//
// Lines may end in "\n" or "\r\n" (a lone "\r" is not taken as a line end).
// A frame may be missing its final blank line at the end of the stream, but
// a stream cut inside a line, or before data: [DONE], is cut off.
type StreamReader struct {
	br   *bufio.Reader
	buf  []byte // the frame being read
	data []byte // its data field; lines are joined with "\n"

	events wire.EventQueue

	started bool
	stopped bool
	refusal bool       // a refusal delta was seen
	open    blockKind  // the open block, if any
	index   int        // index of the open block, or of the next one
	tool    int        // OpenAI index of the open tool call
	toolID  string     // its id
	usage   *llm.Usage // usage seen before the finish_reason
}

// NewStreamReader returns a reader of the SSE stream r.
func NewStreamReader(r io.Reader) *StreamReader {
	return &StreamReader{br: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event. It returns io.EOF after EventEnd and
// io.ErrUnexpectedEOF if the stream ends before it. An error chunk from the
// provider is returned as a *llm.WireError. Once Next has returned an error
// it returns the same error again.
func (s *StreamReader) Next() (llm.StreamEvent, error) { return s.events.Next(s.advance) }

// Buffered returns the number of bytes read from the underlying reader
// but not yet returned as events (see [wire.EventQueue.Buffered]).
func (s *StreamReader) Buffered() int { return s.events.Buffered(s.br.Buffered()) }

// advance reads one frame and queues its events. It returns io.EOF, with
// the queued EventEnd, at the end of the stream.
func (s *StreamReader) advance() error {
	raw, hasData, err := s.readFrame()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if err := s.translate(hasData); err != nil {
		return err
	}
	return s.events.Seal(raw)
}

// readFrame reads the next non-empty frame into s.buf and its data into
// s.data, and returns a copy of the frame's bytes. At the end of r it
// returns io.EOF; if r ends inside a line, io.ErrUnexpectedEOF.
func (s *StreamReader) readFrame() (raw []byte, hasData bool, err error) {
	s.buf, s.data = s.buf[:0], s.data[:0]
	lineStart := 0
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(s.buf)+len(chunk) > wire.MaxFrame {
			return nil, false, fmt.Errorf("couldn't read stream: event larger than %d bytes", wire.MaxFrame)
		}
		s.buf = append(s.buf, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue // a long line; read on
		case err == io.EOF && len(s.buf) > lineStart:
			return nil, false, io.ErrUnexpectedEOF // cut inside a line
		case err == io.EOF && lineStart > 0:
			// Complete lines without the blank line that ends the
			// frame: take them, and end the frame properly.
			s.buf = append(s.buf, '\n')
			return bytes.Clone(s.buf), hasData, nil
		case err != nil:
			return nil, false, err
		}
		line := s.buf[lineStart : len(s.buf)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			if lineStart == 0 {
				s.buf = s.buf[:0] // a stray blank line between frames
				continue
			}
			return bytes.Clone(s.buf), hasData, nil
		}
		lineStart = len(s.buf)
		if line[0] == ':' {
			continue // a comment
		}
		name, value := wire.SplitField(line)
		if string(name) != "data" {
			continue // event, id, retry: OpenAI doesn't use them
		}
		if hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		hasData = true
	}
}

// wireChunk is one chat.completion.chunk, or an error.
type wireChunk struct {
	wireChunkHead
	wireChunkBody
}

// wireChunkHead is what only the first chunk is read for.
type wireChunkHead struct {
	ID    string `json:"id"`
	Model string `json:"model"`
}

type wireChunkBody struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   string         `json:"content"`
			Refusal   string         `json:"refusal"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

var done = []byte("[DONE]")

// translate queues the events of the frame in s.data.
func (s *StreamReader) translate(hasData bool) error {
	if !hasData {
		s.emit(llm.StreamEvent{Type: llm.EventOther})
		return nil
	}
	if bytes.Equal(bytes.TrimSpace(s.data), done) {
		s.closeBlock()
		s.emit(llm.StreamEvent{Type: llm.EventEnd})
		return nil
	}
	// Every chunk repeats the id and model; decode them only once.
	var c wireChunk
	into := any(&c.wireChunkBody)
	if !s.started {
		into = &c
	}
	if err := json.Unmarshal(s.data, into); err != nil {
		return fmt.Errorf("couldn't decode stream chunk: %w", err)
	}
	if wire.IsSet(c.Error) {
		we, ok := parseError(s.data)
		if !ok {
			we = &llm.WireError{Message: trimBody(c.Error)}
			var msg string
			if json.Unmarshal(c.Error, &msg) == nil {
				we.Message = msg // {"error":"…"}, seen from some servers
			}
		}
		return we
	}
	if !s.started {
		s.started = true
		s.emit(llm.StreamEvent{Type: llm.EventStart, ID: c.ID, Model: c.Model})
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 || s.stopped {
			continue // the gateway serves one choice, up to its finish
		}
		if ch.Delta.Content != "" {
			s.text(ch.Delta.Content)
		}
		if ch.Delta.Refusal != "" {
			s.refusal = true
			s.text(ch.Delta.Refusal)
		}
		for j := range ch.Delta.ToolCalls {
			if err := s.toolCall(&ch.Delta.ToolCalls[j]); err != nil {
				return err
			}
		}
		if ch.FinishReason != "" {
			s.closeBlock()
			reason := stopReason(ch.FinishReason)
			if s.refusal && reason == llm.StopEndTurn {
				reason = llm.StopRefusal
			}
			s.stopped = true
			s.emit(llm.StreamEvent{Type: llm.EventStop, StopReason: reason, Usage: s.usage})
		}
	}
	if c.Usage != nil {
		u := c.Usage.canonical()
		switch last := s.events.Last(); {
		case last != nil && last.Type == llm.EventStop:
			last.Usage = &u
		case s.stopped:
			s.emit(llm.StreamEvent{Type: llm.EventUsage, Usage: &u})
		default:
			// Some servers report usage on every chunk; the canonical
			// stream carries it at the stop.
			s.usage = &u
		}
	}
	if s.events.Len() == 0 {
		s.emit(llm.StreamEvent{Type: llm.EventOther}) // e.g. a role-only chunk
	}
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

func (s *StreamReader) text(t string) {
	if s.open != textBlock {
		s.closeBlock()
		s.open = textBlock
		s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, Block: &llm.Block{Type: llm.BlockText}})
	}
	s.emit(llm.StreamEvent{Type: llm.EventTextDelta, Index: s.index, Text: t})
}

func (s *StreamReader) toolCall(tc *wireToolCall) error {
	// Some servers repeat the id on every delta of a call.
	continues := s.open == toolBlock && tc.Index == s.tool && (tc.ID == "" || tc.ID == s.toolID)
	switch {
	case continues:
	case tc.ID != "":
		s.closeBlock()
		s.open, s.tool, s.toolID = toolBlock, tc.Index, tc.ID
		s.emit(llm.StreamEvent{Type: llm.EventBlockStart, Index: s.index, Block: &llm.Block{
			Type:     llm.BlockToolUse,
			ToolCall: &llm.ToolCall{ID: tc.ID, Name: tc.Function.Name},
		}})
	default:
		return fmt.Errorf("couldn't decode stream chunk: delta for tool call %d, which is not the open one", tc.Index)
	}
	if tc.Function.Arguments != "" {
		s.emit(llm.StreamEvent{Type: llm.EventToolDelta, Index: s.index, PartialJSON: tc.Function.Arguments})
	}
	return nil
}
