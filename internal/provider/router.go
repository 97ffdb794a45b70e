package provider

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// Target is one provider and model that can serve a route.
type Target struct {
	Provider Provider
	// Model is the provider's name for the model; "" passes the requested
	// model through.
	Model string
	// Weight, when any target of the route has one, makes the route a
	// canary: each request's first target is drawn with probability
	// weight/sum among the weighted targets, and the others follow in
	// their listed order for failover. Zero everywhere: listed order.
	Weight int
}

// Route maps a requested model to the targets that serve it, in order of
// preference.
type Route struct {
	// Model is the name clients ask for. It may be a glob in path.Match
	// syntax, e.g. "claude-*" (note that * does not match "/"). Exact names
	// win over globs, then the first listed glob wins.
	Model   string
	Targets []Target
}

// Observer receives events for metrics. Its methods are called from request
// goroutines, concurrently, and must not block. target names a target as
// "provider/model".
type Observer interface {
	// Attempt reports every upstream attempt, its duration and its error
	// (nil on success). For streams the attempt ends with the first event.
	Attempt(target string, dur time.Duration, err error)
	// Retry reports that the router waits before retrying target.
	Retry(target string, wait time.Duration)
	// Failover reports that the router gave up on one target and moves to
	// the next.
	Failover(from, to string)
	// BreakerOpen reports that target's circuit breaker opened.
	BreakerOpen(target string)
}

// Served says which target served (or, on error, last tried) a request.
type Served struct {
	Target   string             // "provider/model"
	Provider string             // the provider's configured name
	Model    string             // the model name sent to the provider
	Dialect  brightline.Dialect // the provider's wire format
	Attempts int                // upstream attempts made, over all targets
}

// Router sends each request to the targets of its model's route, with
// retries, failover and per-target circuit breakers. Set its fields before
// first use; the zero value of every field but Routes is usable. A Router is
// safe for concurrent use.
type Router struct {
	Routes   []Route
	Retry    RetryPolicy
	Breaker  BreakerPolicy
	Observer Observer // nil: no events

	Now   func() time.Time                                 // nil: time.Now
	Sleep func(ctx context.Context, d time.Duration) error // nil: a timer that stops early, with ctx's error, when ctx is done
	Rand  func() float64                                   // nil: math/rand/v2.Float64; draws the backoff jitter and canary picks

	breakers breakers
}

// ErrBreakerOpen is the underlying error when every target of a model was
// skipped because its circuit breaker is open.
var ErrBreakerOpen = errors.New("circuit breaker open")

// Models lists the routes with exact (non-glob) names, sorted by name. A
// model's OwnedBy is the name of its first target's provider. When every
// route is a glob (the default "*" to the simulated provider, say), it
// lists the glob patterns themselves, so that a client sees what it may
// ask for instead of an empty list.
func (r *Router) Models() []llm.Model {
	var models, globs []llm.Model
	for _, rt := range r.Routes {
		list := &models
		if isGlob(rt.Model) {
			list = &globs
		}
		if slices.ContainsFunc(*list, func(m llm.Model) bool { return m.ID == rt.Model }) {
			continue
		}
		m := llm.Model{ID: rt.Model}
		if len(rt.Targets) > 0 && rt.Targets[0].Provider != nil {
			m.OwnedBy = rt.Targets[0].Provider.Name()
		}
		*list = append(*list, m)
	}
	if len(models) == 0 {
		models = globs
	}
	slices.SortFunc(models, func(a, b llm.Model) int { return strings.Compare(a.ID, b.ID) })
	return models
}

// Complete sends a non-streamed request to the targets of req.Model until
// one answers. hdr holds client headers providers may forward on
// passthrough; it may be nil. req is not modified.
//
// Errors are *brightline.Error whose Err wraps the underlying failure,
// except when ctx is cancelled, which returns an error wrapping ctx.Err().
// Served describes the target that answered, or the last one tried.
func (r *Router) Complete(ctx context.Context, req *llm.Request, hdr http.Header) (*llm.Response, Served, error) {
	return r.CompleteAfter(ctx, req, hdr, "")
}

// CompleteAfter is Complete, trying only the targets listed after the
// target named after (a Served.Target) in req.Model's route; after == ""
// tries them all. The gateway uses it to retry a provider's safety refusal
// on the next provider, which it does only when a policy rule explicitly
// allows it. If no target follows, it returns a *brightline.Error with
// CodeUnavailable.
func (r *Router) CompleteAfter(ctx context.Context, req *llm.Request, hdr http.Header, after string) (*llm.Response, Served, error) {
	resp, served, _, err := route(r, ctx, req, hdr, after, func(ctx context.Context, p Provider, call *Call) (*llm.Response, error) {
		return p.Complete(ctx, call)
	})
	return resp, served, err
}

