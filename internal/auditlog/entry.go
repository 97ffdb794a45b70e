package auditlog

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Entry kinds.
const (
	KindDecision         = "decision"
	KindPolicyActivation = "policy_activation"
	KindPolicyRefused    = "policy_refused"
	KindApproval         = "approval"
	// KindTrustRoot records that a trust set was pinned: by the first
	// signed activation (Detail "seq" 1), or by a rotation signed by a
	// threshold of the set before (Detail "rotation" holds its note).
	KindTrustRoot = "trust_root"
	// KindForward records one request about to be forwarded upstream (a
	// first try, a retry, a failover or a shadow request): RequestID,
	// PrincipalID, Provider, Model, the policy and trust in force, and
	// Commitment, hex SHA-256(salt ‖ SHA-256(the exact bytes sent)), with a fresh
	// salt that travels to the provider in the Brightline-Receipt header
	// (auditverify.UpstreamReceipt). Detail "attempt" is the attempt's
	// number for the request, from 1; Detail "shadow" is "true" for a
	// shadow-mode mirror.
	KindForward = "forward"
)

// entryVersion is the "v" field of every entry this package writes.
const entryVersion = 1

// MaxEntrySize is the largest encoded entry the log takes (C2SP tlog-tiles
// entries are at most 64 KiB − 1).
const MaxEntrySize = 1<<16 - 1

// Entry is one log entry: a decision or an event, never prompt or response
// content. [Entry.Marshal] gives its canonical, versioned encoding.
type Entry struct {
	Kind          string            // "decision", "policy_activation", "policy_refused", "approval", "forward"
	Time          time.Time         // kept to the microsecond, in UTC; Append fills a zero Time
	RequestID     string            //
	PrincipalID   string            //
	Dialect       string            //
	Provider      string            //
	Model         string            //
	PolicyHash    string            //
	PolicyVersion int64             //
	TrustHash     string            // the trust set the policy was verified against; "" if unsigned
	Stage         string            // request, response, tool_call ("" for non-decisions)
	Action        string            // allow, deny, redact, require_approval, annotate; or the event's verb
	Matches       []Match           // every matching rule
	Detections    map[string]int    // identifier type → count (e.g. "PERSON": 3)
	Subjects      int               // distinct subjects in the request
	ApprovalIDs   []string          //
	Commitment    string            // hex SHA-256(salt ‖ canonical request body), "" when none
	Detail        map[string]string // small, non-content facts for events (e.g. approval status)
}

// Match is one rule that matched.
type Match struct {
	Safeguard string `json:"safeguard,omitempty"`
	Rule      string `json:"rule"`
	Action    string `json:"action"`
}

// wireEntry is the JSON form of version 1. Field names are stable: auditors
// parse them. Empty fields are left out.
type wireEntry struct {
	V             int               `json:"v"`
	Kind          string            `json:"kind"`
	Time          string            `json:"time"`
	RequestID     string            `json:"request_id,omitempty"`
	PrincipalID   string            `json:"principal_id,omitempty"`
	Dialect       string            `json:"dialect,omitempty"`
	Provider      string            `json:"provider,omitempty"`
	Model         string            `json:"model,omitempty"`
	PolicyHash    string            `json:"policy_hash,omitempty"`
	PolicyVersion int64             `json:"policy_version,omitempty"`
	TrustHash     string            `json:"trust_hash,omitempty"`
	Stage         string            `json:"stage,omitempty"`
	Action        string            `json:"action,omitempty"`
	Matches       []Match           `json:"matches,omitempty"`
	Detections    map[string]int    `json:"detections,omitempty"`
	Subjects      int               `json:"subjects,omitempty"`
	ApprovalIDs   []string          `json:"approval_ids,omitempty"`
	Commitment    string            `json:"commitment,omitempty"`
	Detail        map[string]string `json:"detail,omitempty"`
}

