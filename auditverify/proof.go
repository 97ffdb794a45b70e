package auditverify

import (
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Proof shows that Entry is at Index in the tree that Checkpoint signs.
// Anyone holding the log's public key (and the witness keys, for a quorum)
// can check it with [Proof.Verify] and nothing else. Its JSON form is what
// `brightline audit prove` prints.
type Proof struct {
	Index      uint64   `json:"index"`
	Entry      []byte   `json:"entry"`      // the entry's exact bytes (base64 in JSON)
	Hashes     [][]byte `json:"hashes"`     // RFC 6962 inclusion proof, leaf to root
	Checkpoint string   `json:"checkpoint"` // the signed checkpoint note
}

// ProveInclusion builds the proof that entry index is in the tree of c,
// from src's tiles and entry bundle, and checks it before returning it.
func ProveInclusion(ctx context.Context, src Source, c Checkpoint, index uint64) (Proof, error) {
	if index >= c.Size {
		return Proof{}, fmt.Errorf("entry %d is not covered by the checkpoint of size %d yet", index, c.Size)
	}
	entry, err := ReadEntry(ctx, src, c.Size, index)
	if err != nil {
		return Proof{}, err
	}
	rp, err := tlog.ProveRecord(int64(c.Size), int64(index), hashReader(ctx, src, c))
	if err != nil {
		return Proof{}, fmt.Errorf("couldn't build the inclusion proof of entry %d in size %d: %w", index, c.Size, err)
	}
	p := Proof{Index: index, Entry: entry, Checkpoint: string(c.Note)}
	for _, h := range rp {
		p.Hashes = append(p.Hashes, h[:])
	}
	if err := p.check(c); err != nil {
		return Proof{}, fmt.Errorf("entry bundle for entry %d: %w", index, err)
	}
	return p, nil
}

// Verify checks the proof's checkpoint against pol, then the inclusion of
// the entry, and returns the checkpoint.
func (p Proof) Verify(pol Policy) (Checkpoint, error) {
	c, err := pol.Verify([]byte(p.Checkpoint))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("proof checkpoint: %w", err)
	}
	if err := p.check(c); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

func (p Proof) check(c Checkpoint) error {
	if p.Index >= c.Size {
		return fmt.Errorf("entry %d is beyond the checkpoint size %d", p.Index, c.Size)
	}
	rp := make(tlog.RecordProof, len(p.Hashes))
	for i, h := range p.Hashes {
		if len(h) != tlog.HashSize {
			return fmt.Errorf("inclusion proof hash %d is %d bytes, want %d", i, len(h), tlog.HashSize)
		}
		rp[i] = tlog.Hash(h)
	}
	if err := tlog.CheckRecord(rp, int64(c.Size), c.Hash, int64(p.Index), tlog.RecordHash(p.Entry)); err != nil {
		return fmt.Errorf("entry %d is not in the tree of size %d with root %x: %w", p.Index, c.Size, c.Hash[:], err)
	}
	return nil
}

// ParseProof decodes a proof's JSON form.
func ParseProof(b []byte) (Proof, error) {
	var p Proof
	if err := json.Unmarshal(b, &p); err != nil {
		return Proof{}, fmt.Errorf("couldn't parse proof: %w", err)
	}
	return p, nil
}

// RequestProofs is what `brightline audit prove` prints: the inclusion
// proofs of every log entry of one request. Each proof carries its
// checkpoint, so the file is checked with the log's public key alone.
type RequestProofs struct {
	RequestID string  `json:"request_id"`
	LogKey    string  `json:"log_key"` // informational: check with a key you trust
	Proofs    []Proof `json:"proofs"`
	// Receipts are the receipts the log gave for these entries, in their
	// header form ([Receipt.Encode]); each is kept by one of Proofs.
	Receipts []string `json:"receipts,omitempty"`
}
