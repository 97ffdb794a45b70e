package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"
)

// testJournal runs a journal in dir until the test ends.
type testJournal struct {
	*journal
	pending []*journalRecord // what openJournal recovered
	stop    func()
}

func openTestJournal(t *testing.T, dir string, integrated uint64, segmentBytes int64) (*testJournal, error) {
	t.Helper()
	j, pending, err := openJournal(dir, integrated, segmentBytes, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	j.durable = func([]*journalRecord) {}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { j.run(stop, func(error) {}, func() {}); close(done) }()
	var once bool
	tj := &testJournal{journal: j, pending: pending, stop: func() {
		if !once {
			once = true
			close(stop)
			<-done
		}
	}}
	t.Cleanup(tj.stop)
	return tj, nil
}

func (j *testJournal) append(t *testing.T, i int) *journalRecord {
	t.Helper()
	e := decision(i)
	e.Time = time.Unix(1700000000, 0)
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rec := &journalRecord{entry: b, leaf: tlog.RecordHash(b), index: store.AuditRecord{RequestID: e.RequestID, Kind: e.Kind, Stage: e.Stage}}
	if i%2 == 0 {
		rec.index.Salt, rec.index.Body = []byte("salt"), []byte(fmt.Sprintf(`{"n":%d}`, i))
	}
	req := journalReq{recs: []*journalRecord{rec}, done: make(chan error, 1)}
	j.reqs <- req
	if err := <-req.done; err != nil {
		t.Fatalf("journal append %d: %v", i, err)
	}
	return rec
}

func TestJournalRecordRoundTrip(t *testing.T) {
	for _, salt := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		r := &journalRecord{seq: 1<<40 + 3, time: time.UnixMicro(1700000000123456).UTC(), entry: []byte(`{"v":1}`),
			index: store.AuditRecord{RequestID: "req_1", Kind: KindDecision, Stage: "request"}}
		if salt != nil {
			r.index.Salt, r.index.Body = salt, []byte{}
		}
		b := r.encode(nil)
		got, n, err := decodeRecord(append(b, 0xff))
		if err != nil || n != len(b) {
			t.Fatalf("decode: got %d, %v; want %d bytes", n, err, len(b))
		}
		if got.seq != r.seq || !got.time.Equal(r.time) || !bytes.Equal(got.entry, r.entry) || got.index.RequestID != "req_1" ||
			got.index.LogIndex != r.seq || !bytes.Equal(got.index.Salt, salt) || (salt != nil) != (got.index.Body != nil) {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
		for cut := range len(b) {
			if _, _, err := decodeRecord(b[:cut]); !errors.Is(err, errBadRecord) {
				t.Fatalf("record cut to %d of %d bytes: got %v, want errBadRecord", cut, len(b), err)
			}
		}
		b[len(b)-1] ^= 1
		if _, _, err := decodeRecord(b); !errors.Is(err, errBadRecord) {
			t.Errorf("flipped bit: got %v, want errBadRecord", err)
		}
	}
}

// TestJournalRecovery: a torn tail is cut and its sequence numbers reused;
// a bad record followed by good ones is an error, never skipped; records
// the tree already holds are not handed back.
// recordsEnd is where the intact records at the start of segment b end:
// the zeros the journal fills ahead of them follow.
func recordsEnd(b []byte) int {
	off := 0
	for {
		_, n, err := decodeRecord(b[off:])
		if err != nil {
			return off
		}
		off += n
	}
}

func TestJournalRecovery(t *testing.T) {
	write := func(t *testing.T, n int) (string, string) {
		dir := t.TempDir()
		j, err := openTestJournal(t, dir, 0, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if got := j.append(t, i).seq; got != uint64(i) {
				t.Fatalf("record %d got sequence number %d", i, got)
			}
		}
		j.stop()
		return dir, filepath.Join(dir, segmentName(0))
	}

	t.Run("torn tail", func(t *testing.T) {
		for _, torn := range []func(b []byte) []byte{
			func(b []byte) []byte { return b[:len(b)-3] },                                // a partial last record
			func(b []byte) []byte { return append(b, 0, 0, 0) },                          // a partial header
			func(b []byte) []byte { return append(b, make([]byte, 4096)...) },            // zeros
			func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-1] ^= 0x40; return c }, // a corrupt last record
			func(b []byte) []byte { // a partial last record in zero-filled space
				return append(bytes.Clone(b[:len(b)-3]), make([]byte, journalFill)...)
			},
		} {
			dir, seg := write(t, 10)
			filled, _ := os.ReadFile(seg)
			if len(filled)%journalFill != 0 || !allZero(filled[recordsEnd(filled):]) {
				t.Fatalf("segment of %d bytes with records to %d: want them followed by zeros to a multiple of %d", len(filled), recordsEnd(filled), journalFill)
			}
			b := filled[:recordsEnd(filled)]
			os.WriteFile(seg, torn(b), 0o644)
			j, err := openTestJournal(t, dir, 4, 64<<20)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			want := uint64(10)
			if len(torn(b)) < len(b) || !bytes.HasPrefix(torn(b), b) {
				want = 9 // the last record was torn
			}
			if len(j.pending) != int(want-4) || j.pending[0].seq != 4 || j.next != want {
				t.Fatalf("recovered %d records from %d, next %d; want %d from 4, next %d", len(j.pending), j.pending[0].seq, j.next, want-4, want)
			}
			if got := j.append(t, 99).seq; got != want {
				t.Errorf("append after recovery: got sequence number %d, want %d", got, want)
			}
			j.stop()
			if _, err := openTestJournal(t, dir, 4, 64<<20); err != nil {
				t.Errorf("second reopen: %v", err)
			}
		}
	})

	t.Run("filled segment before the last", func(t *testing.T) {
		// The tree is ahead of the journal's last segment, whose zero
		// fill stays: the journal starts a new segment after it, and
		// the old one's zeros are its end, not damage.
		dir, _ := write(t, 10)
		j, err := openTestJournal(t, dir, 12, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		if got := j.append(t, 12).seq; got != 12 {
			t.Fatalf("append: got sequence number %d, want 12", got)
		}
		j.stop()
		j, err = openTestJournal(t, dir, 12, 64<<20)
		if err != nil {
			t.Fatalf("reopen with a zero-filled segment before the last: %v", err)
		}
		if len(j.pending) != 1 || j.next != 13 {
			t.Errorf("recovered %d records, next %d; want 1, next 13", len(j.pending), j.next)
		}
	})

	t.Run("corrupt middle", func(t *testing.T) {
		dir, seg := write(t, 10)
		b, _ := os.ReadFile(seg)
		b[journalHeader+3] ^= 1 // inside the first record's payload
		os.WriteFile(seg, b, 0o644)
		_, err := openTestJournal(t, dir, 0, 64<<20)
		if err == nil || !strings.Contains(err.Error(), "refusing to skip") {
			t.Errorf("corrupt first record: got %v, want a refusal to skip it", err)
		}
	})

	t.Run("missing records", func(t *testing.T) {
		dir, _ := write(t, 10)
		// The tree has 3 entries; the journal resumes at 0: fine. A tree
		// of 12 entries is ahead of a journal of 10: also fine (they are
		// in the tree). Now drop the segment and start one at 20 while
		// the tree holds 12: records 12 to 19 are lost.
		if _, err := openTestJournal(t, dir, 12, 64<<20); err != nil {
			t.Fatalf("tree ahead of the journal: %v", err)
		}
		dir2 := t.TempDir()
		seg20 := filepath.Join(dir2, segmentName(20))
		r := &journalRecord{seq: 20, time: time.Now(), entry: []byte("x")}
		os.WriteFile(seg20, r.encode(nil), 0o644)
		_, err := openTestJournal(t, dir2, 12, 64<<20)
		if err == nil || !strings.Contains(err.Error(), "lost") {
			t.Errorf("gap between tree and journal: got %v, want records lost", err)
		}
	})
}

