package exposure

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// memSink is a Sink that sums what it is given, like a store would, with a
// failure hook.
type memSink struct {
	mu      sync.Mutex
	fail    error // returned by AddExposure when set
	batches int
	rows    map[string]store.ExposureUsage // by principal/route/provider/model/hour
}

func (s *memSink) AddExposure(ctx context.Context, usage []store.ExposureUsage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, u := range usage {
		if err := u.Validate(); err != nil {
			return err
		}
	}
	s.batches++
	if s.rows == nil {
		s.rows = make(map[string]store.ExposureUsage)
	}
	for _, u := range usage {
		k := fmt.Sprintf("%s/%s/%s/%s/%d", u.PrincipalID, u.Route, u.Provider, u.Model, u.Hour.Unix())
		old, ok := s.rows[k]
		if ok {
			mergeUsage(&old, &u)
			u = old
		}
		u.Features = maps.Clone(u.Features)
		s.rows[k] = u
	}
	return nil
}

func (s *memSink) totals() (requests, in, out int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.rows {
		requests += u.Requests
		in += u.InputTokens
		out += u.OutputTokens
	}
	return
}

func (s *memSink) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func use(principal, model string, at time.Time, features ...string) Use {
	return Use{PrincipalID: principal, PrincipalName: "name-" + principal, Route: model, Provider: "anthropic",
		ProviderType: "anthropic", Model: model, InputTokens: 10, OutputTokens: 3, Features: features, At: at}
}

func TestRecorderAggregates(t *testing.T) {
	sink := &memSink{}
	r := NewRecorder(sink, func() time.Time { return t0.Add(5 * time.Minute) })
	r.Record(use("key_a", "claude-x", t0.Add(time.Minute), FeatureTools, FeatureStreaming))
	r.Record(use("key_a", "claude-x", t0.Add(59*time.Minute), FeatureTools))
	r.Record(use("key_a", "claude-x", t0.Add(60*time.Minute)))     // the next hour
	r.Record(use("key_a", "claude-x", time.Time{}, FeatureImages)) // stamped by the clock
	r.Record(use("key_b", "claude-x", t0))
	r.Record(Use{Route: "claude-x", Provider: "p", Model: "m"}) // no principal: ignored
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key      string
		requests int64
		features map[string]int64
		last     time.Time
	}{
		{fmt.Sprintf("key_a/claude-x/anthropic/claude-x/%d", t0.Unix()), 3, map[string]int64{FeatureTools: 2, FeatureStreaming: 1, FeatureImages: 1}, t0.Add(59 * time.Minute)},
		{fmt.Sprintf("key_a/claude-x/anthropic/claude-x/%d", t0.Add(time.Hour).Unix()), 1, nil, t0.Add(time.Hour)},
		{fmt.Sprintf("key_b/claude-x/anthropic/claude-x/%d", t0.Unix()), 1, nil, t0},
	}
	if len(sink.rows) != len(tests) {
		t.Fatalf("got %d rows, want %d: %v", len(sink.rows), len(tests), sink.rows)
	}
	for _, tt := range tests {
		g, ok := sink.rows[tt.key]
		if !ok {
			t.Errorf("no row %s", tt.key)
			continue
		}
		if g.Requests != tt.requests || g.InputTokens != 10*tt.requests || g.OutputTokens != 3*tt.requests {
			t.Errorf("%s: got %d requests, %d in, %d out; want %d, %d, %d", tt.key, g.Requests, g.InputTokens, g.OutputTokens, tt.requests, 10*tt.requests, 3*tt.requests)
		}
		if !maps.Equal(g.Features, tt.features) {
			t.Errorf("%s: got features %v, want %v", tt.key, g.Features, tt.features)
		}
		if !g.LastUsed.Equal(tt.last) {
			t.Errorf("%s: got last used %v, want %v", tt.key, g.LastUsed, tt.last)
		}
		if g.PrincipalName == "" || g.ProviderType != "anthropic" {
			t.Errorf("%s: got name %q, type %q", tt.key, g.PrincipalName, g.ProviderType)
		}
	}
	// A second flush with nothing new writes nothing.
	if err := r.Flush(context.Background()); err != nil || sink.batches != 1 {
		t.Errorf("empty flush: got %v and %d batches, want nil and 1", err, sink.batches)
	}
}

