package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// fakeProvider answers from a script: the i-th call gets results[i] (the
// last one repeats). A nil error is a successful answer.
type fakeProvider struct {
	name    string
	dialect brightline.Dialect
	results []error
	// stream, if set, replaces the scripted Stream.
	stream func(ctx context.Context, call *Call) (llm.Stream, error)

	mu     sync.Mutex
	models []string // Request.Model of each call
	calls  atomic.Int32
}

func (f *fakeProvider) Name() string                { return f.name }
func (f *fakeProvider) Dialect() brightline.Dialect { return f.dialect }

func (f *fakeProvider) next(call *Call) error {
	n := int(f.calls.Add(1)) - 1
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models = append(f.models, call.Request.Model)
	if len(f.results) == 0 {
		return nil
	}
	return f.results[min(n, len(f.results)-1)]
}

func (f *fakeProvider) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	if err := f.next(call); err != nil {
		return nil, err
	}
	return &llm.Response{ID: "resp-" + f.name, Model: call.Request.Model, StopReason: llm.StopEndTurn,
		Content: []llm.Block{{Type: llm.BlockText, Text: "from " + f.name}}}, nil
}

func (f *fakeProvider) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	if f.stream != nil {
		f.calls.Add(1)
		return f.stream(ctx, call)
	}
	if err := f.next(call); err != nil {
		return nil, err
	}
	return NewSimulated(f.name).Stream(ctx, call)
}

// recorder is an Observer that logs events as strings.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) Attempt(target string, _ time.Duration, err error) {
	r.add(fmt.Sprintf("attempt %s ok=%v", target, err == nil))
}
func (r *recorder) Retry(target string, wait time.Duration) {
	r.add(fmt.Sprintf("retry %s %v", target, wait))
}
func (r *recorder) Failover(from, to string)  { r.add("failover " + from + " -> " + to) }
func (r *recorder) BreakerOpen(target string) { r.add("open " + target) }

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// sleeper records the waits a Router asks for without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func status(code int, retryAfter time.Duration) error {
	return &llm.WireError{Status: code, Type: "some_error", Message: "upstream says " + http.StatusText(code), RetryAfter: retryAfter}
}

var errConn = errors.New("dial tcp 10.0.0.1:443: connection refused")

func userRequest(model, text string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
}

