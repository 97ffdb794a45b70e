package shadow

import (
	"math/rand/v2"
	"time"

	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
)

// A Sample is one request picked for mirroring, in three steps that the
// gateway may take at different points of a request:
//
//  1. [Mirror.Sample] decides, before or during the primary call, whether
//     the request is mirrored at all. It returns nil when not, and every
//     method of a nil *Sample does nothing, so the caller needs no checks.
//  2. [Sample.Keep] copies the forwarded request and the primary's answer
//     as the provider gave it, before the gateway restores redacted text
//     in it for the client. For a streamed answer, feed the provider's
//     events to a [StreamCollector] and keep its Response.
//  3. [Sample.Submit] hands the copies to the workers once the client has
//     its answer and the decision is durably logged. A sample that is
//     never submitted is simply forgotten.
//
// A Sample is used by one goroutine.
type Sample struct {
	m *Mirror
	j *job
}

// Sample decides whether this request on route is mirrored: the route must
// have a candidate, the draw must fall within its sample rate and the queue
// must have room (a full queue drops the sample and counts it). It returns
// nil when the request is not mirrored. It does not allocate then.
func (m *Mirror) Sample(route string) *Sample {
	r := m.routes[route]
	if r == nil {
		return nil
	}
	// rand.Float64 is in [0, 1), so a rate of 1 takes every request and 0
	// none.
	if !(rand.Float64() < r.cand.Sample) {
		r.sampled.Inc()
		return nil
	}
	// A cheap look before anything is copied: a full queue will refuse the
	// job. The look is racy, so Submit still cannot block.
	if len(m.queue) == cap(m.queue) {
		r.dropped.Inc()
		return nil
	}
	return &Sample{m: m, j: &job{route: r}}
}

// Keep copies req, the request as forwarded to the primary provider (after
// redaction), and the primary's answer: primary and primaryErr as the
// provider gave them, and how long it took. Keeping again replaces what was
// kept.
func (s *Sample) Keep(req *llm.Request, primary *llm.Response, primaryErr error, primaryLatency time.Duration) {
	if s == nil || req == nil {
		return
	}
	r := s.j.route
	s.j.req = copyRequest(req, r.cand.model(r.name))
	s.j.primary = Answer{Response: copyResponse(primary), Err: primaryErr}
	s.j.primaryLatency = primaryLatency
}

// Receipt makes the candidate's request carry upstream receipts from f,
// as every request the gateway forwards does: the candidate's provider
// gives f the exact bytes of each attempt before sending it (see
// provider.Forwarder). Without it, the request goes unreceipted.
func (s *Sample) Receipt(f provider.Forwarder) {
	if s == nil {
		return
	}
	s.j.fwd = f
}

// Submit queues what Keep copied for the workers without blocking: when the
// queue is full the sample is dropped and counted, and after Close it is
// counted as closed. Submitting without Keep, or twice, does nothing.
func (s *Sample) Submit() {
	if s == nil || s.j == nil || s.j.req == nil {
		return
	}
	j, m := s.j, s.m
	s.j = nil
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		j.route.closed.Inc()
		return
	}
	select {
	case m.queue <- j:
		j.route.queued.Inc()
	default:
		j.route.dropped.Inc()
	}
}
