package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
)

// GroupReceipts returns version 2 receipts (their bytes) for entries first
// to first+n-1, signed as one journal group.
func GroupReceipts(t testing.TB, signer note.Signer, first uint64, n int) [][]byte {
	t.Helper()
	leaves := make([]tlog.Hash, n)
	for i := range leaves {
		leaves[i] = tlog.RecordHash(fmt.Appendf(nil, "entry %d", first+uint64(i)))
	}
	g, err := auditverify.NewReceiptGroup(signer.Name(), first, leaves, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: g.Text()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, n)
	for i, leaf := range leaves {
		r, err := g.Receipt(first+uint64(i), leaf, signed)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r.Note
	}
	return out
}

// Signer returns a fresh note signer for receipts.
func Signer(t testing.TB) note.Signer {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "brightline/test/audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// ReceiptBatches returns two batches of index rows, two rows a request,
// whose receipts are those of three journal groups (entries 0 to 2, 5 to
// 10 split over the two batches, and 11) beside an empty receipt and one
// of another form; and the receipts by log index.
func ReceiptBatches(t testing.TB) (batches [2][]store.AuditRecord, want [][]byte) {
	t.Helper()
	signer := Signer(t)
	want = append(want, GroupReceipts(t, signer, 0, 3)...)
	want = append(want, nil, []byte("a receipt of another form"))
	want = append(want, GroupReceipts(t, signer, 5, 6)...)
	want = append(want, GroupReceipts(t, signer, 11, 1)...)
	recs := make([]store.AuditRecord, len(want))
	for i, rc := range want {
		recs[i] = store.AuditRecord{LogIndex: uint64(i), RequestID: fmt.Sprintf("req_%d", i/2), Kind: "decision", Stage: "request", Receipt: rc}
	}
	return [2][]store.AuditRecord{recs[:8], recs[8:]}, want
}

// TestReceiptNotes records [ReceiptBatches] in s and checks, with query
// (one row of the store's SQL into dest), that s keeps each group's
// signed note once per batch: in one row, the batch's other rows of the
// group referring to it, and a receipt of another form whole. The
// conformance test ("receipts") checks that every row gets its receipt
// back.
func TestReceiptNotes(t *testing.T, s store.AuditIndex, query func(ctx context.Context, sql string, dest ...any) error) {
	ctx := context.Background()
	batches, _ := ReceiptBatches(t)
	for _, b := range batches {
		if err := s.RecordAuditEntries(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Notes: one per group and batch (0, 5, 8 for the second part of
	// 5..10, 11); the other rows of those groups refer to them.
	var notes, refs, whole int
	if err := query(ctx, `SELECT
		(SELECT count(*) FROM audit_index WHERE receipt_note IS NOT NULL),
		(SELECT count(*) FROM audit_index WHERE receipt_ref IS NOT NULL),
		(SELECT count(*) FROM audit_index WHERE receipt != '')`, &notes, &refs, &whole); err != nil {
		t.Fatal(err)
	}
	if notes != 4 || refs != 6 || whole != 1 {
		t.Errorf("rows with a note, a reference, a whole receipt = %d, %d, %d; want 4, 6, 1", notes, refs, whole)
	}
}
