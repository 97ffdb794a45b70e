package auditverify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// This file follows a log's trust history from the outside: which policies
// were put in force by a manifest signed by a threshold of the trust set,
// as the log's own trust_root entries rotate that set. It reads the same
// texts internal/bundle writes (trust sets, manifests, rotations), with its
// own parsers, so that an auditor or a provider needs only this package.

// Texts of the policy bundle format (internal/bundle).
const (
	trustOrigin    = "brightline.dev/trust/v1"
	manifestOrigin = "brightline.dev/policy-bundle/v1"
	rotationOrigin = "brightline.dev/trust-rotation/v1"
)

// TrustSet is the set of parties whose signatures a policy needs: their
// note verifier keys, and how many distinct parties must sign. It is the
// trust set of internal/bundle, and has the same canonical text and hash.
type TrustSet struct {
	Keys      []string
	Threshold int
}

// canonical returns the keys trimmed, sorted and each once.
func (t TrustSet) canonical() []string {
	keys := make([]string, len(t.Keys))
	for i, k := range t.Keys {
		keys[i] = strings.TrimSpace(k)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Text returns the canonical text of t: the origin line, the threshold and
// one line per distinct key, sorted.
func (t TrustSet) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nthreshold %d\n", trustOrigin, t.Threshold)
	for _, k := range t.canonical() {
		fmt.Fprintf(&b, "key %s\n", k)
	}
	return b.String()
}

// Hash returns "sha256:<hex>" of t's canonical text, as log entries name a
// trust set.
func (t TrustSet) Hash() string {
	sum := sha256.Sum256([]byte(t.Text()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// verifiers returns one verifier per distinct party, checking that the
// keys parse, that no two keys share a party name and that the threshold
// is between 1 and the number of parties.
func (t TrustSet) verifiers() ([]note.Verifier, error) {
	keys := t.canonical()
	if len(keys) == 0 {
		return nil, errors.New("the trust set lists no keys")
	}
	var vs []note.Verifier
	names := map[string]bool{}
	for _, k := range keys {
		if strings.HasPrefix(k, "PRIVATE+") {
			return nil, errors.New("the trust set lists a private signer key; list the party's verifier key instead")
		}
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("trust key %q: %w", k, err)
		}
		if names[v.Name()] {
			return nil, fmt.Errorf("two trust keys are named %q; each party needs its own name", v.Name())
		}
		names[v.Name()] = true
		vs = append(vs, v)
	}
	if t.Threshold < 1 || t.Threshold > len(vs) {
		return nil, fmt.Errorf("threshold %d is not between 1 and the number of trusted parties, %d", t.Threshold, len(vs))
	}
	return vs, nil
}

// Validate reports whether t is usable.
func (t TrustSet) Validate() error {
	_, err := t.verifiers()
	return err
}

// ParseTrustSet reads a trust set from text: one verifier key per line
// (optionally after "key "), an optional "threshold N" line, blank lines
// and # comments skipped; the canonical text of a trust set is such a
// text. A text without a newline may list keys separated by commas.
// threshold, if > 0, overrides the text's; with neither, every party must
// sign.
func ParseTrustSet(text string, threshold int) (TrustSet, error) {
	var t TrustSet
	lines := strings.Split(text, "\n")
	if len(lines) == 1 {
		lines = strings.Split(text, ",")
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || line == trustOrigin:
		case strings.HasPrefix(line, "threshold "):
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "threshold ")))
			if err != nil {
				return t, fmt.Errorf("couldn't read the trust set: bad line %q", line)
			}
			t.Threshold = n
		default:
			t.Keys = append(t.Keys, strings.TrimPrefix(line, "key "))
		}
	}
	if threshold > 0 {
		t.Threshold = threshold
	}
	if t.Threshold == 0 {
		t.Threshold = len(t.canonical())
	}
	if err := t.Validate(); err != nil {
		return t, fmt.Errorf("couldn't read the trust set: %w", err)
	}
	return t, nil
}

// signers opens a signed note with the verifiers of vs and returns its
// text and the number of distinct parties whose signatures verified. A
// note none of them signed has 0 signers; a bad signature by one of them
// is an error.
func signers(signed []byte, vs []note.Verifier) (string, int, error) {
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		e, ok := errors.AsType[*note.UnverifiedNoteError](err)
		if !ok {
			return "", 0, err
		}
		return e.Note.Text, 0, nil
	}
	names := map[string]bool{}
	for _, s := range n.Sigs {
		names[s.Name] = true
	}
	return n.Text, len(names), nil
}

