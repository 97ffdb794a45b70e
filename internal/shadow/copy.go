package shadow

import (
	"bytes"
	"slices"

	"github.com/brightline/brightline/internal/llm"
)

// copyRequest returns a deep copy of req as the candidate is asked it:
// model set to model, not streamed, and without Raw and Dialect, so that
// the candidate's provider encodes the canonical request rather than
// forwarding bytes. Strings are immutable and shared; everything the caller
// could change (slices, pointers, bytes) is copied.
func copyRequest(req *llm.Request, model string) *llm.Request {
	c := *req
	c.Model = model
	c.Stream, c.IncludeUsage = false, false
	c.Raw, c.Dialect = nil, ""
	c.Messages = make([]llm.Message, len(req.Messages))
	for i, m := range req.Messages {
		c.Messages[i] = llm.Message{Role: m.Role, Content: copyBlocks(m.Content)}
	}
	if req.Tools != nil {
		c.Tools = make([]llm.Tool, len(req.Tools))
		for i, t := range req.Tools {
			t.InputSchema = bytes.Clone(t.InputSchema)
			c.Tools[i] = t
		}
	}
	if req.ToolChoice != nil {
		tc := *req.ToolChoice
		c.ToolChoice = &tc
	}
	if req.Temperature != nil {
		v := *req.Temperature
		c.Temperature = &v
	}
	if req.TopP != nil {
		v := *req.TopP
		c.TopP = &v
	}
	c.Stop = slices.Clone(req.Stop)
	return &c
}

func copyBlocks(bs []llm.Block) []llm.Block {
	if bs == nil {
		return nil
	}
	out := make([]llm.Block, len(bs))
	for i, b := range bs {
		if b.Image != nil {
			im := *b.Image
			b.Image = &im
		}
		if b.ToolCall != nil {
			tc := *b.ToolCall
			tc.Arguments = bytes.Clone(tc.Arguments)
			b.ToolCall = &tc
		}
		if b.ToolResult != nil {
			tr := *b.ToolResult
			tr.Content = copyBlocks(tr.Content)
			b.ToolResult = &tr
		}
		out[i] = b
	}
	return out
}

// copyResponse returns a copy of what Compare reads from resp: its stop
// reason and content. nil stays nil.
func copyResponse(resp *llm.Response) *llm.Response {
	if resp == nil {
		return nil
	}
	return &llm.Response{StopReason: resp.StopReason, Content: copyBlocks(resp.Content)}
}
