package auditlog

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/brightline/brightline/internal/bundle"
)

// TrustAudit follows a log's entries in order and judges each policy
// activation against a trust set the auditor holds: an activation counts
// as trusted only if its manifest note is signed by a threshold of that
// set (as rotated by the log's own rotation entries, each of which must
// itself be signed by a threshold of the set before) and names the
// activated policy's hash. Decisions made under a policy that was never
// activated trustworthily are breaches too.
type TrustAudit struct {
	trust bundle.Trust
	// good and bad are the policy hashes activated with and without a
	// threshold of signatures; a hash in good is trusted even if it was
	// also once activated badly (the policy itself was signed).
	good, bad map[string]bool
	// Findings lists every breach, in log order.
	Findings []TrustFinding
	// BadDecisions counts decisions, and requests forwarded upstream, made
	// under an untrusted policy.
	BadDecisions int
}

// TrustFinding is one breach of the trust set.
type TrustFinding struct {
	Index uint64 // the entry's index in the log
	Kind  string
	What  string
}

func (f TrustFinding) String() string {
	return fmt.Sprintf("entry %d (%s): %s", f.Index, f.Kind, f.What)
}

// NewTrustAudit starts an audit against the trust set t.
func NewTrustAudit(t bundle.Trust) (*TrustAudit, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &TrustAudit{trust: t, good: map[string]bool{}, bad: map[string]bool{}}, nil
}

// Trust returns the trust set in force after the entries seen so far.
func (a *TrustAudit) Trust() bundle.Trust { return a.trust }

// Status says whether decisions under policyHash are trusted: "signed",
// "UNSIGNED" (never activated with a threshold of signatures) or
// "unknown" (no activation of it seen).
func (a *TrustAudit) Status(policyHash string) string {
	switch {
	case a.good[policyHash]:
		return "signed"
	case a.bad[policyHash]:
		return "UNSIGNED"
	}
	return "unknown"
}

// Add judges entry e at index i. Entries must be added in log order.
func (a *TrustAudit) Add(i uint64, e Entry) {
	flag := func(format string, args ...any) {
		a.Findings = append(a.Findings, TrustFinding{Index: i, Kind: e.Kind, What: fmt.Sprintf(format, args...)})
	}
	switch e.Kind {
	case KindTrustRoot:
		if rot := e.Detail["rotation"]; rot != "" {
			r, _, err := bundle.VerifyRotation([]byte(rot), a.trust)
			if err != nil {
				flag("trust rotation to %s not signed by a threshold of the trust set in force: %v", e.TrustHash, err)
				return
			}
			if r.To.Hash() != e.TrustHash {
				flag("trust rotation note replaces the set with %s, but the entry records %s", r.To.Hash(), e.TrustHash)
				return
			}
			a.trust = r.To
			return
		}
		if e.TrustHash != a.trust.Hash() {
			flag("trust root pinned as %s, which is not the trust set given (%s)", e.TrustHash, a.trust.Hash())
		}
	case KindPolicyActivation:
		note := e.Detail["note"]
		if note == "" {
			flag("policy %s (version %d) activated without signatures (unsigned file or embedded default)", e.PolicyHash, e.PolicyVersion)
			a.bad[e.PolicyHash] = true
			return
		}
		m, _, err := bundle.VerifyManifest([]byte(note), a.trust)
		if err != nil {
			flag("policy %s (version %d) not signed by a threshold of the trust set: %v", e.PolicyHash, e.PolicyVersion, err)
			a.bad[e.PolicyHash] = true
			return
		}
		if got := "sha256:" + hex.EncodeToString(m.PolicySHA256[:]); got != e.PolicyHash || m.Version != e.PolicyVersion {
			flag("activation records policy %s version %d, but its signed manifest names %s version %d", e.PolicyHash, e.PolicyVersion, got, m.Version)
			a.bad[e.PolicyHash] = true
			return
		}
		a.good[e.PolicyHash] = true
	case KindDecision, KindForward:
		// A forward entry is a request sent upstream under the policy it
		// names: one under an untrusted policy is as bad as the decision.
		if !a.good[e.PolicyHash] {
			a.BadDecisions++
			if a.BadDecisions <= 10 {
				what := strings.TrimSpace(e.Stage+" "+e.Action) + " decision"
				if e.Kind == KindForward {
					what = "request forwarded upstream"
				}
				flag("%s under policy %s, which no trusted activation put in force", what, cmp.Or(e.PolicyHash, "-"))
			}
		}
	}
}

// ParseTrust reads a trust set given on the command line: the path of a
// file, or verifier keys separated by commas. A file holds one verifier
// key per line (optionally after "key "), an optional "threshold N" line,
// and may be the canonical text of a trust set. Blank lines and lines
// starting with # are skipped. threshold, if > 0, overrides the file's;
// with neither, every key must sign.
func ParseTrust(arg string, threshold int, readFile func(string) ([]byte, error)) (bundle.Trust, error) {
	var t bundle.Trust
	var lines []string
	if b, err := readFile(arg); err == nil {
		lines = strings.Split(string(b), "\n")
	} else if strings.Contains(arg, "+") {
		lines = strings.Split(arg, ",")
	} else {
		return t, fmt.Errorf("-trust %q is neither a readable file nor verifier keys: %v", arg, err)
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || line == bundle.TrustOrigin:
		case strings.HasPrefix(line, "threshold "):
			if _, err := fmt.Sscanf(line, "threshold %d", &t.Threshold); err != nil {
				return t, fmt.Errorf("-trust: bad line %q", line)
			}
		default:
			t.Keys = append(t.Keys, strings.TrimPrefix(line, "key "))
		}
	}
	if threshold > 0 {
		t.Threshold = threshold
	}
	if t.Threshold == 0 {
		t.Threshold = len(t.Keys)
	}
	return t, t.Validate()
}
