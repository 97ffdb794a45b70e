// Package provider is the model provider's side of Brightline's bright
// line: it checks that a request it is about to serve went through a
// Brightline gateway, under a policy the provider co-signed, before it
// serves it.
//
// Every request a gateway forwards carries, in the Brightline-Receipt
// header, the audit log's signed receipt for a "forward" entry that
// commits to the exact body sent (salted SHA-256; the salt travels in the
// same header). A [Verifier] holding only the log's verifier key checks
//
//   - that the receipt is signed by the log's key,
//   - that its entry commits to the body received,
//   - that it is fresh (its time within Window of now) and not a replay
//     (each log index is accepted once),
//
// and, with the log reachable ([Verifier.Log]), also
//
//   - that the entry is in the log, once the log's maximum merge delay
//     (MMD) has passed (before that the receipt is a promise, and is
//     accepted),
//   - that the policy in the entry was put in force by a manifest signed
//     by a threshold of the trust set, following the log's own trust
//     history from the provider's trust set.
//
// [Verifier.Handler] wraps an http.Handler and refuses what fails with a
// 403 and a JSON error naming the reason (see [Reason]).
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brightline/brightline/auditverify"
)

// Errors of [Verifier.Check] beyond those of auditverify
// ([auditverify.ErrUpstreamMalformed], [auditverify.ErrUpstreamSignature],
// [auditverify.ErrBodyMismatch], [auditverify.ErrStale]), for errors.Is.
var (
	ErrMissing   = errors.New("the request carries no Brightline-Receipt header")
	ErrReplayed  = errors.New("the receipt was already used")
	ErrNotInLog  = errors.New("the receipt's entry is not in the log past the maximum merge delay")
	ErrUntrusted = errors.New("the request was decided under a policy the trust set did not sign")
	// ErrLog: the log could not be read to check the receipt; the request
	// is refused (fail closed) and may be retried.
	ErrLog = errors.New("the audit log could not be read")
)

// Reason names why a request was refused, as the Handler's JSON error
// "reason" says: "missing_receipt", "malformed_receipt", "bad_signature",
// "body_mismatch", "stale", "replayed", "not_in_log", "untrusted_policy",
// "log_unavailable", or "refused" for anything else.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "missing_receipt"
	case errors.Is(err, auditverify.ErrUpstreamSignature):
		return "bad_signature"
	case errors.Is(err, auditverify.ErrUpstreamMalformed):
		return "malformed_receipt"
	case errors.Is(err, auditverify.ErrBodyMismatch):
		return "body_mismatch"
	case errors.Is(err, auditverify.ErrStale):
		return "stale"
	case errors.Is(err, ErrReplayed):
		return "replayed"
	case errors.Is(err, ErrNotInLog):
		return "not_in_log"
	case errors.Is(err, ErrUntrusted):
		return "untrusted_policy"
	case errors.Is(err, ErrLog):
		return "log_unavailable"
	}
	return "refused"
}

// ReplayCache remembers the receipts already accepted.
type ReplayCache interface {
	// Seen records key until the time until and reports whether key was
	// already recorded (and not yet forgotten). It must be safe for
	// concurrent use; a key is reported unseen to exactly one caller.
	Seen(key string, until time.Time) bool
}

// Verifier checks upstream receipts. Set its fields before first use; the
// zero value of every field but VerifierKey is usable. It is safe for
// concurrent use.
type Verifier struct {
	// VerifierKey is the gateway's log's note verifier key
	// ("origin+hash+key"). Required.
	VerifierKey string
	// Trust is the trust set the provider holds (its own key among
	// them). It is used only with Log: the policy of each receipt must
	// have been activated under a manifest signed by a threshold of it, as
	// rotated by the log's own trust history.
	Trust auditverify.TrustSet
	// Window bounds how far a receipt's time may be from now, either way.
	// 0 means 5 minutes. Replays are remembered for as long.
	Window time.Duration
	// Log, if set, is the gateway's log (auditverify.NewSource of its
	// /log URL, with the auditor's credentials: the trust history needs
	// entry bundles). nil skips the log checks. The first check reads
	// every entry of the log to follow its trust history; later ones read
	// only the new checkpoint's new entries.
	Log auditverify.Source
	// Witnesses are the checkpoint cosigners required of the log, and
	// Quorum how many; none by default.
	Witnesses []string
	Quorum    int
	// Seen remembers accepted receipts. nil means an in-memory cache
	// holding each receipt for Window.
	Seen ReplayCache
	// MaxBody bounds the body the Handler reads. 0 means 32 MiB.
	MaxBody int64
	// Now is the clock. nil means time.Now.
	Now func() time.Time
	// Refresh is the least time between two reads of the log's
	// checkpoint. 0 means 500 milliseconds.
	Refresh time.Duration

	once    sync.Once
	initErr error
	vkey    note.Verifier
	cpPol   auditverify.Policy
	seen    ReplayCache

	// mu guards the log state below.
	mu      sync.Mutex
	cp      auditverify.Checkpoint
	read    time.Time // when cp was last read
	history *auditverify.TrustHistory
}

