// Package shadow rehearses a move to another provider: it mirrors a sample
// of live requests to a candidate provider or model, in the background,
// compares the candidate's answer with the one the client got, and stores
// the comparison (see [store.ShadowResult]); [Stats] sums the stored
// comparisons up per route and candidate. The client never waits for,
// sees or is affected by the candidate.
//
// # Using it from the gateway
//
// The gateway mirrors the request as it was forwarded to the primary
// provider: after policy has redacted it, never the client's raw bytes.
// Mirroring anything else would send unredacted content to a provider that
// policy never approved. Requests that policy denied or held are never
// mirrored. The primary's answer is kept as the provider gave it, before
// the gateway restores redacted text in it, so that both sides are
// compared in the same redacted form; and the sample is submitted only
// once the client has its answer and the decision is durably logged.
//
// In the non-streamed path that looks like this:
//
//	s := mirror.Sample(route) // nil when not mirrored
//	resp, err := router.Complete(ctx, req, hdr)
//	s.Keep(req, resp, err, time.Since(start)) // before restoring redacted text
//	... restore, wait for the audit append, write the answer ...
//	s.Submit()
//
// and when streamed, events go to a [StreamCollector] as they arrive from
// the provider, and s.Keep(req, collector.Response(), streamErr, d) follows
// the end of the stream. [Mirror.Offer] does all three at once.
//
// A [Candidate]'s Provider should be the one upstream being rehearsed (an
// HTTP provider), not a Router with failover, so that the results describe
// that provider alone.
//
// # What the candidate gets
//
// A deep copy of the offered request with the candidate's model, as a
// non-streamed request, without the client's headers and without
// Request.Raw: the candidate's provider encodes the canonical request, which
// is exactly what policy inspected. Fields only a passthrough would have
// carried (unknown to the canonical model) are therefore not rehearsed.
//
// # What happens to the candidate's answer
//
// Nothing but the comparison. Tool calls in it are never executed, never
// returned to anyone and never stored; only their names are, and whether
// their arguments were JSON objects. The answer's text is reduced to a
// similarity score (see [Similarity]) and dropped.
//
// # Limits
//
// Offer never blocks: it samples, copies the request and hands it to a
// bounded queue, and when the queue is full the sample is dropped and
// counted in brightline_shadow_offers_total{outcome="dropped"}. A fixed
// number of workers call candidates, each call with its own timeout on a
// context that no client request owns. One goroutine writes the results in
// batches, so that a busy mirror pays one commit for many results; when it
// falls behind, the workers wait for it, the queue fills and offers are
// dropped, counted, rather than anything growing without bound.
package shadow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/store"
)

// Candidate is where a route's requests are mirrored.
type Candidate struct {
	// Provider answers in the shadow. Required.
	Provider provider.Provider
	// Model is the provider's model name; "" means the route's name.
	Model string
	// Sample is the fraction of the route's requests mirrored, from 0
	// (none) to 1 (all).
	Sample float64
}

// model is the model name the candidate is asked for on route.
func (c Candidate) model(route string) string { return cmp.Or(c.Model, route) }

// ResultRecorder is where a [Mirror] writes its results;
// [store.ShadowResults] implements it.
type ResultRecorder interface {
	// RecordShadowResults stores rs in one write, all or none, or returns
	// an error saying which result is invalid. Retrying after an
	// ambiguous failure may record rs twice, which a summary tolerates.
	RecordShadowResults(ctx context.Context, rs []store.ShadowResult) error
}

// Config configures a [Mirror]. Only Store and Candidates are required.
type Config struct {
	// Candidates maps a route (the model name the client asked for) to
	// the candidate its requests are mirrored to. Routes not in the map are
	// never mirrored.
	Candidates map[string]Candidate
	// Store keeps the results. Required.
	Store ResultRecorder
	// Concurrency is the number of candidate calls in flight at once. 0
	// means 2.
	Concurrency int
	// Queue is the number of sampled requests that may wait for a worker.
	// 0 means 64. When it is full, further samples are dropped and counted.
	Queue int
	// Timeout bounds each candidate call. 0 means 60 seconds.
	Timeout time.Duration
	// DrainTimeout bounds how long Close waits for queued and running
	// comparisons. 0 means Timeout, but at most 10 seconds, so that a
	// shadow rehearsal never holds up a shutdown for long.
	DrainTimeout time.Duration
	// Now is the clock used to time candidate calls. nil means time.Now.
	Now func() time.Time
	// Logger gets store failures and shutdown losses. nil means
	// slog.Default().
	Logger *slog.Logger
	// Registerer gets the metrics. nil means they are kept unregistered.
	Registerer prometheus.Registerer
}