// PolicyStatus is what a log's trust history says of a policy hash.
type PolicyStatus int

const (
	// PolicyUnknown: no activation of the policy seen (yet).
	PolicyUnknown PolicyStatus = iota
	// PolicyTrusted: activated under a manifest signed by a threshold of
	// the trust set in force.
	PolicyTrusted
	// PolicyUntrusted: activated only without such signatures (an unsigned
	// file, the embedded default, or too few signers).
	PolicyUntrusted
)

func (s PolicyStatus) String() string {
	switch s {
	case PolicyTrusted:
		return "signed"
	case PolicyUntrusted:
		return "UNSIGNED"
	}
	return "unknown"
}

// TrustHistory follows a log's entries in order and records, for each
// policy hash, whether and from which index it was put in force under a
// manifest note signed by a threshold of the trust set. The trust set
// starts as the one the auditor holds and changes only through the log's
// trust_root rotation entries, each signed by a threshold of the set
// before. It is what `brightline audit verify -trust` computes, in a form
// a provider can keep up to date one entry at a time.
type TrustHistory struct {
	trust TrustSet
	vs    []note.Verifier
	// good and bad map a policy hash to the index of its first activation
	// with and without a threshold of signatures.
	good, bad map[string]uint64
	// Findings lists every activation or rotation that broke the trust
	// set, in log order.
	Findings []string
	// Next is the index of the next entry Add expects.
	Next uint64
}

// NewTrustHistory starts following a log from its first entry with the
// trust set t.
func NewTrustHistory(t TrustSet) (*TrustHistory, error) {
	vs, err := t.verifiers()
	if err != nil {
		return nil, err
	}
	return &TrustHistory{trust: t, vs: vs, good: map[string]uint64{}, bad: map[string]uint64{}}, nil
}

// Trust returns the trust set in force after the entries seen so far.
func (h *TrustHistory) Trust() TrustSet { return h.trust }

// trustEntry is the part of a log entry the trust history reads.
type trustEntry struct {
	Kind          string            `json:"kind"`
	PolicyHash    string            `json:"policy_hash"`
	PolicyVersion int64             `json:"policy_version"`
	TrustHash     string            `json:"trust_hash"`
	Detail        map[string]string `json:"detail"`
}

// Add reads the log's entry at index, which must be h.Next: entries are
// added in log order, each once.
func (h *TrustHistory) Add(index uint64, entry []byte) error {
	if index != h.Next {
		return fmt.Errorf("trust history: entry %d added, want entry %d", index, h.Next)
	}
	var e trustEntry
	if err := json.Unmarshal(entry, &e); err != nil {
		return fmt.Errorf("trust history: couldn't read entry %d: %w", index, err)
	}
	h.Next++
	flag := func(format string, args ...any) {
		h.Findings = append(h.Findings, fmt.Sprintf("entry %d (%s): ", index, e.Kind)+fmt.Sprintf(format, args...))
	}
	switch e.Kind {
	case "trust_root":
		rot := e.Detail["rotation"]
		if rot == "" {
			if e.TrustHash != h.trust.Hash() {
				flag("trust root pinned as %s, which is not the trust set given (%s)", e.TrustHash, h.trust.Hash())
			}
			return nil
		}
		to, err := h.rotation([]byte(rot))
		if err != nil {
			flag("trust rotation to %s not signed by a threshold of the trust set in force: %v", e.TrustHash, err)
			return nil
		}
		if to.Hash() != e.TrustHash {
			flag("trust rotation note replaces the set with %s, but the entry records %s", to.Hash(), e.TrustHash)
			return nil
		}
		vs, err := to.verifiers()
		if err != nil {
			flag("trust rotation to an unusable set: %v", err)
			return nil
		}
		h.trust, h.vs = to, vs
	case "policy_activation":
		why := h.activation(e)
		if why != "" {
			flag("policy %s (version %d) %s", e.PolicyHash, e.PolicyVersion, why)
			if _, ok := h.bad[e.PolicyHash]; !ok {
				h.bad[e.PolicyHash] = index
			}
			return nil
		}
		if _, ok := h.good[e.PolicyHash]; !ok {
			h.good[e.PolicyHash] = index
		}
	}
	return nil
}

