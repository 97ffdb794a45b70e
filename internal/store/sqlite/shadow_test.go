package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
)

func benchShadowResult(i int) store.ShadowResult {
	agree, sim := i%3 != 0, float64(i%10)/10
	return store.ShadowResult{
		Route:            fmt.Sprintf("route-%d", i%4),
		Candidate:        "openai/gpt-5",
		PrimaryOK:        true,
		CandidateOK:      i%20 != 0,
		PrimaryLatency:   time.Duration(100+i%50) * time.Millisecond,
		CandidateLatency: time.Duration(120+i%70) * time.Millisecond,
		ToolAgreement:    &agree,
		RefusalAgreement: &agree,
		Similarity:       &sim,
		Detail:           store.ShadowDetail{PrimaryStop: "tool_use", CandidateStop: "tool_use", PrimaryTools: []string{"lookup"}, CandidateTools: []string{"lookup"}},
	}
}

// BenchmarkRecordShadowResult measures the shadow worker's write, with the
// store's durable (fsync per commit) settings.
func BenchmarkRecordShadowResult(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			batch := make([]store.ShadowResult, n)
			for i := range batch {
				batch[i] = benchShadowResult(i)
			}
			for b.Loop() {
				if err := db.RecordShadowResults(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/result")
		})
	}
}

// BenchmarkShadowSummaries measures a transition plan's read: one route's
// summary over 10,000 of its 40,000 results.
func BenchmarkShadowSummaries(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Setup only: skip the per-commit fsync.
	if _, err := db.write.Exec(`PRAGMA synchronous = OFF`); err != nil {
		b.Fatal(err)
	}
	batch := make([]store.ShadowResult, 40000)
	for i := range batch {
		batch[i] = benchShadowResult(i)
	}
	if err := db.RecordShadowResults(ctx, batch); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sums, err := shadow.Stats{Store: db}.ShadowSummaries(ctx, "route-1", time.Time{})
		if err != nil || len(sums) != 1 || sums[0].Samples != 10000 {
			b.Fatalf("got %+v, %v; want one summary of 10000 samples", sums, err)
		}
	}
}
