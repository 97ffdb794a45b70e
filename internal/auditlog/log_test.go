package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "brightline.test/log"

// testLog is an open log in a temp dir with a SQLite index.
type testLog struct {
	*Log
	dir   string
	vkey  string
	db    *sqlite.DB
	index store.AuditIndex
}

func newKey(t testing.TB, dir string) (note.Signer, string) {
	t.Helper()
	s, vkey, created, err := LoadOrCreateKey(filepath.Join(dir, "log.key"), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("LoadOrCreateKey on a new path: got created false, want true")
	}
	return s, vkey
}

func openTestLog(t testing.TB, mod func(*Config)) *testLog {
	t.Helper()
	dir := t.TempDir()
	s, vkey := newKey(t, dir)
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{
		Dir:                filepath.Join(dir, "log"),
		Signer:             s,
		Index:              db,
		CheckpointInterval: 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &testLog{Log: l, dir: dir, vkey: vkey, db: db, index: db}
}

// sequenced makes a log release appends only once they are in the tree.
func sequenced(c *Config) { c.Release = ReleaseSequenced }

func decision(i int) Entry {
	return Entry{
		Kind: KindDecision, RequestID: fmt.Sprintf("req_%04d", i), PrincipalID: "key_1",
		Dialect: "openai", Provider: "simulated", Model: "m", PolicyHash: "sha256:aa", PolicyVersion: 1,
		Stage: "request", Action: "deny",
		Matches:    []Match{{Safeguard: "surveillance", Rule: "bulk-persons", Action: "deny"}},
		Detections: map[string]int{"PERSON": i % 7},
	}
}

// waitCheckpoint polls src until its checkpoint covers size entries.
func waitCheckpoint(t testing.TB, src auditverify.Source, pol auditverify.Policy, size uint64) auditverify.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := auditverify.FetchCheckpoint(context.Background(), src, pol)
		if err == nil && c.Size >= size {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d within 30s; last: %+v, %v", size, c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAppendVerifyProve(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	const n = 300 // more than one entry bundle and tile
	var mu sync.Mutex
	seen := map[uint64]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < n; i += 6 {
				e := decision(i)
				var c *Commitment
				if i%2 == 0 {
					cm, err := Commit([]byte(fmt.Sprintf(`{"b": %d, "a": "x"}`, i)))
					if err != nil {
						t.Error(err)
						return
					}
					c = &cm
				}
				r, err := tl.Append(ctx, e, c)
				idx := r.Index
				if err != nil {
					t.Errorf("Append %d: %v", i, err)
					return
				}
				mu.Lock()
				if prev, dup := seen[idx]; dup {
					t.Errorf("index %d given to %s and %s", idx, prev, e.RequestID)
				}
				seen[idx] = e.RequestID
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("got %d distinct indexes, want %d", len(seen), n)
	}

	pol, err := auditverify.NewPolicy(tl.vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := auditverify.NewSource(filepath.Join(tl.dir, "log"), nil, nil)
	c := waitCheckpoint(t, dir, pol, n)
	if c.Size != n {
		t.Fatalf("checkpoint size: got %d, want %d", c.Size, n)
	}
	for _, entries := range []bool{true, false} {
		got := 0
		err := auditverify.VerifyTree(ctx, dir, c, entries, func(i uint64, b []byte) error {
			e, err := ParseEntry(b)
			if err != nil {
				return err
			}
			if seen[i] != e.RequestID {
				return fmt.Errorf("got request %q at %d, want %q", e.RequestID, i, seen[i])
			}
			got++
			return nil
		})
		if err != nil {
			t.Fatalf("VerifyTree(entries=%v): %v", entries, err)
		}
		if entries && got != n {
			t.Errorf("VerifyTree visited %d entries, want %d", got, n)
		}
	}

	// Every acknowledged entry is indexed, and its inclusion proof checks
	// out with an independent implementation (transparency-dev/merkle).
	for idx, rid := range seen {
		recs, err := tl.index.AuditEntries(ctx, rid)
		if err != nil || len(recs) != 1 || recs[0].LogIndex != idx {
			t.Fatalf("index of %s: got %+v, %v; want log index %d", rid, recs, err, idx)
		}
		if idx%37 != 0 {
			continue
		}
		p, err := auditverify.ProveInclusion(ctx, dir, c, idx)
		if err != nil {
			t.Fatal(err)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(p.Entry)
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, c.Size, leaf, p.Hashes, c.Hash[:]); err != nil {
			t.Errorf("merkle.VerifyInclusion of entry %d: %v", idx, err)
		}
		if _, err := p.Verify(pol); err != nil {
			t.Errorf("Proof.Verify of entry %d: %v", idx, err)
		}
		p.Index++
		if _, err := p.Verify(pol); err == nil {
			t.Errorf("proof of entry %d moved to %d: got nil, want an error", idx, p.Index)
		}
	}

	st := tl.Status()
	if st.Size != n || st.CheckpointSize != n || st.LastError != "" {
		t.Errorf("Status: got size %d, checkpoint size %d, error %q; want %d, %d, none", st.Size, st.CheckpointSize, st.LastError, n, n)
	}
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	for i := range 5 {
		if _, err := tl.Append(ctx, decision(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/log/", tl.Handler(func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer auditor" }))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	pol, _ := auditverify.NewPolicy(tl.vkey, nil, 0)
	pub := auditverify.NewSource(srv.URL+"/log", srv.Client(), nil)
	c := waitCheckpoint(t, pub, pol, 5)
	if err := auditverify.VerifyTree(ctx, pub, c, false, nil); err != nil {
		t.Errorf("public VerifyTree: %v", err)
	}
	err := auditverify.VerifyTree(ctx, pub, c, true, nil)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "auditor role") {
		t.Errorf("entries without the auditor role: got %v, want 403 naming the auditor role", err)
	}
	aud := auditverify.NewSource(srv.URL+"/log", srv.Client(), http.Header{"Authorization": {"Bearer auditor"}})
	if err := auditverify.VerifyTree(ctx, aud, c, true, nil); err != nil {
		t.Errorf("auditor VerifyTree: %v", err)
	}

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/log/checkpoint", 200},
		{"/log/tile/0/000.p/5", 200},
		{"/log/tile/0/001", 404},
		{"/log/tile/../log.key", 404},
		{"/log/tile/0/../../../log.key", 404},
		{"/log/.state/treeState", 404},
		{"/log/tile/entries/000.p/5", 403},
	} {
		resp, err := srv.Client().Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: got %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestAppendFailsClosed breaks the log's storage and the index and checks
// that Append errors promptly instead of acknowledging.
func TestAppendFailsClosed(t *testing.T) {
	ctx := context.Background()

	t.Run("storage", func(t *testing.T) {
		tl := openTestLog(t, sequenced)
		if _, err := tl.Append(ctx, decision(0), nil); err != nil {
			t.Fatal(err)
		}
		// Replace the entry bundle directory with a file: writes fail
		// even for root, who ignores permissions.
		entries := filepath.Join(tl.dir, "log", "tile", "entries")
		if err := os.RemoveAll(entries); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(entries, []byte("not a directory"), 0o644); err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := tl.Append(actx, decision(1), nil)
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Append with broken storage: got %v, want a prompt storage error", err)
		}
		if st := tl.Status(); st.LastError == "" {
			t.Errorf("Status after a failed append: got no LastError, want one")
		}
	})

	t.Run("index", func(t *testing.T) {
		fi := &failingIndex{err: errors.New("disk I/O error")}
		tl := openTestLog(t, func(c *Config) { c.Index = fi; c.Release = ReleaseSequenced })
		_, err := tl.Append(ctx, decision(0), nil)
		if err == nil || !strings.Contains(err.Error(), "disk I/O error") {
			t.Fatalf("Append with a failing index: got %v, want the index error", err)
		}
	})

	t.Run("context", func(t *testing.T) {
		tl := openTestLog(t, nil)
		actx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := tl.Append(actx, decision(0), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Append with a cancelled context: got %v, want context.Canceled", err)
		}
	})

	t.Run("pushback", func(t *testing.T) {
		block := make(chan struct{})
		fi := &failingIndex{block: block}
		tl := openTestLog(t, func(c *Config) { c.Index = fi; c.MaxInFlight = 2; c.Release = ReleaseSequenced })
		errs := make(chan error, 2)
		for i := range 2 {
			go func() { _, err := tl.Append(ctx, decision(i), nil); errs <- err }()
		}
		// Wait until both slots are held, then a third append must fail at once.
		deadline := time.Now().Add(20 * time.Second)
		for len(tl.slots) < 2 {
			if time.Now().After(deadline) {
				t.Fatal("appends never took their slots")
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := tl.Append(ctx, decision(3), nil); !errors.Is(err, ErrPushback) {
			t.Errorf("Append over MaxInFlight: got %v, want ErrPushback", err)
		}
		close(block)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("blocked append: %v", err)
			}
		}
	})

	t.Run("queue retries", func(t *testing.T) {
		fi := &failingIndex{err: errors.New("transient"), failures: 2}
		tl := openTestLog(t, func(c *Config) { c.Index = fi; c.QueueSize = 10; c.Release = ReleaseSequenced })
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if _, err := tl.Append(actx, decision(0), nil); err != nil {
			t.Errorf("Append in queue mode after two transient failures: got %v, want success", err)
		}
	})
}

// failingIndex is a store.AuditIndex with failure hooks.
type failingIndex struct {
	mu       sync.Mutex
	err      error         // returned while failures > 0, or always if failures == 0
	failures int           // how many calls fail before succeeding; 0 = all fail when err is set
	block    chan struct{} // when set, calls wait for it to close
	recs     []store.AuditRecord
}

func (f *failingIndex) RecordAuditEntries(ctx context.Context, recs []store.AuditRecord) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		if f.failures == 0 {
			return f.err
		}
		f.failures--
		if f.failures >= 0 {
			err := f.err
			if f.failures == 0 {
				f.err = nil
			}
			return err
		}
	}
	f.recs = append(f.recs, recs...)
	return nil
}