// timeLayout keeps microseconds always, so that equal times are equal text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Marshal returns e's canonical encoding: JSON with "v":1, canonicalised
// per RFC 8785, so that equal entries are equal bytes. It fails if e has no
// Kind or Time, a malformed Commitment, or encodes to more than
// [MaxEntrySize] bytes.
func (e Entry) Marshal() ([]byte, error) {
	if e.Kind == "" {
		return nil, errors.New("couldn't encode log entry: kind is empty")
	}
	if e.Time.IsZero() {
		return nil, fmt.Errorf("couldn't encode %s entry: time is zero", e.Kind)
	}
	if e.Commitment != "" {
		if b, err := hex.DecodeString(e.Commitment); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("couldn't encode %s entry: commitment %q is not a hex SHA-256", e.Kind, e.Commitment)
		}
	}
	b, ok := e.appendCanonical(make([]byte, 0, 512))
	if !ok {
		var err error
		if b, err = e.marshalJCS(); err != nil {
			return nil, err
		}
	}
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("couldn't encode %s entry: %d bytes is more than %d", e.Kind, len(b), MaxEntrySize)
	}
	return b, nil
}

// marshalJCS is Marshal the long way, through encoding/json and an RFC
// 8785 canonicaliser. appendCanonical writes the same bytes directly; this
// remains for what it does not handle, and as the reference its tests
// compare it with.
func (e Entry) marshalJCS() ([]byte, error) {
	w := wireEntry{
		V: entryVersion, Kind: e.Kind, Time: e.Time.UTC().Truncate(time.Microsecond).Format(timeLayout),
		RequestID: e.RequestID, PrincipalID: e.PrincipalID, Dialect: e.Dialect, Provider: e.Provider,
		Model: e.Model, PolicyHash: e.PolicyHash, PolicyVersion: e.PolicyVersion, TrustHash: e.TrustHash, Stage: e.Stage,
		Action: e.Action, Matches: e.Matches, Detections: e.Detections, Subjects: e.Subjects,
		ApprovalIDs: e.ApprovalIDs, Commitment: e.Commitment, Detail: e.Detail,
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode %s entry: %w", e.Kind, err)
	}
	b, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("couldn't canonicalise %s entry: %w", e.Kind, err)
	}
	return b, nil
}

// appendCanonical appends e's canonical encoding to b, writing RFC 8785
// JSON directly: wireEntry's members with their names in sorted order,
// empty ones left out as its omitempty tags say, map keys sorted by UTF-16
// code units, strings escaped as RFC 8785 says. It is an entry per append
// on the gateway's hot path, where json.Marshal and jcs.Transform cost
// about a fifth of an append's CPU. ok is false, and b must be ignored, for
// what it does not handle the same way as marshalJCS: a string that is
// not valid UTF-8 (json.Marshal replaces the bad bytes, which can make two
// map keys equal) and an integer beyond ±2^53 (which RFC 8785 writes as
// the nearest float64).
func (e Entry) appendCanonical(b []byte) (_ []byte, ok bool) {
	w := jcsWriter{b: b, ok: true, sep: '{'}
	// The members in RFC 8785 order: sorted names (all ASCII).
	w.field("action", e.Action)
	w.strings("approval_ids", e.ApprovalIDs)
	w.field("commitment", e.Commitment)
	w.stringMap("detail", e.Detail)
	w.intMap("detections", e.Detections)
	w.field("dialect", e.Dialect)
	w.name("kind")
	w.str(e.Kind)
	w.matches(e.Matches)
	w.field("model", e.Model)
	w.field("policy_hash", e.PolicyHash)
	w.number("policy_version", e.PolicyVersion)
	w.field("principal_id", e.PrincipalID)
	w.field("provider", e.Provider)
	w.field("request_id", e.RequestID)
	w.field("stage", e.Stage)
	w.number("subjects", int64(e.Subjects))
	w.name("time")
	w.b = append(w.b, '"')
	w.b = e.Time.UTC().Truncate(time.Microsecond).AppendFormat(w.b, timeLayout)
	w.b = append(w.b, '"')
	w.field("trust_hash", e.TrustHash)
	w.name("v")
	w.num(entryVersion)
	return append(w.b, '}'), w.ok
}

