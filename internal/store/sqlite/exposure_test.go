package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// TestExposureTwoWriters adds the same buckets from two connections to one
// file, as two gateway processes would, and checks that no count is lost.
func TestExposureTwoWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "brightline.db")
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	const rounds = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	for _, db := range dbs {
		wg.Go(func() {
			for range rounds {
				errs <- db.AddExposure(ctx, []store.ExposureUsage{{PrincipalID: "key_a", Route: "r", Provider: "p", ProviderType: "openai",
					Model: "m", Hour: hour, Requests: 1, InputTokens: 2, Features: map[string]int64{"tools": 1}, LastUsed: hour}})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := dbs[0].ExposureTotals(ctx, store.ExposureFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Requests != 2*rounds || got[0].InputTokens != 4*rounds || got[0].Features["tools"] != 2*rounds {
		t.Fatalf("got %+v, want one total of %d requests, %d input tokens, %d tools", got, 2*rounds, 4*rounds, 2*rounds)
	}
}

// BenchmarkAddExposure measures one flush of 500 buckets, half of them
// already stored (so half insert and half add).
func BenchmarkAddExposure(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "brightline.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
