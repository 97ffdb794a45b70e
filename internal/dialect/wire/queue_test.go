package wire

import (
	"errors"
	"io"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

// TestEventQueue feeds two frames, the second ending the stream, and checks
// what Next and Buffered report along the way.
func TestEventQueue(t *testing.T) {
	frames := [][]llm.EventType{{llm.EventStart, llm.EventBlockStart}, {llm.EventStop, llm.EventEnd}}
	var q EventQueue
	advances := 0
	advance := func() error {
		f := frames[advances]
		advances++
		for _, typ := range f {
			q.Push(llm.StreamEvent{Type: typ})
		}
		return q.Seal([]byte("frame"))
	}
	for i, want := range []llm.EventType{llm.EventStart, llm.EventBlockStart, llm.EventStop, llm.EventEnd} {
		ev, err := q.Next(advance)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != want {
			t.Errorf("event %d: got %s, want %s", i, ev.Type, want)
		}
		if first := i%2 == 0; first != (ev.Raw != nil) || first == ev.Continued {
			t.Errorf("event %d: Raw %q, Continued %v; want Raw only on a frame's first event", i, ev.Raw, ev.Continued)
		}
		if i%2 == 0 && ev.FrameEvents != 2 {
			t.Errorf("event %d: FrameEvents %d, want 2", i, ev.FrameEvents)
		}
		if got, want := q.Buffered(7), map[int]int{0: 5 + 7, 1: 7, 2: 5, 3: 0}[i]; got != want {
			t.Errorf("after event %d: Buffered(7) = %d, want %d", i, got, want)
		}
	}
	for range 2 {
		if _, err := q.Next(advance); err != io.EOF {
			t.Errorf("after EventEnd: got %v, want io.EOF", err)
		}
	}
	if advances != 2 {
		t.Errorf("advance called %d times, want 2", advances)
	}
}

// TestEventQueueError: a frame that fails yields none of its events, and
// the error is sticky.
func TestEventQueueError(t *testing.T) {
	var q EventQueue
	boom := errors.New("boom")
	calls := 0
	advance := func() error {
		calls++
		q.Push(llm.StreamEvent{Type: llm.EventStart})
		return boom
	}
	for range 2 {
		if _, err := q.Next(advance); err != boom {
			t.Fatalf("got %v, want %v", err, boom)
		}
	}
	if calls != 1 {
		t.Errorf("advance called %d times, want 1", calls)
	}
	if n := q.Buffered(7); n != 0 {
		t.Errorf("Buffered(7) after an error = %d, want 0", n)
	}
}
