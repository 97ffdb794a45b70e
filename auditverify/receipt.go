package auditverify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ReceiptHeader is the HTTP response header that carries an answer's
// receipt, in its encoded form ([Receipt.Encode]).
const ReceiptHeader = "Brightline-Audit-Receipt"

// receiptTag is the first line of every receipt. It cannot be read as a
// checkpoint: a checkpoint's second line is its size, a receipt's is the
// log's origin.
const receiptTag = "brightline.dev/audit-receipt/v1"

// receiptTime keeps microseconds always, so that a receipt has one text.
const receiptTime = "2006-01-02T15:04:05.000000Z"

// ErrNotIncluded is returned by [Receipt.VerifyInclusion] when the
// checkpoint does not cover the receipt's index yet. Whether that breaks
// the promise depends on the time: see [Receipt.Due].
var ErrNotIncluded = errors.New("the receipt's entry is not covered by the checkpoint yet")

// Receipt is the log's signed promise that an entry will be in the log at
// Index within MMD of Time: the gateway releases an answer with the receipt
// of its decision once the decision is durable in its journal, before it
// is in the tree.
//
// A receipt is a signed note (C2SP signed-note) by the log's key, whose
// text is six lines:
//
//	brightline.dev/audit-receipt/v1
//	<origin>                      the log's origin, equal to its key's name
//	<index>                       decimal: the entry's index in the log
//	<leaf hash>                   base64 of the RFC 6962 leaf hash of the entry,
//	                              SHA-256(0x00 ‖ entry bytes)
//	<time>                        when the journal took it, UTC, RFC 3339 with
//	                              exactly six fractional digits
//	<mmd>                         decimal milliseconds: the maximum merge delay
//
// The leaf hash is what the tree holds, so a receipt is checked against a
// checkpoint with hash tiles alone, without reading the entry. Its encoded
// form, as [ReceiptHeader] carries it, is the standard base64 of the whole
// signed note.
type Receipt struct {
	Origin   string
	Index    uint64
	LeafHash tlog.Hash
	Time     time.Time
	MMD      time.Duration
	Note     []byte // the signed note; nil until signed
}

// Text returns the receipt's note text, the bytes the log signs.
func (r Receipt) Text() string {
	return fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n%d\n", receiptTag, r.Origin, r.Index,
		base64.StdEncoding.EncodeToString(r.LeafHash[:]), r.Time.UTC().Format(receiptTime), r.MMD.Milliseconds())
}

// Encode returns the header form of a signed receipt: base64 of its note.
func (r Receipt) Encode() string { return base64.StdEncoding.EncodeToString(r.Note) }

// Due is when the promise falls due: the entry must be in the log by then.
func (r Receipt) Due() time.Time { return r.Time.Add(r.MMD) }

// Matches reports whether entry is the entry the receipt promises.
func (r Receipt) Matches(entry []byte) bool { return tlog.RecordHash(entry) == r.LeafHash }

// ParseReceipt checks a receipt's signature with the log's verifier key
// and reads it. s is the header form ([Receipt.Encode]) or the signed note
// itself. It fails if the log's signature is missing or bad, if the origin
// is not the key's name, or if the text is not exactly a receipt's.
func ParseReceipt(s string, log note.Verifier) (Receipt, error) {
	if log == nil {
		return Receipt{}, errors.New("no log key to verify the receipt with")
	}
	s = strings.TrimSpace(s)
	msg := []byte(s + "\n")
	if !strings.HasPrefix(s, receiptTag) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return Receipt{}, fmt.Errorf("couldn't decode receipt: %w", err)
		}
		msg = b
	}
	n, err := note.Open(msg, note.VerifierList(log))
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt does not verify with the log key %s+%08x: %w", log.Name(), log.KeyHash(), err)
	}
	r, err := parseReceiptText(n.Text)
	if err != nil {
		return Receipt{}, err
	}
	if r.Origin != log.Name() {
		return Receipt{}, fmt.Errorf("receipt origin %q differs from the log key's name %q", r.Origin, log.Name())
	}
	r.Note = bytes.Clone(msg)
	return r, nil
}

func parseReceiptText(text string) (Receipt, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 7 || lines[6] != "" || lines[0] != receiptTag {
		return Receipt{}, errors.New("couldn't parse receipt: not a " + receiptTag + " text of six lines")
	}
	var r Receipt
	r.Origin = lines[1]
	idx, err := strconv.ParseUint(lines[2], 10, 64)
	if err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt index %q: %w", lines[2], err)
	}
	r.Index = idx
	h, err := base64.StdEncoding.DecodeString(lines[3])
	if err != nil || len(h) != tlog.HashSize {
		return Receipt{}, fmt.Errorf("couldn't parse receipt leaf hash %q", lines[3])
	}
	copy(r.LeafHash[:], h)
	if r.Time, err = time.Parse(receiptTime, lines[4]); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt time %q: %w", lines[4], err)
	}
	ms, err := strconv.ParseInt(lines[5], 10, 64)
	if err != nil || ms < 0 {
		return Receipt{}, fmt.Errorf("couldn't parse receipt MMD %q", lines[5])
	}
	r.MMD = time.Duration(ms) * time.Millisecond
	if r.Text() != text {
		return Receipt{}, errors.New("couldn't parse receipt: text is not canonical")
	}
	return r, nil
}

// VerifyInclusion proves, from src's hash tiles, that the receipt's leaf
// hash is at its index in the tree of c (a checkpoint already verified,
// of the receipt's log). It returns [ErrNotIncluded] if c does not cover
// the index yet, and an error naming the index if another entry is there.
func (r Receipt) VerifyInclusion(ctx context.Context, src Source, c Checkpoint) error {
	if r.Origin != c.Origin {
		return fmt.Errorf("receipt of log %q checked against a checkpoint of %q", r.Origin, c.Origin)
	}
	if r.Index >= c.Size {
		return fmt.Errorf("entry %d, checkpoint size %d: %w", r.Index, c.Size, ErrNotIncluded)
	}
	p, err := tlog.ProveRecord(int64(c.Size), int64(r.Index), hashReader(ctx, src, c))
	if err != nil {
		return fmt.Errorf("couldn't build the inclusion proof of entry %d in size %d: %w", r.Index, c.Size, err)
	}
	if err := tlog.CheckRecord(p, int64(c.Size), c.Hash, int64(r.Index), r.LeafHash); err != nil {
		return fmt.Errorf("entry %d of the tree of size %d is not the entry the receipt promises: %w", r.Index, c.Size, err)
	}
	return nil
}
