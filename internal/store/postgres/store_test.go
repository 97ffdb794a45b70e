package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
)

// testUpstream is the upstream test approvals are bound to.
const testUpstream = "mcp:sim http://sim.test/mcp"

func approvalFor(id string) approval.Approval {
	return approval.Approval{
		ID:         id,
		RequestID:  "req_" + id,
		Principal:  brightline.Principal{ID: "key_agent", Name: "agent", Person: "ada", Org: "acme", Roles: []string{"user"}},
		Upstream:   testUpstream,
		Tool:       "fire_interceptor",
		Class:      "force",
		Arguments:  json.RawMessage(`{"target":"track-7",  "salvo":2}`),
		ArgsDigest: "digest-" + id,
		Rule:       "human-control-of-force",
		Require:    approval.Requirement{Role: "weapons-release-authority", Count: 1},
	}
}

func TestForgetAuditBodies(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	rec := func(i uint64, rid string) store.AuditRecord {
		return store.AuditRecord{LogIndex: i, RequestID: rid, Kind: "decision", Stage: "request", Salt: []byte{1}, Body: []byte("body")}
	}
	if err := db.RecordAuditEntries(ctx, []store.AuditRecord{rec(0, "req_old")}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := db.RecordAuditEntries(ctx, []store.AuditRecord{rec(1, "req_new")}); err != nil {
		t.Fatal(err)
	}
	n, err := db.ForgetAuditBodies(ctx, now.Add(-30*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ForgetAuditBodies: got %d, %v, want 1 row", n, err)
	}
	for _, tc := range []struct {
		rid  string
		gone bool
	}{{"req_old", true}, {"req_new", false}} {
		recs, err := db.AuditEntries(ctx, tc.rid)
		if err != nil {
			t.Fatal(err)
		}
		if got := recs[0].Salt == nil && recs[0].Body == nil; got != tc.gone {
			t.Errorf("%s: got salt %x body %q, want gone=%v", tc.rid, recs[0].Salt, recs[0].Body, tc.gone)
		}
	}
	if n, err := db.ForgetAuditBodies(ctx, now.Add(-30*time.Minute)); err != nil || n != 0 {
		t.Errorf("second ForgetAuditBodies: got %d, %v, want 0", n, err)
	}
}

func TestSealAuditBodies(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	plain := make([]byte, 32)
	recs := []store.AuditRecord{
		{LogIndex: 0, RequestID: "req_plain", Kind: "decision", Stage: "request", Salt: plain, Body: []byte("secret")},
		{LogIndex: 1, RequestID: "req_sealed", Kind: "decision", Stage: "request", Salt: make([]byte, 80), Body: []byte("ciphertext")},
		{LogIndex: 2, RequestID: "req_none", Kind: "decision", Stage: "request"},
		{LogIndex: 3, RequestID: "req_empty", Kind: "decision", Stage: "request", Salt: plain, Body: []byte{}},
	}
	if err := db.RecordAuditEntries(ctx, recs); err != nil {
		t.Fatal(err)
	}
	seal := func(salt, body []byte) ([]byte, []byte) {
		return append([]byte("sealed:"), salt...), append([]byte("sealed:"), body...)
	}
	for i, want := range []int64{2, 0} { // the second run finds nothing left
		if n, err := db.SealAuditBodies(ctx, 32, seal); err != nil || n != want {
			t.Fatalf("run %d: got %d, %v, want %d", i, n, err, want)
		}
	}
	for rid, want := range map[string]string{"req_plain": "sealed:secret", "req_sealed": "ciphertext", "req_none": "", "req_empty": "sealed:"} {
		got, err := db.AuditEntries(ctx, rid)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[0].Body) != want {
			t.Errorf("%s: got body %q, want %q", rid, got[0].Body, want)
		}
	}
}

// TestRecordAuditEntriesAtomic: a batch holding a log index already stored
// fails with ErrExists and stores none of its rows.
func TestRecordAuditEntriesAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	rec := func(i uint64, rid string) store.AuditRecord {
		return store.AuditRecord{LogIndex: i, RequestID: rid, Kind: "decision", Stage: "request"}
	}
	if err := db.RecordAuditEntries(ctx, []store.AuditRecord{rec(5, "req_first")}); err != nil {
		t.Fatal(err)
	}
	err := db.RecordAuditEntries(ctx, []store.AuditRecord{rec(6, "req_second"), rec(5, "req_second"), rec(7, "req_second")})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("batch with a stored index: got %v, want ErrExists", err)
	}
	if got, err := db.AuditEntries(ctx, "req_second"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("after the failed batch: got %d entries, %v, want none (ErrNotFound)", len(got), err)
	}
}

