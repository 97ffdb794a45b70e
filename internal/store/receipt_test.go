package store_test

import (
	"bytes"
	"testing"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/storetest"
)

// The stores split version 2 receipts with auditverify.SplitGroupReceipt
// (ReceiptBatch.Columns) and join them back with JoinReceipt.
func TestSplitReceipt(t *testing.T) {
	signer := storetest.Signer(t)
	for n := 1; n <= 13; n++ {
		for _, rc := range storetest.GroupReceipts(t, signer, 40, n) {
			note, rest, ok := auditverify.SplitGroupReceipt(rc)
			if !ok {
				t.Fatalf("group of %d: a version 2 receipt was not split", n)
			}
			if !bytes.HasSuffix(note, []byte("\n")) || !bytes.HasPrefix(rest, []byte("\n")) || bytes.Count(note, []byte("\n\n")) != 1 {
				t.Fatalf("group of %d: split at the wrong place: note %q, rest %q", n, note, rest)
			}
			if got := store.JoinReceipt(note, rest); !bytes.Equal(got, rc) {
				t.Fatalf("group of %d: joined receipt differs from the one split", n)
			}
		}
	}
	for name, rc := range map[string]string{
		"none":                "",
		"version 1":           "brightline.dev/audit-receipt/v1\norigin\n7\nAAAA\n\n— origin sig\n",
		"no signature block":  "brightline.dev/audit-receipt/v2\norigin\n7\n1\n",
		"only the note's end": "brightline.dev/audit-receipt/v2\norigin\n\n— origin sig\n",
	} {
		if _, _, ok := auditverify.SplitGroupReceipt([]byte(rc)); ok {
			t.Errorf("%s: split, want kept whole", name)
		}
	}
}

// A receipt kept whole reads back as it was, none as none.
func TestWholeReceipt(t *testing.T) {
	for _, rc := range [][]byte{nil, []byte("a receipt of another form"), storetest.GroupReceipts(t, storetest.Signer(t), 0, 1)[0]} {
		got, err := store.ParseWholeReceipt(store.WholeReceipt(rc))
		if err != nil || !bytes.Equal(got, rc) || (rc == nil) != (got == nil) {
			t.Errorf("receipt %.40q kept whole reads back as %.40q, %v", rc, got, err)
		}
	}
	if _, err := store.ParseWholeReceipt("not base64!"); err == nil {
		t.Error("ParseWholeReceipt of a string that is not base64: no error")
	}
}

// What ReceiptBatch.Columns keeps, ReceiptFromColumns reads back, a note
// held by another row included; a row referring to one without a note is
// an error.
func TestReceiptFromColumns(t *testing.T) {
	rcs := append(storetest.GroupReceipts(t, storetest.Signer(t), 0, 3), nil, []byte("a receipt of another form"))
	batch := make(store.ReceiptBatch)
	notes := map[int64][]byte{}
	for i, rc := range rcs {
		whole, note, holder, rest := batch.Columns(store.AuditRecord{LogIndex: uint64(i), Receipt: rc})
		ref := int64(-1)
		if note != nil {
			notes[int64(i)] = note
		}
		if holder != nil {
			ref, note = *holder, notes[*holder]
		}
		got, err := store.ReceiptFromColumns(whole, note, ref, rest)
		if err != nil || !bytes.Equal(got, rc) || (rc == nil) != (got == nil) {
			t.Errorf("receipt %d reads back as %.40q, %v", i, got, err)
		}
	}
	_, _, _, rest := make(store.ReceiptBatch).Columns(store.AuditRecord{Receipt: rcs[0]})
	if _, err := store.ReceiptFromColumns("", nil, 7, rest); err == nil {
		t.Error("a proof whose note row holds none: no error")
	}
}