func TestRouterRouting(t *testing.T) {
	a := &fakeProvider{name: "a", dialect: brightline.DialectAnthropic}
	b := &fakeProvider{name: "b", dialect: brightline.DialectOpenAI}
	c := &fakeProvider{name: "c", dialect: brightline.DialectOpenAI}
	r := &Router{Routes: []Route{
		{Model: "claude-*", Targets: []Target{{Provider: a}}},
		{Model: "claude-special", Targets: []Target{{Provider: b, Model: "gpt-x"}}},
		{Model: "claude-s*", Targets: []Target{{Provider: c}}},
		{Model: "gpt-4o", Targets: []Target{{Provider: b}}},
	}}
	tests := []struct {
		model                 string
		wantTarget, wantModel string
	}{
		{"claude-special", "b/gpt-x", "gpt-x"}, // exact wins over the earlier glob
		{"claude-sonnet", "a/claude-sonnet", "claude-sonnet"},
		{"gpt-4o", "b/gpt-4o", "gpt-4o"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			req := userRequest(tt.model, "hi")
			resp, served, err := r.Complete(context.Background(), req, nil)
			if err != nil {
				t.Fatal(err)
			}
			if served.Target != tt.wantTarget || resp.Model != tt.wantModel || served.Model != tt.wantModel {
				t.Errorf("got target %s, model %s (served %s), want %s, %s", served.Target, resp.Model, served.Model, tt.wantTarget, tt.wantModel)
			}
			if req.Model != tt.model {
				t.Errorf("caller's request model: got %q, want %q", req.Model, tt.model)
			}
		})
	}

	t.Run("unknown model", func(t *testing.T) {
		_, _, err := r.Complete(context.Background(), userRequest("llama", "hi"), nil)
		e, ok := errors.AsType[*brightline.Error](err)
		if !ok || e.Code != brightline.CodeNotFound {
			t.Fatalf("got %v, want a not_found *brightline.Error", err)
		}
		want := `model "llama" is not served by this gateway (GET /v1/models lists the models)`
		if e.Message != want {
			t.Errorf("got message %q, want %q", e.Message, want)
		}
	})

	t.Run("models", func(t *testing.T) {
		got := r.Models()
		want := []llm.Model{{ID: "claude-special", OwnedBy: "b"}, {ID: "gpt-4o", OwnedBy: "b"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}

func TestRouterRetries(t *testing.T) {
	type want struct {
		code     brightline.ErrorCode // "" for success
		from     string               // provider that answered
		calls    []int32              // calls per target
		waits    []time.Duration      // what Sleep was asked for
		retryAft time.Duration        // RetryAfter of the error
		msg      string               // substring of the error message
	}
	tests := []struct {
		name     string
		a, b     []error // scripts of the two targets
		maxRetry time.Duration
		want     want
	}{
		{
			name: "503 retried then success",
			a:    []error{status(503, 0), nil},
			want: want{from: "a", calls: []int32{2, 0}, waits: []time.Duration{50 * time.Millisecond}},
		},
		{
			name: "connection error retried",
			a:    []error{errConn, nil},
			want: want{from: "a", calls: []int32{2, 0}, waits: []time.Duration{50 * time.Millisecond}},
		},
		{
			name: "retry-after honoured exactly",
			a:    []error{status(429, 3*time.Second), nil},
			want: want{from: "a", calls: []int32{2, 0}, waits: []time.Duration{3 * time.Second}},
		},
		{
			name: "529 retried",
			a:    []error{status(529, 0), nil},
			want: want{from: "a", calls: []int32{2, 0}, waits: []time.Duration{50 * time.Millisecond}},
		},
		{
			name: "long retry-after fails over without waiting",
			a:    []error{status(503, time.Minute)},
			want: want{from: "b", calls: []int32{1, 1}},
		},
		{
			name:     "retry-after above a custom limit fails over",
			a:        []error{status(503, 2*time.Second)},
			maxRetry: time.Second,
			want:     want{from: "b", calls: []int32{1, 1}},
		},
		{
			name: "two failures fail over",
			a:    []error{status(500, 0)},
			want: want{from: "b", calls: []int32{2, 1}, waits: []time.Duration{50 * time.Millisecond}},
		},
		{
			name: "timeout fails over without retry",
			a:    []error{&TimeoutError{Provider: "a", Waiting: "response", After: time.Second}},
			want: want{from: "b", calls: []int32{1, 1}},
		},
		{
			name: "501 fails over without retry",
			a:    []error{status(501, 0)},
			want: want{from: "b", calls: []int32{1, 1}},
		},
		{
			name: "400 neither retried nor failed over",
			a:    []error{status(400, 0)},
			want: want{code: brightline.CodeInvalidRequest, calls: []int32{1, 0}, msg: "provider a rejected the request: upstream says Bad Request"},
		},
		{
			name: "422 is invalid request",
			a:    []error{status(422, 0)},
			want: want{code: brightline.CodeInvalidRequest, calls: []int32{1, 0}},
		},
		{
			name: "401 is the operator's problem",
			a:    []error{status(401, 0)},
			want: want{code: brightline.CodeUpstream, calls: []int32{1, 0}, msg: "provider a rejected the gateway's credentials"},
		},
		{
			name: "403 is the operator's problem",
			a:    []error{status(403, 0)},
			want: want{code: brightline.CodeUpstream, calls: []int32{1, 0}},
		},
		{
			name: "404 not found",
			a:    []error{status(404, 0)},
			want: want{code: brightline.CodeNotFound, calls: []int32{1, 0}, msg: "Not Found"},
		},
		{
			name: "413 too large",
			a:    []error{status(413, 0)},
			want: want{code: brightline.CodeTooLarge, calls: []int32{1, 0}},
		},
		{
			name: "all unavailable",
			a:    []error{status(503, 0)},
			b:    []error{status(529, 0)},
			want: want{code: brightline.CodeUnavailable, calls: []int32{2, 2}, retryAft: time.Second,
				waits: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond},
				msg:   `all 2 targets for model "m" failed; last error: upstream returned 529 (some_error)`},
		},
		{
			name: "all unavailable with a long retry-after",
			a:    []error{status(503, time.Minute)},
			b:    []error{status(503, 40*time.Second)},
			want: want{code: brightline.CodeUnavailable, calls: []int32{1, 1}, retryAft: 40 * time.Second},
		},
		{
			name: "all rate limited",
			a:    []error{status(429, time.Minute)},
			b:    []error{status(429, 30*time.Second)},
			want: want{code: brightline.CodeRateLimited, calls: []int32{1, 1}, retryAft: 30 * time.Second},
		},
		{
			name: "all time out",
			a:    []error{&TimeoutError{Provider: "a", Waiting: "response", After: time.Second}},
			b:    []error{&TimeoutError{Provider: "b", Waiting: "response", After: time.Second}},
			want: want{code: brightline.CodeTimeout, calls: []int32{1, 1}, msg: "upstream sent no response within 1s"},
		},
		{
			name: "all unreachable",
			a:    []error{errConn},
			b:    []error{errConn},
			want: want{code: brightline.CodeUpstream, calls: []int32{2, 2},
				waits: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, msg: "couldn't reach upstream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeProvider{name: "a", dialect: brightline.DialectAnthropic, results: tt.a}
			b := &fakeProvider{name: "b", dialect: brightline.DialectOpenAI, results: tt.b}
			sl := &sleeper{}
			r := &Router{
				Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b}}}},
				Retry:  RetryPolicy{MaxRetryAfter: tt.maxRetry},
				Sleep:  sl.Sleep,
				Rand:   func() float64 { return 0.5 },
			}
			resp, served, err := r.Complete(context.Background(), userRequest("m", "hi"), nil)
			if tt.want.code == "" {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if want := "from " + tt.want.from; resp.Content[0].Text != want {
					t.Errorf("got answer %q, want %q", resp.Content[0].Text, want)
				}
				if served.Provider != tt.want.from {
					t.Errorf("got served by %s, want %s", served.Provider, tt.want.from)
				}
			} else {
				e, ok := errors.AsType[*brightline.Error](err)
				if !ok {
					t.Fatalf("got %v, want a *brightline.Error", err)
				}
				if e.Code != tt.want.code {
					t.Errorf("got code %s, want %s (%v)", e.Code, tt.want.code, err)
				}
				if e.RetryAfter != tt.want.retryAft {
					t.Errorf("got RetryAfter %v, want %v", e.RetryAfter, tt.want.retryAft)
				}
				if !strings.Contains(e.Message, tt.want.msg) {
					t.Errorf("got message %q, want it to contain %q", e.Message, tt.want.msg)
				}
				if e.Err == nil {
					t.Errorf("got no underlying error")
				}
			}
			calls := []int32{a.calls.Load(), b.calls.Load()}
			if !slices.Equal(calls, tt.want.calls) {
				t.Errorf("got calls %v, want %v", calls, tt.want.calls)
			}
			if int(calls[0]+calls[1]) != served.Attempts {
				t.Errorf("got Served.Attempts %d, want %d", served.Attempts, calls[0]+calls[1])
			}
			if !slices.Equal(sl.waits, tt.want.waits) {
				t.Errorf("got waits %v, want %v", sl.waits, tt.want.waits)
			}
		})
	}
}

