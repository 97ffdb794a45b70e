package store

import (
	"encoding/base64"
	"fmt"

	"github.com/brightline/brightline/auditverify"
)

// ReceiptFromColumns is the receipt a store kept with [ReceiptBatch.Columns]:
// note and rest joined if rest is set (note read from the row that holds
// it, holder), else whole read back. It is an error for rest to be set
// without a note: the holder row has none.
func ReceiptFromColumns(whole string, note []byte, holder int64, rest []byte) ([]byte, error) {
	if rest == nil {
		return ParseWholeReceipt(whole)
	}
	if note == nil {
		return nil, fmt.Errorf("the receipt refers to log index %d, which holds no receipt note", holder)
	}
	return JoinReceipt(note, rest), nil
}

// JoinReceipt is the receipt split into note and rest.
func JoinReceipt(note, rest []byte) []byte {
	b := make([]byte, 0, len(note)+len(rest))
	return append(append(b, note...), rest...)
}

// WholeReceipt is how a store keeps a receipt it does not split: its
// header form, standard base64 ("" for none), as the stores kept every
// receipt before they split them.
func WholeReceipt(receipt []byte) string { return base64.StdEncoding.EncodeToString(receipt) }

// ParseWholeReceipt reads a receipt kept by [WholeReceipt].
func ParseWholeReceipt(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("receipt kept whole is not base64: %w", err)
	}
	return b, nil
}

// ReceiptBatch keeps, within one batch of index rows, which row holds each
// journal group's signed note: the first row of the batch with the note
// holds it, the batch's later rows of that group refer to that row's log
// index. Make one per batch.
type ReceiptBatch map[string]int64

// Columns returns what a store keeps for r's receipt: receipt whole (see
// [WholeReceipt]), or "" when it is split; the note, if this row holds it;
// the row that holds it, if another; and the rest. note, holder and rest
// are nil when unset. A version 2 receipt is split into its journal
// group's signed note and the rest ([auditverify.SplitGroupReceipt]): the
// stores keep each note once per batch of rows
// ([AuditIndex.RecordAuditEntries]), as every entry of a group carries
// it. Any other receipt is kept whole.
func (b ReceiptBatch) Columns(r AuditRecord) (whole string, note []byte, holder *int64, rest []byte) {
	n, rest, ok := auditverify.SplitGroupReceipt(r.Receipt)
	if !ok {
		return WholeReceipt(r.Receipt), nil, nil, nil
	}
	if at, seen := b[string(n)]; seen {
		return "", nil, &at, rest
	}
	b[string(n)] = int64(r.LogIndex)
	return "", n, nil, rest
}