// jcsWriter appends one JSON object's members in RFC 8785 form. ok turns
// false at the first value appendCanonical hands back to marshalJCS.
type jcsWriter struct {
	b   []byte
	ok  bool
	sep byte // what comes before the next member: '{' for the first, then ','
}

func (w *jcsWriter) str(s string) {
	if !utf8.ValidString(s) {
		w.ok = false
	}
	w.b = appendJCSString(w.b, s)
}

func (w *jcsWriter) num(n int64) {
	if n > 1<<53 || n < -(1<<53) {
		w.ok = false
	}
	w.b = strconv.AppendInt(w.b, n, 10)
}

// name starts a member called n (ASCII, needing no escapes).
func (w *jcsWriter) name(n string) {
	w.b = append(w.b, w.sep, '"')
	w.b = append(w.b, n...)
	w.b = append(w.b, '"', ':')
	w.sep = ','
}

// field is a string member, left out when empty (omitempty).
func (w *jcsWriter) field(n, v string) {
	if v != "" {
		w.name(n)
		w.str(v)
	}
}

// number is an integer member, left out when zero (omitempty).
func (w *jcsWriter) number(n string, v int64) {
	if v != 0 {
		w.name(n)
		w.num(v)
	}
}

// strings is an array-of-strings member, left out when empty.
func (w *jcsWriter) strings(n string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.name(n)
	for i, v := range vs {
		w.b = append(w.b, "[,"[min(i, 1)])
		w.str(v)
	}
	w.b = append(w.b, ']')
}

// stringMap is an object-of-strings member with sorted keys, left out when
// empty.
func (w *jcsWriter) stringMap(n string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	w.name(n)
	for i, k := range sortedKeys(m) {
		w.b = append(w.b, "{,"[min(i, 1)])
		w.str(k)
		w.b = append(w.b, ':')
		w.str(m[k])
	}
	w.b = append(w.b, '}')
}

// intMap is an object-of-integers member with sorted keys, left out when
// empty.
func (w *jcsWriter) intMap(n string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	w.name(n)
	for i, k := range sortedKeys(m) {
		w.b = append(w.b, "{,"[min(i, 1)])
		w.str(k)
		w.b = append(w.b, ':')
		w.num(int64(m[k]))
	}
	w.b = append(w.b, '}')
}

