package auditlog

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
)

// memJournal is a shared journal in memory, with failure hooks. The
// PostgreSQL one is tested in internal/store/postgres.
type memJournal struct {
	mu      sync.Mutex
	first   uint64 // sequence number of recs[0]
	recs    [][]byte
	keep    bool                  // ignore Prune
	appends atomic.Int64          // calls to Append
	fail    atomic.Pointer[error] // Append and Next fail with it when set
}

var _ Journal = (*memJournal)(nil)

func (j *memJournal) failing() error {
	if p := j.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (j *memJournal) Append(ctx context.Context, n int, encode func(uint64) ([][]byte, error)) (uint64, error) {
	j.appends.Add(1)
	if err := j.failing(); err != nil {
		return 0, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	first := j.first + uint64(len(j.recs))
	recs, err := encode(first)
	if err != nil {
		return 0, err
	}
	j.recs = append(j.recs, recs...)
	return first, nil
}

func (j *memJournal) Read(ctx context.Context, from uint64, max int) ([][]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	from = maxU(from, j.first)
	if from >= j.first+uint64(len(j.recs)) {
		return nil, nil
	}
	out := j.recs[from-j.first:]
	return out[:min(len(out), max)], nil
}

func maxU(a, b uint64) uint64 { return max(a, b) }

func (j *memJournal) Next(ctx context.Context) (uint64, error) {
	if err := j.failing(); err != nil {
		return 0, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.first + uint64(len(j.recs)), nil
}

func (j *memJournal) Advance(ctx context.Context, next uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) == 0 && next > j.first {
		j.first = next
	}
	return nil
}

func (j *memJournal) Prune(ctx context.Context, below uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.keep {
		return nil
	}
	for len(j.recs) > 0 && j.first < below {
		j.recs, j.first = j.recs[1:], j.first+1
	}
	return nil
}

// ballot elects whichever elector the test names; naming another deposes
// the leader at once.
type ballot struct {
	mu      sync.Mutex
	leader  int
	depose  context.CancelCauseFunc // the current term's, nil if none
	changed chan struct{}
}

func newBallot(leader int) *ballot { return &ballot{leader: leader, changed: make(chan struct{})} }

func (b *ballot) elect(id int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leader = id
	if b.depose != nil {
		b.depose(errors.New("deposed"))
		b.depose = nil
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

type ballotElector struct {
	b  *ballot
	id int
}

func (e ballotElector) Lead(ctx context.Context) (context.Context, func(), error) {
	for {
		e.b.mu.Lock()
		if e.b.leader == e.id && e.b.depose == nil {
			lead, cancel := context.WithCancelCause(ctx)
			e.b.depose = cancel
			e.b.mu.Unlock()
			return lead, func() { cancel(errors.New("released")) }, nil
		}
		ch := e.b.changed
		e.b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-ch:
		}
	}
}

// logText collects what a Log logs.
type logText struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logText) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logText) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.b.String(), s)
}