func (f *failingIndex) AuditEntries(ctx context.Context, id string) ([]store.AuditRecord, error) {
	return nil, errors.New("not implemented")
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	s1, v1, created, err := LoadOrCreateKey(path, testOrigin)
	if err != nil || !created {
		t.Fatalf("first call: got created %v, %v; want a new key", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: got %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	s2, v2, created, err := LoadOrCreateKey(path, testOrigin)
	if err != nil || created || v1 != v2 || s1.KeyHash() != s2.KeyHash() {
		t.Fatalf("second call: got %q created=%v %v; want the same key %q loaded", v2, created, err, v1)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s2)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(v1)
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Errorf("vkey doesn't verify the key's signature: %v", err)
	}
	if _, _, _, err := LoadOrCreateKey(path, "other.example/log"); err == nil {
		t.Error("loading the key under another name: got nil, want an error")
	}
}

func TestEntryRoundTrip(t *testing.T) {
	tm := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"decision", Entry{Kind: KindDecision, Time: tm, RequestID: "r", Matches: []Match{{"s", "r", "deny"}},
			Detections: map[string]int{"PERSON": 3, "EMAIL": 1}, Subjects: 4, ApprovalIDs: []string{"a1"},
			Commitment: strings.Repeat("ab", 32), Detail: map[string]string{"z": "1", "a": "<&>"}}},
		{"event", Entry{Kind: KindPolicyActivation, Time: tm, PolicyHash: "sha256:ff", PolicyVersion: 9, Action: "activate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(`"v":1`)) {
				t.Errorf("encoding %s has no \"v\":1", b)
			}
			got, err := ParseEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := got.Marshal()
			if !bytes.Equal(again, b) {
				t.Errorf("round trip: got %s, want %s", again, b)
			}
			if !got.Time.Equal(tm.Truncate(time.Microsecond)) {
				t.Errorf("time: got %v, want %v", got.Time, tm.Truncate(time.Microsecond))
			}
			// A non-canonical spelling of the same entry is refused.
			spaced := bytes.Replace(b, []byte(`,`), []byte(`, `), 1)
			if _, err := ParseEntry(spaced); err == nil {
				t.Errorf("ParseEntry(%s): got nil, want a non-canonical error", spaced)
			}
		})
	}
	for _, bad := range []Entry{{Time: tm}, {Kind: "x"}, {Kind: "x", Time: tm, Commitment: "zz"}} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("Marshal(%+v): got nil, want an error", bad)
		}
	}
}

