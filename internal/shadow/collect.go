package shadow

import (
	"encoding/json"
	"strings"

	"github.com/brightline/brightline/internal/llm"
)

// StreamCollector rebuilds, from a streamed answer's events, what Compare
// reads: the text blocks, the tool calls with their arguments, and the stop
// reason. The zero value is ready to use. It keeps the answer's text until
// it is dropped, so use it only for a request that was sampled (see
// [Sample]), and feed it the events as the provider sent them, before any
// redacted text is restored for the client. It is used by one goroutine.
type StreamCollector struct {
	blocks []collected
	index  map[int]int // event block index → position in blocks
	stop   llm.StopReason
}

type collected struct {
	typ  llm.BlockType
	name string          // tool_use
	buf  strings.Builder // text, or tool arguments
}

// Add takes one event; events it does not need are ignored.
func (c *StreamCollector) Add(ev llm.StreamEvent) {
	switch ev.Type {
	case llm.EventBlockStart:
		if ev.Block == nil {
			return
		}
		if c.index == nil {
			c.index = make(map[int]int)
		}
		b := collected{typ: ev.Block.Type}
		if ev.Block.ToolCall != nil {
			b.name = ev.Block.ToolCall.Name
		}
		c.index[ev.Index] = len(c.blocks)
		c.blocks = append(c.blocks, b)
	case llm.EventTextDelta:
		if b := c.block(ev.Index); b != nil {
			b.buf.WriteString(ev.Text)
		}
	case llm.EventToolDelta:
		if b := c.block(ev.Index); b != nil {
			b.buf.WriteString(ev.PartialJSON)
		}
	case llm.EventStop:
		c.stop = ev.StopReason
	}
}

func (c *StreamCollector) block(i int) *collected {
	p, ok := c.index[i]
	if !ok {
		return nil
	}
	return &c.blocks[p]
}

// Response returns what was collected as a response holding only content
// and stop reason. Tool calls whose deltas were empty get "{}" as
// arguments, as decoders do for a model that gave none.
func (c *StreamCollector) Response() *llm.Response {
	resp := &llm.Response{StopReason: c.stop, Content: make([]llm.Block, 0, len(c.blocks))}
	for i := range c.blocks {
		b := &c.blocks[i]
		switch b.typ {
		case llm.BlockToolUse:
			args := b.buf.String()
			if args == "" {
				args = "{}"
			}
			resp.Content = append(resp.Content, llm.Block{Type: llm.BlockToolUse,
				ToolCall: &llm.ToolCall{Name: b.name, Arguments: json.RawMessage(args)}})
		default:
			resp.Content = append(resp.Content, llm.Block{Type: b.typ, Text: b.buf.String()})
		}
	}
	return resp
}