// Mirror mirrors sampled requests to candidate providers. It is safe for
// concurrent use. Close it to stop its workers.
type Mirror struct {
	routes  map[string]*route // read-only after New
	store   ResultRecorder
	timeout time.Duration
	drain   time.Duration
	now     func() time.Time
	log     *slog.Logger
	m       *metrics

	// mu guards closed and sending on queue: Offer holds it for reading
	// while it sends (without blocking), Close for writing while it closes
	// queue, so nothing is ever sent on a closed channel.
	mu     sync.RWMutex
	closed bool
	queue  chan *job

	base    context.Context // parent of every candidate call; cancelled when draining runs out of time
	abandon context.CancelFunc
	workers sync.WaitGroup
	// results carries finished comparisons from the workers to the one
	// recorder goroutine, which writes them in batches; closed once the
	// workers are done.
	results  chan result
	recorded chan struct{} // closed when the recorder is done
	// abandoned counts comparisons lost at shutdown, for Close's error.
	abandoned atomic.Int64
}

// route is one mirrored route with its metrics resolved, so that Offer does
// no label lookups.
type route struct {
	name      string
	cand      Candidate
	candName  string
	sampled   prometheus.Counter // sampled out
	queued    prometheus.Counter
	dropped   prometheus.Counter // queue full
	closed    prometheus.Counter // offered after Close
	recorded  prometheus.Counter
	failed    prometheus.Counter // store error
	abandoned prometheus.Counter // lost at shutdown
}

// result is one finished comparison on its way to the store.
type result struct {
	route *route
	res   store.ShadowResult
}

// maxBatch is the most results the recorder writes at once.
const maxBatch = 128

// job is one sampled request waiting for a worker. It owns its copies.
type job struct {
	route          *route
	req            *llm.Request
	primary        Answer
	primaryLatency time.Duration
	// fwd, if set, receipts the candidate's request (Sample.Receipt).
	fwd provider.Forwarder
}

// New starts a Mirror's workers.
func New(cfg Config) (*Mirror, error) {
	if cfg.Store == nil {
		return nil, errors.New("couldn't start shadow mirror: no store")
	}
	m := &Mirror{
		routes:  make(map[string]*route, len(cfg.Candidates)),
		store:   cfg.Store,
		timeout: cfg.Timeout,
		drain:   cfg.DrainTimeout,
		now:     cfg.Now,
		log:     cfg.Logger,
		m:       newMetrics(cfg.Registerer),
	}
	if m.timeout <= 0 {
		m.timeout = 60 * time.Second
	}
	if m.drain <= 0 {
		m.drain = min(m.timeout, 10*time.Second)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	for name, c := range cfg.Candidates {
		if c.Provider == nil {
			return nil, fmt.Errorf("couldn't start shadow mirror: route %q has no candidate provider", name)
		}
		if !(c.Sample >= 0 && c.Sample <= 1) {
			return nil, fmt.Errorf("couldn't start shadow mirror: route %q has sample rate %v outside [0, 1]", name, c.Sample)
		}
		m.routes[name] = m.m.route(name, c)
	}
	n := cfg.Concurrency
	if n <= 0 {
		n = 2
	}
	q := cfg.Queue
	if q <= 0 {
		q = 64
	}
	m.queue = make(chan *job, q)
	m.m.register(m, m.log)
	m.base, m.abandon = context.WithCancel(context.Background())
	m.results = make(chan result, q)
	m.recorded = make(chan struct{})
	for range n {
		m.workers.Go(m.work)
	}
	go func() {
		m.workers.Wait()
		close(m.results)
	}()
	go m.record()
	return m, nil
}

// Offer mirrors req to its route's candidate if the route has one and req
// is sampled, and returns at once: it never waits for the candidate, for
// storage or for a worker. req must be the request as forwarded to the
// primary provider (after redaction), primary and primaryErr what the
// primary answered (before the gateway restored redacted text in it) and
// primaryLatency how long it took. Offer copies what it keeps, so the
// caller may change or reuse all of them when it returns. It is safe to
// call after Close, which makes it a counted no-op.
//
// Offer is Sample, Keep and Submit in one; use those when the answer to
// keep and the moment to submit are apart (see [Mirror.Sample]).
func (m *Mirror) Offer(route string, req *llm.Request, primary *llm.Response, primaryErr error, primaryLatency time.Duration) {
	s := m.Sample(route)
	s.Keep(req, primary, primaryErr, primaryLatency)
	s.Submit()
}

// Close stops taking samples and waits, for at most Config.DrainTimeout,
// for the queued and running comparisons to be stored. Those still
// unfinished then are abandoned: their candidate calls are cancelled, they
// are counted in brightline_shadow_results_total{result="abandoned"} and
// Close returns an error saying how many. Close may be called more than
// once.
func (m *Mirror) Close() error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()

	done := m.recorded // closed after the workers and then the recorder finish
	t := time.NewTimer(m.drain)
	defer t.Stop()
	select {
	case <-done:
		m.abandon()
		return nil
	case <-t.C:
	}
	before := m.abandoned.Load()
	m.abandon()
	<-done // with the context cancelled, workers finish quickly
	if n := m.abandoned.Load() - before; n > 0 {
		return fmt.Errorf("shadow mirror closed after %v with %d comparisons unfinished", m.drain, n)
	}
	return nil
}