// Stream sends a streamed request like [Router.Complete]. It reads the
// first event itself, so that a target that fails before sending anything
// can be retried or failed over; the returned stream replays that event and
// continues. Failures after it are returned by the stream's Next.
func (r *Router) Stream(ctx context.Context, req *llm.Request, hdr http.Header) (llm.Stream, Served, error) {
	s, served, br, err := route(r, ctx, req, hdr, "", func(ctx context.Context, p Provider, call *Call) (*routedStream, error) {
		st, err := p.Stream(ctx, call)
		if err != nil {
			return nil, err
		}
		first, err := st.Next()
		if err != nil {
			st.Close()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return &routedStream{Stream: st, first: &first, hasFirst: true, ctx: ctx}, nil
	})
	if err != nil {
		return nil, served, err
	}
	s.router, s.breaker, s.target = r, br, served.Target
	return s, served, nil
}

// route runs the attempt loop shared by Complete and Stream: each target
// of the request's route in turn (after the target named after, if set),
// with retries, until one answers or the loop must stop.
func route[T any](r *Router, ctx context.Context, req *llm.Request, hdr http.Header, after string,
	try func(context.Context, Provider, *Call) (T, error)) (T, Served, *breaker, error) {
	var zero T
	targets, err := r.targets(req.Model, after)
	if err != nil {
		return zero, Served{}, nil, err
	}
	a := &attempts{r: r, retry: r.Retry.withDefaults(), bpol: r.Breaker.withDefaults(), obs: r.Observer}
	if a.obs == nil {
		a.obs = nopObserver{}
	}
	for i, tg := range targets {
		model := cmp(tg.Model, req.Model)
		key := tg.Provider.Name() + "/" + model
		if i > 0 {
			a.obs.Failover(a.served.Target, key)
		}
		a.served = Served{Target: key, Provider: tg.Provider.Name(), Model: model, Dialect: tg.Provider.Dialect(), Attempts: a.served.Attempts}
		c := *req
		c.Model = model
		v, br, done, err := tryTarget(ctx, a, tg.Provider, &Call{Request: &c, Header: hdr}, req.Model, try)
		if done {
			return v, a.served, br, err
		}
	}
	return zero, a.served, nil, exhausted(req.Model, len(targets), a.lastErr, a.skipped, a.minWait)
}

// targets returns the targets a request for model tries, in order: the
// route's, picked by canary weights, or those after the target named
// after.
func (r *Router) targets(model, after string) ([]Target, error) {
	rt := r.route(model)
	if rt == nil {
		return nil, &brightline.Error{
			Code:    brightline.CodeNotFound,
			Message: "model " + quote(model) + " is not served by this gateway (GET /v1/models lists the models)",
		}
	}
	if len(rt.Targets) == 0 {
		return nil, brightline.Errorf(brightline.CodeInternal, "model %q has no targets configured", model)
	}
	if after == "" {
		return r.canary(rt.Targets), nil
	}
	targets := rt.Targets
	for i, tg := range targets {
		if tg.Provider.Name()+"/"+cmp(tg.Model, model) == after {
			targets = targets[i+1:]
			break
		}
	}
	if len(targets) == len(rt.Targets) || len(targets) == 0 {
		return nil, brightline.Errorf(brightline.CodeUnavailable, "no target for model %q follows %s", model, after)
	}
	return targets, nil
}

// attempts is the state of one route call's attempt loop, across its
// targets.
type attempts struct {
	r     *Router
	retry RetryPolicy
	bpol  BreakerPolicy
	obs   Observer

	served  Served        // the target being tried, and attempts so far
	lastErr error         // the last attempt's error
	skipped bool          // some target was skipped by its breaker
	minWait time.Duration // the shortest remaining cooldown of skipped targets
}

// tryTarget makes up to retry.MaxAttempts attempts of call on provider p,
// the target a.served names; asked is the model the client asked for.
// done reports that the route call ends here, with v and the target's
// breaker, or with err; otherwise the next target is tried.
func tryTarget[T any](ctx context.Context, a *attempts, p Provider, call *Call, asked string,
	try func(context.Context, Provider, *Call) (T, error)) (v T, br *breaker, done bool, err error) {
	var zero T
	r, key := a.r, a.served.Target
	br = r.breakers.get(key)
	for attempt := 1; attempt <= a.retry.MaxAttempts; attempt++ {
		ok, trial, wait := br.allow(r.now(), a.bpol)
		if !ok {
			if attempt == 1 {
				a.skipped = true
				if a.minWait == 0 || wait < a.minWait {
					a.minWait = wait
				}
			}
			return zero, nil, false, nil
		}
		start := r.now()
		v, err := try(ctx, p, call)
		a.served.Attempts++
		a.obs.Attempt(key, r.now().Sub(start), err)
		if err == nil {
			br.success()
			return v, br, true, nil
		}

		if fe, ok := errors.AsType[*ForwardError](err); ok {
			// Nothing was sent: the gateway could not receipt the
			// request, and would fail the same way everywhere.
			br.release(trial)
			return zero, nil, true, fe.Err
		}
		oc := classify(ctx, err)
		switch oc {
		case outcomeRetry, outcomeFailOver:
			a.lastErr = err
			if br.failure(r.now(), trial, a.bpol) {
				a.obs.BreakerOpen(key)
			}
		default:
			br.release(trial)
		}
		if oc == outcomeCanceled {
			return zero, nil, true, canceled(ctx, asked)
		}
		if oc == outcomeReject {
			return zero, nil, true, rejected(p.Name(), err)
		}
		if oc == outcomeFailOver || attempt == a.retry.MaxAttempts {
			return zero, nil, false, nil
		}
		wait = retryAfterOf(err)
		if wait > a.retry.MaxRetryAfter {
			return zero, nil, false, nil
		}
		if wait <= 0 {
			wait = a.retry.backoff(attempt, r.rand())
		}
		a.obs.Retry(key, wait)
		if err := r.sleep(ctx, wait); err != nil || ctx.Err() != nil {
			return zero, nil, true, canceled(ctx, asked)
		}
	}
	return zero, nil, false, nil
}

// route returns the route for model, or nil.
func (r *Router) route(model string) *Route {
	var glob *Route
	for i := range r.Routes {
		rt := &r.Routes[i]
		if !isGlob(rt.Model) {
			if rt.Model == model {
				return rt
			}
			continue
		}
		if glob == nil {
			if ok, _ := path.Match(rt.Model, model); ok {
				glob = rt
			}
		}
	}
	return glob
}

func isGlob(name string) bool { return strings.ContainsAny(name, `*?[\`) }

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// canary returns targets with the primary drawn by weight moved to the
// front, or targets unchanged when none is weighted.
func (r *Router) canary(targets []Target) []Target {
	sum := 0
	for _, t := range targets {
		sum += max(t.Weight, 0)
	}
	if sum == 0 {
		return targets
	}
	x := r.rand() * float64(sum)
	pick := 0
	for i, t := range targets {
		if t.Weight <= 0 {
			continue
		}
		pick = i
		if x < float64(t.Weight) {
			break
		}
		x -= float64(t.Weight)
	}
	if pick == 0 {
		return targets
	}
	out := make([]Target, 0, len(targets))
	out = append(out, targets[pick])
	out = append(out, targets[:pick]...)
	return append(out, targets[pick+1:]...)
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) rand() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

func (r *Router) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type nopObserver struct{}

func (nopObserver) Attempt(string, time.Duration, error) {}
func (nopObserver) Retry(string, time.Duration)          {}
func (nopObserver) Failover(string, string)              {}
func (nopObserver) BreakerOpen(string)                   {}

// routedStream is the stream Router.Stream returns: it replays the first
// event, which the router read to decide the attempt, and reports failures
// after it to the target's breaker.
type routedStream struct {
	llm.Stream
	ctx      context.Context
	first    *llm.StreamEvent
	hasFirst bool

	router  *Router
	breaker *breaker
	target  string

	failed bool        // Next returned an error; owned by the reading goroutine
	closed atomic.Bool // Close was called, possibly from another goroutine
}

func (s *routedStream) Next() (llm.StreamEvent, error) {
	if s.hasFirst {
		s.hasFirst = false
		ev := *s.first
		s.first = nil
		return ev, nil
	}
	ev, err := s.Stream.Next()
	if err != nil && err != io.EOF && !s.failed {
		s.failed = true
		// A stream that breaks mid-way is the provider's failure, unless
		// the client went away or closed it.
		if oc := classify(s.ctx, err); !s.closed.Load() && (oc == outcomeRetry || oc == outcomeFailOver) {
			bpol := s.router.Breaker.withDefaults()
			if s.breaker.failure(s.router.now(), false, bpol) && s.router.Observer != nil {
				s.router.Observer.BreakerOpen(s.target)
			}
		}
	}
	return ev, err
}

// Buffered reports more than 0 while the replayed first event is pending,
// and otherwise what the provider's stream reports (0 if it does not
// implement Buffered). Like Next, it must be called from the goroutine
// reading the stream.
func (s *routedStream) Buffered() int {
	n := 0
	if b, ok := s.Stream.(llm.Bufferer); ok {
		n = b.Buffered()
	}
	if s.hasFirst {
		n += max(len(s.first.Raw), 1)
	}
	return n
}

func (s *routedStream) Close() error {
	s.closed.Store(true)
	return s.Stream.Close()
}
