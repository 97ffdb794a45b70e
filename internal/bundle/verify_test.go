package bundle

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

var (
	testPolicy   = []byte("safeguards:\n  - id: human-control-of-force\n")
	testActivate = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	testNow      = testActivate.Add(time.Hour)
)

// checkErr fails t unless got matches want: nil, a sentinel (errors.Is) or
// one of the typed errors with the same fields.
func checkErr(t *testing.T, got, want error) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		if got != nil {
			t.Errorf("got error %v, want none", got)
		}
	case *ThresholdError:
		g, ok := errors.AsType[*ThresholdError](got)
		if !ok || g.Need != w.Need || !slices.Equal(g.Have, w.Have) {
			t.Errorf("got error %v, want %v", got, want)
		}
	case *RollbackError:
		if g, ok := errors.AsType[*RollbackError](got); !ok || *g != *w {
			t.Errorf("got error %v, want %v", got, want)
		}
	case *NotYetActiveError:
		if g, ok := errors.AsType[*NotYetActiveError](got); !ok || !g.Activate.Equal(w.Activate) {
			t.Errorf("got error %v, want %v", got, want)
		}
	default:
		if !errors.Is(got, want) {
			t.Errorf("got error %v, want one wrapping %v", got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	op, vendor, oversight := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "oversight")
	stranger := newParty(t, "stranger")
	impostor := newParty(t, "vendor") // the vendor's name, another key

	text := NewManifest(testPolicy, 7, testActivate).Text()
	sign := func(ps ...party) []byte { return signAll(t, text, ps...) }
	twoOfTwo := Trust{Keys: []string{op.vkey, vendor.vkey}, Threshold: 2}
	twoOfThree := Trust{Keys: []string{op.vkey, vendor.vkey, oversight.vkey}, Threshold: 2}

	// A note whose operator signature line appears twice.
	opTwice := sign(op)
	opTwice = append(opTwice, opTwice[bytes.LastIndex(opTwice, []byte("— ")):]...)
	// A note signed over version 7 whose text now says version 8.
	altered := bytes.Replace(sign(op, vendor), []byte("version 7"), []byte("version 8"), 1)
	// The vendor's signature line from a different manifest.
	otherText := NewManifest(testPolicy, 6, testActivate).Text()
	otherSigs := signAll(t, otherText, vendor)
	spliced := append(sign(op), otherSigs[bytes.LastIndex(otherSigs, []byte("— ")):]...)
	// A properly signed note whose text is not a manifest.
	notManifest := signRaw(t, "brightline.dev/policy-bundle/v1\nversion 7\n", op, vendor)

	tests := []struct {
		name    string
		trust   Trust
		note    []byte
		policy  []byte // nil: testPolicy
		active  int64
		now     time.Time // zero: testNow
		want    error
		signers []string // when want is nil
	}{
		{name: "1 of 2", trust: twoOfTwo, note: sign(op), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "other 1 of 2", trust: twoOfTwo, note: sign(vendor), want: &ThresholdError{Have: []string{"vendor"}, Need: 2}},
		{name: "2 of 2", trust: twoOfTwo, note: sign(op, vendor), signers: []string{"operator", "vendor"}},
		{name: "2 of 2 other order", trust: twoOfTwo, note: sign(vendor, op), signers: []string{"operator", "vendor"}},
		{name: "2 of 3 operator vendor", trust: twoOfThree, note: sign(op, vendor), signers: []string{"operator", "vendor"}},
		{name: "2 of 3 operator oversight", trust: twoOfThree, note: sign(oversight, op), signers: []string{"operator", "oversight"}},
		{name: "2 of 3 vendor oversight", trust: twoOfThree, note: sign(vendor, oversight), signers: []string{"oversight", "vendor"}},
		{name: "2 of 3 all three", trust: twoOfThree, note: sign(oversight, vendor, op), signers: []string{"operator", "oversight", "vendor"}},
		{name: "1 of 3", trust: twoOfThree, note: sign(oversight), want: &ThresholdError{Have: []string{"oversight"}, Need: 2}},
		{name: "1 of 1", trust: Trust{Keys: []string{op.vkey}, Threshold: 1}, note: sign(op), signers: []string{"operator"}},

		{name: "same signature line twice", trust: twoOfTwo, note: opTwice, want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "same key signs twice", trust: twoOfTwo, note: sign(op, op), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "same key listed twice in trust, one signer", trust: Trust{Keys: []string{op.vkey, op.vkey, vendor.vkey}, Threshold: 2}, note: sign(op), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "same key listed twice in trust, two signers", trust: Trust{Keys: []string{op.vkey, vendor.vkey, op.vkey}, Threshold: 2}, note: sign(op, vendor), signers: []string{"operator", "vendor"}},

		{name: "unknown signer ignored", trust: twoOfTwo, note: sign(op, stranger, vendor), signers: []string{"operator", "vendor"}},
		{name: "unknown signer doesn't count", trust: twoOfTwo, note: sign(stranger, op), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "only unknown signers", trust: twoOfTwo, note: sign(stranger), want: &ThresholdError{Need: 2}},
		{name: "right name, other key", trust: twoOfTwo, note: sign(op, impostor), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "right name, other key, and the real one", trust: twoOfTwo, note: sign(impostor, op, vendor), signers: []string{"operator", "vendor"}},

		{name: "tampered policy", trust: twoOfTwo, note: sign(op, vendor), policy: append(slices.Clone(testPolicy), '#'), want: ErrPolicyHashMismatch},
		{name: "empty policy", trust: twoOfTwo, note: sign(op, vendor), policy: []byte{}, want: ErrPolicyHashMismatch},

		{name: "first bundle", trust: twoOfTwo, note: sign(op, vendor), active: 0, signers: []string{"operator", "vendor"}},
		{name: "upgrade", trust: twoOfTwo, note: sign(op, vendor), active: 6, signers: []string{"operator", "vendor"}},
		{name: "same version", trust: twoOfTwo, note: sign(op, vendor), active: 7, want: &RollbackError{Version: 7, Active: 7}},
		{name: "older version", trust: twoOfTwo, note: sign(op, vendor), active: 8, want: &RollbackError{Version: 7, Active: 8}},

		{name: "activation in the future", trust: twoOfTwo, note: sign(op, vendor), now: testActivate.Add(-time.Second), want: &NotYetActiveError{Activate: testActivate}},
		{name: "activation now", trust: twoOfTwo, note: sign(op, vendor), now: testActivate, signers: []string{"operator", "vendor"}},

		{name: "bare manifest text", trust: twoOfTwo, note: []byte(text), want: ErrMalformed},
		{name: "empty note", trust: twoOfTwo, note: nil, want: ErrMalformed},
		{name: "garbage signature line", trust: twoOfTwo, note: append(sign(op, vendor), "garbage\n"...), want: ErrMalformed},
		{name: "control character", trust: twoOfTwo, note: bytes.Replace(sign(op, vendor), []byte("version 7"), []byte("version\t7"), 1), want: ErrMalformed},
		{name: "signed text is not a manifest", trust: twoOfTwo, note: notManifest, want: ErrMalformed},
		{name: "text altered after signing", trust: twoOfTwo, note: altered, want: ErrInvalidSignature},
		{name: "signature from another manifest", trust: twoOfTwo, note: spliced, want: ErrInvalidSignature},

		// Check order: signatures, then hash, then rollback, then time.
		{name: "1 of 2 and tampered", trust: twoOfTwo, note: sign(op), policy: []byte("x"), active: 9, now: testActivate.Add(-time.Hour), want: &ThresholdError{Have: []string{"operator"}, Need: 2}},
		{name: "tampered and rollback", trust: twoOfTwo, note: sign(op, vendor), policy: []byte("x"), active: 9, now: testActivate.Add(-time.Hour), want: ErrPolicyHashMismatch},
		{name: "rollback and future", trust: twoOfTwo, note: sign(op, vendor), active: 9, now: testActivate.Add(-time.Hour), want: &RollbackError{Version: 7, Active: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy, now := tt.policy, tt.now
			if policy == nil {
				policy = testPolicy
			}
			if now.IsZero() {
				now = testNow
			}
			v, err := Verify(policy, tt.note, tt.trust, tt.active, now)
			checkErr(t, err, tt.want)
			if tt.want != nil {
				if v != nil {
					t.Errorf("got verified bundle %+v along with the error, want nil", v)
				}
				return
			}
			if v == nil {
				t.Fatal("got nil *Verified and no error")
			}
			if !slices.Equal(v.Signers, tt.signers) {
				t.Errorf("got signers %q, want %q", v.Signers, tt.signers)
			}
			if v.Manifest.Version != 7 || !v.Manifest.Activate.Equal(testActivate) || v.Manifest.Text() != text {
				t.Errorf("got manifest %+v, want the signed one:\n%s", v.Manifest, text)
			}
			if !bytes.Equal(v.Policy, policy) {
				t.Errorf("got policy %q, want %q", v.Policy, policy)
			}
		})
	}
}

