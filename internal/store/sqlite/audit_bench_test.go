package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/storetest"
)

// BenchmarkRecordAuditEntries measures the audit log's index write as the
// log runs it: batches of 1,024 rows, durable (synchronous=FULL, so one
// fsync per batch), under a context with a deadline (the driver watches
// such a context on every statement it runs). Half the rows open a
// commitment (a 16-32 byte salt and a ~300 byte JSON body), half carry
// none; every row has a version 2 receipt of a journal group of 16
// (about 800 bytes in its header form, of which the group's signed note is
// 300: the store keeps that once per group and batch).
//
// Besides rows/s it reports the process's CPU time per row, user+system
// (cpu-ns/row) and user only (user-ns/row), where the platform tells: the
// wall time includes the fsync, which depends on the disk and on whatever
// else uses it, and the system time is mostly the WAL's writes. Run with a
// fixed -benchtime (e.g. 40x) to compare: each batch makes the database,
// and so the request_id index a batch dirties, bigger: with random IDs
// (ids=random) the cost per row keeps growing with the table.
func BenchmarkRecordAuditEntries(b *testing.B) {
	// The gateway's request IDs begin with the time (gateway.newRequestID),
	// so a batch's rows land at the right edge of the request_id index.
	// Random IDs, as before, dirty leaf pages all over it.
	b.Run("ids=ordered", func(b *testing.B) {
		benchmarkRecordAuditEntries(b, func(rng *rand.Rand, n uint64) string {
			return fmt.Sprintf("req_%012x%020x", n, rng.Uint64())
		})
	})
	b.Run("ids=random", func(b *testing.B) {
		benchmarkRecordAuditEntries(b, func(rng *rand.Rand, n uint64) string {
			return fmt.Sprintf("req_%016x%016x", rng.Uint64(), rng.Uint64())
		})
	})
}

func benchmarkRecordAuditEntries(b *testing.B, requestID func(rng *rand.Rand, n uint64) string) {
	const batch = 1024
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	db, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	signer := storetest.Signer(b)
	var receipts [][]byte
	for first := 0; first < batch; first += 16 {
		receipts = append(receipts, storetest.GroupReceipts(b, signer, uint64(first), 16)...)
	}
	recs := make([]store.AuditRecord, batch)
	for i := range recs {
		r := store.AuditRecord{Kind: "decision", Stage: "request", Receipt: receipts[i]}
		if i%2 == 0 {
			r.Salt = make([]byte, 16+rng.IntN(17))
			for j := range r.Salt {
				r.Salt[j] = byte(rng.Uint32())
			}
			r.Body = fmt.Appendf(nil, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise ticket %d for the on-call engineer, in three bullet points, and say whether it needs a page."}],"temperature":0.2,"max_tokens":512,"user":"%s"}`,
				rng.IntN(1e6), "key_"+strconv.Itoa(i%7))
		}
		recs[i] = r
	}

	var next uint64
	user0, sys0, cpuOK := processCPU()
	for b.Loop() {
		for i := range recs {
			recs[i].LogIndex = next
			recs[i].RequestID = requestID(rng, next)
			next++
		}
		if err := db.RecordAuditEntries(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "rows/s")
	if user1, sys1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(user1-user0+sys1-sys0)/float64(next), "cpu-ns/row")
		b.ReportMetric(float64(user1-user0)/float64(next), "user-ns/row")
	}
}