func TestRouterBackoff(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	tests := []struct {
		retry int
		rnd   float64
		want  time.Duration
	}{
		{1, 0.5, 50 * time.Millisecond},
		{2, 0.5, 100 * time.Millisecond},
		{3, 0.999, 399600 * time.Microsecond},
		{5, 1, time.Second}, // 1.6s capped
		{40, 0.5, 500 * time.Millisecond},
		{1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.retry, tt.rnd), func(t *testing.T) {
			if got := p.backoff(tt.retry, tt.rnd); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouterRetriesUpToMaxAttempts(t *testing.T) {
	a := &fakeProvider{name: "a", results: []error{status(502, 0)}}
	sl := &sleeper{}
	r := &Router{
		Routes:  []Route{{Model: "m", Targets: []Target{{Provider: a}}}},
		Retry:   RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 25 * time.Millisecond},
		Breaker: BreakerPolicy{FailureThreshold: -1},
		Sleep:   sl.Sleep,
		Rand:    func() float64 { return 0.5 },
	}
	_, _, err := r.Complete(context.Background(), userRequest("m", "hi"), nil)
	if brightline.ErrorCodeOf(err) != brightline.CodeUpstream {
		t.Fatalf("got %v, want upstream_error", err)
	}
	if got := a.calls.Load(); got != 4 {
		t.Errorf("got %d calls, want 4", got)
	}
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 12500 * time.Microsecond}
	if !slices.Equal(sl.waits, want) {
		t.Errorf("got waits %v, want %v", sl.waits, want)
	}
	if msg := err.(*brightline.Error).Message; !strings.HasPrefix(msg, `the target for model "m" failed`) {
		t.Errorf("got message %q, want the one-target form", msg)
	}
}

func TestRouterObserver(t *testing.T) {
	a := &fakeProvider{name: "a", results: []error{status(503, 0)}}
	b := &fakeProvider{name: "b", dialect: brightline.DialectOpenAI}
	rec := &recorder{}
	r := &Router{
		Routes:   []Route{{Model: "m", Targets: []Target{{Provider: a, Model: "x"}, {Provider: b}}}},
		Observer: rec,
		Sleep:    (&sleeper{}).Sleep,
		Rand:     func() float64 { return 0.5 },
	}
	if _, _, err := r.Complete(context.Background(), userRequest("m", "hi"), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"attempt a/x ok=false",
		"retry a/x 50ms",
		"attempt a/x ok=false",
		"failover a/x -> b/m",
		"attempt b/m ok=true",
	}
	if !slices.Equal(rec.events, want) {
		t.Errorf("got events\n%q\nwant\n%q", rec.events, want)
	}
}

func TestRouterCancel(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		a := &fakeProvider{name: "a", results: []error{status(503, 0)}}
		b := &fakeProvider{name: "b"}
		ctx, cancel := context.WithCancel(context.Background())
		r := &Router{
			Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b}}}},
			Sleep: func(ctx context.Context, d time.Duration) error {
				cancel()
				return ctx.Err()
			},
		}
		_, _, err := r.Complete(ctx, userRequest("m", "hi"), nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if a.calls.Load() != 1 || b.calls.Load() != 0 {
			t.Errorf("got calls %d, %d, want 1, 0", a.calls.Load(), b.calls.Load())
		}
	})
	t.Run("real sleep stops at cancel", func(t *testing.T) {
		a := &fakeProvider{name: "a", results: []error{status(503, 10*time.Second)}}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}}}}}
		start := time.Now()
		_, _, err := r.Complete(ctx, userRequest("m", "hi"), nil)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v, want the sleep to end with ctx", d)
		}
		if brightline.ErrorCodeOf(err) != brightline.CodeTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want upstream_timeout wrapping DeadlineExceeded", err)
		}
	})
	t.Run("cancel is no breaker failure", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		a := &fakeProvider{name: "a", results: []error{context.Canceled}}
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}}}}, Breaker: BreakerPolicy{FailureThreshold: 1}}
		for range 3 {
			r.Complete(ctx, userRequest("m", "hi"), nil)
		}
		if !r.breakers.get("a/m").idle() {
			t.Errorf("got breaker state changed by cancelled requests, want it untouched")
		}
	})
}