func (v *Verifier) init() error {
	v.once.Do(func() {
		vk, err := note.NewVerifier(v.VerifierKey)
		if err != nil {
			v.initErr = fmt.Errorf("couldn't read the log's verifier key: %w", err)
			return
		}
		v.vkey = vk
		if v.Window <= 0 {
			v.Window = 5 * time.Minute
		}
		if v.Refresh <= 0 {
			v.Refresh = 500 * time.Millisecond
		}
		if v.MaxBody <= 0 {
			v.MaxBody = 32 << 20
		}
		v.seen = v.Seen
		if v.seen == nil {
			v.seen = NewMemoryCache(v.now)
		}
		if v.Log != nil {
			if v.cpPol, err = auditverify.NewPolicy(v.VerifierKey, v.Witnesses, v.Quorum); err != nil {
				v.initErr = err
				return
			}
			if v.history, err = auditverify.NewTrustHistory(v.Trust); err != nil {
				v.initErr = fmt.Errorf("couldn't use the trust set: %w", err)
				return
			}
		}
	})
	return v.initErr
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Check verifies the upstream receipt of r, whose body is body. Errors
// wrap one of the package's or auditverify's sentinels ([Reason] names
// them); a receipt is recorded as seen only when everything else passed,
// so a refused request does not use it up.
func (v *Verifier) Check(r *http.Request, body []byte) error {
	_, err := v.Verify(r.Context(), r.Header.Get(auditverify.UpstreamHeader), body)
	return err
}

// Verify is Check on a header value: it verifies header (the
// Brightline-Receipt value, "" when none) against body, and returns the
// receipt read from it (its Forward says which request, principal, model
// and policy).
func (v *Verifier) Verify(ctx context.Context, header string, body []byte) (auditverify.UpstreamReceipt, error) {
	if err := v.init(); err != nil {
		return auditverify.UpstreamReceipt{}, err
	}
	if header == "" {
		return auditverify.UpstreamReceipt{}, ErrMissing
	}
	now := v.now()
	u, err := auditverify.VerifyUpstream(header, body, v.vkey, now, v.Window)
	if err != nil {
		return u, err
	}
	if v.Log != nil {
		if err := v.checkLog(ctx, u, now); err != nil {
			return u, err
		}
	}
	key := u.Receipt.Origin + "/" + strconv.FormatUint(u.Receipt.Index, 10)
	if v.seen.Seen(key, u.Receipt.Time.Add(v.Window)) {
		return u, fmt.Errorf("%w: entry %d of %s", ErrReplayed, u.Receipt.Index, u.Receipt.Origin)
	}
	return u, nil
}

// checkLog checks u against the log: its entry is in the tree once due,
// and its policy was trusted before it.
func (v *Verifier) checkLog(ctx context.Context, u auditverify.UpstreamReceipt, now time.Time) error {
	idx, hash := u.Receipt.Index, u.Forward.PolicyHash
	v.mu.Lock()
	// The checkpoint is read again at most every Refresh, unless this
	// receipt is due and the last read was before it fell due.
	due := u.Receipt.Due()
	if idx >= v.cp.Size && (now.Sub(v.read) >= v.Refresh || (now.After(due) && v.read.Before(due))) {
		if err := v.refresh(ctx, now); err != nil {
			v.mu.Unlock()
			return fmt.Errorf("%w: %v", ErrLog, err)
		}
	}
	cp := v.cp
	// Status at Next looks at every activation seen; at idx, only at
	// those before the entry.
	known, before := v.history.Status(hash, v.history.Next), v.history.Status(hash, idx)
	v.mu.Unlock()

	if idx >= cp.Size {
		if now.After(u.Receipt.Due()) {
			return fmt.Errorf("%w: entry %d was due by %s; the log's checkpoint has %d entries", ErrNotInLog,
				idx, u.Receipt.Due().UTC().Format(time.RFC3339Nano), cp.Size)
		}
		// A promise not yet due is accepted, unless the log already
		// shows that its policy was not signed.
		if known == auditverify.PolicyUntrusted {
			return fmt.Errorf("%w: policy %s was activated without a threshold of signatures", ErrUntrusted, hash)
		}
		return nil
	}
	if err := u.Receipt.VerifyInclusion(ctx, v.Log, cp); err != nil {
		return fmt.Errorf("%w: %v", ErrNotInLog, err)
	}
	if before != auditverify.PolicyTrusted {
		return fmt.Errorf("%w: policy %s is %s before entry %d", ErrUntrusted, hash, before, idx)
	}
	return nil
}

// refresh reads the log's checkpoint, checks it extends the last one, and
// follows the trust history to it. Called with mu held.
func (v *Verifier) refresh(ctx context.Context, now time.Time) error {
	c, err := auditverify.FetchCheckpoint(ctx, v.Log, v.cpPol)
	if err != nil {
		return err
	}
	if v.cp.Origin != "" {
		if err := auditverify.CheckConsistency(ctx, v.Log, v.cp, c); err != nil {
			return err
		}
	}
	if err := v.history.Follow(ctx, v.Log, c); err != nil {
		return err
	}
	v.cp, v.read = c, now
	return nil
}

// Handler returns a handler that reads each request's body (at most
// MaxBody bytes), checks its receipt, and passes the request to next
// with the body restored, or refuses it with 403 and a JSON body
//
//	{"error":{"type":"brightline_receipt","reason":"body_mismatch","message":"…"}}
//
// A body over MaxBody is refused with 413; a log that cannot be read,
// with 503 (reason log_unavailable).
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.init(); err != nil {
			refuse(w, http.StatusInternalServerError, "misconfigured", err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.MaxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				refuse(w, http.StatusRequestEntityTooLarge, "too_large", err)
				return
			}
			refuse(w, http.StatusBadRequest, "unreadable_body", err)
			return
		}
		if err := v.Check(r, body); err != nil {
			status := http.StatusForbidden
			if errors.Is(err, ErrLog) {
				status = http.StatusServiceUnavailable
			}
			refuse(w, status, Reason(err), err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, status int, reason string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
		"type": "brightline_receipt", "reason": reason, "message": err.Error(),
	}})
}
