package exposure

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// MaxBuckets bounds the aggregates a [Recorder] holds between flushes. A
// bucket is one principal, route, provider, model and hour, so a gateway
// reaches it only if flushes keep failing; further uses are then counted
// in [Recorder.Dropped] instead of growing memory without limit.
const MaxBuckets = 100_000

// Sink is where a [Recorder] writes its aggregates; [store.Exposure]
// implements it. See [store.Exposure.AddExposure] for the contract.
type Sink interface {
	AddExposure(ctx context.Context, usage []store.ExposureUsage) error
}

// Recorder aggregates [Use]s in memory and writes them to a [Sink] in
// batches. It is safe for concurrent use.
type Recorder struct {
	// Log receives the errors of Run's periodic flushes; nil discards them.
	Log *slog.Logger

	sink Sink
	now  func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*store.ExposureUsage // guarded by mu

	dropped atomic.Int64
}

type bucketKey struct {
	principal, route, provider, model string
	hour                              int64 // Unix seconds of the hour's start
}

// NewRecorder returns a Recorder writing to sink. now stamps uses whose At
// is zero; nil means time.Now.
func NewRecorder(sink Sink, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{sink: sink, now: now, buckets: make(map[bucketKey]*store.ExposureUsage)}
}

// Record adds u to its hour's aggregate. It takes a short lock and never
// waits for storage. A use without a principal, route, provider or model
// is ignored: there is nothing to attribute it to.
func (r *Recorder) Record(u Use) {
	if u.PrincipalID == "" || u.Route == "" || u.Provider == "" || u.Model == "" {
		return
	}
	at := u.At
	if at.IsZero() {
		at = r.now()
	}
	hour := at.Truncate(time.Hour)
	k := bucketKey{u.PrincipalID, u.Route, u.Provider, u.Model, hour.Unix()}

	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[k]
	if b == nil {
		if len(r.buckets) >= MaxBuckets {
			r.dropped.Add(1)
			return
		}
		b = &store.ExposureUsage{
			PrincipalID: u.PrincipalID, Route: u.Route, Provider: u.Provider, Model: u.Model,
			Hour: hour.UTC(), LastUsed: at,
		}
		r.buckets[k] = b
	}
	if u.PrincipalName != "" {
		b.PrincipalName = u.PrincipalName
	}
	if u.ProviderType != "" {
		b.ProviderType = u.ProviderType
	}
	b.Requests++
	b.InputTokens += max(u.InputTokens, 0)
	b.OutputTokens += max(u.OutputTokens, 0)
	if at.After(b.LastUsed) {
		b.LastUsed = at
	}
	for _, f := range u.Features {
		if f == "" {
			continue
		}
		if b.Features == nil {
			b.Features = make(map[string]int64, len(u.Features))
		}
		b.Features[f]++
	}
}

// Dropped returns how many uses were not recorded because [MaxBuckets]
// aggregates were waiting to be flushed.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush writes the aggregates recorded since the last successful flush in
// one AddExposure call. If the write fails the aggregates are kept, merged
// with whatever was recorded meanwhile, for the next Flush, and the error
// is returned. Record and Flush may be called at any time, from any
// goroutine: a use is written by exactly one successful Flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	taken := r.buckets
	r.buckets = make(map[bucketKey]*store.ExposureUsage, len(taken))
	r.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	batch := make([]store.ExposureUsage, 0, len(taken))
	for _, b := range taken {
		batch = append(batch, *b)
	}
	// A stable order makes the write deterministic and lets concurrent
	// writers (several replicas) take row locks in the same order.
	slices.SortFunc(batch, compareUsage)
	if err := r.sink.AddExposure(ctx, batch); err != nil {
		r.mu.Lock()
		for k, old := range taken {
			if cur := r.buckets[k]; cur != nil {
				mergeUsage(old, cur)
			}
			r.buckets[k] = old
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

// mergeUsage adds the newer aggregate src into dst, both of one bucket.
func mergeUsage(dst, src *store.ExposureUsage) {
	if src.PrincipalName != "" {
		dst.PrincipalName = src.PrincipalName
	}
	if src.ProviderType != "" {
		dst.ProviderType = src.ProviderType
	}
	dst.Requests += src.Requests
	dst.InputTokens += src.InputTokens
	dst.OutputTokens += src.OutputTokens
	if src.LastUsed.After(dst.LastUsed) {
		dst.LastUsed = src.LastUsed
	}
	for f, n := range src.Features {
		if dst.Features == nil {
			dst.Features = make(map[string]int64)
		}
		dst.Features[f] += n
	}
}

func compareUsage(a, b store.ExposureUsage) int {
	for _, c := range [...][2]string{{a.PrincipalID, b.PrincipalID}, {a.Route, b.Route}, {a.Provider, b.Provider}, {a.Model, b.Model}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return a.Hour.Compare(b.Hour)
}

// flushTimeout bounds the last flush when Run's context ends.
const flushTimeout = 10 * time.Second

// DefaultInterval is how often Run flushes when given no interval.
const DefaultInterval = time.Minute

// Run flushes every interval (DefaultInterval if interval <= 0) until ctx
// is done, then flushes once more with a fresh deadline of a few seconds,
// and returns that last flush's error. Errors of periodic flushes are
// logged and retried at the next tick.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			defer cancel()
			return r.Flush(fctx)
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				if r.Log != nil {
					r.Log.ErrorContext(ctx, "exposure: flushing usage", "err", err)
				}
			}
		}
	}
}