func TestRouterRefusalIsAnAnswer(t *testing.T) {
	refusing := &refuser{}
	b := &fakeProvider{name: "b"}
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: refusing}, {Provider: b}}}}}
	resp, _, err := r.Complete(context.Background(), userRequest("m", "hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != llm.StopRefusal || refusing.calls.Load() != 1 || b.calls.Load() != 0 {
		t.Errorf("got stop %s after %d+%d calls, want refusal after 1+0", resp.StopReason, refusing.calls.Load(), b.calls.Load())
	}
}

type refuser struct{ fakeProvider }

func (r *refuser) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	r.calls.Add(1)
	return &llm.Response{Model: call.Request.Model, StopReason: llm.StopRefusal}, nil
}

func TestRouterBreaker(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	a := &fakeProvider{name: "a", results: []error{status(503, 0)}}
	b := &fakeProvider{name: "b"}
	rec := &recorder{}
	r := &Router{
		Routes:   []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b}}}},
		Retry:    RetryPolicy{MaxAttempts: 1},
		Breaker:  BreakerPolicy{FailureThreshold: 3, Cooldown: 30 * time.Second},
		Observer: rec,
		Now:      clk.Now,
	}
	complete := func() string {
		t.Helper()
		resp, _, err := r.Complete(context.Background(), userRequest("m", "hi"), nil)
		if err != nil {
			t.Fatalf("got %v, want an answer", err)
		}
		return resp.Content[0].Text
	}
	steps := []struct {
		name    string
		advance time.Duration
		aHeals  bool   // a answers from this step on
		aCalls  int32  // total calls to a after the step
		opens   int    // BreakerOpen events so far
		from    string // who answered
	}{
		{name: "failure 1", aCalls: 1, from: "b"},
		{name: "failure 2", aCalls: 2, from: "b"},
		{name: "failure 3 opens", aCalls: 3, opens: 1, from: "b"},
		{name: "open: skipped", aCalls: 3, opens: 1, from: "b"},
		{name: "still open", advance: 29 * time.Second, aCalls: 3, opens: 1, from: "b"},
		{name: "half-open trial fails and reopens", advance: 2 * time.Second, aCalls: 4, opens: 2, from: "b"},
		{name: "reopened: skipped", advance: 10 * time.Second, aCalls: 4, opens: 2, from: "b"},
		{name: "half-open trial succeeds", advance: 21 * time.Second, aHeals: true, aCalls: 5, opens: 2, from: "a"},
		{name: "closed", aCalls: 6, opens: 2, from: "a"},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		if st.aHeals {
			a.mu.Lock()
			a.results = []error{nil}
			a.mu.Unlock()
		}
		got := complete()
		if got := a.calls.Load(); got != st.aCalls {
			t.Errorf("%s: got %d calls to a, want %d", st.name, got, st.aCalls)
		}
		if got := rec.count("open a/m"); got != st.opens {
			t.Errorf("%s: got %d BreakerOpen events, want %d", st.name, got, st.opens)
		}
		if want := "from " + st.from; got != want {
			t.Errorf("%s: got answer %q, want %q", st.name, got, want)
		}
	}
}

