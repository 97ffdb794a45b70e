package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"github.com/brightline/brightline/auditverify"
)

// Anchor is what the log itself says about the policy history, as of its
// signed checkpoint: the newest signed policy activation and the newest
// trust root. A store that is behind it has been rolled back (a restored
// database), and the gateway refuses to start on it.
type Anchor struct {
	Size          uint64 // the checkpoint's size; 0 for a log with none yet
	PolicyVersion int64  // the highest signed policy version activated
	PolicyHash    string // its policy hash
	TrustSeq      int64  // the newest trust root's sequence number (1 for the first pin)
	TrustHash     string // its hash
}

// ReadAnchor reads the log in dir, verifies its checkpoint with vkey and
// recomputes the whole tree from the entries, and returns the newest
// signed activation and trust root it holds. A log with no checkpoint
// yet has the zero Anchor. Any entry that does not verify or parse is an
// error: an anchor is only as good as the log it is read from.
func ReadAnchor(ctx context.Context, dir, vkey string) (Anchor, error) {
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		return Anchor{}, err
	}
	src := auditverify.NewSource(dir, nil, nil)
	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if errors.Is(err, fs.ErrNotExist) {
		return Anchor{}, nil
	}
	if err != nil {
		return Anchor{}, fmt.Errorf("couldn't read the audit log's checkpoint: %w", err)
	}
	a := Anchor{Size: cp.Size}
	activation, trust := []byte(`"kind":"`+KindPolicyActivation+`"`), []byte(`"kind":"`+KindTrustRoot+`"`)
	err = auditverify.VerifyTree(ctx, src, cp, true, func(i uint64, b []byte) error {
		isActivation, isTrust := bytes.Contains(b, activation), bytes.Contains(b, trust)
		if !isActivation && !isTrust {
			return nil // most entries are decisions: skip the parse
		}
		e, err := ParseEntry(b)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		switch {
		case e.Kind == KindPolicyActivation && e.TrustHash != "" && e.PolicyVersion > a.PolicyVersion:
			a.PolicyVersion, a.PolicyHash = e.PolicyVersion, e.PolicyHash
		case e.Kind == KindTrustRoot:
			seq, err := strconv.ParseInt(e.Detail["seq"], 10, 64)
			if err != nil || seq < 1 {
				return fmt.Errorf("entry %d: trust root with seq %q", i, e.Detail["seq"])
			}
			if seq > a.TrustSeq {
				a.TrustSeq, a.TrustHash = seq, e.Detail["trust_hash"]
			}
		}
		return nil
	})
	if err != nil {
		return Anchor{}, fmt.Errorf("couldn't verify the audit log: %w", err)
	}
	return a, nil
}