// matches is the matches member: each match's members in sorted order,
// safeguard left out when empty.
func (w *jcsWriter) matches(ms []Match) {
	if len(ms) == 0 {
		return
	}
	w.name("matches")
	for i, m := range ms {
		w.b = append(w.b, "[,"[min(i, 1)])
		w.b = append(w.b, `{"action":`...)
		w.str(m.Action)
		w.b = append(w.b, `,"rule":`...)
		w.str(m.Rule)
		if m.Safeguard != "" {
			w.b = append(w.b, `,"safeguard":`...)
			w.str(m.Safeguard)
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

// sortedKeys returns m's keys in RFC 8785 order: by UTF-16 code units.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	return keys
}

// compareUTF16 compares a and b (valid UTF-8) by their UTF-16 code units.
// That is their byte order except where a code point at or above U+E000
// and below U+10000 meets one above U+FFFF: UTF-16 puts the surrogates
// (D800-DFFF) of the second first.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmp.Compare(utf16Unit(ra), utf16Unit(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// utf16Unit is the first UTF-16 code unit of r.
func utf16Unit(r rune) rune {
	if r >= 0x10000 {
		r1, _ := utf16.EncodeRune(r)
		return r1
	}
	return r
}

// appendJCSString appends s as an RFC 8785 string: quoted, with '"', '\\'
// and the control characters escaped (\b \t \n \f \r in short form, the
// others as \u00xx) and every other byte as it is. It is not
// wire.AppendEscaped: RFC 8785 fixes the short forms of \b and \f and
// leaves U+2028 and U+2029 raw, which a wire format may not.
func appendJCSString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendJCSEscape(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJCSEscape appends the RFC 8785 escape of c, which is '"', '\\' or
// a control character.
func appendJCSEscape(b []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	default:
		return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
	}
}

// ParseEntry decodes an entry that [Entry.Marshal] encoded. It rejects an
// unknown version, unknown fields, and any encoding that is not canonical,
// so that each entry has exactly one valid form.
func ParseEntry(b []byte) (Entry, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var w wireEntry
	if err := d.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("couldn't parse log entry: %w", err)
	}
	if w.V != entryVersion {
		return Entry{}, fmt.Errorf("couldn't parse log entry: version %d, want %d", w.V, entryVersion)
	}
	t, err := time.Parse(timeLayout, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("couldn't parse log entry time %q: %w", w.Time, err)
	}
	e := Entry{
		Kind: w.Kind, Time: t, RequestID: w.RequestID, PrincipalID: w.PrincipalID, Dialect: w.Dialect,
		Provider: w.Provider, Model: w.Model, PolicyHash: w.PolicyHash, PolicyVersion: w.PolicyVersion,
		TrustHash: w.TrustHash, Stage: w.Stage, Action: w.Action, Matches: w.Matches, Detections: w.Detections, Subjects: w.Subjects,
		ApprovalIDs: w.ApprovalIDs, Commitment: w.Commitment, Detail: w.Detail,
	}
	again, err := e.Marshal()
	if err != nil {
		return Entry{}, fmt.Errorf("couldn't parse log entry: %w", err)
	}
	if !bytes.Equal(again, b) {
		return Entry{}, errors.New("couldn't parse log entry: encoding is not canonical")
	}
	return e, nil
}

// Commitment is a salted commitment to a request body. Hash goes into the
// log entry; Salt and Body stay in the local index, so that the operator
// can open the commitment for an auditor one request at a time.
type Commitment struct {
	Salt []byte // 32 random bytes
	Body []byte // the canonical body that was committed to
	Hash string // hex(SHA-256(Salt ‖ Body))
}

// SaltSize is the length of a commitment salt.
const SaltSize = 32

// CanonicalMax is the largest body Commit canonicalises. RFC 8785
// canonicalisation costs about eight times a body's size in memory and
// seconds of CPU for tens of megabytes, so a client sending large bodies
// could starve every other client's decisions; larger bodies are committed
// as sent. The opening holds the committed bytes either way.
const CanonicalMax = 1 << 20

// Commit makes a salted commitment to a request body: the body is
// canonicalised (RFC 8785 if it is JSON and at most CanonicalMax bytes,
// else the bytes as they are), a fresh 32-byte random salt is drawn, and
// the commitment is hex(SHA-256(salt ‖ canonical body)).
func Commit(body []byte) (Commitment, error) {
	canon, ok := []byte(nil), false
	if len(body) <= CanonicalMax {
		// canonicalJSON writes the body's canonical form directly; what it
		// leaves, jcs.Transform decides, as before it.
		canon, ok = canonicalJSON(body)
		if !ok && json.Valid(body) {
			if b, err := jcs.Transform(body); err == nil {
				canon, ok = b, true
			}
		}
	}
	if !ok {
		canon = bytes.Clone(body)
	}
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return Commitment{}, fmt.Errorf("couldn't draw a commitment salt: %w", err)
	}
	return Commitment{Salt: salt, Body: canon, Hash: CommitmentHash(salt, canon)}, nil
}

// CommitmentHash returns hex(SHA-256(salt ‖ body)).
func CommitmentHash(salt, body []byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
