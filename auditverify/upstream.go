package auditverify

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// UpstreamHeader is the request header in which the gateway sends each
// request it forwards to a provider with its [UpstreamReceipt], in the
// encoded form ([UpstreamReceipt.Encode]). Providers that don't know it
// ignore it.
const UpstreamHeader = "Brightline-Receipt"

// upstreamVersion is the first part of every encoded upstream receipt.
const upstreamVersion = "v1"

// UpstreamSaltSize is the length of the salt of a forward entry's body
// commitment.
const UpstreamSaltSize = 16

// Errors of [ParseUpstreamReceipt] and [UpstreamReceipt.Verify], for
// errors.Is. Each names one reason a provider refuses a request.
var (
	// ErrUpstreamMalformed: the header is not an encoded upstream receipt,
	// or its entry is not a forward entry the receipt promises.
	ErrUpstreamMalformed = errors.New("malformed upstream receipt")
	// ErrUpstreamSignature: the receipt is not signed by the log's key.
	ErrUpstreamSignature = errors.New("upstream receipt signature does not verify with the log key")
	// ErrBodyMismatch: the body received is not the body the receipt
	// commits to.
	ErrBodyMismatch = errors.New("the request body is not the body the receipt commits to")
	// ErrStale: the receipt's time is outside the freshness window.
	ErrStale = errors.New("the receipt is outside the freshness window")
)

// UpstreamReceipt is what travels with a forwarded request in
// [UpstreamHeader]: the log's signed [Receipt] for the request's "forward"
// entry, the entry's bytes (so that the provider can hash them to the
// receipt's leaf hash and read them), and the salt of the entry's body
// commitment. The entry carries no content: request id, principal,
// provider, model, the policy and trust set in force, the attempt number,
// and the commitment hex(SHA-256(salt ‖ SHA-256(body))) to the exact
// bytes sent.
//
// The encoded form is one header value, four parts joined by dots:
//
//	v1.<receipt note>.<entry>.<salt>
//
// each part after the version in unpadded base64url (RFC 4648 §5). It is
// about 1 KB: a version 2 receipt grows by a hash for every doubling of
// its journal group.
type UpstreamReceipt struct {
	Receipt Receipt
	Entry   []byte // the forward entry, as the log holds it
	Salt    []byte // UpstreamSaltSize bytes
	Forward Forward
}

// Forward is the part of a forward entry a provider reads.
type Forward struct {
	Time          time.Time
	RequestID     string
	PrincipalID   string
	Provider      string
	Model         string
	PolicyHash    string
	PolicyVersion int64
	TrustHash     string // "" when the policy in force was not signed
	Commitment    string // hex SHA-256(salt ‖ SHA-256(body))
	Attempt       int    // the attempt's number for the request, from 1
	Shadow        bool   // a shadow-mode mirror, not the request's answer
}

// forwardWire is the JSON of a forward entry, as internal/auditlog writes
// it (version 1). Unknown fields are allowed: the receipt's leaf hash
// binds the bytes whatever they hold.
type forwardWire struct {
	V             int               `json:"v"`
	Kind          string            `json:"kind"`
	Time          string            `json:"time"`
	RequestID     string            `json:"request_id"`
	PrincipalID   string            `json:"principal_id"`
	Provider      string            `json:"provider"`
	Model         string            `json:"model"`
	PolicyHash    string            `json:"policy_hash"`
	PolicyVersion int64             `json:"policy_version"`
	TrustHash     string            `json:"trust_hash"`
	Commitment    string            `json:"commitment"`
	Detail        map[string]string `json:"detail"`
}

// entryTime is the time layout of log entries.
const entryTime = "2006-01-02T15:04:05.000000Z"

