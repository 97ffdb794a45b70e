package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store/pgtest"
	"github.com/brightline/brightline/internal/store/postgres"
)

var (
	_ auditlog.Journal = (*postgres.Journal)(nil)
	_ auditlog.Elector = (*postgres.Elector)(nil)
)

func openDB(t testing.TB, u string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestJournal: groups appended concurrently get gapless sequence numbers
// in commit order, and read back byte for byte; Advance only raises the
// head; Prune deletes below.
func TestJournal(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, pgtest.URL(t))
	j := postgres.NewJournal(db.Pool())
	if n, err := j.Next(ctx); err != nil || n != 0 {
		t.Fatalf("Next of a new journal: got %d, %v; want 0", n, err)
	}
	const workers, groups = 8, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := map[uint64]int{} // first → group size
	for w := range workers {
		wg.Go(func() {
			for g := range groups {
				n := 1 + (w+g)%5
				first, err := j.Append(ctx, n, func(first uint64) ([][]byte, error) {
					recs := make([][]byte, n)
					for i := range recs {
						recs[i] = fmt.Appendf(nil, "record %d", first+uint64(i))
					}
					return recs, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				firsts[first] = n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var total uint64
	for first := uint64(0); ; {
		n, ok := firsts[first]
		if !ok {
			break
		}
		delete(firsts, first)
		first += uint64(n)
		total = first
	}
	if len(firsts) != 0 {
		t.Fatalf("groups do not tile the sequence: %d left after %d records: %v", len(firsts), total, firsts)
	}
	if n, err := j.Next(ctx); err != nil || n != total {
		t.Fatalf("Next: got %d, %v; want %d", n, err, total)
	}
	recs, err := j.Read(ctx, 3, 1000)
	if err != nil || uint64(len(recs)) != total-3 {
		t.Fatalf("Read from 3: got %d records, %v; want %d", len(recs), err, total-3)
	}
	for i, r := range recs {
		if want := fmt.Sprintf("record %d", 3+i); string(r) != want {
			t.Fatalf("record %d: got %q, want %q", 3+i, r, want)
		}
	}

	// A failing encode commits nothing and takes no numbers.
	boom := errors.New("boom")
	if _, err := j.Append(ctx, 2, func(uint64) ([][]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("Append with a failing encode: got %v, want boom", err)
	}
	if n, _ := j.Next(ctx); n != total {
		t.Fatalf("Next after a failed append: got %d, want %d", n, total)
	}

	if err := j.Prune(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if recs, err := j.Read(ctx, 0, 1); err != nil || len(recs) != 1 || string(recs[0]) != "record 10" {
		t.Fatalf("Read from 0 after pruning below 10: got %q, %v; want record 10", recs, err)
	}
	if err := j.Advance(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if n, _ := j.Next(ctx); n != total {
		t.Fatalf("Next after advancing to less: got %d, want %d", n, total)
	}
	if err := j.Advance(ctx, total+100); err != nil {
		t.Fatal(err)
	}
	if n, _ := j.Next(ctx); n != total+100 {
		t.Fatalf("Next after advancing: got %d, want %d", n, total+100)
	}
}

// TestElector: one leader at a time; release hands over; a leader whose
// session is terminated learns it and another leads.
func TestElector(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	db := openDB(t, u)
	a, b := postgres.NewElector(db.Pool()), postgres.NewElector(db.Pool())
	a.Interval, b.Interval = 20*time.Millisecond, 20*time.Millisecond
	leadA, releaseA, err := a.Lead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// b keeps trying while a leads, and never leads.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err = b.Lead(tctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("b.Lead while a leads: got %v, want the deadline", err)
	}
	releaseA()
	if leadA.Err() == nil {
		t.Fatal("a's lead context lives on after release")
	}
	var r struct {
		lead    context.Context
		release func()
	}
	if r.lead, r.release, err = b.Lead(ctx); err != nil {
		t.Fatal(err)
	}
	// Terminate b's session: b learns within its interval.
	terminateLeader(t, u)
	select {
	case <-r.lead.Done():
		if !strings.Contains(context.Cause(r.lead).Error(), "lost the PostgreSQL session") {
			t.Errorf("cause: got %v, want the lost session", context.Cause(r.lead))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b still leads 10s after its session was terminated")
	}
	r.release()
	leadA, releaseA, err = a.Lead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseA()
	if leadA.Err() != nil {
		t.Fatal("a's new lead context is done")
	}
}

// The integrator's lock as pg_locks shows a bigint advisory key.
var lockClassID, lockObjID = func() (uint32, uint32) {
	k := uint64(postgres.IntegratorLockKey)
	return uint32(k >> 32), uint32(k)
}()

func withConn(t testing.TB, u string, fn func(*pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := fn(c); err != nil {
		t.Fatal(err)
	}
}

// terminateLeader ends the session that holds the integrator's lock, as a
// broken connection would, and returns its pid.
func terminateLeader(t testing.TB, u string) int {
	t.Helper()
	var pid int
	withConn(t, u, func(c *pgx.Conn) error {
		err := c.QueryRow(context.Background(), `SELECT pid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND classid = $1 AND objid = $2`,
			lockClassID, lockObjID).Scan(&pid)
		if err != nil {
			return fmt.Errorf("couldn't find the integrator's session: %w", err)
		}
		_, err = c.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid)
		return err
	})
	return pid
}

// leaderPID returns the pid of the session holding the integrator's lock,
// 0 if none.
func leaderPID(t testing.TB, u string) int {
	var pid int
	withConn(t, u, func(c *pgx.Conn) error {
		err := c.QueryRow(context.Background(), `SELECT pid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2`,
			lockClassID, lockObjID).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return pid
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 60s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fleet is what the replicas of a test share: a database, a data
// directory (tiles and the log key).
type fleet struct {
	url, dir string
	signer   note.Signer
	vkey     string
	pol      auditverify.Policy
}

func newFleet(t testing.TB) *fleet {
	t.Helper()
	f := &fleet{url: pgtest.URL(t), dir: t.TempDir()}
	f.load(t)
	return f
}

func (f *fleet) load(t testing.TB) {
	var err error
	f.signer, f.vkey, _, err = auditlog.LoadOrCreateKey(filepath.Join(f.dir, "log.key"), "brightline.test/fleet")
	if err != nil {
		t.Fatal(err)
	}
	if f.pol, err = auditverify.NewPolicy(f.vkey, nil, 0); err != nil {
		t.Fatal(err)
	}
}

// open starts a replica: its own pool, journal and elector.
func (f *fleet) open(t testing.TB, mod func(*auditlog.Config)) *auditlog.Log {
	t.Helper()
	db := openDB(t, f.url)
	el := postgres.NewElector(db.Pool())
	el.Interval = 50 * time.Millisecond
	cfg := auditlog.Config{
		Dir:                filepath.Join(f.dir, "log"),
		Signer:             f.signer,
		Journal:            postgres.NewJournal(db.Pool()),
		Elector:            el,
		JournalTimeout:     3 * time.Second,
		MMD:                3 * time.Second,
		CheckpointInterval: 100 * time.Millisecond,
		Logger:             slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := auditlog.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (f *fleet) src() auditverify.Source {
	return auditverify.NewSource(filepath.Join(f.dir, "log"), nil, nil)
}

// watch checks every checkpoint published while the test runs against
// the one before (signature, then a consistency proof) and records when
// each was first seen.
type watch struct {
	mu     sync.Mutex
	seen   []auditverify.Checkpoint
	at     []time.Time
	errs   []error
	stop   chan struct{}
	done   chan struct{}
	checks atomic.Int64
}

func (f *fleet) watch(t testing.TB) *watch {
	w := &watch{stop: make(chan struct{}), done: make(chan struct{})}
	src := f.src()
	go func() {
		defer close(w.done)
		ctx := context.Background()
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			cp, err := auditverify.FetchCheckpoint(ctx, src, f.pol)
			if err != nil {
				continue // not published yet
			}
			w.mu.Lock()
			n := len(w.seen)
			w.mu.Unlock()
			if n > 0 && w.seen[n-1].Size == cp.Size && w.seen[n-1].Hash == cp.Hash {
				continue
			}
			var cerr error
			if n > 0 {
				cerr = auditverify.CheckConsistency(ctx, src, w.seen[n-1], cp)
				w.checks.Add(1)
			}
			w.mu.Lock()
			w.seen, w.at = append(w.seen, cp), append(w.at, time.Now())
			if cerr != nil {
				w.errs = append(w.errs, fmt.Errorf("checkpoint %d after %d: %w", cp.Size, w.seen[n-1].Size, cerr))
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *watch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// coveredAt returns when a checkpoint covering index was first seen.
func (w *watch) coveredAt(index uint64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, c := range w.seen {
		if c.Size > index {
			return w.at[i], true
		}
	}
	return time.Time{}, false
}

func decision(replica, i int) auditlog.Entry {
	return auditlog.Entry{
		Kind: auditlog.KindDecision, RequestID: fmt.Sprintf("req_%d_%06d", replica, i), PrincipalID: "key_1",
		Dialect: "openai", Provider: "simulated", Model: "m", PolicyHash: "sha256:aa", PolicyVersion: 1,
		Stage: "request", Action: "allow",
	}
}

// receipts collects what Append returned, whatever the replica.
type receipts struct {
	mu   sync.Mutex
	byIx map[uint64]auditlog.Receipt
	dups []uint64
	errs atomic.Int64
}

func (r *receipts) add(rc auditlog.Receipt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byIx == nil {
		r.byIx = map[uint64]auditlog.Receipt{}
	}
	if _, ok := r.byIx[rc.Index]; ok {
		r.dups = append(r.dups, rc.Index)
	}
	r.byIx[rc.Index] = rc
}

func (r *receipts) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byIx)
}

// load appends from workers goroutines per replica until stop is closed
// (or each has made max appends, if max > 0).
func load(logs []*auditlog.Log, workers, max int, stop <-chan struct{}, rs *receipts) *sync.WaitGroup {
	var wg sync.WaitGroup
	for ri, l := range logs {
		for w := range workers {
			wg.Go(func() {
				for i := 0; max == 0 || i < max; i++ {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					rc, err := l.Append(ctx, decision(ri, w*1_000_000+i), nil)
					cancel()
					if err != nil {
						rs.errs.Add(1)
						continue
					}
					rs.add(rc)
				}
			})
		}
	}
	return &wg
}

// verify checks the fleet's log once the load is over: every receipt is
// in the tree at its index, within its MMD; the tree holds each request
// once and nothing else (size == journal head); at most one replica
// integrates.
func (f *fleet) verify(t *testing.T, w *watch, rs *receipts, logs ...*auditlog.Log) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t, f.url)
	next, err := postgres.NewJournal(db.Pool()).Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.dups) > 0 {
		t.Errorf("indexes given twice: %v", rs.dups)
	}
	if uint64(rs.count()) > next {
		t.Fatalf("%d receipts but the journal holds %d records", rs.count(), next)
	}
	waitFor(t, fmt.Sprintf("a checkpoint of size %d", next), func() bool {
		cp, err := auditverify.FetchCheckpoint(ctx, f.src(), f.pol)
		return err == nil && cp.Size >= next
	})
	for _, l := range logs {
		waitFor(t, "every replica to see the whole journal integrated", func() bool {
			st := l.Status()
			return st.Size == next && st.Lag == 0 && st.Degraded == ""
		})
	}
	cp, err := auditverify.FetchCheckpoint(ctx, f.src(), f.pol)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != next {
		t.Fatalf("checkpoint size %d, journal %d: the tree holds entries the journal does not", cp.Size, next)
	}
	ids := map[string]uint64{}
	err = auditverify.VerifyTree(ctx, f.src(), cp, true, func(i uint64, entry []byte) error {
		var e struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(entry, &e); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if prev, ok := ids[e.RequestID]; ok {
			return fmt.Errorf("request %s is logged twice, at %d and %d", e.RequestID, prev, i)
		}
		ids[e.RequestID] = i
		if r, ok := rs.byIx[i]; ok && !r.Matches(entry) {
			return fmt.Errorf("entry %d is not the one its receipt names", i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for i, r := range rs.byIx {
		if err := r.VerifyInclusion(ctx, f.src(), cp); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		if at, ok := w.coveredAt(i); !ok || at.After(r.Due()) {
			late++
			if late <= 5 {
				t.Errorf("receipt %d (due %s) first covered by a checkpoint at %s", i, r.Due().Format(time.StampMilli), at.Format(time.StampMilli))
			}
		}
	}
	w.close()
	for _, err := range w.errs {
		t.Errorf("fork: %v", err)
	}
	if len(w.seen) < 2 {
		t.Errorf("watched %d checkpoints, want several", len(w.seen))
	}
	leaders := 0
	for _, l := range logs {
		if l.Status().Integrator {
			leaders++
		}
	}
	if leaders > 1 {
		t.Errorf("%d replicas integrate at once", leaders)
	}
	t.Logf("%d receipts, %d failed appends, tree %d, %d checkpoints watched (%d consistency proofs)", rs.count(), rs.errs.Load(), cp.Size, len(w.seen), w.checks.Load())
}

// TestFleetAppends: three replicas append concurrently; indexes are
// unique and gapless, every entry is integrated once, the tree verifies.
func TestFleetAppends(t *testing.T) {
	f := newFleet(t)
	logs := []*auditlog.Log{f.open(t, nil), f.open(t, nil), f.open(t, nil)}
	w := f.watch(t)
	var rs receipts
	load(logs, 8, 40, nil, &rs).Wait()
	if rs.errs.Load() != 0 {
		t.Fatalf("%d appends failed with nothing failing", rs.errs.Load())
	}
	n := uint64(rs.count())
	for i := range n {
		if _, ok := rs.byIx[i]; !ok {
			t.Fatalf("%d receipts, but none for index %d", n, i)
		}
	}
	f.verify(t, w, &rs, logs...)
}

// TestFleetSequenced: with sequenced release, a follower's Append returns
// once the checkpoint covers the entry.
func TestFleetSequenced(t *testing.T) {
	f := newFleet(t)
	seq := func(c *auditlog.Config) { c.Release = auditlog.ReleaseSequenced }
	a := f.open(t, seq)
	waitFor(t, "a replica to integrate", func() bool { return a.Status().Integrator })
	b := f.open(t, seq)
	for i := range 5 {
		r, err := b.Append(context.Background(), decision(1, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := auditverify.FetchCheckpoint(context.Background(), f.src(), f.pol)
		if err != nil || cp.Size <= r.Index {
			t.Fatalf("follower's sequenced append %d returned with checkpoint %d (%v)", r.Index, cp.Size, err)
		}
		if err := r.VerifyInclusion(context.Background(), f.src(), cp); err != nil {
			t.Fatal(err)
		}
	}
	if b.Status().Integrator {
		t.Fatal("the second replica integrates while the first does")
	}
	// The follower serves the log from the shared directory.
	srv := httptest.NewServer(b.Handler(nil))
	defer srv.Close()
	fsrc := auditverify.NewSource(srv.URL+"/log", nil, nil)
	cp, err := auditverify.FetchCheckpoint(context.Background(), fsrc, f.pol)
	if err != nil || cp.Size < 5 {
		t.Fatalf("the follower's /log/checkpoint: got size %d, %v; want at least 5", cp.Size, err)
	}
	if err := auditverify.VerifyTree(context.Background(), fsrc, cp, false, nil); err != nil {
		t.Fatalf("the follower's /log/ tiles: %v", err)
	}
}

// TestFleetLeaderSessionLost: under load, the integrator's PostgreSQL
// session is terminated three times; each time another session takes the
// lock and integration resumes from the tree: no fork, gap or duplicate,
// every receipt in the tree within the MMD.
func TestFleetLeaderSessionLost(t *testing.T) {
	f := newFleet(t)
	logs := []*auditlog.Log{f.open(t, nil), f.open(t, nil), f.open(t, nil)}
	w := f.watch(t)
	var rs receipts
	stop := make(chan struct{})
	wg := load(logs, 4, 0, stop, &rs)
	for round := range 3 {
		want := rs.count() + 100
		waitFor(t, fmt.Sprintf("%d receipts", want), func() bool { return rs.count() >= want })
		waitFor(t, "a leader", func() bool { return leaderPID(t, f.url) != 0 })
		old := terminateLeader(t, f.url)
		waitFor(t, "another session to lead", func() bool { p := leaderPID(t, f.url); return p != 0 && p != old })
		t.Logf("round %d: terminated the integrator's session %d at %d receipts", round, old, rs.count())
	}
	want := rs.count() + 100
	waitFor(t, fmt.Sprintf("%d receipts", want), func() bool { return rs.count() >= want })
	close(stop)
	wg.Wait()
	f.verify(t, w, &rs, logs...)
}

// childEnv names the environment variable that makes TestFleetChild a
// replica in a child process: its value is "url\ndir".
const childEnv = "BRIGHTLINE_FLEET_CHILD"

// TestFleetChild is a replica run by TestFleetLeaderKilled in a child
// process: it leads, says so, then appends and prints each receipt until
// it is killed.
func TestFleetChild(t *testing.T) {
	v := os.Getenv(childEnv)
	if v == "" {
		t.Skip("run by TestFleetLeaderKilled")
	}
	u, dir, _ := strings.Cut(v, "\n")
	f := &fleet{url: u, dir: dir}
	f.load(t)
	l := f.open(t, nil)
	waitFor(t, "the child to lead", func() bool { return l.Status().Integrator })
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "leading")
	out.Flush()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r, err := l.Append(context.Background(), decision(9, w*1_000_000+i), nil)
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintln(out, "receipt", r.Encode())
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestFleetLeaderKilled: the integrating replica, a child process, is
// killed with SIGKILL under load; a replica in this process takes over.
// Every receipt (the child's too) is in the tree within its MMD, and the
// tree never forks, skips or repeats.
func TestFleetLeaderKilled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	f := newFleet(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFleetChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+f.url+"\n"+f.dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	verifier, err := note.NewVerifier(f.vkey)
	if err != nil {
		t.Fatal(err)
	}
	var rs receipts
	var childReceipts atomic.Int64
	leading := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "leading":
				close(leading)
			case strings.HasPrefix(line, "receipt "):
				r, err := auditverify.ParseReceipt(strings.TrimPrefix(line, "receipt "), verifier)
				if err != nil {
					readDone <- fmt.Errorf("child's receipt %q: %w", line, err)
					io.Copy(io.Discard, stdout)
					return
				}
				rs.add(r)
				childReceipts.Add(1)
			}
		}
		readDone <- sc.Err()
	}()
	select {
	case <-leading:
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not lead within 60s")
	}
	logs := []*auditlog.Log{f.open(t, nil), f.open(t, nil)}
	w := f.watch(t)
	stop := make(chan struct{})
	wg := load(logs, 4, 0, stop, &rs)
	waitFor(t, "300 receipts, 100 of them the child's", func() bool { return rs.count() >= 300 && childReceipts.Load() >= 100 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := <-readDone; err != nil && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
	killedAt := rs.count()
	waitFor(t, "a replica here to integrate", func() bool {
		return slices.ContainsFunc(logs, func(l *auditlog.Log) bool { return l.Status().Integrator })
	})
	want := rs.count() + 200
	waitFor(t, fmt.Sprintf("%d receipts", want), func() bool { return rs.count() >= want })
	close(stop)
	wg.Wait()
	t.Logf("killed the integrating child at %d receipts (%d its own)", killedAt, childReceipts.Load())
	f.verify(t, w, &rs, logs...)
}

// TestFleetDatabaseDown: while PostgreSQL refuses the database, Append
// fails (the gateway answers 503) and no receipt is given, and Status
// says why; once it is back, appends succeed and integration resumes.
func TestFleetDatabaseDown(t *testing.T) {
	f := newFleet(t)
	logs := []*auditlog.Log{f.open(t, nil), f.open(t, nil)}
	w := f.watch(t)
	var rs receipts
	load(logs, 2, 20, nil, &rs).Wait()
	if rs.errs.Load() != 0 {
		t.Fatalf("%d appends failed before the database went down", rs.errs.Load())
	}
	pu, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(pu.Path, "/")
	admin := pgtest.AdminURL(t)
	setDown := func(down bool) {
		withConn(t, admin, func(c *pgx.Conn) error {
			ctx := context.Background()
			if _, err := c.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS %t`, pgx.Identifier{name}.Sanitize(), !down)); err != nil {
				return err
			}
			if down {
				_, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
				return err
			}
			return nil
		})
	}
	downAt := time.Now()
	setDown(true)
	t.Cleanup(func() { setDown(false) })
	for i, l := range logs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r, err := l.Append(ctx, decision(i, 500), nil)
		cancel()
		if err == nil {
			t.Fatalf("replica %d: Append with the database down returned receipt %d, want an error", i, r.Index)
		}
		waitFor(t, "status to say the journal fails", func() bool { return l.Status().Degraded != "" })
	}
	setDown(false)
	for i, l := range logs {
		waitFor(t, fmt.Sprintf("replica %d to append again", i), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := l.Append(ctx, decision(i, 1000+int(time.Now().UnixNano()%1_000_000)), nil)
			if err == nil {
				rs.add(r)
			}
			return err == nil
		})
	}
	f.verify(t, w, &rs, logs...)
	if st := logs[0].Status(); st.LastError == "" || st.LastErrorAt.Before(downAt) {
		t.Errorf("last error after recovery: got %q at %s, want the outage (from %s) kept as history", st.LastError, st.LastErrorAt, downAt)
	}
}

// BenchmarkFleetAppend measures Append with the PostgreSQL journal
// (release=journal: durable once its group's transaction commits, receipt
// signed) from concurrent callers, on one replica or three sharing the
// database, beside BenchmarkJournal and BenchmarkAppend in
// internal/auditlog for the file journal. It reports appends/s and the
// p50 and p99 latency.
func BenchmarkFleetAppend(b *testing.B) {
	for _, bc := range []struct{ replicas, callers int }{{1, 1}, {1, 64}, {3, 64}} {
		b.Run(fmt.Sprintf("replicas=%d/callers=%d", bc.replicas, bc.callers), func(b *testing.B) {
			f := newFleet(b)
			var logs []*auditlog.Log
			for range bc.replicas {
				logs = append(logs, f.open(b, func(c *auditlog.Config) { c.MMD = time.Hour }))
			}
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			b.SetParallelism(max(1, bc.callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := int(next.Add(1))
					t0 := time.Now()
					if _, err := logs[i%len(logs)].Append(context.Background(), decision(i%len(logs), i), nil); err != nil {
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
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "appends/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkJournalAppend measures the PostgreSQL journal alone, without
// the replica's group commit in front of it: concurrent callers each
// committing groups of the given size. Compare with BenchmarkJournal in
// internal/auditlog (the file journal, group-committed). It reports
// records/s.
func BenchmarkJournalAppend(b *testing.B) {
	rec := make([]byte, 300)
	for _, bc := range []struct{ callers, group int }{{1, 1}, {64, 1}, {1, 64}} {
		b.Run(fmt.Sprintf("callers=%d/group=%d", bc.callers, bc.group), func(b *testing.B) {
			db := openDB(b, pgtest.URL(b))
			j := postgres.NewJournal(db.Pool())
			encode := func(uint64) ([][]byte, error) {
				recs := make([][]byte, bc.group)
				for i := range recs {
					recs[i] = rec
				}
				return recs, nil
			}
			b.SetParallelism(max(1, bc.callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := j.Append(context.Background(), bc.group, encode); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*bc.group)/time.Since(start).Seconds(), "records/s")
		})
	}
}
