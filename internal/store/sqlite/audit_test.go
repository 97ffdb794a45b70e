package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

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
	// Again: nothing left to forget.
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
	}
	if err := db.RecordAuditEntries(ctx, recs); err != nil {
		t.Fatal(err)
	}
	seal := func(salt, body []byte) ([]byte, []byte) {
		return append([]byte("sealed:"), salt...), append([]byte("sealed:"), body...)
	}
	for i, want := range []int64{1, 0} { // the second run finds nothing left
		if n, err := db.SealAuditBodies(ctx, 32, seal); err != nil || n != want {
			t.Fatalf("run %d: got %d, %v, want %d", i, n, err, want)
		}
	}
	for rid, want := range map[string]string{"req_plain": "sealed:secret", "req_sealed": "ciphertext", "req_none": ""} {
		got, err := db.AuditEntries(ctx, rid)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[0].Body) != want {
			t.Errorf("%s: got body %q, want %q", rid, got[0].Body, want)
		}
	}
}

// TestRecordAuditEntriesDuplicateMidBatch: a known log index in the middle
// of a batch fails the whole batch with ErrExists, naming the index, and
// stores none of its rows.
func TestRecordAuditEntriesDuplicateMidBatch(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if err := db.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: 100, RequestID: "req_first", Kind: "decision"}}); err != nil {
		t.Fatal(err)
	}
	recs := make([]store.AuditRecord, 200)
	for i := range recs {
		recs[i] = store.AuditRecord{LogIndex: uint64(i), RequestID: "req_batch", Kind: "decision", Stage: "request", Salt: []byte{1}, Body: []byte("b")}
	}
	err := db.RecordAuditEntries(ctx, recs)
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "log index 100") {
		t.Fatalf("got %v, want ErrExists naming log index 100", err)
	}
	if got, err := db.AuditEntries(ctx, "req_batch"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("rows of the failed batch: got %d rows, %v; want none", len(got), err)
	}
	if got, err := db.AuditEntries(ctx, "req_first"); err != nil || len(got) != 1 {
		t.Errorf("the earlier row: got %+v, %v", got, err)
	}
}

// TestRecordAuditEntriesCanceled: a context that ends during a batch fails
// it with the context's error and stores nothing, and the store keeps
// working.
func TestRecordAuditEntriesCanceled(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { cancel(); return now } // read inside the transaction
	err := db.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: 1, RequestID: "req_a", Kind: "decision"}, {LogIndex: 2, RequestID: "req_a", Kind: "decision"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	db.Now = func() time.Time { return now }
	if got, err := db.AuditEntries(context.Background(), "req_a"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("rows of the canceled batch: got %d rows, %v; want none", len(got), err)
	}
	if err := db.RecordAuditEntries(context.Background(), []store.AuditRecord{{LogIndex: 1, RequestID: "req_a", Kind: "decision"}}); err != nil {
		t.Errorf("after the canceled batch: %v", err)
	}
}

// TestRecordAuditEntriesKeepsNoBuffer: RecordAuditEntries does not copy
// salts and bodies; the driver must have copied them, so changing the
// caller's slices afterwards changes nothing stored.
func TestRecordAuditEntriesKeepsNoBuffer(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	salt, body := []byte("salt"), []byte(`{"a":1}`)
	if err := db.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: 1, RequestID: "req_a", Kind: "decision", Salt: salt, Body: body}}); err != nil {
		t.Fatal(err)
	}
	copy(salt, "XXXX")
	copy(body, "XXXXXXX")
	got, err := db.AuditEntries(ctx, "req_a")
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Salt) != "salt" || string(got[0].Body) != `{"a":1}` {
		t.Errorf("got salt %q body %q, want the values recorded", got[0].Salt, got[0].Body)
	}
}
