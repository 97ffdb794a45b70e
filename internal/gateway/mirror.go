package gateway

import (
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/shadow"
)

// sample decides whether exchange x is mirrored to its route's shadow
// candidate; nil (no mirror, or not sampled) makes every later step a
// no-op. A mirrored request carries receipts of its own, marked shadow.
func (g *Gateway) sample(x *exchange) *shadow.Sample {
	if g.cfg.Mirror == nil {
		return nil
	}
	s := g.cfg.Mirror.Sample(x.model)
	if s != nil && g.cfg.Audit != nil {
		s.Receipt(&forwarder{g: g, x: x, d: x.sg.Decision, shadow: true})
	}
	return s
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
	if b, ok := s.Stream.(llm.Bufferer); ok {
		return b.Buffered()
	}
	return 0
}
