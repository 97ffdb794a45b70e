package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
)

// groupReceipts returns the header forms of version 2 receipts for
// entries first to first+n-1, signed as one journal group.
func groupReceipts(t testing.TB, signer note.Signer, first uint64, n int) []string {
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
	out := make([]string, n)
	for i, leaf := range leaves {
		r, err := g.Receipt(first+uint64(i), leaf, signed)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r.Encode()
	}
	return out
}

func testSigner(t testing.TB) note.Signer {
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

func TestSplitReceipt(t *testing.T) {
	signer := testSigner(t)
	for n := 1; n <= 13; n++ {
		for _, rc := range groupReceipts(t, signer, 40, n) {
			note, rest, ok := splitReceipt(rc)
			if !ok {
				t.Fatalf("group of %d: a version 2 receipt was not split", n)
			}
			if !strings.HasSuffix(string(note), "\n") || !strings.HasPrefix(string(rest), "\n") || strings.Count(string(note), "\n\n") != 1 {
				t.Fatalf("group of %d: split at the wrong place: note %q, rest %q", n, note, rest)
			}
			if got := joinReceipt(note, rest); got != rc {
				t.Fatalf("group of %d: joined receipt differs from the one split", n)
			}
		}
	}
	v2 := groupReceipts(t, signer, 7, 2)[1]
	b, _ := base64.StdEncoding.DecodeString(v2)
	whole := map[string]string{
		"empty":               "",
		"not base64":          "brightline.dev/audit-receipt/v2",
		"version 1":           base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v1\norigin\n7\nAAAA\n\n— origin sig\n")),
		"with a line break":   v2[:40] + "\n" + v2[40:],
		"unpadded":            base64.RawStdEncoding.EncodeToString(b),
		"no signature block":  base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v2\norigin\n7\n1\n")),
		"only the note's end": base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v2\norigin\n\n— origin sig\n")),
	}
	if u := base64.URLEncoding.EncodeToString(b); u != v2 {
		whole["URL alphabet"] = u
	}
	for name, s := range whole {
		if _, _, ok := splitReceipt(s); ok {
			t.Errorf("%s: split, want stored whole", name)
		}
	}
}

// Rows of one journal group share its signed note: the store keeps it
// once per batch and gives every row back its whole receipt, byte for
// byte, also for a group split over two batches, beside version 1 and
// other receipts it keeps as they are.
func TestAuditReceiptsShareTheirNote(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	signer := testSigner(t)
	var want []string
	want = append(want, groupReceipts(t, signer, 0, 3)...)
	want = append(want, "", "a receipt of another form")
	want = append(want, groupReceipts(t, signer, 5, 6)...) // 5..10, split over the batches below
	want = append(want, groupReceipts(t, signer, 11, 1)...)
	recs := make([]store.AuditRecord, len(want))
	for i, rc := range want {
		recs[i] = store.AuditRecord{LogIndex: uint64(i), RequestID: fmt.Sprintf("req_%d", i/2), Kind: "decision", Stage: "request", Receipt: rc}
	}
	if err := db.RecordAuditEntries(ctx, recs[:8]); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordAuditEntries(ctx, recs[8:]); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(recs); i += 2 {
		got, err := db.AuditEntries(ctx, recs[i].RequestID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if r.Receipt != want[r.LogIndex] {
				t.Errorf("log index %d: receipt read back differs from the one recorded:\n got %.60q…\nwant %.60q…", r.LogIndex, r.Receipt, want[r.LogIndex])
			}
		}
	}
	// Notes: one per group and batch (0, 5, 8 for the second part of
	// 5..10, 11); the other rows of those groups refer to them.
	var notes, refs, whole int
	if err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM audit_index WHERE receipt_note IS NOT NULL),
		(SELECT count(*) FROM audit_index WHERE receipt_ref IS NOT NULL),
		(SELECT count(*) FROM audit_index WHERE receipt != '')`).Scan(&notes, &refs, &whole); err != nil {
		t.Fatal(err)
	}
	if notes != 4 || refs != 6 || whole != 1 {
		t.Errorf("rows with a note, a reference, a whole receipt = %d, %d, %d; want 4, 6, 1", notes, refs, whole)
	}
}
