package auditlog

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/tlog"
)

// stallIntegrator makes every integration attempt fail until the
// returned func is called, so that appends meanwhile are integrated
// as one batch.
func stallIntegrator(tl *testLog) (resume func()) {
	stalled := errors.New("integrator held by the test")
	fault := func() error { return stalled }
	tl.integrateFault.Store(&fault)
	return func() { tl.integrateFault.Store(nil) }
}

// failFrom wraps add so that, in the first batch only, the entries from
// position k on get a pushback and never reach Tessera, as Tessera's own
// decorators fail an entry (pushback, size limit) without sequencing it.
// skipOnly fails only position k, so that the entries after it are
// sequenced one place early: a hole.
func failFrom(k int, skipOnly bool, batches *atomic.Int32) func(tessera.AddFn) tessera.AddFn {
	return func(add tessera.AddFn) tessera.AddFn {
		first := batches.Add(1) == 1
		i := 0
		return func(ctx context.Context, e *tessera.Entry) tessera.IndexFuture {
			pos := i
			i++
			if first && (pos == k || pos > k && !skipOnly) {
				return func() (tessera.Index, error) { return tessera.Index{}, tessera.ErrPushback }
			}
			return add(ctx, e)
		}
	}
}

// TestIntegrateRecovers: a transient failure on Tessera's side of a
// batch (pushback for all or part of it, an unreadable tree size) is
// retried from where Tessera actually got to: no entry is handed over
// twice, none is skipped, and the log works on, every entry at its
// receipt's index.
func TestIntegrateRecovers(t *testing.T) {
	const n = 40
	for _, tc := range []struct {
		name  string
		hooks func(calls *atomic.Int32) *integrateHooks
	}{
		{"pushback for the whole batch", func(c *atomic.Int32) *integrateHooks {
			return &integrateHooks{add: failFrom(0, false, c)}
		}},
		{"pushback part way through the batch", func(c *atomic.Int32) *integrateHooks {
			return &integrateHooks{add: failFrom(n/2, false, c)}
		}},
		{"tree size unreadable after the batch", func(c *atomic.Int32) *integrateHooks {
			return &integrateHooks{size: func() error {
				if c.Add(1) == 1 {
					return errors.New("slow disk: couldn't read the tree state")
				}
				return nil
			}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tl := openTestLog(t, nil)
			resume := stallIntegrator(tl)
			receipts := make([]Receipt, n)
			for i := range receipts {
				r, err := tl.Append(ctx, decision(i), nil)
				if err != nil {
					t.Fatalf("append %d: %v", i, err)
				}
				receipts[i] = r
			}
			var calls atomic.Int32
			tl.testHooks.Store(tc.hooks(&calls))
			resume()

			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := tl.waitIntegrated(wctx, n-1, false); err != nil {
				t.Fatalf("waiting for %d entries after a transient failure: %v", n, err)
			}
			if calls.Load() == 0 {
				t.Fatal("the failure was never injected")
			}
			st := tl.Status()
			if st.Size != n || st.Degraded != "" || st.LastError == "" {
				t.Errorf("status: got size %d, degraded %q, last error %q; want %d, not degraded, the failure as history", st.Size, st.Degraded, st.LastError, n)
			}
			b, err := tl.reader.ReadEntryBundle(ctx, 0, layout.PartialTileSize(0, 0, n))
			if err != nil {
				t.Fatalf("reading the entry bundle: %v", err)
			}
			var eb entryBundle
			if err := eb.parse(b); err != nil || len(eb) != n {
				t.Fatalf("entry bundle: got %d entries (%v), want %d", len(eb), err, n)
			}
			for i, r := range receipts {
				if got := tlog.RecordHash(eb[i]); got != r.LeafHash || r.Index != uint64(i) {
					t.Errorf("entry %d: got leaf %x, want the receipt's %x at index %d", i, got, r.LeafHash, r.Index)
				}
			}
			r, err := tl.Append(ctx, decision(n), nil)
			if err != nil {
				t.Fatalf("append after recovering: %v", err)
			}
			if err := tl.waitIntegrated(wctx, r.Index, false); err != nil || r.Index != n {
				t.Errorf("append after recovering: got index %d (%v), want %d integrated", r.Index, err, n)
			}
		})
	}
}

// TestIntegrateFailsClosedOnHole: when one entry of a batch fails and the
// ones after it are sequenced anyway (one place early), the tree no
// longer matches the receipts: integration stops for good and appends are
// refused with ErrBehind, instead of counting the missing entry as
// integrated.
func TestIntegrateFailsClosedOnHole(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	resume := stallIntegrator(tl)
	for i := range 10 {
		if _, err := tl.Append(ctx, decision(i), nil); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	var calls atomic.Int32
	tl.testHooks.Store(&integrateHooks{add: failFrom(3, true, &calls)})
	resume()

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := tl.waitIntegrated(wctx, 9, false)
	if err == nil || !strings.Contains(err.Error(), "integration stopped") {
		t.Fatalf("waiting past a hole: got %v, want integration stopped", err)
	}
	if _, err := tl.Append(ctx, decision(10), nil); !errors.Is(err, ErrBehind) {
		t.Errorf("append after a hole: got %v, want ErrBehind", err)
	}
	if st := tl.Status(); !strings.Contains(st.Degraded, "integration stopped") || st.Size > 3 {
		t.Errorf("status after a hole: got size %d, degraded %q; want at most the 3 entries before it, integration stopped", st.Size, st.Degraded)
	}
}
