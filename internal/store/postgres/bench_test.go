package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/pgtest"
)

// The benchmarks mirror internal/store/sqlite's (same names, same data),
// so that the two stores' figures compare side by side:
//
//	go test -run '^$' -bench . ./internal/store/sqlite/ ./internal/store/postgres/

// openBench opens a fresh database for b.
func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPrincipalByKeyHash measures the per-request authentication
// lookup against a store holding 10,000 keys.
func BenchmarkPrincipalByKeyHash(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	const n = 10000
	hashes := make([][32]byte, n)
	rows := make([][]any, n)
	for i := range hashes {
		plain, hash, err := brightline.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("key_%05d", i)
		hashes[i] = hash
		rows[i] = []any{id, hash[:], brightline.DisplayPrefix(plain), id, "", "acme", "benchmark", `["user","approver"]`, int64(0)}
	}
	// Setup only: one COPY rather than 10,000 commits.
	if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{"keys"},
		[]string{"id", "hash", "prefix", "name", "person", "org", "purpose", "roles", "created_at"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE keys`); err != nil {
		b.Fatal(err)
	}

	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := db.PrincipalByKeyHash(ctx, hashes[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := db.PrincipalByKeyHash(ctx, hashes[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
	b.Run("unknown", func(b *testing.B) {
		_, unknown, err := brightline.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := db.PrincipalByKeyHash(ctx, unknown); err == nil {
				b.Fatal("unknown key found")
			}
		}
	})
}

// BenchmarkAddExposure measures one flush of 500 buckets, half of them
// already stored (so half insert and half add).
func BenchmarkAddExposure(b *testing.B) {
	db := openBench(b)
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	batch := func(n int) []store.ExposureUsage {
		var out []store.ExposureUsage
		for i := range 500 {
			out = append(out, store.ExposureUsage{PrincipalID: fmt.Sprintf("key_%03d", i), Route: "claude-*", Provider: "anthropic",
				ProviderType: "anthropic", Model: "claude-x", Hour: hour.Add(time.Duration(n+i%2) * time.Hour), Requests: 10,
				InputTokens: 1000, OutputTokens: 100, Features: map[string]int64{"tools": 3, "streaming": 10}, LastUsed: hour})
		}
		return out
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := db.AddExposure(context.Background(), batch(n)); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

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

// BenchmarkRecordShadowResult measures the shadow worker's write, durable
// (fsync per commit).
func BenchmarkRecordShadowResult(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
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
	db := openBench(b)
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

// BenchmarkRecordAuditEntries measures the audit log's index write per
// batch, durable: every answered request adds a few entries.
func BenchmarkRecordAuditEntries(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			var next uint64
			if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(log_index) + 1, 0) FROM audit_index`).Scan(&next); err != nil {
				b.Fatal(err)
			}
			recs := make([]store.AuditRecord, n)
			for b.Loop() {
				for i := range recs {
					recs[i] = store.AuditRecord{LogIndex: next, RequestID: fmt.Sprint("req_", next/3), Kind: "decision", Stage: "request",
						Salt: make([]byte, 72), Body: make([]byte, 600)}
					next++
				}
				if err := db.RecordAuditEntries(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
		})
	}
}

// BenchmarkConsumeApproval measures the compare-and-swap a held tool call
// runs when its approval token comes back: create, approve and consume,
// timed for the consume only.
func BenchmarkConsumeApproval(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	i := 0
	for b.Loop() {
		b.StopTimer()
		id := fmt.Sprintf("apr_%d", i)
		i++
		a := approvalFor(id)
		a.Principal = brightline.Principal{ID: "key_agent", Name: "agent"}
		if _, err := db.CreateApproval(ctx, a, time.Hour, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := db.UpdateApproval(ctx, id, func(a *approval.Approval, now time.Time) error {
			a.Status, a.DecidedAt = approval.StatusApproved, &now
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := db.ConsumeApproval(ctx, id, a.ArgsDigest, testUpstream); err != nil {
			b.Fatal(err)
		}
	}
}
