package auditlog

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/prometheus/client_golang/prometheus"
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

// TestIndexAhead: while Tessera sequences a batch, the integrator writes
// the index rows of the records after it, so the next batch is handed
// over without writing them again; each row holds the receipt its
// appender returned, and every entry is integrated at its index.
func TestIndexAhead(t *testing.T) {
	reg := prometheus.NewRegistry()
	tl := openTestLog(t, func(c *Config) { c.BatchMaxSize, c.Registerer = 8, reg })
	ctx := context.Background()
	// Hold the first batch's hand-over until 10 more entries are
	// journaled, so that they are pending while Tessera has it.
	reached, release := make(chan struct{}), make(chan struct{})
	var batches atomic.Int32
	tl.testHooks.Store(&integrateHooks{add: func(add tessera.AddFn) tessera.AddFn {
		if batches.Add(1) == 1 {
			close(reached)
			<-release
		}
		return add
	}})
	var rs []Receipt
	r, err := tl.Append(ctx, decision(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	rs = append(rs, r)
	<-reached // the first batch is entry 0 alone
	for i := 1; i <= 10; i++ {
		r, err := tl.Append(ctx, decision(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	close(release)
	pol, _ := auditverify.NewPolicy(tl.vkey, nil, 0)
	src := auditverify.NewSource(filepath.Join(tl.dir, "log"), nil, nil)
	cp := waitCheckpoint(t, src, pol, 11)
	for i, r := range rs {
		if err := r.VerifyInclusion(ctx, src, cp); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
		rows, err := tl.index.AuditEntries(ctx, decision(i).RequestID)
		if err != nil || len(rows) != 1 || rows[0].LogIndex != uint64(i) || !bytes.Equal(rows[0].Receipt, r.Note) {
			t.Errorf("index row of entry %d: got %+v, %v; want one row with its receipt", i, rows, err)
		}
	}
	counts := map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "brightline_audit_integrate_seconds" {
			for _, m := range mf.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	// Batch 1 (entry 0) writes its row; entries 1-8, then 9-10, are
	// written ahead while Tessera has the batch before theirs.
	if counts["index"] != 1 || counts["index_ahead"] != 2 {
		t.Errorf("index writes: got %d inline and %d ahead, want 1 and 2", counts["index"], counts["index_ahead"])
	}
}