// TestJournalSegments: past the segment size a new segment starts, and
// segments whose records are all integrated are deleted, the active one
// never.
func TestJournalSegments(t *testing.T) {
	dir := t.TempDir()
	j, err := openTestJournal(t, dir, 0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		j.append(t, i)
	}
	n := j.segmentCount()
	if n < 5 {
		t.Fatalf("100 records in 1 KiB segments: got %d segments, want several", n)
	}
	// The zero fill stops at the segment's size.
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	for _, p := range segs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 2048 {
			t.Errorf("segment %s: %d bytes, want at most a group past 1 KiB", p, fi.Size())
		}
	}
	j.prune(50)
	if got := j.segmentCount(); got >= n || got < 2 {
		t.Errorf("after pruning below 50: got %d segments, want fewer than %d and some left", got, n)
	}
	j.prune(100)
	if got := j.segmentCount(); got != 1 {
		t.Errorf("after pruning everything: got %d segments, want the active one", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	if len(files) != 1 {
		t.Errorf("segment files left: %v, want one", files)
	}
	j.stop()
	j2, err := openTestJournal(t, dir, 100, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(j2.pending) != 0 || j2.next != 100 {
		t.Errorf("reopened: %d pending, next %d; want 0, 100", len(j2.pending), j2.next)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestReceipts: Append's receipt verifies with the log's public key alone,
// is stored with the index row, and its entry is in the tree at its index.
func TestReceipts(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	var rs []Receipt
	for i := range 20 {
		c, err := Commit([]byte(fmt.Sprintf(`{"i":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := tl.Append(ctx, decision(i), &c)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	pol, _ := auditverify.NewPolicy(tl.vkey, nil, 0)
	src := auditverify.NewSource(filepath.Join(tl.dir, "log"), nil, nil)
	cp := waitCheckpoint(t, src, pol, 20)
	for i, r := range rs {
		got, err := auditverify.ParseReceipt(r.Encode(), pol.Log)
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if got.Index != uint64(i) || got.Origin != testOrigin || got.MMD != time.Second || got.LeafHash != r.LeafHash || !got.Time.Equal(r.Time) {
			t.Errorf("receipt %d: got %+v", i, got)
		}
		if err := got.VerifyInclusion(ctx, src, cp); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		recs, err := tl.index.AuditEntries(ctx, decision(i).RequestID)
		if err != nil || len(recs) != 1 || !bytes.Equal(recs[0].Receipt, r.Note) {
			t.Errorf("index row of entry %d: got %+v, %v; want the receipt", i, recs, err)
		}
	}
	// A receipt moved to another index does not verify: the signature
	// covers the index, and the tree holds another entry there.
	moved := &journalRecord{seq: 4, leaf: rs[3].LeafHash, time: rs[3].Time}
	ns, err := tl.receipts(newReceiptGroup([]*journalRecord{moved}), []*journalRecord{moved})
	if err != nil {
		t.Fatal(err)
	}
	if err := ns[0].VerifyInclusion(ctx, src, cp); err == nil {
		t.Error("receipt for entry 3's hash at index 4: got nil, want an inclusion error")
	}
	forged := strings.Replace(string(rs[3].Note), "\n3\n", "\n4\n", 1)
	if _, err := auditverify.ParseReceipt(forged, pol.Log); err == nil {
		t.Error("receipt with its index edited: got nil, want a signature or proof error")
	}
	other, _ := auditverify.NewPolicy(newVKey(t), nil, 0)
	if _, err := auditverify.ParseReceipt(rs[0].Encode(), other.Log); err == nil {
		t.Error("receipt checked with another log's key: got nil, want an error")
	}
	late := Receipt{Origin: testOrigin, Index: 1000, Time: rs[0].Time, MMD: time.Second}
	if err := late.VerifyInclusion(ctx, src, cp); !errors.Is(err, auditverify.ErrNotIncluded) {
		t.Errorf("receipt beyond the checkpoint: got %v, want ErrNotIncluded", err)
	}
}

func newVKey(t *testing.T) string {
	_, vkey, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

// TestBehindMMD: while the integrator cannot integrate, appends are
// journaled until the oldest waiting record is older than the MMD; then
// they are refused and Status is degraded, until integration works again.
// Time is an injected clock.
func TestBehindMMD(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	tl := openTestLog(t, func(c *Config) { c.Now = clock.Now; c.Registerer = reg })
	stalled := errors.New("tessera is stalled")
	fault := func() error { return stalled }
	tl.integrateFault.Store(&fault)

	r, err := tl.Append(ctx, decision(0), nil)
	if err != nil {
		t.Fatalf("append within the MMD: %v", err)
	}
	clock.Add(999 * time.Millisecond)
	if _, err := tl.Append(ctx, decision(1), nil); err != nil {
		t.Fatalf("append at 999ms: %v", err)
	}
	if st := tl.Status(); st.Degraded != "" || st.Lag != 2 || st.LagAge != 999*time.Millisecond || st.JournalSize != 2 || st.Size != 0 {
		t.Errorf("status within the MMD: got %+v, want ok with 2 entries 999ms behind", st)
	}
	if got := gauges(t, reg); got["brightline_audit_integration_lag_entries"] != 2 || got["brightline_audit_integration_lag_seconds"] != 0.999 || got["brightline_audit_journal_size"] != 2 {
		t.Errorf("lag metrics: got %v, want 2 entries 0.999s behind, journal size 2", got)
	}
	clock.Add(2 * time.Millisecond)
	if _, err := tl.Append(ctx, decision(2), nil); !errors.Is(err, ErrBehind) {
		t.Errorf("append past the MMD: got %v, want ErrBehind", err)
	}
	st := tl.Status()
	if !strings.Contains(st.Degraded, "MMD") || st.LastError == "" {
		t.Errorf("status past the MMD: got %+v, want degraded naming the MMD, with a last error", st)
	}

	tl.integrateFault.Store(nil)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tl.waitIntegrated(wctx, r.Index+1, false); err != nil {
		t.Fatal(err)
	}
	st = tl.Status()
	if st.Degraded != "" || st.Lag != 0 || st.Size != 2 || st.LastError == "" {
		t.Errorf("status after catching up: got %+v, want ok, no lag, the last error kept as history", st)
	}
	// The batch that caught up waited 1.001s for the integrator, then
	// had its index rows written and was sequenced; failed attempts are
	// not counted.
	phases := histograms(t, reg, "brightline_audit_integrate_seconds", "phase")
	if q := phases["queued"]; q.count != 1 || q.sum != 1.001 {
		t.Errorf("queued phase: got %d batches, %gs in all; want 1 batch that waited 1.001s", q.count, q.sum)
	}
	for _, p := range []string{"index", "tessera"} {
		if phases[p].count != 1 {
			t.Errorf("%s phase: got %d batches, want 1", p, phases[p].count)
		}
	}
	if r, err := tl.Append(ctx, decision(3), nil); err != nil || r.Index != 2 {
		t.Errorf("append after catching up: got %d, %v; want index 2", r.Index, err)
	}
}

type histogram struct {
	count uint64
	sum   float64
}

// histograms reads the histogram name in reg by the value of its label.
func histograms(t *testing.T, reg *prometheus.Registry, name, label string) map[string]histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]histogram{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					h := m.GetHistogram()
					out[lp.GetValue()] = histogram{h.GetSampleCount(), h.GetSampleSum()}
				}
			}
		}
	}
	return out
}

// gauges reads reg's gauges by name.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				out[mf.GetName()] = g.GetValue()
			}
		}
	}
	return out
}

// TestJournalDiskFull: a journal that can't write fails the append (the
// gateway answers 503) and degrades Status; as soon as it writes again,
// Status is ok, with the failure kept as history.
func TestJournalDiskFull(t *testing.T) {
	ctx := context.Background()
	for _, recover := range []string{"append", "probe"} {
		t.Run(recover, func(t *testing.T) {
			tl := openTestLog(t, nil)
			full := func(op string) error { return syscall.ENOSPC }
			if recover == "append" {
				// Half of the group reaches the disk before it fills.
				full = func(op string) error {
					if op == "sync" {
						return syscall.ENOSPC
					}
					return nil
				}
			}
			tl.j.fault.Store(&full)
			if _, err := tl.Append(ctx, decision(0), nil); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("append on a full disk: got %v, want ENOSPC", err)
			}
			if st := tl.Status(); !strings.Contains(st.Degraded, "no space left") {
				t.Fatalf("status on a full disk: got %+v, want degraded", st)
			}
			tl.j.fault.Store(nil)
			switch recover {
			case "append":
				r, err := tl.Append(ctx, decision(1), nil)
				if err != nil || r.Index != 0 {
					t.Fatalf("append once the disk has room: got %d, %v; want index 0 (the failed one's number)", r.Index, err)
				}
			case "probe":
				// No traffic: the journal's probe finds that it works.
				deadline := time.Now().Add(30 * time.Second)
				for tl.Status().Degraded != "" {
					if time.Now().After(deadline) {
						t.Fatal("status still degraded 30s after the disk has room")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			st := tl.Status()
			if st.Degraded != "" || !strings.Contains(st.LastError, "no space left") {
				t.Errorf("status after recovery: got %+v, want ok with the failure as last error", st)
			}
		})
	}
}

// TestRestartIntegratesJournal: records journaled (and receipted) but not
// integrated when the log closes are integrated, at their receipts'
// indexes, when it opens again, before Open returns.
func TestRestartIntegratesJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, vkey := newKey(t, dir)
	cfg := Config{Dir: filepath.Join(dir, "log"), Signer: s, CheckpointInterval: 100 * time.Millisecond}
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, decision(0), nil); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.waitIntegrated(wctx, 0, false); err != nil {
		t.Fatal(err)
	}
	stalled := func() error { return errors.New("stalled") }
	l.integrateFault.Store(&stalled)
	var rs []Receipt
	for i := 1; i <= 5; i++ {
		r, err := l.Append(ctx, decision(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	l.Close() // the integrator fails, so Close leaves them in the journal

	l, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st := l.Status(); st.Size != 6 || st.Lag != 0 {
		t.Errorf("after reopening: got %+v, want all 6 entries integrated", st)
	}
	pol, _ := auditverify.NewPolicy(vkey, nil, 0)
	src := auditverify.NewSource(cfg.Dir, nil, nil)
	cp := waitCheckpoint(t, src, pol, 6)
	for _, r := range rs {
		if err := r.VerifyInclusion(ctx, src, cp); err != nil {
			t.Errorf("receipt %d after restart: %v", r.Index, err)
		}
	}
	if r, err := l.Append(ctx, decision(9), nil); err != nil || r.Index != 6 {
		t.Errorf("append after restart: got %d, %v; want 6", r.Index, err)
	}
}

// TestSequencedRelease: with ReleaseSequenced, an entry is in the tree
// when Append returns.
func TestSequencedRelease(t *testing.T) {
	tl := openTestLog(t, sequenced)
	for i := range 5 {
		r, err := tl.Append(context.Background(), decision(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if st := tl.Status(); st.Size <= r.Index {
			t.Fatalf("sequenced append %d returned with the tree at %d", r.Index, st.Size)
		}
	}
}

// TestAppendAll: entries appended together are journaled in one group, at
// consecutive indexes in order, each with its own receipt and index row;
// on a full disk none of them is.
func TestAppendAll(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	if _, err := tl.Append(ctx, decision(0), nil); err != nil {
		t.Fatal(err)
	}
	full := func(op string) error {
		if op == "sync" {
			return syscall.ENOSPC
		}
		return nil
	}
	tl.j.fault.Store(&full)
	if rs, err := tl.AppendAll(ctx, []Item{{Entry: decision(1)}, {Entry: decision(2)}}); !errors.Is(err, syscall.ENOSPC) || rs != nil {
		t.Fatalf("AppendAll on a full disk: got %v, %v; want ENOSPC and no receipts", rs, err)
	}
	tl.j.fault.Store(nil)

	var flushes atomic.Int64
	tl.j.flushed = func(time.Duration) { flushes.Add(1) }
	c, err := Commit([]byte(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := tl.AppendAll(ctx, []Item{{Entry: decision(3), Commitment: &c}, {Entry: decision(4)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Index != 1 || rs[1].Index != 2 {
		t.Fatalf("receipts: got %+v, want indexes 1 and 2 (after entry 0; the failed group's numbers reused)", rs)
	}
	if n := flushes.Load(); n != 1 {
		t.Errorf("flushes for two entries appended together: got %d, want 1", n)
	}
	pol, _ := auditverify.NewPolicy(tl.vkey, nil, 0)
	src := auditverify.NewSource(filepath.Join(tl.dir, "log"), nil, nil)
	cp := waitCheckpoint(t, src, pol, 3)
	for i, r := range rs {
		got, err := auditverify.ParseReceipt(r.Encode(), pol.Log)
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if err := got.VerifyInclusion(ctx, src, cp); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		recs, err := tl.index.AuditEntries(ctx, decision(3+i).RequestID)
		if err != nil || len(recs) != 1 || !bytes.Equal(recs[0].Receipt, r.Note) || (i == 0) != (recs[0].Salt != nil) {
			t.Errorf("index row of entry %d: got %+v, %v; want its receipt, and the opening with the first only", i, recs, err)
		}
	}
}
