package gateway

import (
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/shadow"
)

// sample decides whether this request is mirrored to its route's shadow
// candidate; nil (no mirror, or not sampled) makes every later step a
// no-op.
func (g *Gateway) sample(route string) *shadow.Sample {
	if g.cfg.Mirror == nil {
		return nil
	}
	return g.cfg.Mirror.Sample(route)
}

// collectingStream passes a provider's stream through unchanged while
// rebuilding the whole answer for shadow mode, before the policy stage
// changes anything (held calls, restored identifiers).
type collectingStream struct {
	llm.Stream
	c shadow.StreamCollector
}

func (s *collectingStream) Next() (llm.StreamEvent, error) {
	ev, err := s.Stream.Next()
	if err == nil {
		s.c.Add(ev)
	}
	return ev, err
}

// Buffered keeps the wrapped stream's batching hint (see Gateway.stream).
func (s *collectingStream) Buffered() int {
	if b, ok := s.Stream.(interface{ Buffered() int }); ok {
		return b.Buffered()
	}
	return 0
}
