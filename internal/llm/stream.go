package llm

import "github.com/brightline/brightline"

// EventType says which fields of a StreamEvent are set.
type EventType uint8

// Stream event types. A well-formed stream is
//
//	Start (BlockStart Delta* BlockStop)* Stop Usage? End
//
// Blocks do not interleave: a block is stopped before the next starts.
const (
	// EventStart opens the message: ID, Model, and Usage if the input
	// token count is known up front (Anthropic).
	EventStart EventType = iota + 1
	// EventBlockStart opens content block Index. Block has its Type, and for
	// tool_use its ToolCall with ID and Name (Arguments empty).
	EventBlockStart
	// EventTextDelta appends Text to text or thinking block Index.
	EventTextDelta
	// EventToolDelta appends PartialJSON to the arguments of tool_use block
	// Index. The concatenated deltas form the arguments object.
	EventToolDelta
	// EventBlockStop closes block Index.
	EventBlockStop
	// EventStop gives StopReason, and Usage if known at that point.
	EventStop
	// EventUsage reports Usage after the stop (OpenAI's final usage chunk).
	EventUsage
	// EventEnd marks the normal end of the stream (Anthropic message_stop,
	// OpenAI [DONE]). A stream that ends without it was cut off.
	EventEnd
	// EventOther is a wire frame with no canonical meaning (a ping, a
	// role-only chunk). It has only Raw and is dropped when translating.
	EventOther
)

var eventNames = [...]string{
	EventStart: "start", EventBlockStart: "block_start", EventTextDelta: "text_delta",
	EventToolDelta: "tool_delta", EventBlockStop: "block_stop", EventStop: "stop",
	EventUsage: "usage", EventEnd: "end", EventOther: "other",
}

func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "unknown"
}

// StreamEvent is one event of a streamed response.
type StreamEvent struct {
	Type         EventType
	Index        int        // block index, for block events
	ID           string     // EventStart
	Model        string     // EventStart
	Block        *Block     // EventBlockStart
	Text         string     // EventTextDelta
	PartialJSON  string     // EventToolDelta
	StopReason   StopReason // EventStop
	StopSequence string     // EventStop, when StopReason is StopSequence
	Usage        *Usage     // EventStart, EventStop, EventUsage

	// Raw is the complete wire frame this event was decoded from, including
	// the SSE field lines and the blank line that ends it, and Dialect its
	// format. A frame that decodes into several events is attached to the
	// first; the others have Raw nil and Continued set. A writer of the same
	// dialect forwards Raw unchanged and skips Continued events, so fields
	// the gateway does not model still reach the client.
	Raw       []byte
	Dialect   brightline.Dialect
	Continued bool
	// FrameEvents, on the event that carries Raw, is how many events were
	// decoded from that frame, this one included. A caller that may drop
	// or change some events of a frame reads all FrameEvents of them first
	// (they are already decoded, so reading them never blocks) and, if it
	// changes any, clears Raw and Continued on all of them so they are
	// encoded instead.
	FrameEvents int
}

// Stream is a response being streamed from a provider.
type Stream interface {
	// Next returns the next event. It returns io.EOF after EventEnd, and
	// any other error if the stream failed; a failed stream must not be
	// read again. An error event from the provider is returned as a
	// *WireError.
	Next() (StreamEvent, error)
	// Close releases the stream and cancels the upstream request if it is
	// still running. It is safe to call more than once.
	Close() error
}

// Bufferer is an optional capability of a [Stream] (or of a reader a stream
// is built on): Buffered reports how much the stream holds that the next
// Next can return without waiting for the provider, such as bytes read but
// not yet returned as events. 0 means the next Next may block. A server
// flushes its response only when Buffered is 0, so that events that arrived
// together go out together. Buffered is called from the goroutine reading
// the stream, like Next.
type Bufferer interface {
	Buffered() int
}