func TestRouterBreakerAllOpen(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	a := &fakeProvider{name: "a", results: []error{errConn}}
	b := &fakeProvider{name: "b", results: []error{errConn}}
	r := &Router{
		Routes:  []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b}}}},
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: BreakerPolicy{FailureThreshold: 2, Cooldown: 30 * time.Second},
		Now:     clk.Now,
	}
	for range 2 {
		r.Complete(context.Background(), userRequest("m", "hi"), nil)
	}
	clk.Add(10 * time.Second)
	_, served, err := r.Complete(context.Background(), userRequest("m", "hi"), nil)
	e, ok := errors.AsType[*brightline.Error](err)
	if !ok || e.Code != brightline.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	if e.RetryAfter != 20*time.Second {
		t.Errorf("got RetryAfter %v, want the remaining cooldown 20s", e.RetryAfter)
	}
	if !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("got %v, want it to wrap ErrBreakerOpen", err)
	}
	if served.Attempts != 0 || a.calls.Load() != 2 || b.calls.Load() != 2 {
		t.Errorf("got %d attempts (%d, %d calls), want 0 (2, 2)", served.Attempts, a.calls.Load(), b.calls.Load())
	}
}

func TestRouterBreakerIgnoresClientErrors(t *testing.T) {
	a := &fakeProvider{name: "a", results: []error{status(400, 0)}}
	r := &Router{
		Routes:  []Route{{Model: "m", Targets: []Target{{Provider: a}}}},
		Breaker: BreakerPolicy{FailureThreshold: 2},
	}
	for range 5 {
		r.Complete(context.Background(), userRequest("m", "hi"), nil)
	}
	if got := a.calls.Load(); got != 5 {
		t.Errorf("got %d calls, want 5: 400s must not open the breaker", got)
	}
}

