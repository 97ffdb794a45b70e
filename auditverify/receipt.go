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

// receiptTag is the first line of every version 1 receipt, and
// groupReceiptTag of every version 2 receipt. Neither can be read as a
// checkpoint: a checkpoint's second line is its size, a receipt's is the
// log's origin.
const (
	receiptTag      = "brightline.dev/audit-receipt/v1"
	groupReceiptTag = "brightline.dev/audit-receipt/v2"
)

// receiptTime keeps microseconds always, so that a receipt has one text.
const receiptTime = "2006-01-02T15:04:05.000000Z"

// maxGroupPath bounds a version 2 receipt's audit path: 63 hashes prove
// a leaf in any tree of up to 2^63 leaves.
const maxGroupPath = 63

// ErrNotIncluded is returned by [Receipt.VerifyInclusion] when the
// checkpoint does not cover the receipt's index yet. Whether that breaks
// the promise depends on the time: see [Receipt.Due].
var ErrNotIncluded = errors.New("the receipt's entry is not covered by the checkpoint yet")

// Receipt is the log's signed promise that an entry will be in the log at
// Index within MMD of Time: the gateway releases an answer with the receipt
// of its decision once the decision is durable in its journal, before it
// is in the tree.
//
// A receipt is a signed note (C2SP signed-note) by the log's key. There
// are two versions, and a verifier accepts both.
//
// Version 1 signs one entry. Its text is six lines:
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
// Version 2, which the gateway writes, signs a whole journal group (the
// entries one flush made durable) at once, so that the log signs once per
// flush instead of once per entry. Its text is seven lines:
//
//	brightline.dev/audit-receipt/v2
//	<origin>
//	<first>                       decimal: the group's first index in the log
//	<count>                       decimal: how many entries the group holds, ≥ 1
//	<root>                        base64 of the RFC 6962 tree hash of the group's
//	                              leaf hashes, in index order
//	<time>
//	<mmd>
//
// and the signed note is followed by a blank line and the entry's proof
// within the group, which the signature covers through the root:
//
//	<index>                       decimal: the entry's index, first ≤ index < first+count
//	<leaf hash>                   base64, as in version 1
//	<hash>...                     base64: the leaf's RFC 6962 audit path in the
//	                              group's tree (tlog.RecordProof), one per line
//
// The leaf hash is what the tree holds, so a receipt is checked against a
// checkpoint with hash tiles alone, without reading the entry. Its encoded
// form, as [ReceiptHeader] carries it, is the standard base64 of the
// receipt's bytes ([Receipt.Note]).
type Receipt struct {
	Origin   string
	Index    uint64
	LeafHash tlog.Hash
	Time     time.Time
	MMD      time.Duration
	// Version 2 only (Count > 0): the group the signature covers, and the
	// entry's audit path in the group's tree.
	First uint64
	Count uint64
	Root  tlog.Hash
	Path  tlog.RecordProof
	// Note is the receipt's bytes: the signed note, and for version 2 the
	// proof after it; nil until signed.
	Note []byte
}

// Version is the receipt's format version, 1 or 2.
func (r Receipt) Version() int {
	if r.Count > 0 {
		return 2
	}
	return 1
}

// Text returns the receipt's note text, the bytes the log signs: for
// version 2, the group's.
func (r Receipt) Text() string {
	if r.Version() == 2 {
		return ReceiptGroup{Origin: r.Origin, First: r.First, Count: r.Count, Root: r.Root, Time: r.Time, MMD: r.MMD}.Text()
	}
	return fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n%d\n", receiptTag, r.Origin, r.Index,
		base64.StdEncoding.EncodeToString(r.LeafHash[:]), r.Time.UTC().Format(receiptTime), r.MMD.Milliseconds())
}

// Encode returns the header form of a signed receipt: base64 of its bytes.
func (r Receipt) Encode() string { return base64.StdEncoding.EncodeToString(r.Note) }

// Due is when the promise falls due: the entry must be in the log by then.
func (r Receipt) Due() time.Time { return r.Time.Add(r.MMD) }

// Matches reports whether entry is the entry the receipt promises.
func (r Receipt) Matches(entry []byte) bool { return tlog.RecordHash(entry) == r.LeafHash }

// ReceiptGroup is a journal group as a version 2 receipt signs it: Count
// entries from index First, taken by the journal at Time, whose leaf
// hashes have the RFC 6962 tree hash Root.
type ReceiptGroup struct {
	Origin string
	First  uint64
	Count  uint64
	Root   tlog.Hash
	Time   time.Time
	MMD    time.Duration
	// hashes are the group tree's stored hashes (tlog.StoredHashIndex
	// order), when the group was made with NewReceiptGroup.
	hashes []tlog.Hash
}

