package wire

import (
	"io"

	"github.com/brightline/brightline/internal/llm"
)

// EventQueue holds the canonical events a stream reader decoded from one
// frame of a provider's stream until they are returned, one at a time, by
// the reader's Next. The zero value is an empty queue.
//
// A reader's translation code adds a frame's events with [EventQueue.Push]
// and then hands the frame's bytes to [EventQueue.Seal]; [EventQueue.Next]
// asks for the next frame whenever the queue is empty.
type EventQueue struct {
	events []llm.StreamEvent // decoded but not yet returned
	head   int               // next of events to return
	frame  int               // size of the frame the queued events came from
	err    error             // returned once the queue is empty; sticky
}

// Next returns the next queued event. When the queue is empty it calls
// advance, which reads one frame, queues its events and seals it; advance
// returns io.EOF after sealing the frame that ends the stream. The first
// error advance returns is returned once the events before it are, and
// again on every later call; a frame that failed with an error other than
// io.EOF yields no events.
func (q *EventQueue) Next(advance func() error) (llm.StreamEvent, error) {
	for q.head >= len(q.events) {
		if q.err != nil {
			return llm.StreamEvent{}, q.err
		}
		q.events, q.head = q.events[:0], 0
		if err := advance(); err != nil {
			q.err = err
			if err != io.EOF {
				q.events = q.events[:0] // a failed frame yields nothing
			}
		}
	}
	ev := q.events[q.head]
	q.events[q.head] = llm.StreamEvent{}
	q.head++
	return ev, nil
}

// Push adds ev to the events of the frame being decoded.
func (q *EventQueue) Push(ev llm.StreamEvent) { q.events = append(q.events, ev) }

// Len returns the number of events the frame being decoded has produced.
func (q *EventQueue) Len() int { return len(q.events) }

// Last returns the last event pushed for the frame being decoded, or nil if
// there is none. The caller may change it.
func (q *EventQueue) Last() *llm.StreamEvent {
	if len(q.events) == 0 {
		return nil
	}
	return &q.events[len(q.events)-1]
}

// Seal ends the frame being decoded, which must have produced at least one
// event: raw, the frame's bytes, goes on its first event with FrameEvents,
// and the others are marked Continued (see llm.StreamEvent). It returns
// io.EOF if the frame's last event is EventEnd, and nil otherwise.
func (q *EventQueue) Seal(raw []byte) error {
	q.events[0].Raw = raw
	q.events[0].FrameEvents = len(q.events)
	q.frame = len(raw)
	for i := 1; i < len(q.events); i++ {
		q.events[i].Continued = true
	}
	if q.events[len(q.events)-1].Type == llm.EventEnd {
		return io.EOF
	}
	return nil
}

// Buffered returns the number of bytes read from the stream but not yet
// returned as events, given unread, the bytes the reader holds beyond the
// last frame: the size of that frame while events decoded from it are
// still queued, plus unread until the stream has ended or failed (after
// that, Next will not read them). When it is 0, the next Next either
// blocks on the reader or returns the stream's final error; when it is
// not, Next has at least part of its input at hand (a buffered frame may
// still be incomplete).
func (q *EventQueue) Buffered(unread int) int {
	n := 0
	if q.head < len(q.events) {
		n = q.frame
	}
	if q.err == nil {
		n += unread
	}
	return n
}