// TestStorageErrorsAreNotSentinels: a failure of the database itself is
// never reported as ErrExists or ErrNotFound.
func TestStorageErrorsAreNotSentinels(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.pool.Exec(ctx, `DROP TABLE keys`); err != nil {
		t.Fatal(err)
	}
	_, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	err = db.CreateKey(ctx, store.Key{ID: "key_1"}, hash)
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("CreateKey without a table: got %v, want a storage error that is not ErrExists", err)
	}
	_, err = db.PrincipalByKeyHash(ctx, hash)
	if err == nil || errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("PrincipalByKeyHash without a table: got %v, want a storage error that is not ErrNotFound", err)
	}
}

// TestContextCancellation: a done context fails every kind of call with an
// error wrapping the context's error, and the DB works afterwards.
func TestContextCancellation(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"PrincipalByKeyHash": func() error { _, err := db.PrincipalByKeyHash(ctx, hash); return err },
		"CreateKey":          func() error { return db.CreateKey(ctx, store.Key{ID: "key_1"}, hash) },
		"CreateApproval":     func() error { _, err := db.CreateApproval(ctx, approvalFor("apr_1"), time.Hour, 3); return err },
		"ConsumeApproval":    func() error { _, err := db.ConsumeApproval(ctx, "apr_1", "d", testUpstream); return err },
		"UpdateApproval": func() error {
			_, err := db.UpdateApproval(ctx, "apr_1", func(*approval.Approval, time.Time) error { return nil })
			return err
		},
		"RecordAuditEntries": func() error {
			return db.RecordAuditEntries(ctx, []store.AuditRecord{{RequestID: "r", Kind: "k", Stage: "s"}})
		},
		"ExposureTotals": func() error { _, err := db.ExposureTotals(ctx, store.ExposureFilter{}); return err },
		"Ping":           func() error { return db.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: got %v, want an error wrapping context.Canceled", name, err)
		}
	}
	if err := db.CreateKey(context.Background(), store.Key{ID: "key_1"}, hash); err != nil {
		t.Errorf("CreateKey after the cancelled calls: %v", err)
	}
}

// TestLockWaitHonoursDeadline: a ConsumeApproval waiting on a row another
// replica holds locked gives up at its context's deadline, and the
// approval is still consumed exactly once.
func TestLockWaitHonoursDeadline(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 2, nil)
	a := approvalFor("apr_locked")
	if _, err := r.dbs[0].CreateApproval(ctx, a, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.dbs[0].UpdateApproval(ctx, a.ID, func(a *approval.Approval, now time.Time) error {
		a.Status, a.DecidedAt = approval.StatusApproved, &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tx, err := r.dbs[0].pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM approvals WHERE id = $1 FOR UPDATE`, a.ID); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = r.dbs[1].ConsumeApproval(short, a.ID, a.ArgsDigest, testUpstream)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ConsumeApproval behind a row lock: got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("ConsumeApproval returned %v after its 300ms deadline", d)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The abandoned UPDATE may still run on the server once the lock is
	// released (see the package doc), so this retry may find the approval
	// already consumed; what must hold is that, of everything, exactly
	// one consumption is recorded and no later call consumes it again.
	if _, err := r.dbs[1].ConsumeApproval(ctx, a.ID, a.ArgsDigest, testUpstream); err != nil && !errors.Is(err, approval.ErrPrecondition) {
		t.Fatalf("ConsumeApproval after the lock was released: %v", err)
	}
	got, err := r.dbs[0].GetApproval(ctx, a.ID)
	if err != nil || got.Status != approval.StatusConsumed || got.ConsumedAt == nil {
		t.Fatalf("after the lock was released: got %+v, %v, want consumed", got, err)
	}
	if _, err := r.dbs[0].ConsumeApproval(ctx, a.ID, a.ArgsDigest, testUpstream); !errors.Is(err, approval.ErrPrecondition) {
		t.Errorf("a third ConsumeApproval: got %v, want ErrPrecondition", err)
	}
}

func TestPing(t *testing.T) {
	db := openTemp(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if db.Pool() == nil {
		t.Fatal("Pool: got nil")
	}
	// Terminate every connection the pool holds, as a database restart
	// would: the pool replaces them, and Ping answers again.
	if _, err := db.pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping after the server dropped the other connections: %v", err)
	}
}