// Encode returns the header form of u.
func (u UpstreamReceipt) Encode() string {
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(upstreamVersion)+3+enc.EncodedLen(len(u.Receipt.Note))+enc.EncodedLen(len(u.Entry))+enc.EncodedLen(len(u.Salt)))
	b = append(b, upstreamVersion...)
	for _, p := range [][]byte{u.Receipt.Note, u.Entry, u.Salt} {
		b = enc.AppendEncode(append(b, '.'), p)
	}
	return string(b)
}

// ParseUpstreamReceipt reads the header form of an upstream receipt and
// checks what needs no body and no clock: the receipt's signature by the
// log's key, that the entry is the one the receipt promises, that it is a
// forward entry, and the salt's length. Errors wrap [ErrUpstreamMalformed]
// or [ErrUpstreamSignature].
func ParseUpstreamReceipt(s string, log note.Verifier) (UpstreamReceipt, error) {
	var u UpstreamReceipt
	if log == nil {
		return u, errors.New("no log key to verify the upstream receipt with")
	}
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 4 || parts[0] != upstreamVersion {
		return u, fmt.Errorf("%w: want %s.<receipt>.<entry>.<salt>", ErrUpstreamMalformed, upstreamVersion)
	}
	var raw [3][]byte
	for i, p := range parts[1:] {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return u, fmt.Errorf("%w: part %d is not base64url: %v", ErrUpstreamMalformed, i+2, err)
		}
		raw[i] = b
	}
	r, err := ParseReceipt(string(raw[0]), log)
	if err != nil {
		if _, ok := errors.AsType[*note.UnverifiedNoteError](err); ok {
			return u, fmt.Errorf("%w: %v", ErrUpstreamSignature, err)
		}
		if _, ok := errors.AsType[*note.InvalidSignatureError](err); ok {
			return u, fmt.Errorf("%w: %v", ErrUpstreamSignature, err)
		}
		return u, fmt.Errorf("%w: %v", ErrUpstreamMalformed, err)
	}
	if !r.Matches(raw[1]) {
		return u, fmt.Errorf("%w: the entry is not the entry the receipt promises (leaf hash differs)", ErrUpstreamMalformed)
	}
	f, err := parseForward(raw[1])
	if err != nil {
		return u, err
	}
	if len(raw[2]) != UpstreamSaltSize {
		return u, fmt.Errorf("%w: salt is %d bytes, want %d", ErrUpstreamMalformed, len(raw[2]), UpstreamSaltSize)
	}
	return UpstreamReceipt{Receipt: r, Entry: raw[1], Salt: raw[2], Forward: f}, nil
}

func parseForward(b []byte) (Forward, error) {
	var w forwardWire
	if err := json.Unmarshal(b, &w); err != nil {
		return Forward{}, fmt.Errorf("%w: couldn't read its entry: %v", ErrUpstreamMalformed, err)
	}
	if w.V != 1 || w.Kind != "forward" {
		return Forward{}, fmt.Errorf("%w: the entry is a %q entry of version %d, want a forward entry of version 1", ErrUpstreamMalformed, w.Kind, w.V)
	}
	t, err := time.Parse(entryTime, w.Time)
	if err != nil {
		return Forward{}, fmt.Errorf("%w: entry time %q: %v", ErrUpstreamMalformed, w.Time, err)
	}
	if c, err := hex.DecodeString(w.Commitment); err != nil || len(c) != sha256.Size {
		return Forward{}, fmt.Errorf("%w: entry commitment %q is not a hex SHA-256", ErrUpstreamMalformed, w.Commitment)
	}
	f := Forward{Time: t, RequestID: w.RequestID, PrincipalID: w.PrincipalID, Provider: w.Provider, Model: w.Model,
		PolicyHash: w.PolicyHash, PolicyVersion: w.PolicyVersion, TrustHash: w.TrustHash, Commitment: w.Commitment,
		Shadow: w.Detail["shadow"] == "true"}
	if a := w.Detail["attempt"]; a != "" {
		if f.Attempt, err = strconv.Atoi(a); err != nil {
			return Forward{}, fmt.Errorf("%w: entry attempt %q is not a number", ErrUpstreamMalformed, a)
		}
	}
	return f, nil
}

