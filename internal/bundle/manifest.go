package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrMalformed is wrapped by every error that reports a manifest text or a
// manifest note that cannot be parsed: a missing, unknown, duplicate or
// misspelt line, or a note without the signature block.
var ErrMalformed = errors.New("malformed policy bundle manifest")

// Manifest is the signed statement about a policy file: which bytes, which
// version, and from when.
type Manifest struct {
	// Version increases with every bundle a deployment activates. It is at
	// least 1.
	Version int64
	// PolicySHA256 is the SHA-256 of the policy file's bytes.
	PolicySHA256 [32]byte
	// Activate is the earliest time at which the bundle may be activated,
	// in UTC with whole seconds.
	Activate time.Time
}

// NewManifest returns the manifest for the given policy bytes. activate is
// converted to UTC and truncated to whole seconds, as the text records it.
func NewManifest(policy []byte, version int64, activate time.Time) Manifest {
	return Manifest{
		Version:      version,
		PolicySHA256: sha256.Sum256(policy),
		Activate:     activate.UTC().Truncate(time.Second),
	}
}

// Text returns the manifest's canonical text, the text that parties sign.
// Each of its four lines ends in a newline. Sub-second parts of Activate are
// dropped.
func (m Manifest) Text() string {
	return fmt.Sprintf("%s\nversion %d\npolicy sha256:%x\nactivate %s\n",
		Origin, m.Version, m.PolicySHA256[:], m.Activate.UTC().Format(time.RFC3339))
}

// ParseManifest parses a manifest text as written by [Manifest.Text]. It is
// strict: the text must be exactly the canonical form, the origin line
// followed by the version, policy and activate lines, in that order, each
// once. Every error wraps [ErrMalformed] and names the offending line.
func ParseManifest(text string) (Manifest, error) {
	m, err := parseManifest(text)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %s", ErrMalformed, err)
	}
	return m, nil
}

// fields lists the manifest's field lines in the order they must appear.
var fields = [...]string{"version", "policy", "activate"}

func parseManifest(text string) (Manifest, error) {
	var m Manifest
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return m, errors.New("text doesn't end in a newline")
	}
	lines := strings.Split(body, "\n")
	if lines[0] != Origin {
		return m, fmt.Errorf("line 1 is %s, want %q", quote(lines[0]), Origin)
	}
	seen := make(map[string]int) // field name → line number
	for i, line := range lines[1:] {
		n := i + 2
		if line == "" {
			return m, fmt.Errorf("line %d is empty", n)
		}
		key, val, ok := strings.Cut(line, " ")
		if !ok {
			return m, fmt.Errorf("line %d: %s has no value", n, quote(line))
		}
		if prev, dup := seen[key]; dup {
			return m, fmt.Errorf("line %d: duplicate %s line (first on line %d)", n, quote(key), prev)
		}
		var err error
		switch key {
		case "version":
			m.Version, err = parseVersion(val)
		case "policy":
			m.PolicySHA256, err = parsePolicyHash(val)
		case "activate":
			m.Activate, err = parseActivate(val)
		default:
			return m, fmt.Errorf("line %d: unknown line %s", n, quote(key))
		}
		if err != nil {
			return m, fmt.Errorf("line %d: %w", n, err)
		}
		seen[key] = n
	}
	for i, f := range fields {
		n, ok := seen[f]
		if !ok {
			return m, fmt.Errorf("no %q line", f)
		}
		if n != i+2 {
			return m, fmt.Errorf("line %d: %q line out of order; want version, policy, activate", n, f)
		}
	}
	// Every field is canonical and in place, so this holds; keep it as the
	// definition of strict, so that a manifest has exactly one text.
	if m.Text() != text {
		return m, errors.New("text is not in canonical form")
	}
	return m, nil
}

func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 || strconv.FormatInt(v, 10) != s {
		return 0, fmt.Errorf("version %s is not a positive decimal integer without sign or leading zeros", quote(s))
	}
	return v, nil
}

func parsePolicyHash(s string) ([32]byte, error) {
	var sum [32]byte
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != hex.EncodedLen(len(sum)) {
		return sum, fmt.Errorf("policy %s is not sha256: followed by 64 hex digits", quote(s))
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil || hex.EncodeToString(sum[:]) != h {
		return sum, fmt.Errorf("policy hash %s is not 64 lower-case hex digits", quote(h))
	}
	return sum, nil
}

func parseActivate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Format(time.RFC3339) != s {
		return time.Time{}, fmt.Errorf("activate %s is not an RFC 3339 time in UTC with whole seconds, like 2026-11-23T12:00:00Z", quote(s))
	}
	return t.UTC(), nil
}

// quote quotes untrusted input for an error message, shortened so that a
// huge input doesn't make a huge error.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// ClaimedManifest returns the manifest that a signed note claims, without
// checking any signature: for showing what a bundle says it is, never for
// deciding whether to trust it ([Verify] decides that).
//
// The error is nil only if the note is well formed (the note format of
// [golang.org/x/mod/sumdb/note], with a signature block) and its text is a
// manifest; it wraps [ErrMalformed] otherwise. When the note is not well
// formed but the text before its first blank line is a manifest, as in a
// note cut short while being written or one with a garbled signature line,
// that manifest is returned together with the error, so that a refusal can
// still name the version the bundle claims.
func ClaimedManifest(signedNote []byte) (Manifest, error) {
	n, err := openNote(signedNote)
	if err == nil {
		var m Manifest
		if m, err = ParseManifest(n.Text); err == nil {
			return m, nil
		}
	}
	text, _, ok := bytes.Cut(signedNote, []byte("\n\n"))
	if !ok {
		return Manifest{}, err
	}
	m, perr := ParseManifest(string(text) + "\n")
	if perr != nil {
		return Manifest{}, err
	}
	return m, err
}

// ClaimedSigners returns the names on a signed note's signatures, sorted
// and without repeats, without checking any of them: for showing who has
// signed so far. It returns nil for a note that is not well formed.
func ClaimedSigners(signedNote []byte) []string {
	n, err := openNote(signedNote)
	if err != nil {
		return nil
	}
	return signerNames(n.UnverifiedSigs)
}

// TrustedSigners returns the names of the parties among keys whose
// signatures on a note verify, sorted and without repeats, for display:
// keys that don't parse are skipped, and a note that doesn't open (one
// with a signature by a listed key that doesn't verify, say) has none.
// [Verify] is what decides.
func TrustedSigners(signedNote []byte, keys []string) []string {
	var vs []note.Verifier
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if v, err := note.NewVerifier(k); err == nil {
			vs = append(vs, v)
		}
	}
	n, err := note.Open(signedNote, note.VerifierList(vs...))
	if err != nil {
		return nil
	}
	return signerNames(n.Sigs)
}

// signerNames returns the names on sigs, sorted and without repeats; nil
// if there are none.
func signerNames(sigs []note.Signature) []string {
	var names []string
	for _, s := range sigs {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
