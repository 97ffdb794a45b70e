package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/llm"
)

// buffered returns s's Buffered, failing the test if s lacks the method.
func buffered(t *testing.T, s llm.Stream) int {
	t.Helper()
	b, ok := s.(llm.Bufferer)
	if !ok {
		t.Fatalf("stream %T does not implement Buffered", s)
	}
	return b.Buffered()
}

func TestSimulatedStreamBuffered(t *testing.T) {
	s, err := NewSimulated("sim").Stream(context.Background(), &Call{Request: userRequest("m", "one two three four five six seven eight nine ten")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	left := buffered(t, s)
	if left < 5 {
		t.Fatalf("got Buffered %d before the first event, want the whole stream (at least 5 events)", left)
	}
	for n := 0; ; n++ {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got := buffered(t, s)
		if ev.Type == llm.EventEnd && got != 0 {
			t.Errorf("got Buffered %d after the end, want 0", got)
		}
		if ev.Type != llm.EventEnd && got <= 0 {
			t.Errorf("got Buffered %d after event %d (%s), want > 0: events are left", got, n, ev.Type)
		}
		if got != left-1 {
			t.Errorf("got Buffered %d after event %d, want %d (one fewer)", got, n, left-1)
		}
		left = got
	}
	s2, _ := NewSimulated("sim").Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
	s2.Close()
	if got := buffered(t, s2); got != 0 {
		t.Errorf("got Buffered %d after Close, want 0", got)
	}
}

func TestRouterStreamBuffered(t *testing.T) {
	t.Run("provider stream without Buffered", func(t *testing.T) {
		a := &fakeProvider{name: "a", stream: func(ctx context.Context, call *Call) (llm.Stream, error) {
			return &brokenStream{err: io.ErrUnexpectedEOF}, nil
		}}
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}}}}}
		s, _, err := r.Stream(context.Background(), userRequest("m", "hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := buffered(t, s); got <= 0 {
			t.Errorf("got Buffered %d with the first event pending, want > 0", got)
		}
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		if got := buffered(t, s); got != 0 {
			t.Errorf("got Buffered %d after the first event, want 0 (the provider's stream cannot tell)", got)
		}
	})
	t.Run("simulated", func(t *testing.T) {
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: NewSimulated("sim")}}}}}
		s, _, err := r.Stream(context.Background(), userRequest("m", "hi there"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for {
			before := buffered(t, s)
			ev, err := s.Next()
			if err == io.EOF {
				if before != 0 {
					t.Errorf("got Buffered %d before io.EOF, want 0", before)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if before <= 0 {
				t.Errorf("got Buffered %d before event %s, want > 0", before, ev.Type)
			}
		}
	})
}

// TestHTTPStreamBuffered has the provider send its first two frames in one
// write and the rest only later: after the first frame's events the stream
// must report the second as buffered, and after the second's, nothing.
func TestHTTPStreamBuffered(t *testing.T) {
	tests := []struct {
		kind    string
		fixture string
		events  int // events decoded from the first two frames
	}{
		{KindAnthropic, "anthropic_stream.sse", 2},     // start; block_start
		{KindOpenAI, "openai_stream.sse", 3},           // start; block_start, text_delta
		{KindOpenAICompatible, "openai_stream.sse", 3}, // the same
	}
	for _, tt := range tests {
		for _, routed := range []bool{false, true} {
			name := tt.kind
			if routed {
				name += "/routed"
			}
			t.Run(name, func(t *testing.T) {
				frames := splitFrames(fixture(t, tt.fixture))
				release := make(chan struct{})
				up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(http.StatusOK)
					io.WriteString(w, frames[0]+frames[1])
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
						return
					case <-time.After(10 * time.Second):
					}
					io.WriteString(w, strings.Join(frames[2:], ""))
				}))
				defer up.Close()
				h := newHTTP(t, HTTPConfig{Name: "p", Kind: tt.kind, APIKey: "k", BaseURL: up.URL})

				var s llm.Stream
				var err error
				read := 0
				if routed {
					r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: h}}}}}
					s, _, err = r.Stream(context.Background(), userRequest("m", "hi"), nil)
				} else {
					s, err = h.Stream(context.Background(), &Call{Request: userRequest("m", "hi")})
				}
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if got := buffered(t, s); routed && got <= 0 || !routed && got != 0 {
					t.Errorf("got Buffered %d before the first Next, want %s", got, map[bool]string{true: "> 0 (the router's peeked event)", false: "0"}[routed])
				}
				next := func() llm.StreamEvent {
					t.Helper()
					ev, err := s.Next()
					if err != nil {
						t.Fatalf("got error %v after %d events", err, read)
					}
					read++
					return ev
				}
				if ev := next(); ev.Type != llm.EventStart {
					t.Fatalf("got first event %s, want start", ev.Type)
				}
				if got := buffered(t, s); got <= 0 {
					t.Errorf("got Buffered %d after the first frame, want > 0: the second arrived with it", got)
				}
				for read < tt.events {
					next()
					if got := buffered(t, s); read < tt.events && got <= 0 {
						t.Errorf("got Buffered %d after %d events, want > 0: events of the second frame are left", got, read)
					}
				}
				if got := buffered(t, s); got != 0 {
					t.Errorf("got Buffered %d after the second frame, want 0: nothing else has arrived", got)
				}
				close(release)
				if _, _, err := collect(s); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