func TestBreakerHalfOpenOneTrial(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	p := BreakerPolicy{FailureThreshold: 1, Cooldown: time.Minute}
	var b breaker
	if !b.failure(now, false, p) {
		t.Fatal("got closed after a failure at threshold 1, want open")
	}
	if ok, _, wait := b.allow(now.Add(time.Second), p); ok || wait != 59*time.Second {
		t.Errorf("open: got ok=%v wait=%v, want false 59s", ok, wait)
	}
	later := now.Add(2 * time.Minute)
	ok1, trial1, _ := b.allow(later, p)
	ok2, _, _ := b.allow(later, p)
	if !ok1 || !trial1 || ok2 {
		t.Fatalf("half-open: got (%v, trial %v), %v, want one trial only", ok1, trial1, ok2)
	}
	b.release(true) // the trial ended with a 4xx: give the slot back
	ok3, trial3, _ := b.allow(later, p)
	if !ok3 || !trial3 {
		t.Fatalf("after release: got %v trial %v, want a new trial", ok3, trial3)
	}
	if b.failure(later, false, p) {
		t.Errorf("got a stale non-trial failure reopening the breaker, want no change")
	}
	b.success()
	if !b.idle() {
		t.Errorf("got breaker not closed after a successful trial")
	}
}

// errStream fails its first Next with err.
type errStream struct{ err error }

func (s errStream) Next() (llm.StreamEvent, error) { return llm.StreamEvent{}, s.err }
func (s errStream) Close() error                   { return nil }

func TestRouterStream(t *testing.T) {
	t.Run("failure before the first event fails over", func(t *testing.T) {
		a := &fakeProvider{name: "a", stream: func(ctx context.Context, call *Call) (llm.Stream, error) {
			return errStream{&llm.WireError{Type: "overloaded_error", Message: "Overloaded"}}, nil
		}}
		b := &fakeProvider{name: "b"}
		rec := &recorder{}
		r := &Router{
			Routes:   []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b}}}},
			Retry:    RetryPolicy{MaxAttempts: 1},
			Observer: rec,
		}
		s, served, err := r.Stream(context.Background(), userRequest("m", "hi there"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if served.Provider != "b" || served.Attempts != 2 {
			t.Errorf("got served by %s after %d attempts, want b after 2", served.Provider, served.Attempts)
		}
		text, _, err := collect(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := "[simulated] You said: hi there"; text != want {
			t.Errorf("got %q, want %q", text, want)
		}
		if rec.count("failover a/m -> b/m") != 1 {
			t.Errorf("got events %q, want one failover", rec.events)
		}
	})
	t.Run("empty stream is a failure", func(t *testing.T) {
		a := &fakeProvider{name: "a", stream: func(ctx context.Context, call *Call) (llm.Stream, error) {
			return errStream{io.EOF}, nil
		}}
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}}}}, Sleep: (&sleeper{}).Sleep}
		_, _, err := r.Stream(context.Background(), userRequest("m", "hi"), nil)
		if brightline.ErrorCodeOf(err) != brightline.CodeUpstream || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, want upstream_error wrapping io.ErrUnexpectedEOF", err)
		}
		if got := a.calls.Load(); got != 2 {
			t.Errorf("got %d calls, want 2 (retried)", got)
		}
	})
	t.Run("error response before the stream", func(t *testing.T) {
		a := &fakeProvider{name: "a", results: []error{status(400, 0)}}
		r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}}}}}
		_, _, err := r.Stream(context.Background(), userRequest("m", "hi"), nil)
		if brightline.ErrorCodeOf(err) != brightline.CodeInvalidRequest {
			t.Errorf("got %v, want invalid_request", err)
		}
	})
}

