package shadow

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/store"
)

// memStore is an in-memory store.ShadowResults with a failure hook.
type memStore struct {
	mu      sync.Mutex
	results []store.ShadowResult // guarded by mu
	changed chan struct{}        // guarded by mu: closed when results grow
	// Fail, if set, makes RecordShadowResult return its error.
	Fail func() error
}

var _ store.ShadowResults = (*memStore)(nil)

func (s *memStore) RecordShadowResults(_ context.Context, rs []store.ShadowResult) error {
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	if s.Fail != nil {
		if err := s.Fail(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		r.ID = int64(len(s.results) + 1)
		r.At = time.Now()
		s.results = append(s.results, r)
	}
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return nil
}

// changes returns a channel closed when results are next recorded.
func (s *memStore) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func (s *memStore) ShadowResults(_ context.Context, route string, since time.Time, limit int) ([]store.ShadowResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.ShadowResult{}
	for _, r := range slices.Backward(s.results) {
		if (route == "" || r.Route == route) && !r.At.Before(since) && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memStore) ScanShadowResults(_ context.Context, route string, since time.Time, fn func(store.ShadowResult)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.results {
		if (route == "" || r.Route == route) && !r.At.Before(since) {
			fn(r)
		}
	}
	return nil
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.results)
}

// waitResults waits until s holds n results, failing t after a generous
// deadline.
func waitResults(t *testing.T, s *memStore, n int) []store.ShadowResult {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		changed := s.changes() // before looking, so no change is missed
		if s.len() >= n {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %d shadow results, want %d", s.len(), n)
		}
	}
	got, _ := s.ShadowResults(context.Background(), "", time.Time{}, 0)
	return got
}