// activation judges a policy activation: "" if its manifest note is signed
// by a threshold of the trust set in force and names its policy and
// version, else why not.
func (h *TrustHistory) activation(e trustEntry) string {
	signed := e.Detail["note"]
	if signed == "" {
		return "activated without signatures (unsigned file or embedded default)"
	}
	text, n, err := signers([]byte(signed), h.vs)
	if err != nil {
		return fmt.Sprintf("activated with a manifest note that does not verify: %v", err)
	}
	if n < h.trust.Threshold {
		return fmt.Sprintf("activated with %d of the %d signatures the trust set needs", n, h.trust.Threshold)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 5 || lines[0] != manifestOrigin || lines[4] != "" {
		return "activated with a signed note that is not a policy manifest"
	}
	want := []string{"version " + strconv.FormatInt(e.PolicyVersion, 10), "policy " + e.PolicyHash}
	if lines[1] != want[0] || lines[2] != want[1] || !strings.HasPrefix(lines[3], "activate ") {
		return fmt.Sprintf("activated, but its signed manifest names %q, %q", lines[1], lines[2])
	}
	return ""
}

// rotation checks a signed rotation note against the trust set in force
// and returns the set it rotates to.
func (h *TrustHistory) rotation(signed []byte) (TrustSet, error) {
	text, n, err := signers(signed, h.vs)
	if err != nil {
		return TrustSet{}, err
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != rotationOrigin {
		return TrustSet{}, errors.New("not a trust rotation")
	}
	if from := strings.TrimPrefix(lines[1], "from "); from != h.trust.Hash() {
		return TrustSet{}, fmt.Errorf("it replaces trust set %s, but the set in force is %s", from, h.trust.Hash())
	}
	if n < h.trust.Threshold {
		return TrustSet{}, fmt.Errorf("%d of the %d signatures needed", n, h.trust.Threshold)
	}
	to, err := ParseTrustSet(strings.Join(lines[2:], "\n")+"\n", 0)
	if err != nil {
		return TrustSet{}, err
	}
	if to.Text() != trustOrigin+"\n"+strings.Join(lines[2:], "\n")+"\n" {
		return TrustSet{}, errors.New("the rotation text is not canonical")
	}
	return to, nil
}

// Status says whether a decision or forward at index was made under a
// trusted policy: PolicyTrusted if policyHash was activated with a
// threshold of signatures before index, PolicyUntrusted if it was
// activated only without them, PolicyUnknown if no activation of it
// before index has been added.
func (h *TrustHistory) Status(policyHash string, index uint64) PolicyStatus {
	if i, ok := h.good[policyHash]; ok && i < index {
		return PolicyTrusted
	}
	if i, ok := h.bad[policyHash]; ok && i < index {
		return PolicyUntrusted
	}
	return PolicyUnknown
}

// Follow adds the entries of the tree of c from h.Next up to c.Size,
// reading entry bundles from src and checking each entry's hash against
// the tree's level-0 tiles, themselves checked against c's root hash, so
// that a log server cannot feed the history entries the tree does not
// hold. c must be a verified checkpoint.
func (h *TrustHistory) Follow(ctx context.Context, src Source, c Checkpoint) error {
	if c.Size <= h.Next {
		return nil
	}
	hr := hashReader(ctx, src, c)
	for i := h.Next; i < c.Size; {
		b := i / tileWidth
		entries, err := ReadBundle(ctx, src, b, bundleWidth(c.Size, b))
		if err != nil {
			return err
		}
		first := b * tileWidth
		idx := make([]int64, 0, len(entries))
		for j := i; j < first+uint64(len(entries)); j++ {
			idx = append(idx, tlog.StoredHashIndex(0, int64(j)))
		}
		leaves, err := hr.ReadHashes(idx)
		if err != nil {
			return fmt.Errorf("couldn't read the leaf hashes of entries %d to %d: %w", i, first+uint64(len(entries))-1, err)
		}
		for k, leaf := range leaves {
			j := i + uint64(k)
			e := entries[j-first]
			if tlog.RecordHash(e) != leaf {
				return fmt.Errorf("entry %d served by the log is not the entry in its tree", j)
			}
			if err := h.Add(j, e); err != nil {
				return err
			}
		}
		i = first + uint64(len(entries))
	}
	return nil
}