// sharedFleet opens n Logs on one memJournal and one directory, replica
// i elected through e.
func sharedFleet(t *testing.T, j *memJournal, b *ballot, dir string, n int, mod func(i int, c *Config)) ([]*Log, string) {
	t.Helper()
	s, vkey, _, err := LoadOrCreateKey(filepath.Join(dir, "log.key"), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	var logs []*Log
	for i := range n {
		cfg := Config{
			Dir: filepath.Join(dir, "log"), Signer: s, Journal: j, Elector: ballotElector{b, i},
			MMD: 5 * time.Second, CheckpointInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		}
		if mod != nil {
			mod(i, &cfg)
		}
		l, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		logs = append(logs, l)
	}
	return logs, vkey
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFleetHandoverWaitsForFence: a new leader does not integrate while
// the deposed one still has a batch in Tessera's hands; it takes over
// once that batch has resolved, from the tree's size.
func TestFleetHandoverWaitsForFence(t *testing.T) {
	ctx := context.Background()
	j, b := &memJournal{}, newBallot(0)
	var logB logText
	release := make(chan struct{})
	var releaseOnce sync.Once
	unhang := func() { releaseOnce.Do(func() { close(release) }) }
	var stalled atomic.Bool
	logs, vkey := sharedFleet(t, j, b, t.TempDir(), 2, func(i int, c *Config) {
		if i == 1 {
			c.Logger = slog.New(slog.NewTextHandler(&logB, nil))
		}
	})
	a, bl := logs[0], logs[1]
	t.Cleanup(unhang) // before the Logs close, should the test fail
	waitUntil(t, "a to integrate", func() bool { return a.Status().Integrator })
	r0, err := bl.Append(ctx, decision(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "entry 0 in the tree and b's view", func() bool { return a.Status().Size == 1 && bl.Status().Size == 1 })

	// a's next batch hangs inside integration until released.
	hang := func() error {
		stalled.Store(true)
		<-release
		return nil
	}
	a.integrateFault.Store(&hang)
	r1, err := bl.Append(ctx, decision(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a's batch to hang", stalled.Load)
	b.elect(1)
	waitUntil(t, "b to wait for the fence", func() bool { return logB.has("waiting for the previous integrator to stop") })
	if st := bl.Status(); st.Integrator || st.Size != 1 {
		t.Fatalf("b while a's batch is in flight: got %+v, want a follower at size 1", st)
	}
	unhang() // a's batch proceeds and is written; then a steps down
	waitUntil(t, "b to integrate", func() bool { return bl.Status().Integrator })
	if a.Status().Integrator {
		t.Error("a still integrates after b took over")
	}
	r2, err := a.Append(ctx, decision(2), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "all three in every replica's view", func() bool { return a.Status().Size == 3 && bl.Status().Size == 3 })
	pol, _ := auditverify.NewPolicy(vkey, nil, 0)
	src := auditverify.NewSource(a.cfg.Dir, nil, nil)
	cp := waitCheckpoint(t, src, pol, 3)
	if cp.Size != 3 {
		t.Fatalf("checkpoint size %d, want 3", cp.Size)
	}
	for _, r := range []Receipt{r0, r1, r2} {
		if err := r.VerifyInclusion(ctx, src, cp); err != nil {
			t.Errorf("receipt %d: %v", r.Index, err)
		}
	}
}

// TestFleetTreeAheadOfJournal: a shared journal opened on a tree it never
// held starts after it; a journal whose record differs from the tree's
// last entry stops integration (appends refused), never appends past it.
func TestFleetTreeAheadOfJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	single, _ := sharedFleet(t, &memJournal{keep: true}, newBallot(0), dir, 1, nil)
	for i := range 3 {
		if _, err := single[0].Append(ctx, decision(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "3 entries checkpointed", func() bool {
		cp, err := single[0].reader.ReadCheckpoint(ctx)
		n, _ := checkpointSize(cp)
		return err == nil && n == 3
	})
	single[0].Close()

	t.Run("fresh journal", func(t *testing.T) {
		logs, _ := sharedFleet(t, &memJournal{}, newBallot(0), dir, 1, nil)
		r, err := logs[0].Append(ctx, decision(3), nil)
		if err != nil || r.Index != 3 {
			t.Fatalf("append on a fresh journal over 3 entries: got %d, %v; want index 3", r.Index, err)
		}
		waitUntil(t, "entry 3 in the tree", func() bool { return logs[0].Status().Size == 4 })
		logs[0].Close()
	})
	t.Run("journal disagrees", func(t *testing.T) {
		// A journal of 4 records whose last differs from the tree's.
		j := &memJournal{keep: true}
		for i := range 4 {
			e := decision(100 + i)
			e.Time = time.Now()
			b, _ := e.Marshal()
			j.Append(ctx, 1, func(first uint64) ([][]byte, error) {
				return [][]byte{(&journalRecord{seq: first, time: e.Time, entry: b}).encode(nil)}, nil
			})
		}
		logs, _ := sharedFleet(t, j, newBallot(0), dir, 1, nil)
		waitUntil(t, "integration to stop", func() bool { return logs[0].isBroken() })
		if _, err := logs[0].Append(ctx, decision(9), nil); !errors.Is(err, ErrBehind) {
			t.Fatalf("append once integration stopped: got %v, want ErrBehind", err)
		}
		if st := logs[0].Status(); !strings.Contains(st.Degraded, "differs from the journal") {
			t.Errorf("status: got %q, want the disagreement", st.Degraded)
		}
	})
}

// TestFleetJournalFails: while the shared journal fails, Append errors
// and gives no receipt, even with a queue (a group whose commit failed
// may have been committed, so it is never appended again), and Status
// says why; once it works, appends succeed.
func TestFleetJournalFails(t *testing.T) {
	ctx := context.Background()
	j := &memJournal{}
	logs, _ := sharedFleet(t, j, newBallot(0), t.TempDir(), 1, func(_ int, c *Config) { c.QueueSize = 10 })
	l := logs[0]
	down := errors.New("connection refused")
	j.fail.Store(&down)
	before := j.appends.Load()
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := l.Append(actx, decision(0), nil)
	cancel()
	if !errors.Is(err, down) {
		t.Fatalf("append while the journal fails: got %v, want its error", err)
	}
	if n := j.appends.Load() - before; n != 1 {
		t.Errorf("the failed record was offered to the journal %d times, want once", n)
	}
	waitUntil(t, "status to say the journal fails", func() bool { return strings.Contains(l.Status().Degraded, "connection refused") })
	j.fail.Store(nil)
	r, err := l.Append(ctx, decision(1), nil)
	if err != nil || r.Index != 0 {
		t.Fatalf("append once the journal works: got %d, %v; want index 0", r.Index, err)
	}
	waitUntil(t, "status ok", func() bool { return l.Status().Degraded == "" })
}

// TestFleetFollowersBehind: with nobody integrating, every replica
// refuses appends once the journal's oldest record is older than the MMD,
// the one that appended it (its own record) and the one that did not (the
// journal's head, polled), and says why; once a replica integrates, both
// accept appends again.
func TestFleetFollowersBehind(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	b := newBallot(-1) // nobody leads
	logs, _ := sharedFleet(t, &memJournal{}, b, t.TempDir(), 2, func(_ int, c *Config) {
		c.Now, c.MMD = now, time.Second
	})
	if _, err := logs[0].Append(ctx, decision(0), nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the other replica to see the journal's head", func() bool { return logs[1].Status().JournalSize == 1 })
	clock.Add(int64(2 * time.Second))
	for i, l := range logs {
		waitUntil(t, "status to say the log is behind", func() bool { return strings.Contains(l.Status().Degraded, "MMD") })
		if _, err := l.Append(ctx, decision(10+i), nil); !errors.Is(err, ErrBehind) {
			t.Errorf("replica %d: append with entry 0 waiting 2s (MMD 1s): got %v, want ErrBehind", i, err)
		}
	}
	b.elect(1)
	for i, l := range logs {
		waitUntil(t, "the log to catch up", func() bool { st := l.Status(); return st.Size == 1 && st.Degraded == "" })
		if _, err := l.Append(ctx, decision(20+i), nil); err != nil {
			t.Errorf("replica %d: append once integrated: %v", i, err)
		}
	}
}