// work runs jobs until the queue is closed and empty.
func (m *Mirror) work() {
	for j := range m.queue {
		m.run(j)
	}
}

// run calls the candidate for j, compares and stores the result.
func (m *Mirror) run(j *job) {
	if m.base.Err() != nil {
		m.lose(j.route)
		return
	}
	r := j.route
	ctx, cancel := context.WithTimeout(m.base, m.timeout)
	defer cancel()
	if j.fwd != nil {
		ctx = provider.WithForwarder(ctx, j.fwd)
	}
	start := m.now()
	resp, err := r.cand.Provider.Complete(ctx, &provider.Call{Request: j.req})
	latency := m.now().Sub(start)
	if m.base.Err() != nil {
		// Cancelled by Close, not by the candidate: not a fair sample.
		m.lose(r)
		return
	}
	res := Compare(j.primary, Answer{Response: resp, Err: err})
	res.Route, res.Candidate = r.name, r.candName
	res.PrimaryLatency, res.CandidateLatency = max(j.primaryLatency, 0), max(latency, 0)
	// The candidate's answer goes out of scope here: its tool calls are
	// never executed or passed on.
	m.results <- result{route: r, res: res}
}

// record writes finished comparisons in batches until the workers are
// done. A batch is whatever has arrived while the previous one was being
// written, up to maxBatch, so that a busy mirror pays one commit for many
// results and an idle one writes each at once.
func (m *Mirror) record() {
	defer close(m.recorded)
	batch := make([]result, 0, maxBatch)
	rs := make([]store.ShadowResult, 0, maxBatch)
	for first := range m.results {
		batch = append(batch[:0], first)
	more:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-m.results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		rs = rs[:0]
		for _, b := range batch {
			rs = append(rs, b.res)
		}
		m.write(batch, rs)
	}
}

// write stores one batch and counts the outcome per route.
func (m *Mirror) write(batch []result, rs []store.ShadowResult) {
	ctx, cancel := context.WithTimeout(m.base, m.timeout)
	defer cancel()
	err := m.store.RecordShadowResults(ctx, rs)
	for _, b := range batch {
		switch {
		case err == nil:
			b.route.recorded.Inc()
		case m.base.Err() != nil:
			m.lose(b.route)
		default:
			b.route.failed.Inc()
		}
	}
	if err != nil && m.base.Err() == nil {
		m.log.Error("couldn't record shadow results", "results", len(rs), "err", err)
	}
}

// lose counts a comparison abandoned at shutdown.
func (m *Mirror) lose(r *route) {
	r.abandoned.Inc()
	m.abandoned.Add(1)
}