// NewReceiptGroup makes the group of the entries with leaf hashes
// leaves, from index first: the log signs its Text once, and hands each
// entry [ReceiptGroup.Receipt].
func NewReceiptGroup(origin string, first uint64, leaves []tlog.Hash, t time.Time, mmd time.Duration) (*ReceiptGroup, error) {
	if len(leaves) == 0 {
		return nil, errors.New("couldn't make a receipt group: no entries")
	}
	g := &ReceiptGroup{Origin: origin, First: first, Count: uint64(len(leaves)), Time: t, MMD: mmd,
		hashes: make([]tlog.Hash, 0, 2*len(leaves))}
	for i, h := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), h, g)
		if err != nil {
			return nil, fmt.Errorf("couldn't make a receipt group: %w", err)
		}
		g.hashes = append(g.hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(len(leaves)), g)
	if err != nil {
		return nil, fmt.Errorf("couldn't make a receipt group: %w", err)
	}
	g.Root = root
	return g, nil
}

// ReadHashes implements [tlog.HashReader] over the group's tree.
func (g *ReceiptGroup) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(g.hashes)) {
			return nil, fmt.Errorf("receipt group: no stored hash %d", x)
		}
		out[i] = g.hashes[x]
	}
	return out, nil
}

// Text returns the group's note text, the bytes the log signs.
func (g ReceiptGroup) Text() string {
	return fmt.Sprintf("%s\n%s\n%d\n%d\n%s\n%s\n%d\n", groupReceiptTag, g.Origin, g.First, g.Count,
		base64.StdEncoding.EncodeToString(g.Root[:]), g.Time.UTC().Format(receiptTime), g.MMD.Milliseconds())
}

// Receipt returns the receipt of the group's entry at index, whose leaf
// hash is leaf, given the signed note of the group's Text. It fails if
// the entry is not the group's.
func (g *ReceiptGroup) Receipt(index uint64, leaf tlog.Hash, signed []byte) (Receipt, error) {
	if index < g.First || index-g.First >= g.Count {
		return Receipt{}, fmt.Errorf("couldn't make the receipt of entry %d: the group holds %d to %d", index, g.First, g.First+g.Count-1)
	}
	n := int64(index - g.First)
	if x := tlog.StoredHashIndex(0, n); x >= int64(len(g.hashes)) || g.hashes[x] != leaf {
		return Receipt{}, fmt.Errorf("couldn't make the receipt of entry %d: it is not the group's entry there", index)
	}
	path, err := tlog.ProveRecord(int64(g.Count), n, g)
	if err != nil {
		return Receipt{}, fmt.Errorf("couldn't make the receipt of entry %d: %w", index, err)
	}
	r := Receipt{Origin: g.Origin, Index: index, LeafHash: leaf, Time: g.Time, MMD: g.MMD,
		First: g.First, Count: g.Count, Root: g.Root, Path: path}
	// The note, a blank line, then the index (at most 20 digits) and one
	// base64 hash a line: sized once.
	b := make([]byte, 0, len(signed)+1+21+(base64.StdEncoding.EncodedLen(tlog.HashSize)+1)*(1+len(path)))
	r.Note = appendProof(append(append(b, signed...), '\n'), r)
	return r, nil
}

// appendProof appends the proof lines of a version 2 receipt to b.
func appendProof(b []byte, r Receipt) []byte {
	b = strconv.AppendUint(b, r.Index, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, r.LeafHash[:])
	b = append(b, '\n')
	for _, h := range r.Path {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	return b
}

// SplitGroupReceipt splits the bytes of a version 2 receipt ([Receipt.Note])
// into the signed note of its journal group, the same for every entry of
// the group, and the rest: a blank line and the entry's proof lines, so
// that the receipt is signed then rest. ok is false if b is not laid out
// as a version 2 receipt; nothing is verified. A version 2 receipt is the
// note's text, a blank line, its signature lines, a blank line and the
// proof; the text and the signatures have no blank lines.
func SplitGroupReceipt(b []byte) (signed, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(groupReceiptTag+"\n")) {
		return nil, nil, false
	}
	text, after, ok := bytes.Cut(b, []byte("\n\n"))
	sigs, _, ok2 := bytes.Cut(after, []byte("\n\n"))
	if !ok || !ok2 {
		return nil, nil, false
	}
	n := len(text) + 2 + len(sigs) + 1
	return b[:n], b[n:], true
}

