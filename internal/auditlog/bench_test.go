package auditlog

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures durable appends (sequenced, integrated and
// indexed in SQLite) from many concurrent callers, as a busy gateway makes
// them. It reports appends/s and the p50 and p99 Append latency.
func BenchmarkAppend(b *testing.B) {
	for _, callers := range []int{2, 32, 256, 1024} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			par := max(1, callers/runtime.GOMAXPROCS(0))
			tl := openTestLog(b, nil)
			ctx := context.Background()
			c, err := Commit([]byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`))
			if err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(par)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				i := 0
				for pb.Next() {
					e := decision(i)
					i++
					t0 := time.Now()
					if _, err := tl.Append(ctx, e, &c); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "appends/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkEntryMarshal measures the canonical encoding of a decision.
func BenchmarkEntryMarshal(b *testing.B) {
	e := decision(3)
	e.Time = time.Now()
	for b.Loop() {
		if _, err := e.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit measures committing to a small JSON request body.
func BenchmarkCommit(b *testing.B) {
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"Summarise the shipping schedule for next week."}]}`)
	for b.Loop() {
		if _, err := Commit(body); err != nil {
			b.Fatal(err)
		}
	}
}
