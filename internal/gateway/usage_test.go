package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// touchRecorder is a KeyToucher that records its calls and fails while
// fail is set.
type touchRecorder struct {
	mu    sync.Mutex
	calls [][]string
	fail  error
}

func (r *touchRecorder) TouchKeys(_ context.Context, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, slices.Clone(ids))
	return r.fail
}

func TestUsageBatcher(t *testing.T) {
	ctx := context.Background()
	var u UsageBatcher // the zero value is ready
	rec := &touchRecorder{}

	if err := u.Flush(ctx, rec); err != nil {
		t.Fatalf("Flush with nothing marked: %v", err)
	}
	if len(rec.calls) != 0 {
		t.Fatalf("Flush with nothing marked: got %d TouchKeys calls, want 0", len(rec.calls))
	}

	for _, id := range []string{"key_b", "key_a", "key_b", "key_c", "key_a"} {
		u.Mark(id)
	}
	rec.fail = errors.New("disk full")
	if err := u.Flush(ctx, rec); !errors.Is(err, rec.fail) {
		t.Fatalf("failing Flush: got %v, want %v", err, rec.fail)
	}
	u.Mark("key_d") // marked between a failed and a successful flush
	rec.fail = nil
	if err := u.Flush(ctx, rec); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if err := u.Flush(ctx, rec); err != nil {
		t.Fatalf("Flush after a successful flush: %v", err)
	}

	want := [][]string{
		{"key_a", "key_b", "key_c"},
		{"key_a", "key_b", "key_c", "key_d"},
	}
	if fmt.Sprint(rec.calls) != fmt.Sprint(want) {
		t.Errorf("TouchKeys calls: got %v, want %v", rec.calls, want)
	}
}

func TestUsageBatcherConcurrent(t *testing.T) {
	var u UsageBatcher
	rec := &touchRecorder{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				u.Mark(fmt.Sprintf("key_%d_%d", g, i%10))
				if i%25 == 0 {
					if err := u.Flush(context.Background(), rec); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := u.Flush(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range rec.calls {
		for _, id := range c {
			seen[id] = true
		}
	}
	if len(seen) != 40 {
		t.Errorf("distinct ids flushed: got %d, want 40", len(seen))
	}
}
