package subjects

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkObserve measures the subject-counting update, reported as
// identifiers per second (target: at least 1M/s on one core). Keys are
// derived beforehand: the HMAC belongs to detection, not to counting.
func BenchmarkObserve(b *testing.B) {
	const batch = 20
	pool := people(0, 1<<18, false)
	usPool := people(0, 1<<18, true)
	tests := []struct {
		name     string
		pool     []Subject
		distinct bool          // a new batch of people each request, or the same batch
		tick     time.Duration // clock advance per request, so buckets roll over
	}{
		{"repeated", pool, false, time.Second},
		{"distinct", pool, true, time.Second},
		{"distinct_us_person", usPool, true, time.Second},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			clk := newClock()
			c := &Counter{Now: clk.Now}
			var principals [8]string
			for i := range principals {
				principals[i] = "principal-" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := 0
				if tt.distinct {
					off = (i * batch) % (len(tt.pool) - batch)
				}
				c.Observe(principals[i&7], tt.pool[off:off+batch])
				clk.t = clk.t.Add(tt.tick) // single goroutine; no lock needed
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "ids/s")
		})
	}
}

// BenchmarkCounts measures reading all windows for a principal with dense
// sketches in every bucket: the worst case.
func BenchmarkCounts(b *testing.B) {
	tests := []struct {
		name      string
		perBucket int
	}{
		{"sparse_100_per_hour", 100},
		{"dense_20000_per_hour", 20_000},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			clk := newClock()
			c := &Counter{Now: clk.Now}
			pool := people(0, tt.perBucket, true)
			// Fill every fine bucket of the last day and every daily bucket
			// of the month: the same people each hour keeps setup fast
			// without changing the merge work.
			for h := 0; h < 31*24; h++ {
				c.Observe("p", pool)
				clk.Add(time.Hour)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Counts("p")
			}
		})
	}
}
