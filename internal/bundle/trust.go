package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// This file holds the trust root: the set of parties whose signatures a
// bundle needs, pinned at the first signed activation, and the rotation
// bundles that are the only way to change it.

// TrustOrigin is the first line of a trust set's canonical text.
const TrustOrigin = "brightline.dev/trust/v1"

// RotationOrigin is the first line of a trust rotation's text.
const RotationOrigin = "brightline.dev/trust-rotation/v1"

// canonical returns t's keys deduplicated and sorted. It does not check
// them; Validate does.
func (t Trust) canonical() []string {
	keys := slices.Clone(t.Keys)
	for i := range keys {
		keys[i] = strings.TrimSpace(keys[i])
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Text returns the canonical text of t: the origin line, the threshold and
// one line per distinct key, sorted. Two trust configs that list the same
// keys in another order, or a key twice, have the same text.
func (t Trust) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nthreshold %d\n", TrustOrigin, t.Threshold)
	for _, k := range t.canonical() {
		fmt.Fprintf(&b, "key %s\n", k)
	}
	return b.String()
}

// Hash returns "sha256:<hex>" of t's canonical text. Log entries and the
// store name a trust set by it.
func (t Trust) Hash() string {
	sum := sha256.Sum256([]byte(t.Text()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Diff describes how o differs from t, for an operator: the parties
// added and removed and a change of threshold. It is "" when they are the
// same set.
func (t Trust) Diff(o Trust) string {
	old, new := t.canonical(), o.canonical()
	var parts []string
	for _, k := range new {
		if !slices.Contains(old, k) {
			parts = append(parts, "adds "+keyName(k))
		}
	}
	for _, k := range old {
		if !slices.Contains(new, k) {
			parts = append(parts, "removes "+keyName(k))
		}
	}
	if t.Threshold != o.Threshold {
		parts = append(parts, fmt.Sprintf("changes the threshold from %d to %d", t.Threshold, o.Threshold))
	}
	return strings.Join(parts, ", ")
}

// keyName is a verifier key's party name and the start of its key hash,
// which is enough to tell keys apart in a message.
func keyName(vkey string) string {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return strconv.Quote(quoteless(vkey))
	}
	h, _, _ := strings.Cut(rest, "+")
	return fmt.Sprintf("%q (key %s)", name, h)
}

func quoteless(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Rotation is a change of trust set: a statement, signed by a threshold
// of the set it replaces, that From (the hash of the current set) is
// replaced by To. Its text is
//
//	brightline.dev/trust-rotation/v1
//	from sha256:<hex of the current set's hash>
//	threshold 2
//	key <verifier key>
//	key <verifier key>
//
// with the keys sorted. A rotation names the set it replaces, so it can be
// applied once and only to that set.
type Rotation struct {
	From string // hash of the trust set being replaced
	To   Trust
}

// Text returns the rotation's canonical text.
func (r Rotation) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nfrom %s\nthreshold %d\n", RotationOrigin, r.From, r.To.Threshold)
	for _, k := range r.To.canonical() {
		fmt.Fprintf(&b, "key %s\n", k)
	}
	return b.String()
}

// ParseRotation parses a rotation's text. Errors wrap [ErrMalformed].
func ParseRotation(text string) (Rotation, error) {
	r, err := parseRotation(text)
	if err != nil {
		return Rotation{}, fmt.Errorf("%w: trust rotation: %s", ErrMalformed, err)
	}
	return r, nil
}

func parseRotation(text string) (Rotation, error) {
	var r Rotation
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return r, errors.New("text doesn't end in a newline")
	}
	lines := strings.Split(body, "\n")
	if lines[0] != RotationOrigin {
		return r, fmt.Errorf("line 1 is %s, want %q", quote(lines[0]), RotationOrigin)
	}
	if len(lines) < 4 {
		return r, errors.New("want from, threshold and at least one key line")
	}
	from, ok := strings.CutPrefix(lines[1], "from ")
	if !ok {
		return r, fmt.Errorf("line 2 is %s, want from sha256:…", quote(lines[1]))
	}
	if _, err := parsePolicyHash(from); err != nil {
		return r, fmt.Errorf("line 2: %v", err)
	}
	r.From = from
	th, ok := strings.CutPrefix(lines[2], "threshold ")
	if !ok {
		return r, fmt.Errorf("line 3 is %s, want threshold N", quote(lines[2]))
	}
	n, err := strconv.Atoi(th)
	if err != nil || n < 1 {
		return r, fmt.Errorf("line 3: threshold %s is not a positive number", quote(th))
	}
	r.To.Threshold = n
	for i, line := range lines[3:] {
		k, ok := strings.CutPrefix(line, "key ")
		if !ok {
			return r, fmt.Errorf("line %d is %s, want key <verifier key>", i+4, quote(line))
		}
		r.To.Keys = append(r.To.Keys, k)
	}
	if err := r.To.Validate(); err != nil {
		return r, err
	}
	if r.Text() != text {
		return r, errors.New("text is not in canonical form (keys sorted, each once)")
	}
	return r, nil
}

// RotationError is returned by [VerifyRotation] when a rotation does not
// apply to the current trust set.
type RotationError struct {
	From    string // the hash the rotation replaces
	Current string // the hash of the current set
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("trust rotation replaces trust set %s, but the pinned set is %s", e.From, e.Current)
}

// VerifyRotation checks a signed rotation note against the current trust
// set: it must replace exactly current and be signed by at least
// current.Threshold of current's parties. It returns the rotation and the
// names of the parties that signed it.
func VerifyRotation(signedNote []byte, current Trust) (Rotation, []string, error) {
	vs, err := current.verifiers()
	if err != nil {
		return Rotation{}, nil, fmt.Errorf("invalid pinned trust set: %w", err)
	}
	n, signers, err := openSigned(signedNote, vs)
	if err != nil {
		return Rotation{}, nil, err
	}
	r, err := ParseRotation(n.Text)
	if err != nil {
		return Rotation{}, nil, err
	}
	if r.From != current.Hash() {
		return Rotation{}, nil, &RotationError{From: r.From, Current: current.Hash()}
	}
	if len(signers) < current.Threshold {
		return Rotation{}, nil, &ThresholdError{Have: signers, Need: current.Threshold}
	}
	return r, signers, nil
}

// openSigned opens a note with the verifiers vs and returns it with the
// sorted names of the distinct parties whose signatures verified. A note
// none of vs signed is returned with no signers, not as an error.
func openSigned(signedNote []byte, vs []note.Verifier) (*note.Note, []string, error) {
	n, err := note.Open(signedNote, note.VerifierList(vs...))
	if err != nil {
		if e, ok := errors.AsType[*note.UnverifiedNoteError](err); ok {
			n = e.Note // well-formed, but no trusted signature
		} else if _, ok := errors.AsType[*note.InvalidSignatureError](err); ok {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
		} else {
			return nil, nil, fmt.Errorf("%w: not a signed note: %v", ErrMalformed, err)
		}
	}
	return n, signerNames(n.Sigs), nil
}