// UpstreamCommitment returns the body commitment of a forward entry:
// hex(SHA-256(salt ‖ SHA-256(body))). The body is hashed first so that a
// provider that keeps only SHA-256(body) of what it served, and the
// receipt, can still be reconciled with the log ([UpstreamCommitmentOf]).
func UpstreamCommitment(salt, body []byte) string {
	return UpstreamCommitmentOf(salt, sha256.Sum256(body))
}

// UpstreamCommitmentOf is [UpstreamCommitment] of a body whose SHA-256 is
// bodySHA256.
func UpstreamCommitmentOf(salt []byte, bodySHA256 [sha256.Size]byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write(bodySHA256[:])
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// Verify checks that body is the body u commits to, and that the
// receipt's time is within window of now, either way (a clock skew
// between the gateway and the provider counts against the window).
// window <= 0 skips the time check. Errors wrap [ErrBodyMismatch] or
// [ErrStale].
func (u UpstreamReceipt) Verify(body []byte, now time.Time, window time.Duration) error {
	if !u.Commits(sha256.Sum256(body)) {
		return fmt.Errorf("%w (%d bytes received)", ErrBodyMismatch, len(body))
	}
	if window > 0 {
		if d := now.Sub(u.Receipt.Time); d > window || d < -window {
			return fmt.Errorf("%w: receipt time %s, now %s, window %v", ErrStale,
				u.Receipt.Time.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), window)
		}
	}
	return nil
}

// Commits reports whether u commits to the body whose SHA-256 is
// bodySHA256.
func (u UpstreamReceipt) Commits(bodySHA256 [sha256.Size]byte) bool {
	got := UpstreamCommitmentOf(u.Salt, bodySHA256)
	return subtle.ConstantTimeCompare([]byte(got), []byte(u.Forward.Commitment)) == 1
}

// VerifyUpstream parses the header form of an upstream receipt with the
// log's key and verifies it against body at now: [ParseUpstreamReceipt]
// then [UpstreamReceipt.Verify]. It does not look at the log, and does not
// detect replays; package auditverify/provider does both.
func VerifyUpstream(header string, body []byte, log note.Verifier, now time.Time, window time.Duration) (UpstreamReceipt, error) {
	u, err := ParseUpstreamReceipt(header, log)
	if err != nil {
		return u, err
	}
	return u, u.Verify(body, now, window)
}

// NewUpstreamReceipt assembles the upstream receipt of a forward entry
// from the log's receipt for it. It checks that the receipt promises
// entry and that the entry is a forward entry committing to body under
// salt, so that its caller never sends a receipt a provider would refuse
// for a reason of its own making. (Brightline's gateway builds the entry
// itself and checks only that the receipt promises its bytes.)
func NewUpstreamReceipt(r Receipt, entry, salt, body []byte) (UpstreamReceipt, error) {
	if r.Note == nil {
		return UpstreamReceipt{}, errors.New("couldn't make the upstream receipt: the log's receipt is not signed")
	}
	if !r.Matches(entry) {
		return UpstreamReceipt{}, errors.New("couldn't make the upstream receipt: the log's receipt is for another entry")
	}
	f, err := parseForward(entry)
	if err != nil {
		return UpstreamReceipt{}, fmt.Errorf("couldn't make the upstream receipt: %w", err)
	}
	if len(salt) != UpstreamSaltSize {
		return UpstreamReceipt{}, fmt.Errorf("couldn't make the upstream receipt: salt is %d bytes, want %d", len(salt), UpstreamSaltSize)
	}
	u := UpstreamReceipt{Receipt: r, Entry: bytes.Clone(entry), Salt: bytes.Clone(salt), Forward: f}
	if err := u.Verify(body, time.Time{}, 0); err != nil {
		return UpstreamReceipt{}, fmt.Errorf("couldn't make the upstream receipt: %w", err)
	}
	return u, nil
}