func TestRecorderKeepsUsageWhenFlushFails(t *testing.T) {
	sink := &memSink{}
	r := NewRecorder(sink, nil)
	r.Record(use("key_a", "claude-x", t0, FeatureTools))
	sink.setFail(errors.New("disk full"))
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("flush into a failing sink: got no error")
	}
	r.Record(use("key_a", "claude-x", t0.Add(time.Minute), FeatureTools)) // same bucket, recorded meanwhile
	r.Record(use("key_c", "claude-x", t0))
	sink.setFail(nil)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if req, in, out := sink.totals(); req != 3 || in != 30 || out != 9 {
		t.Errorf("got %d requests, %d in, %d out; want 3, 30, 9", req, in, out)
	}
	k := fmt.Sprintf("key_a/claude-x/anthropic/claude-x/%d", t0.Unix())
	if g := sink.rows[k]; g.Requests != 2 || g.Features[FeatureTools] != 2 || !g.LastUsed.Equal(t0.Add(time.Minute)) {
		t.Errorf("merged bucket: got %+v, want 2 requests, 2 tools, last used %v", g, t0.Add(time.Minute))
	}
}

func TestRecorderConcurrent(t *testing.T) {
	sink := &memSink{}
	r := NewRecorder(sink, nil)
	const workers, each = 8, 500
	ctx := context.Background()
	// One use before the start, so that the first flush, which fails, has
	// something to put back.
	r.Record(use("key_0", "claude-x", t0, FeatureTools))
	const total = workers*each + 1
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Record(use(fmt.Sprintf("key_%d", w%3), "claude-x", t0.Add(time.Duration(i)*time.Minute), FeatureTools))
			}
		})
	}
	// Flush while recording, with some flushes failing.
	flushErrs := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			if i%3 == 0 {
				sink.setFail(errors.New("busy"))
			} else {
				sink.setFail(nil)
			}
			if r.Flush(ctx) != nil {
				flushErrs++
			}
		}
	}()
	wg.Wait()
	<-done
	sink.setFail(nil)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if req, in, _ := sink.totals(); req != total || in != 10*total {
		t.Errorf("got %d requests and %d input tokens, want %d and %d", req, in, total, 10*total)
	}
	var tools int64
	for _, u := range sink.rows {
		tools += u.Features[FeatureTools]
	}
	if tools != total {
		t.Errorf("got %d tool uses, want %d", tools, total)
	}
	if flushErrs == 0 {
		t.Error("no flush failed; the test did not exercise the retry path")
	}
}

func TestRecorderRunFlushesAtEnd(t *testing.T) {
	sink := &memSink{}
	r := NewRecorder(sink, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, time.Hour) }()
	r.Record(use("key_a", "claude-x", t0))
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if req, _, _ := sink.totals(); req != 1 {
		t.Errorf("after Run ended: got %d requests stored, want 1", req)
	}
}

// TestRecorderRunFlushesPeriodically: Run flushes on each tick of its
// interval, not before. It runs in a synctest bubble, so the interval
// passes in virtual time.
func TestRecorderRunFlushesPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		r := NewRecorder(sink, nil)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- r.Run(ctx, time.Minute) }()
		r.Record(use("key_a", "claude-x", t0))
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if req, _, _ := sink.totals(); req != 0 {
			t.Errorf("before the first tick: got %d requests stored, want 0", req)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if req, _, _ := sink.totals(); req != 1 {
			t.Errorf("after the first tick: got %d requests stored, want 1", req)
		}
		r.Record(use("key_a", "claude-x", t0))
		time.Sleep(time.Minute)
		synctest.Wait()
		if req, _, _ := sink.totals(); req != 2 {
			t.Errorf("after the second tick: got %d requests stored, want 2", req)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestRecorderBounded(t *testing.T) {
	sink := &memSink{}
	r := NewRecorder(sink, nil)
	for i := range MaxBuckets + 5 {
		r.Record(use(fmt.Sprintf("key_%d", i), "claude-x", t0))
	}
	r.Record(use("key_0", "claude-x", t0)) // an existing bucket still counts
	if got := r.Dropped(); got != 5 {
		t.Errorf("got %d dropped, want 5", got)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if req, _, _ := sink.totals(); req != MaxBuckets+1 {
		t.Errorf("got %d requests, want %d", req, MaxBuckets+1)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(&memSink{}, nil)
	features := []string{FeatureTools, FeatureStreaming, FeatureSystem}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Record(Use{PrincipalID: "key_01JABCDEFGHJKMNPQRSTVWXYZ0", PrincipalName: "ops", Route: "claude-sonnet-4-5",
				Provider: "anthropic", ProviderType: "anthropic", Model: "claude-sonnet-4-5", InputTokens: 1200, OutputTokens: 300,
				Features: features, At: t0.Add(time.Duration(i%60) * time.Minute)})
			i++
		}
	})
}
