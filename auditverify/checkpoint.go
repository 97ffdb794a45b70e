// Package auditverify checks a Brightline audit log from the outside, with
// nothing but the log's public key and, optionally, witness keys. It is
// small on purpose and depends only on the standard library,
// golang.org/x/mod/sumdb/{note,tlog} and github.com/transparency-dev/merkle,
// so that auditors can read it and build on it.
//
// The log follows the C2SP specifications: checkpoints are signed notes
// (tlog-checkpoint, signed-note), cosigned by witnesses (tlog-cosignature),
// and the tree is published as tiles (tlog-tiles). A [Source] reads those
// resources from a URL or a directory. With them an auditor can:
//
//   - verify a checkpoint's signature and a witness quorum ([Policy.Verify],
//     [FetchCheckpoint]);
//   - check that a checkpoint extends one seen before ([CheckConsistency],
//     with [LoadState] and [SaveState] to remember it);
//   - recompute the whole tree from the entries (or the hash tiles) and
//     compare it with the checkpoint ([VerifyTree]);
//   - prove and check that an entry is in the log ([ProveInclusion],
//     [Proof.Verify]).
//
// Every error says where the problem is: which tile or entry bundle path,
// which entry index, or which signature.
package auditverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	Origin    string
	Size      uint64
	Hash      tlog.Hash
	Note      []byte   // the signed note as received, cosignatures included
	Witnesses []string // names of the witnesses whose cosignatures verified
}

// Tree returns c as a tlog.Tree.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: int64(c.Size), Hash: c.Hash} }

// Policy says which signatures a checkpoint needs: the log's, and
// cosignatures from at least Quorum distinct Witnesses.
type Policy struct {
	Log       note.Verifier
	Witnesses []note.Verifier
	Quorum    int
}

// NewPolicy builds a Policy from verifier keys: the log's Ed25519 note key
// and the witnesses' cosignature/v1 keys.
func NewPolicy(logVKey string, witnessVKeys []string, quorum int) (Policy, error) {
	lv, err := note.NewVerifier(logVKey)
	if err != nil {
		return Policy{}, fmt.Errorf("couldn't parse the log key %q: %w", logVKey, err)
	}
	p := Policy{Log: lv, Quorum: quorum}
	for _, k := range witnessVKeys {
		wv, err := NewWitnessVerifier(k)
		if err != nil {
			return Policy{}, err
		}
		p.Witnesses = append(p.Witnesses, wv)
	}
	if quorum < 0 || quorum > len(p.Witnesses) {
		return Policy{}, fmt.Errorf("witness quorum %d is outside 0..%d (the number of witness keys)", quorum, len(p.Witnesses))
	}
	return p, nil
}

// Verify checks a signed checkpoint against p and parses it. It fails if
// the log's signature is missing or bad, if any signature by a known key
// does not verify (naming the key), or if fewer than p.Quorum distinct
// witnesses cosigned.
func (p Policy) Verify(signed []byte) (Checkpoint, error) {
	if p.Log == nil {
		return Checkpoint{}, errors.New("no log key to verify the checkpoint with")
	}
	known := append([]note.Verifier{p.Log}, p.Witnesses...)
	n, err := note.Open(signed, note.VerifierList(known...))
	if err != nil {
		if e, ok := errors.AsType[*note.InvalidSignatureError](err); ok {
			who := "witness"
			if e.Name == p.Log.Name() && e.Hash == p.Log.KeyHash() {
				who = "log"
			}
			return Checkpoint{}, fmt.Errorf("checkpoint signature by %s key %s+%08x does not verify", who, e.Name, e.Hash)
		}
		if _, ok := errors.AsType[*note.UnverifiedNoteError](err); ok {
			return Checkpoint{}, fmt.Errorf("checkpoint carries no signature by the log key %s+%08x", p.Log.Name(), p.Log.KeyHash())
		}
		return Checkpoint{}, fmt.Errorf("couldn't read checkpoint: %w", err)
	}
	var logSigned bool
	seen := map[string]bool{}
	var witnesses []string
	for _, s := range n.Sigs {
		if s.Name == p.Log.Name() && s.Hash == p.Log.KeyHash() {
			logSigned = true
			continue
		}
		for _, w := range p.Witnesses {
			id := w.Name() + "+" + strconv.FormatUint(uint64(w.KeyHash()), 16)
			if s.Name == w.Name() && s.Hash == w.KeyHash() && !seen[id] {
				seen[id] = true
				witnesses = append(witnesses, s.Name)
			}
		}
	}
	if !logSigned {
		return Checkpoint{}, fmt.Errorf("checkpoint carries no signature by the log key %s+%08x", p.Log.Name(), p.Log.KeyHash())
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != p.Log.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint origin %q differs from the log key's name %q", c.Origin, p.Log.Name())
	}
	if len(witnesses) < p.Quorum {
		return Checkpoint{}, fmt.Errorf("checkpoint of size %d has valid cosignatures from %d witnesses %v, want at least %d", c.Size, len(witnesses), witnesses, p.Quorum)
	}
	c.Note = bytes.Clone(signed)
	c.Witnesses = witnesses
	return c, nil
}

// parseCheckpoint reads the body of a C2SP tlog-checkpoint: origin, decimal
// size and base64 root hash, each on its own line, then optional extension
// lines.
func parseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("malformed checkpoint: fewer than three lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: size line %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: root hash line %q", lines[2])
	}
	if lines[0] == "" {
		return Checkpoint{}, errors.New("malformed checkpoint: empty origin")
	}
	return Checkpoint{Origin: lines[0], Size: size, Hash: tlog.Hash(h)}, nil
}

// algCosignatureV1 is the signed-note signature type of tlog-cosignature.
const algCosignatureV1 = 0x04

// NewWitnessVerifier returns a verifier for a witness's C2SP
// tlog-cosignature (cosignature/v1) key, given as a vkey:
// name+hash+base64(0x04 ‖ Ed25519 public key).
func NewWitnessVerifier(vkey string) (note.Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || len(hash16) != 8 {
		return nil, fmt.Errorf("malformed witness key %q", vkey)
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("malformed witness key %q: key hash", vkey)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, fmt.Errorf("witness key %q is not a cosignature/v1 Ed25519 key", vkey)
	}
	if uint32(hash) != keyHash(name, key) {
		return nil, fmt.Errorf("witness key %q: key hash does not match the key", vkey)
	}
	return &cosigVerifier{name: name, hash: uint32(hash), key: ed25519.PublicKey(key[1:])}, nil
}

// keyHash is the signed-note key ID: the first four bytes of
// SHA-256(name ‖ "\n" ‖ type ‖ key).
func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }

// Verify checks a cosignature/v1 signature: an 8-byte big-endian timestamp
// then an Ed25519 signature over "cosignature/v1\ntime T\n" ‖ checkpoint.
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg)
	return ed25519.Verify(v.key, m, sig[8:])
}
