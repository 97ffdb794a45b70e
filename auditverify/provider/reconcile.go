package provider

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brightline/brightline/auditverify"
)

// ServedRecord is one line of a provider's record of what it served, the
// input of [Reconcile]: one JSON object per line,
//
//	{"time":"2026-12-05T09:00:00Z","receipt":"v1.…","body_sha256":"9f86…","id":"req_123"}
//
// time is when the request was served (RFC 3339); receipt the
// Brightline-Receipt header exactly as received, "" or absent when there
// was none; body_sha256 the lower-case hex SHA-256 of the request body
// as received; id, optional, the provider's own request id, echoed in
// findings. The body's hash is enough: a forward entry commits to
// SHA-256(salt ‖ SHA-256(body)), and the salt is in the receipt.
type ServedRecord struct {
	Time       time.Time `json:"time"`
	Receipt    string    `json:"receipt,omitempty"`
	BodySHA256 string    `json:"body_sha256"`
	ID         string    `json:"id,omitempty"`
}

// Finding is one served request that the log does not account for.
type Finding struct {
	Line    int    // 1-based line of the provider's record
	ID      string // the record's id
	Reason  string // as [Reason] names them, or "unreadable"
	Message string
}

func (f Finding) String() string {
	s := "line " + strconv.Itoa(f.Line)
	if f.ID != "" {
		s += " (" + f.ID + ")"
	}
	return s + ": " + f.Reason + ": " + f.Message
}

// Report is the outcome of a reconciliation.
type Report struct {
	Requests int // records read
	OK       int // accounted for by an entry in the log under a trusted policy
	// Pending counts receipts whose entries are not in the log yet but
	// not due yet either (the MMD has not passed): run again later.
	Pending  int
	Findings []Finding
}

// ReconcileConfig says what to reconcile against.
type ReconcileConfig struct {
	VerifierKey string               // the log's note verifier key; required
	Trust       auditverify.TrustSet // the trust set the provider holds; required
	Log         auditverify.Source   // the log, with entry bundles; required
	Witnesses   []string             // checkpoint cosigners required, and how many
	Quorum      int
	Now         func() time.Time // nil: time.Now
}

// Reconcile reads a provider's record of what it served (see
// [ServedRecord]) and checks each request against the log: it reports
// requests served without a receipt, receipts that do not verify or do
// not commit to the body served, receipts used more than once, receipts
// whose entry is not in the log past the MMD, and entries decided under
// a policy not signed by a threshold of the trust set (as the log's own
// trust history rotates it). The error is for a log that cannot be read
// or a config that cannot be used, not for findings.
func Reconcile(ctx context.Context, cfg ReconcileConfig, served io.Reader) (Report, error) {
	var rep Report
	lv, err := note.NewVerifier(cfg.VerifierKey)
	if err != nil {
		return rep, fmt.Errorf("couldn't read the log's verifier key: %w", err)
	}
	if cfg.Log == nil {
		return rep, errors.New("no log to reconcile with")
	}
	pol, err := auditverify.NewPolicy(cfg.VerifierKey, cfg.Witnesses, cfg.Quorum)
	if err != nil {
		return rep, err
	}
	history, err := auditverify.NewTrustHistory(cfg.Trust)
	if err != nil {
		return rep, fmt.Errorf("couldn't use the trust set: %w", err)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	cp, err := auditverify.FetchCheckpoint(ctx, cfg.Log, pol)
	if err != nil {
		return rep, fmt.Errorf("couldn't read the log's checkpoint: %w", err)
	}
	if err := history.Follow(ctx, cfg.Log, cp); err != nil {
		return rep, fmt.Errorf("couldn't follow the log's trust history: %w", err)
	}
	at := now()

	seen := map[uint64]int{} // log index → first line using it
	sc := bufio.NewScanner(served)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		rep.Requests++
		var rec ServedRecord
		flag := func(reason, format string, args ...any) {
			rep.Findings = append(rep.Findings, Finding{Line: line, ID: rec.ID, Reason: reason, Message: fmt.Sprintf(format, args...)})
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			flag("unreadable", "not a served-request record: %v", err)
			continue
		}
		var sum [32]byte
		if b, err := hex.DecodeString(rec.BodySHA256); err != nil || len(b) != len(sum) {
			flag("unreadable", "body_sha256 %q is not a hex SHA-256", rec.BodySHA256)
			continue
		} else {
			copy(sum[:], b)
		}
		if rec.Receipt == "" {
			flag(Reason(ErrMissing), "served without a receipt at %s", rec.Time.UTC().Format(time.RFC3339))
			continue
		}
		u, err := auditverify.ParseUpstreamReceipt(rec.Receipt, lv)
		if err != nil {
			flag(Reason(err), "%v", err)
			continue
		}
		if !u.Commits(sum) {
			flag(Reason(auditverify.ErrBodyMismatch), "%v", auditverify.ErrBodyMismatch)
			continue
		}
		idx := u.Receipt.Index
		if first, ok := seen[idx]; ok {
			flag(Reason(ErrReplayed), "the receipt of entry %d was already used on line %d", idx, first)
			continue
		}
		seen[idx] = line
		if idx >= cp.Size {
			if at.After(u.Receipt.Due()) {
				flag(Reason(ErrNotInLog), "entry %d was due in the log by %s; its checkpoint has %d entries",
					idx, u.Receipt.Due().UTC().Format(time.RFC3339), cp.Size)
				continue
			}
			rep.Pending++
			continue
		}
		if err := u.Receipt.VerifyInclusion(ctx, cfg.Log, cp); err != nil {
			flag(Reason(ErrNotInLog), "%v", err)
			continue
		}
		if st := history.Status(u.Forward.PolicyHash, idx); st != auditverify.PolicyTrusted {
			flag(Reason(ErrUntrusted), "entry %d (request %s) was decided under policy %s, %s before it",
				idx, u.Forward.RequestID, u.Forward.PolicyHash, st)
			continue
		}
		rep.OK++
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("couldn't read the provider's record at line %d: %w", line+1, err)
	}
	return rep, nil
}