func TestCommit(t *testing.T) {
	a, err := Commit([]byte(`{"b": 1, "a": [1, 2]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Body) != `{"a":[1,2],"b":1}` {
		t.Errorf("canonical body: got %s, want %s", a.Body, `{"a":[1,2],"b":1}`)
	}
	b, _ := Commit([]byte(`{"a":[1,2],"b":1}`))
	if bytes.Equal(a.Salt, b.Salt) || a.Hash == b.Hash {
		t.Error("two commitments to the same body share a salt or hash; want fresh salts")
	}
	if CommitmentHash(a.Salt, a.Body) != a.Hash || len(a.Salt) != SaltSize {
		t.Errorf("commitment %s does not open with its salt and body", a.Hash)
	}
	raw, _ := Commit([]byte("not json {"))
	if string(raw.Body) != "not json {" {
		t.Errorf("non-JSON body: got %q, want it unchanged", raw.Body)
	}
	// Past CanonicalMax, JSON is committed as sent.
	big := []byte(`{"b": 1, "a": "` + strings.Repeat("x", CanonicalMax) + `"}`)
	c, _ := Commit(big)
	if !bytes.Equal(c.Body, big) || CommitmentHash(c.Salt, c.Body) != c.Hash {
		t.Errorf("a body over CanonicalMax: got a %d-byte opening, want the %d bytes as sent", len(c.Body), len(big))
	}
}

// TestCloseWithAppendsInFlight checks that Close neither hangs nor leaves
// appends hanging, and that every append either got an index that is in
// the log or an error.
func TestCloseWithAppendsInFlight(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, nil)
	type res struct {
		idx uint64
		err error
	}
	results := make(chan res, 64)
	for i := range 64 {
		go func() { r, err := tl.Append(ctx, decision(i), nil); results <- res{r.Index, err} }()
	}
	if err := tl.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	acked := 0
	for range 64 {
		select {
		case r := <-results:
			if r.err == nil {
				acked++
			}
		case <-time.After(30 * time.Second):
			t.Fatal("an append is still hanging 30s after Close")
		}
	}
	if _, err := tl.Append(ctx, decision(0), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: got %v, want ErrClosed", err)
	}
	if acked == 0 {
		return
	}
	pol, _ := auditverify.NewPolicy(tl.vkey, nil, 0)
	src := auditverify.NewSource(filepath.Join(tl.dir, "log"), nil, nil)
	c, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size < uint64(acked) {
		t.Errorf("checkpoint after Close covers %d entries, want at least the %d acknowledged", c.Size, acked)
	}
}
