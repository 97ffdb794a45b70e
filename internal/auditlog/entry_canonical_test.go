package auditlog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestMarshalDirect checks that the direct canonical encoding
// (appendCanonical) writes exactly the bytes of the reference path
// (json.Marshal, then RFC 8785 canonicalisation), and that it takes
// every entry it should: only invalid UTF-8 and integers beyond ±2^53
// fall back.
func TestMarshalDirect(t *testing.T) {
	tm := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	full := Entry{Kind: KindDecision, Time: tm, RequestID: "req_1", PrincipalID: "key_1", Dialect: "openai",
		Provider: "p", Model: "m", PolicyHash: "sha256:aa", PolicyVersion: 7, TrustHash: "sha256:bb", Stage: "request",
		Action: "deny", Matches: []Match{{"surveillance", "bulk", "deny"}, {"", "", ""}},
		Detections: map[string]int{"PERSON": 3, "EMAIL": 0, "ZIP": -2}, Subjects: 4, ApprovalIDs: []string{"a1", "a2"},
		Commitment: strings.Repeat("ab", 32), Detail: map[string]string{"z": "1", "a": "<&>", "": "empty key"}}
	with := func(f func(*Entry)) Entry {
		e := full
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name     string
		e        Entry
		fallback bool // appendCanonical must decline it
	}{
		{"full", full, false},
		{"minimal", Entry{Kind: "x", Time: tm}, false},
		{"empty collections", Entry{Kind: "x", Time: tm, Matches: []Match{}, Detections: map[string]int{},
			ApprovalIDs: []string{}, Detail: map[string]string{}}, false},
		{"escapes", with(func(e *Entry) {
			e.RequestID = "q\"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f end"
			e.Detail = map[string]string{"k\n": "v\u2028\u2029<>&", "é": "ü", "\x00": "nul"}
		}), false},
		{"utf-16 key order", with(func(e *Entry) {
			// U+FF61 sorts after U+1F600 in UTF-16 (after its
			// surrogate D83D), before it in UTF-8.
			e.Detail = map[string]string{"\uff61": "1", "\U0001F600": "2", "\ue000": "3", "a": "4", "\u00e9": "5"}
			e.Detections = map[string]int{"\uff61x": 1, "\U0001F600": 2}
		}), false},
		{"negative and large integers", with(func(e *Entry) {
			e.PolicyVersion, e.Subjects = -1<<53, 1<<53
		}), false},
		{"integer beyond 2^53", with(func(e *Entry) { e.PolicyVersion = 1<<53 + 1 }), true},
		{"negative integer beyond 2^53", with(func(e *Entry) { e.PolicyVersion = -1<<53 - 1 }), true},
		{"invalid utf-8 value", with(func(e *Entry) { e.Model = "a\xffb" }), true},
		{"invalid utf-8 key", with(func(e *Entry) { e.Detail = map[string]string{"\xfe": "x", "y": "z"} }), true},
		{"utc and zero fraction", Entry{Kind: "k", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := tc.e.marshalJCS()
			got, gerr := tc.e.Marshal()
			if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("Marshal: got %s, %v; want %s, %v", got, gerr, want, werr)
			}
			direct, ok := tc.e.appendCanonical(nil)
			if ok == tc.fallback {
				t.Fatalf("appendCanonical: got ok %v, want %v", ok, !tc.fallback)
			}
			if ok && !bytes.Equal(direct, want) {
				t.Fatalf("appendCanonical: got %s, want %s", direct, want)
			}
		})
	}
}

// FuzzMarshalDirect checks the direct canonical encoding against the
// reference path on arbitrary strings and integers: whenever
// appendCanonical takes an entry, its bytes are the reference's.
func FuzzMarshalDirect(f *testing.F) {
	f.Add("req_1", "k", "v", "\uff61", "\U0001F600", "a\"\\\n\x01<", int64(3), 4)
	f.Add("", "", "", "", "", "", int64(-1), 0)
	f.Add("\xff", "\xfe", "x", "y", "z", "w", int64(1)<<60, -7)
	f.Fuzz(func(t *testing.T, s1, k1, v1, k2, v2, s2 string, n1 int64, n2 int) {
		e := Entry{Kind: KindDecision, Time: time.Unix(1_700_000_000, 123456789), RequestID: s1, Model: s2,
			PolicyVersion: n1, Subjects: n2, Matches: []Match{{Safeguard: s2, Rule: s1, Action: v1}},
			Detections: map[string]int{k1: n2, k2: 1}, ApprovalIDs: []string{s1, s2},
			Detail: map[string]string{k1: v1, k2: v2}}
		want, err := e.marshalJCS()
		if err != nil {
			return // e.g. two keys equal once invalid UTF-8 is replaced
		}
		if got, ok := e.appendCanonical(nil); ok && !bytes.Equal(got, want) {
			t.Fatalf("appendCanonical: got %s, want %s", got, want)
		}
		if got, err := e.Marshal(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Marshal: got %s, %v; want %s", got, err, want)
		}
	})
}
