package auditlog

import (
	"context"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
)

// BenchmarkIntegrateBatch measures the integrator on full batches of 4096
// journal records into a real Tessera POSIX log: each round journals a
// batch while the integrator is held, then times it until the tree holds
// the batch. It reports entries/s, and the hand-over of one batch to
// Tessera's Add (handover-ms), which must stay well within BatchMaxAge so
// that a batch is one Tessera flush. Time from the hand-over's start to
// the batch in the tree is batch-ms (ns/op includes the held integrator's
// backoff, so it is not the measure).
func BenchmarkIntegrateBatch(b *testing.B) {
	const batch = 4096
	ctx := context.Background()
	tl := openTestLog(b, func(c *Config) { c.MMD = time.Hour; c.Index = nil })
	var handover time.Duration
	var start time.Time // of the current round's hand-over
	wrap := func(add tessera.AddFn) tessera.AddFn {
		n := 0
		return func(ctx context.Context, e *tessera.Entry) tessera.IndexFuture {
			if n == 0 {
				start = time.Now()
			}
			f := add(ctx, e)
			if n++; n == batch {
				handover += time.Since(start)
			}
			return f
		}
	}
	tl.testHooks.Store(&integrateHooks{add: wrap})
	var busy time.Duration
	rounds := 0
	for b.Loop() {
		b.StopTimer()
		resume := stallIntegrator(tl)
		var last Receipt
		for i := range batch {
			r, err := tl.Append(ctx, decision(i), nil)
			if err != nil {
				b.Fatal(err)
			}
			last = r
		}
		b.StartTimer()
		resume()
		if err := tl.waitIntegrated(ctx, last.Index, false); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
		rounds++
	}
	b.ReportMetric(float64(busy.Microseconds())/1000/float64(rounds), "batch-ms")
	b.ReportMetric(float64(handover.Microseconds())/1000/float64(rounds), "handover-ms")
}