// collect reads a stream to its end and returns its text, its events and
// the error that ended it (nil for io.EOF).
func collect(s llm.Stream) (string, []llm.StreamEvent, error) {
	var b strings.Builder
	var evs []llm.StreamEvent
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return b.String(), evs, nil
		}
		if err != nil {
			return b.String(), evs, err
		}
		evs = append(evs, ev)
		if ev.Type == llm.EventTextDelta {
			b.WriteString(ev.Text)
		}
	}
}

func TestRouterConcurrent(t *testing.T) {
	flaky := &flakyProvider{name: "flaky"}
	sim := NewSimulated("sim")
	r := &Router{
		Routes: []Route{
			{Model: "m", Targets: []Target{{Provider: flaky}, {Provider: sim}}},
			{Model: "s-*", Targets: []Target{{Provider: sim}}},
		},
		Breaker:  BreakerPolicy{FailureThreshold: 3, Cooldown: time.Millisecond},
		Observer: &recorder{},
		Sleep:    func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				model := "m"
				if i%3 == 0 {
					model = fmt.Sprintf("s-%d", g)
				}
				req := userRequest(model, fmt.Sprintf("hello %d %d", g, i))
				if i%2 == 0 {
					if _, _, err := r.Complete(context.Background(), req, nil); err != nil {
						t.Error(err)
					}
					continue
				}
				s, _, err := r.Stream(context.Background(), req, nil)
				if err != nil {
					t.Error(err)
					continue
				}
				if _, _, err := collect(s); err != nil {
					t.Error(err)
				}
				s.Close()
			}
		})
	}
	wg.Wait()
}

// flakyProvider fails every other call.
type flakyProvider struct {
	name string
	n    atomic.Int64
}

func (f *flakyProvider) Name() string                { return f.name }
func (f *flakyProvider) Dialect() brightline.Dialect { return "" }
func (f *flakyProvider) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	if f.n.Add(1)%2 == 0 {
		return nil, status(503, 0)
	}
	return NewSimulated(f.name).Complete(ctx, call)
}
func (f *flakyProvider) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	if f.n.Add(1)%2 == 0 {
		return nil, errConn
	}
	return NewSimulated(f.name).Stream(ctx, call)
}

// brokenStream sends a start event, then fails with err.
type brokenStream struct {
	sent bool
	err  error
}

func (s *brokenStream) Next() (llm.StreamEvent, error) {
	if !s.sent {
		s.sent = true
		return llm.StreamEvent{Type: llm.EventStart, ID: "msg_1"}, nil
	}
	return llm.StreamEvent{}, s.err
}
func (s *brokenStream) Close() error { return nil }

func TestRouterStreamBreakMidwayCountsForBreaker(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		close    bool // the client closes the stream before reading on
		wantOpen bool
	}{
		{"stream error event", &llm.WireError{Type: "overloaded_error", Message: "Overloaded"}, false, true},
		{"connection cut", io.ErrUnexpectedEOF, false, true},
		{"client closed", errStreamClosed, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeProvider{name: "a", stream: func(ctx context.Context, call *Call) (llm.Stream, error) {
				return &brokenStream{err: tt.err}, nil
			}}
			rec := &recorder{}
			r := &Router{
				Routes:   []Route{{Model: "m", Targets: []Target{{Provider: a}}}},
				Breaker:  BreakerPolicy{FailureThreshold: 1},
				Observer: rec,
			}
			s, _, err := r.Stream(context.Background(), userRequest("m", "hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev, err := s.Next(); err != nil || ev.Type != llm.EventStart {
				t.Fatalf("got %v, %v, want the replayed start event", ev.Type, err)
			}
			if tt.close {
				s.Close()
			}
			if _, err := s.Next(); err == nil || err == io.EOF {
				t.Fatalf("got %v, want the stream's error", err)
			}
			if got := rec.count("open a/m") == 1; got != tt.wantOpen {
				t.Errorf("got breaker opened %v (events %q), want %v", got, rec.events, tt.wantOpen)
			}
		})
	}
}