func newHTTP(t *testing.T, name, kind string, fake *fakeupstream.Server) provider.Provider {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	base := srv.URL
	if kind == provider.KindOpenAI {
		base += "/v1"
	}
	p, err := provider.NewHTTP(provider.HTTPConfig{Name: name, Kind: kind, BaseURL: base, APIKey: "sk-fake", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newMirror(t *testing.T, cfg Config) *Mirror {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// toolRequest is a request offering one tool, in canonical form.
func toolRequest(text string) *llm.Request {
	return &llm.Request{
		Model:     "claude-route",
		MaxTokens: 100,
		Stream:    true, // the mirror must not stream
		Messages:  []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}},
		Tools:     []llm.Tool{{Name: "lookup_weather", InputSchema: json.RawMessage(`{"type":"object"}`)}},
	}
}

// TestMirrorComparesDisagreeingUpstreams mirrors real requests between two
// fake upstreams that disagree on purpose, across dialects: the primary
// speaks Anthropic, the candidate OpenAI.
func TestMirrorComparesDisagreeingUpstreams(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name       string
		primary    *fakeupstream.Server // nil: a plain one
		candidate  *fakeupstream.Server // nil: a plain one
		primaryErr error                // replaces the primary's answer
		timeout    time.Duration        // 0: long
		want       store.ShadowResult
		wantSim    *float64
	}{
		{
			name: "both answer the same text",
			want: store.ShadowResult{PrimaryOK: true, CandidateOK: true, RefusalAgreement: &yes,
				Detail: store.ShadowDetail{PrimaryStop: "end_turn", CandidateStop: "end_turn"}},
			wantSim: ptr(1.0),
		},
		{
			name:      "primary answers text, candidate calls a tool",
			candidate: &fakeupstream.Server{Tool: &fakeupstream.ToolCall{Name: "lookup_weather", Arguments: `{"city":"Oslo"}`}},
			want: store.ShadowResult{PrimaryOK: true, CandidateOK: true, ToolAgreement: &no, RefusalAgreement: &yes,
				Detail: store.ShadowDetail{PrimaryStop: "end_turn", CandidateStop: "tool_use", CandidateTools: []string{"lookup_weather"}}},
			wantSim: ptr(0.0),
		},
		{
			name:      "both call the same tool",
			primary:   &fakeupstream.Server{Tool: &fakeupstream.ToolCall{Name: "lookup_weather", Arguments: `{"city":"Oslo"}`}},
			candidate: &fakeupstream.Server{Tool: &fakeupstream.ToolCall{Name: "lookup_weather", Arguments: `{"town":"Bergen"}`}},
			want: store.ShadowResult{PrimaryOK: true, CandidateOK: true, ToolAgreement: &yes, RefusalAgreement: &yes,
				Detail: store.ShadowDetail{PrimaryStop: "tool_use", CandidateStop: "tool_use",
					PrimaryTools: []string{"lookup_weather"}, CandidateTools: []string{"lookup_weather"}}},
			wantSim: ptr(1.0), // neither has any text
		},
		{
			name:      "candidate refuses",
			candidate: &fakeupstream.Server{Refuse: true},
			want: store.ShadowResult{PrimaryOK: true, CandidateOK: true, RefusalAgreement: &no,
				Detail: store.ShadowDetail{PrimaryStop: "end_turn", CandidateStop: "refusal"}},
		},
		{
			name:      "both refuse",
			primary:   &fakeupstream.Server{Refuse: true},
			candidate: &fakeupstream.Server{Refuse: true},
			want: store.ShadowResult{PrimaryOK: true, CandidateOK: true, RefusalAgreement: &yes,
				Detail: store.ShadowDetail{PrimaryStop: "refusal", CandidateStop: "refusal"}},
		},
		{
			name:      "candidate fails with 500",
			candidate: &fakeupstream.Server{Fail: func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 500} }},
			want: store.ShadowResult{PrimaryOK: true,
				Detail: store.ShadowDetail{PrimaryStop: "end_turn", CandidateError: "status 500"}},
		},
		{
			name:      "candidate is slower than the timeout",
			candidate: &fakeupstream.Server{Fail: func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Delay: time.Minute} }},
			timeout:   300 * time.Millisecond,
			want: store.ShadowResult{PrimaryOK: true,
				Detail: store.ShadowDetail{PrimaryStop: "end_turn", CandidateError: "timeout"}},
		},
		{
			name:       "primary failed, candidate answers",
			primaryErr: &llm.WireError{Status: 529, Type: "overloaded_error", Message: "Overloaded"},
			want: store.ShadowResult{CandidateOK: true,
				Detail: store.ShadowDetail{CandidateStop: "end_turn", PrimaryError: "status 529"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the slow candidate needs a short timeout; the others get
			// a long one so that a loaded machine cannot time them out.
			timeout := cmp.Or(tt.timeout, 20*time.Second)
			pfake, cfake := tt.primary, tt.candidate
			if pfake == nil {
				pfake = &fakeupstream.Server{}
			}
			if cfake == nil {
				cfake = &fakeupstream.Server{}
			}
			cfake.Record = true
			primary := newHTTP(t, "anthropic-up", provider.KindAnthropic, pfake)
			cand := newHTTP(t, "openai-up", provider.KindOpenAI, cfake)
			st := &memStore{}
			m := newMirror(t, Config{
				Candidates: map[string]Candidate{"claude-route": {Provider: cand, Model: "gpt-cand", Sample: 1}},
				Store:      st,
				Timeout:    timeout,
			})
			req := toolRequest("What is the weather in Oslo today?")
			preq := *req
			preq.Stream = false
			resp, err := primary.Complete(context.Background(), &provider.Call{Request: &preq})
			if err != nil {
				t.Fatalf("primary: %v", err)
			}
			if tt.primaryErr != nil {
				resp, err = nil, tt.primaryErr
			}
			m.Offer("claude-route", req, resp, err, 42*time.Millisecond)
			got := waitResults(t, st, 1)[0]

			if got.Route != "claude-route" || got.Candidate != "openai-up/gpt-cand" {
				t.Errorf("got route %q candidate %q, want claude-route and openai-up/gpt-cand", got.Route, got.Candidate)
			}
			if got.PrimaryLatency != 42*time.Millisecond {
				t.Errorf("PrimaryLatency: got %v, want 42ms as offered", got.PrimaryLatency)
			}
			if got.CandidateLatency <= 0 {
				t.Errorf("CandidateLatency: got %v, want > 0", got.CandidateLatency)
			}
			if got.Detail.CandidateError == "timeout" && got.CandidateLatency < timeout {
				t.Errorf("CandidateLatency of a timeout: got %v, want at least the timeout %v", got.CandidateLatency, timeout)
			}
			want := tt.want
			want.ID, want.At, want.Route, want.Candidate = got.ID, got.At, got.Route, got.Candidate
			want.PrimaryLatency, want.CandidateLatency = got.PrimaryLatency, got.CandidateLatency
			if tt.wantSim == nil {
				want.Similarity = got.Similarity
			} else {
				want.Similarity = tt.wantSim
			}
			if want.CandidateOK && want.PrimaryOK && got.Similarity == nil {
				t.Errorf("Similarity: got nil, want a value when both answered")
			}
			if !(want.CandidateOK && want.PrimaryOK) && got.Similarity != nil {
				t.Errorf("Similarity: got %v, want nil when a side failed", *got.Similarity)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%s\nwant\n%s", show(got), show(want))
			}

			// The candidate saw one non-streamed request for its own model,
			// and nothing followed it: its tool calls went nowhere.
			reqs := cfake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("candidate got %d requests, want 1", len(reqs))
			}
			var body struct {
				Model  string `json:"model"`
				Stream bool   `json:"stream"`
			}
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Model != "gpt-cand" || body.Stream {
				t.Errorf("candidate request: got model %q stream %v, want gpt-cand and false", body.Model, body.Stream)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// show prints a result with its pointers followed.
func show(r store.ShadowResult) string {
	p := func(v any) string {
		switch v := v.(type) {
		case *bool:
			if v != nil {
				return fmt.Sprint(*v)
			}
		case *float64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		}
		return "nil"
	}
	return fmt.Sprintf("ok %v/%v tool %s refusal %s sim %s detail %+v",
		r.PrimaryOK, r.CandidateOK, p(r.ToolAgreement), p(r.RefusalAgreement), p(r.Similarity), r.Detail)
}

// blocker is a provider whose calls wait until released or cancelled.
type blocker struct {
	started chan struct{} // receives once per call
	release chan struct{} // closed to let every call answer
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blocker) Name() string                { return "blocker" }
func (b *blocker) Dialect() brightline.Dialect { return "" }
func (b *blocker) Stream(context.Context, *provider.Call) (llm.Stream, error) {
	return nil, errors.New("not streaming")
}

func (b *blocker) Complete(ctx context.Context, call *provider.Call) (*llm.Response, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return &llm.Response{StopReason: llm.StopEndTurn, Content: []llm.Block{{Type: llm.BlockText, Text: "ok"}}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func textResponse(s string) *llm.Response {
	return &llm.Response{StopReason: llm.StopEndTurn, Content: []llm.Block{{Type: llm.BlockText, Text: s}}}
}

// TestOfferNeverBlocks fills the queue behind a candidate that does not
// answer and checks that further offers return at once and are counted as
// dropped, and that Close gives up on the stuck ones within its deadline.
func TestOfferNeverBlocks(t *testing.T) {
	b := newBlocker()
	st := &memStore{}
	reg := prometheus.NewRegistry()
	m := newMirror(t, Config{
		Candidates:   map[string]Candidate{"r": {Provider: b, Sample: 1}},
		Store:        st,
		Concurrency:  1,
		Queue:        2,
		Timeout:      time.Hour,
		DrainTimeout: 50 * time.Millisecond,
		Registerer:   reg,
	})
	req := toolRequest("hello")
	m.Offer("r", req, textResponse("hi"), nil, time.Millisecond)
	<-b.started // the only worker is now stuck

	const extra = 10
	done := make(chan struct{})
	go func() {
		for range extra {
			m.Offer("r", req, textResponse("hi"), nil, time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Offer blocked behind a full queue")
	}
	r := m.routes["r"]
	if got, want := value(r.queued), 3.0; got != want {
		t.Errorf("queued: got %v, want %v (one running, two waiting)", got, want)
	}
	if got, want := value(r.dropped), float64(extra-2); got != want {
		t.Errorf("dropped: got %v, want %v", got, want)
	}
	if got := value(m.m.offers.WithLabelValues("r", "dropped")); got != float64(extra-2) {
		t.Errorf("brightline_shadow_offers_total{outcome=dropped}: got %v, want %v", got, extra-2)
	}
	if got := gathered(t, reg, "brightline_shadow_queue_length"); got != 2 {
		t.Errorf("brightline_shadow_queue_length: got %v, want 2", got)
	}

	err := m.Close()
	if err == nil {
		t.Errorf("Close with stuck comparisons: got nil error, want one")
	}
	if got := value(r.abandoned); got != 3 {
		t.Errorf("abandoned: got %v, want 3", got)
	}
	if n := st.len(); n != 0 {
		t.Errorf("got %d results stored, want 0: abandoned comparisons are not samples", n)
	}
	m.Offer("r", req, textResponse("hi"), nil, time.Millisecond)
	if got := value(r.closed); got != 1 {
		t.Errorf("offers after Close: got %v counted, want 1", got)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseDrains checks that Close waits for queued comparisons.
func TestCloseDrains(t *testing.T) {
	b := newBlocker()
	st := &memStore{}
	m := newMirror(t, Config{
		Candidates:  map[string]Candidate{"r": {Provider: b, Sample: 1}},
		Store:       st,
		Concurrency: 2,
		Queue:       10,
	})
	const n = 6
	for range n {
		m.Offer("r", toolRequest("hello"), textResponse("ok"), nil, time.Millisecond)
	}
	close(b.release)
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, _ := st.ShadowResults(context.Background(), "r", time.Time{}, 0)
	if len(got) != n {
		t.Fatalf("got %d results after Close, want %d", len(got), n)
	}
	for _, r := range got {
		if !r.PrimaryOK || !r.CandidateOK || r.Similarity == nil || *r.Similarity != 1 {
			t.Errorf("got %s, want two identical answers", show(r))
		}
	}
}

func TestSampling(t *testing.T) {
	tests := []struct {
		rate     float64
		wantAll  bool // every offer reaches the queue
		wantNone bool
	}{
		{rate: 0, wantNone: true},
		{rate: 1, wantAll: true},
		{rate: 0.5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
			b := newBlocker()
			m := newMirror(t, Config{
				Candidates:   map[string]Candidate{"r": {Provider: b, Sample: tt.rate}},
				Store:        &memStore{},
				Queue:        5000,
				DrainTimeout: time.Millisecond,
			})
			const n = 2000
			for range n {
				m.Offer("r", toolRequest("x"), textResponse("y"), nil, 0)
				m.Offer("other-route", toolRequest("x"), textResponse("y"), nil, 0)
			}
			r := m.routes["r"]
			in, out := value(r.queued), value(r.sampled)
			if in+out != n || value(r.dropped) != 0 {
				t.Errorf("got %v sampled in, %v out, %v dropped; want %d in all, none dropped", in, out, value(r.dropped), n)
			}
			switch {
			case tt.wantAll && in != n, tt.wantNone && in != 0, !tt.wantAll && !tt.wantNone && (in == 0 || out == 0):
				t.Errorf("rate %v: got %v of %d sampled in", tt.rate, in, n)
			}
			if _, ok := m.routes["other-route"]; ok {
				t.Errorf("a route without a candidate got mirrored")
			}
		})
	}
}

func TestStoreFailureIsCounted(t *testing.T) {
	b := newBlocker()
	close(b.release)
	st := &memStore{Fail: func() error { return errors.New("disk full") }}
	m := newMirror(t, Config{Candidates: map[string]Candidate{"r": {Provider: b, Sample: 1}}, Store: st})
	m.Offer("r", toolRequest("x"), textResponse("y"), nil, 0)
	r := m.routes["r"]
	if err := m.Close(); err != nil { // waits for the comparison to be stored
		t.Fatal(err)
	}
	if got := value(r.failed); got != 1 {
		t.Errorf("failed: got %v, want 1", got)
	}
	if got := value(r.recorded); got != 0 {
		t.Errorf("recorded: got %v, want 0", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	b := newBlocker()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{}},
		{"no provider", Config{Store: &memStore{}, Candidates: map[string]Candidate{"r": {Sample: 1}}}},
		{"rate above 1", Config{Store: &memStore{}, Candidates: map[string]Candidate{"r": {Provider: b, Sample: 1.5}}}},
		{"negative rate", Config{Store: &memStore{}, Candidates: map[string]Candidate{"r": {Provider: b, Sample: -0.1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg)
			if err == nil {
				m.Close()
				t.Errorf("New: got nil error, want one")
			}
		})
	}
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// gathered returns the value of the unlabelled gauge name in reg, or -1.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}
