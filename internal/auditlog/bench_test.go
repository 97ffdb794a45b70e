package auditlog

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// BenchmarkAppend measures durable appends from many concurrent callers,
// as a busy gateway makes them, with each release mode: journal (durable
// in the journal, receipt signed; the integrator moves entries into
// Tessera and the SQLite index meanwhile) and sequenced (also integrated
// and indexed before Append returns). It reports appends/s and the p50
// and p99 Append latency.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		release string
		callers int
	}{
		{ReleaseJournal, 2}, {ReleaseJournal, 32}, {ReleaseJournal, 256}, {ReleaseJournal, 1024},
		{ReleaseSequenced, 2}, {ReleaseSequenced, 32}, {ReleaseSequenced, 256}, {ReleaseSequenced, 1024},
	} {
		b.Run(fmt.Sprintf("release=%s/callers=%d", bc.release, bc.callers), func(b *testing.B) {
			callers := bc.callers
			par := max(1, callers/runtime.GOMAXPROCS(0))
			// A long MMD: this measures appends; the integrator's lag at
			// the end is reported as drain-ms (with the default MMD of 1s,
			// appends are refused once it passes).
			tl := openTestLog(b, func(c *Config) { c.Release = bc.release; c.MMD = time.Hour })
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
			drain := time.Now()
			tl.mu.Lock()
			next := tl.journalNext
			tl.mu.Unlock()
			if err := tl.waitIntegrated(ctx, next-1, false); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(drain).Milliseconds()), "drain-ms")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "appends/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkJournal measures the journal alone: concurrent appenders whose
// records are group-committed (one write and one fsync per group), with
// no integration behind it. It reports records/s.
func BenchmarkJournal(b *testing.B) {
	for _, callers := range []int{1, 32, 256, 1024} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			j, _, err := openJournal(b.TempDir(), 0, 64<<20, time.Now, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			j.durable = func([]*journalRecord) {}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { j.run(stop, func(error) {}, func() {}); close(done) }()
			defer func() { close(stop); <-done }()
			e := decision(1)
			e.Time = time.Now()
			entry, err := e.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := journalReq{recs: []*journalRecord{{entry: entry, index: store.AuditRecord{RequestID: e.RequestID, Kind: e.Kind}}}, done: make(chan error, 1)}
					j.reqs <- req
					if err := <-req.done; err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
		})
	}
}

// BenchmarkEntryMarshal measures the canonical encoding of a decision:
// Marshal (written directly) and the reference path it replaced
// (json.Marshal, then RFC 8785 canonicalisation).
func BenchmarkEntryMarshal(b *testing.B) {
	e := decision(3)
	e.Time = time.Now()
	e.Commitment = strings.Repeat("ab", 32)
	for _, bc := range []struct {
		name    string
		marshal func() ([]byte, error)
	}{{"direct", e.Marshal}, {"jcs", e.marshalJCS}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
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