// ParseReceipt checks a receipt's signature with the log's verifier key
// and reads it, in either version. s is the header form ([Receipt.Encode])
// or the receipt's bytes themselves. It fails if the log's signature is
// missing or bad, if the origin is not the key's name, if the text is not
// exactly a receipt's, or if a version 2 receipt's proof does not lead
// from its leaf hash to the group root its signature covers.
func ParseReceipt(s string, log note.Verifier) (Receipt, error) {
	if log == nil {
		return Receipt{}, errors.New("no log key to verify the receipt with")
	}
	s = strings.TrimSpace(s)
	msg := []byte(s + "\n")
	if !strings.HasPrefix(s, receiptTag) && !strings.HasPrefix(s, groupReceiptTag) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return Receipt{}, fmt.Errorf("couldn't decode receipt: %w", err)
		}
		msg = b
	}
	signed, proof := msg, []byte(nil)
	if bytes.HasPrefix(msg, []byte(groupReceiptTag+"\n")) {
		var rest []byte
		var ok bool
		if signed, rest, ok = SplitGroupReceipt(msg); !ok {
			return Receipt{}, errors.New("couldn't parse receipt: a " + groupReceiptTag + " receipt needs its proof after its signatures")
		}
		proof = rest[1:]
	}
	n, err := note.Open(signed, note.VerifierList(log))
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt does not verify with the log key %s+%08x: %w", log.Name(), log.KeyHash(), err)
	}
	var r Receipt
	if proof != nil {
		r, err = parseGroupReceipt(n.Text, proof)
	} else {
		r, err = parseReceiptText(n.Text)
	}
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
	if r.LeafHash, err = parseHash(lines[3]); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt leaf hash %q", lines[3])
	}
	if r.Time, r.MMD, err = parseTimeMMD(lines[4], lines[5]); err != nil {
		return Receipt{}, err
	}
	if r.Text() != text {
		return Receipt{}, errors.New("couldn't parse receipt: text is not canonical")
	}
	return r, nil
}

// parseGroupReceipt reads a version 2 receipt from its verified note text
// and its proof lines, and checks the proof against the signed root.
func parseGroupReceipt(text string, proof []byte) (Receipt, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 8 || lines[7] != "" || lines[0] != groupReceiptTag {
		return Receipt{}, errors.New("couldn't parse receipt: not a " + groupReceiptTag + " text of seven lines")
	}
	var r Receipt
	var err error
	r.Origin = lines[1]
	if r.First, err = strconv.ParseUint(lines[2], 10, 64); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt group's first index %q: %w", lines[2], err)
	}
	if r.Count, err = strconv.ParseUint(lines[3], 10, 63); err != nil || r.Count == 0 || r.First+r.Count < r.First {
		return Receipt{}, fmt.Errorf("couldn't parse receipt group's count %q", lines[3])
	}
	if r.Root, err = parseHash(lines[4]); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt group's root %q", lines[4])
	}
	if r.Time, r.MMD, err = parseTimeMMD(lines[5], lines[6]); err != nil {
		return Receipt{}, err
	}
	if r.Text() != text {
		return Receipt{}, errors.New("couldn't parse receipt: text is not canonical")
	}

	pl := strings.Split(string(proof), "\n")
	if len(pl) < 3 || pl[len(pl)-1] != "" || len(pl)-3 > maxGroupPath {
		return Receipt{}, errors.New("couldn't parse receipt proof: want the index, the leaf hash and at most 63 path hashes, one per line")
	}
	if r.Index, err = strconv.ParseUint(pl[0], 10, 64); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt index %q: %w", pl[0], err)
	}
	if r.Index < r.First || r.Index-r.First >= r.Count {
		return Receipt{}, fmt.Errorf("receipt index %d is not in its group, %d to %d", r.Index, r.First, r.First+r.Count-1)
	}
	if r.LeafHash, err = parseHash(pl[1]); err != nil {
		return Receipt{}, fmt.Errorf("couldn't parse receipt leaf hash %q", pl[1])
	}
	for _, l := range pl[2 : len(pl)-1] {
		h, err := parseHash(l)
		if err != nil {
			return Receipt{}, fmt.Errorf("couldn't parse receipt proof hash %q", l)
		}
		r.Path = append(r.Path, h)
	}
	if string(appendProof(nil, r)) != string(proof) {
		return Receipt{}, errors.New("couldn't parse receipt proof: not canonical")
	}
	if err := tlog.CheckRecord(r.Path, int64(r.Count), r.Root, int64(r.Index-r.First), r.LeafHash); err != nil {
		return Receipt{}, fmt.Errorf("receipt of entry %d: its proof does not lead to the group root the log signed: %w", r.Index, err)
	}
	return r, nil
}

func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, errors.New("not a base64 SHA-256 hash")
	}
	copy(h[:], b)
	return h, nil
}

func parseTimeMMD(t, mmd string) (time.Time, time.Duration, error) {
	tm, err := time.Parse(receiptTime, t)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("couldn't parse receipt time %q: %w", t, err)
	}
	ms, err := strconv.ParseInt(mmd, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, 0, fmt.Errorf("couldn't parse receipt MMD %q", mmd)
	}
	return tm, time.Duration(ms) * time.Millisecond, nil
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