// signRaw signs text with the note package directly, bypassing Sign's
// manifest check.
func signRaw(t *testing.T, text string, ps ...party) []byte {
	t.Helper()
	var signers []note.Signer
	for _, p := range ps {
		s, err := note.NewSigner(p.skey)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestTrustValidate(t *testing.T) {
	op, vendor, impostor := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "vendor")
	tests := []struct {
		name  string
		trust Trust
		want  string // substring of the error; "" for none
	}{
		{"2 of 2", Trust{Keys: []string{op.vkey, vendor.vkey}, Threshold: 2}, ""},
		{"1 of 2", Trust{Keys: []string{op.vkey, vendor.vkey}, Threshold: 1}, ""},
		{"duplicate key, 2 of 2 distinct", Trust{Keys: []string{op.vkey, op.vkey, vendor.vkey}, Threshold: 2}, ""},
		{"duplicate key, 2 of 1 distinct", Trust{Keys: []string{op.vkey, op.vkey}, Threshold: 2}, "threshold 2"},
		{"no keys", Trust{Threshold: 1}, "no keys"},
		{"threshold 0", Trust{Keys: []string{op.vkey}}, "threshold 0"},
		{"negative threshold", Trust{Keys: []string{op.vkey}, Threshold: -1}, "threshold -1"},
		{"threshold above keys", Trust{Keys: []string{op.vkey, vendor.vkey}, Threshold: 3}, "threshold 3"},
		{"unparseable key", Trust{Keys: []string{op.vkey, "vendor+1234+abc"}, Threshold: 1}, "trust key 2"},
		{"key with a wrong hash", Trust{Keys: []string{strings.Replace(op.vkey, "operator+", "operatoR+", 1)}, Threshold: 1}, "trust key 1"},
		{"private key", Trust{Keys: []string{op.skey}, Threshold: 1}, "private signer key"},
		{"two keys, one name", Trust{Keys: []string{op.vkey, vendor.vkey, impostor.vkey}, Threshold: 2}, "trust keys 2 and 3 are both named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.trust.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), op.skey[12:]):
				t.Errorf("error %q repeats a private key", err)
			}
			// Verify refuses what Validate refuses.
			_, verr := Verify(testPolicy, signAll(t, NewManifest(testPolicy, 1, testActivate).Text(), op, vendor), tt.trust, 0, testNow)
			if (err == nil) != (verr == nil) {
				t.Errorf("Validate says %v but Verify says %v", err, verr)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ps := []party{newParty(b, "operator"), newParty(b, "vendor"), newParty(b, "oversight")}
	trust := Trust{Keys: []string{ps[0].vkey, ps[1].vkey, ps[2].vkey}, Threshold: 2}
	msg := signAll(b, NewManifest(testPolicy, 7, testActivate).Text(), ps...)
	for b.Loop() {
		v, err := Verify(testPolicy, msg, trust, 6, testNow)
		if err != nil || len(v.Signers) != 3 {
			b.Fatalf("Verify: %v, %v", v, err)
		}
	}
}
