package bundle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Trust is a deployment's trust configuration: whose signatures count, and
// how many distinct parties must sign a bundle.
type Trust struct {
	// Keys are the note verifier keys ("name+hash+data", as printed by
	// [GenerateKey]) of the parties that may sign. Each party has its own
	// name. Listing the same key twice is allowed and counts it once.
	Keys []string
	// Threshold is how many distinct parties in Keys must sign, from 1 to
	// the number of distinct keys: 2 of 2 for operator and vendor, say.
	Threshold int
}

// Validate reports whether t is usable: every key parses, no two different
// keys share a name, and the threshold is between 1 and the number of
// distinct keys. [Verify] calls it too.
func (t Trust) Validate() error {
	_, err := t.verifiers()
	return err
}

// verifiers returns one verifier for each distinct key in t.Keys.
func (t Trust) verifiers() ([]note.Verifier, error) {
	if len(t.Keys) == 0 {
		return nil, errors.New("trust config lists no keys")
	}
	first := make(map[string]int) // name → index in t.Keys of its first key
	var vs []note.Verifier
	for i, k := range t.Keys {
		if strings.HasPrefix(k, "PRIVATE+") {
			// Don't print it: it's a secret in the wrong place.
			return nil, fmt.Errorf("trust key %d is a private signer key; list the party's verifier key instead", i+1)
		}
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("trust key %d %s: %w", i+1, quote(k), err)
		}
		if j, ok := first[v.Name()]; ok {
			if t.Keys[j] != k {
				return nil, fmt.Errorf("trust keys %d and %d are both named %q; each party needs its own name", j+1, i+1, v.Name())
			}
			continue
		}
		first[v.Name()] = i
		vs = append(vs, v)
	}
	if t.Threshold < 1 || t.Threshold > len(vs) {
		return nil, fmt.Errorf("threshold %d is not between 1 and the number of distinct trusted keys, %d", t.Threshold, len(vs))
	}
	return vs, nil
}

// Verified is a bundle that [Verify] accepted.
type Verified struct {
	Manifest Manifest
	// Signers are the names of the distinct trusted parties whose signatures
	// verified, sorted. There are at least Trust.Threshold of them.
	Signers []string
	// Policy is the policy bytes passed to Verify (not a copy).
	Policy []byte
}

// ErrPolicyHashMismatch means the policy bytes are not the ones the manifest
// names: the policy file was changed after signing, or belongs to another
// bundle.
var ErrPolicyHashMismatch = errors.New("policy file doesn't match the signed manifest")

// ErrInvalidSignature means a signature line names a trusted key but does
// not verify over the note's text: the text was changed after signing, or
// the line was copied from another manifest. The bundle is refused even if
// other signatures reach the threshold, since the note has been tampered
// with or mixed up.
var ErrInvalidSignature = errors.New("policy bundle signature doesn't verify")

// ThresholdError means fewer distinct trusted parties signed than the
// threshold requires.
type ThresholdError struct {
	Have []string // names of the trusted parties that did sign, sorted
	Need int      // Trust.Threshold
}

func (e *ThresholdError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("policy bundle has none of the %d required trusted signatures", e.Need)
	}
	return fmt.Sprintf("policy bundle has %d of the %d required trusted signatures (%s)",
		len(e.Have), e.Need, strings.Join(e.Have, ", "))
}

// RollbackError means the bundle's version is not newer than the active one.
type RollbackError struct {
	Version int64 // the bundle's version
	Active  int64 // the active version
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("policy bundle version %d is not newer than the active version %d", e.Version, e.Active)
}

// NotYetActiveError means the bundle's activation time is still in the
// future. The bundle is otherwise valid; it can be verified again from
// Activate on.
type NotYetActiveError struct {
	Activate time.Time
}

func (e *NotYetActiveError) Error() string {
	return fmt.Sprintf("policy bundle is not active until %s", e.Activate.UTC().Format(time.RFC3339))
}

// Verify checks a bundle: the policy bytes and the signed manifest note next
// to them. activeVersion is the version of the bundle in force, or 0 if
// there is none yet; now is the current time.
//
// Verify returns the first failing check, in this order:
//   - an error if t is not valid (see [Trust.Validate]);
//   - an error wrapping [ErrMalformed] if the note or its manifest text
//     can't be parsed;
//   - an error wrapping [ErrInvalidSignature] if any signature by a trusted
//     key doesn't verify;
//   - a *[ThresholdError] if fewer than t.Threshold distinct trusted parties
//     signed. Signatures by unknown keys, including keys with a trusted
//     party's name but a different key, are ignored: they neither count nor
//     fail;
//   - an error wrapping [ErrPolicyHashMismatch] if policy is not the bytes
//     the manifest names;
//   - a *[RollbackError] if the version is not greater than activeVersion;
//   - a *[NotYetActiveError] if the activation time is after now.
//
// Signatures may come in any order.
func Verify(policy, signedNote []byte, t Trust, activeVersion int64, now time.Time) (*Verified, error) {
	vs, err := t.verifiers()
	if err != nil {
		return nil, fmt.Errorf("invalid trust config: %w", err)
	}
	n, signers, err := openSigned(signedNote, vs)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(n.Text)
	if err != nil {
		return nil, err
	}

	// note.Open already drops repeated signatures by one key, and
	// t.verifiers gives each name one key, but the threshold is the
	// security property, so count distinct names here rather than rely on
	// both.
	if len(signers) < t.Threshold {
		return nil, &ThresholdError{Have: signers, Need: t.Threshold}
	}

	if sum := sha256.Sum256(policy); sum != m.PolicySHA256 {
		return nil, fmt.Errorf("%w: manifest names sha256:%x, policy is sha256:%x", ErrPolicyHashMismatch, m.PolicySHA256[:], sum[:])
	}
	if m.Version <= activeVersion {
		return nil, &RollbackError{Version: m.Version, Active: activeVersion}
	}
	if now.Before(m.Activate) {
		return nil, &NotYetActiveError{Activate: m.Activate}
	}
	return &Verified{Manifest: m, Signers: signers, Policy: policy}, nil
}

// VerifyManifest checks only a manifest note's signatures against t, for
// an auditor who has the note (from the audit log) but not the policy
// bytes: it returns the manifest and the distinct trusted signers, or a
// [*ThresholdError] if fewer than t.Threshold of t's parties signed. The
// caller compares [Manifest.PolicySHA256] with the policy hash it knows.
func VerifyManifest(signedNote []byte, t Trust) (Manifest, []string, error) {
	vs, err := t.verifiers()
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("invalid trust config: %w", err)
	}
	n, signers, err := openSigned(signedNote, vs)
	if err != nil {
		return Manifest{}, nil, err
	}
	m, err := ParseManifest(n.Text)
	if err != nil {
		return Manifest{}, nil, err
	}
	if len(signers) < t.Threshold {
		return m, signers, &ThresholdError{Have: signers, Need: t.Threshold}
	}
	return m, signers, nil
}
