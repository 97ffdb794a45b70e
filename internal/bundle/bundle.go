// Package bundle reads, signs and verifies signed policy bundles.
//
// A bundle is a policy file plus a manifest note next to it, for example
// policy.yaml and policy.yaml.note. Both are plain text that users can
// inspect and commit. The note is a [golang.org/x/mod/sumdb/note] note whose
// text is a [Manifest]:
//
//	brightline.dev/policy-bundle/v1
//	version 7
//	policy sha256:<64 lower-case hex digits of SHA-256 of the policy bytes>
//	activate 2026-11-23T12:00:00Z
//
// followed by a blank line and one signature line per signer. Parties sign
// the manifest, not the policy itself, so the policy file may hold any bytes.
//
// # Signing
//
// Each party generates a key pair once with [GenerateKey] and hands the
// verifier key to the deployment. The first signer passes the manifest's
// [Manifest.Text] to [Sign]; each later signer passes the note the previous
// one produced. Parties may sign offline and in any order.
//
// # Verifying
//
// A deployment trusts a set of verifier keys and requires a threshold of
// them ([Trust]), for example 2 of 2 (operator and vendor) or 2 of 3
// (operator, vendor and an oversight body). [Verify] accepts a bundle only
// if enough distinct trusted parties signed it, the policy bytes match the
// manifest, the version is newer than the active one and the activation time
// has come. Each refusal is a distinct error, so callers can log and count
// the reason.
//
// # Activation
//
// [EstablishTrust] decides at start which trust set verifies bundles: the
// first signed activation pins the configured set, and from then on only a
// rotation signed by a threshold of the pinned set ([VerifyRotation])
// changes it. A store behind the audit log ([Anchor]) is refused.
//
// [Check] decides whether a bundle may be put in force given the store's
// active version: a newer version, or the active bundle itself again.
// [Source] keeps a policy file in force: it checks and records each
// activation in the [Store] and the [Journal] before swapping the policy
// in, reloads on SIGHUP, polls the files (loading a change once it has
// settled), and follows a newer version another gateway sharing the
// store put in force. A refused bundle leaves the policy in force as it
// was. [Inspect] answers what a Source would do, for commands that only
// look.
package bundle

import (
	"fmt"
	"os"
)

// Origin is the first line of every manifest. It names the format and its
// version, so that a signature over a manifest cannot be mistaken for a
// signature over any other kind of note.
const Origin = "brightline.dev/policy-bundle/v1"

// NoteSuffix is appended to a policy file's path to name its manifest note.
const NoteSuffix = ".note"

// LoadFiles reads the policy file at policyPath and its manifest note at
// policyPath+[NoteSuffix]. It does not check either; pass them to [Verify].
func LoadFiles(policyPath string) (policy, note []byte, err error) {
	policy, err = os.ReadFile(policyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't read policy file: %w", err)
	}
	note, err = os.ReadFile(policyPath + NoteSuffix)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't read policy bundle note: %w", err)
	}
	return policy, note, nil
}
