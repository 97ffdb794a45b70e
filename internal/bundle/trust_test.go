package bundle

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestTrustHash(t *testing.T) {
	a := newParty(t, "operator").vkey
	b := newParty(t, "vendor").vkey
	one := Trust{Keys: []string{a, b}, Threshold: 2}
	tests := []struct {
		name string
		t    Trust
		same bool
	}{
		{"same", Trust{Keys: []string{a, b}, Threshold: 2}, true},
		{"other order", Trust{Keys: []string{b, a}, Threshold: 2}, true},
		{"key twice", Trust{Keys: []string{a, b, a}, Threshold: 2}, true},
		{"lower threshold", Trust{Keys: []string{a, b}, Threshold: 1}, false},
		{"key removed", Trust{Keys: []string{a}, Threshold: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.Hash() == one.Hash(); got != tt.same {
				t.Errorf("same hash: got %v, want %v", got, tt.same)
			}
			if got := one.Diff(tt.t) == ""; got != tt.same {
				t.Errorf("Diff empty: got %v (%q), want %v", got, one.Diff(tt.t), tt.same)
			}
		})
	}
	if d := one.Diff(Trust{Keys: []string{a}, Threshold: 1}); !strings.Contains(d, `removes "vendor"`) || !strings.Contains(d, "threshold from 2 to 1") {
		t.Errorf("Diff: got %q, want it to name the removed vendor and the threshold", d)
	}
}

func TestVerifyRotation(t *testing.T) {
	op, ve, rogue := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "rogue")
	opS, opV, veS, veV, rogueS, rogueV := op.skey, op.vkey, ve.skey, ve.vkey, rogue.skey, rogue.vkey
	current := Trust{Keys: []string{opV, veV}, Threshold: 2}
	next := Trust{Keys: []string{opV, veV, rogueV}, Threshold: 2}
	sign := func(text string, keys ...string) []byte {
		b := []byte(text)
		for _, k := range keys {
			var err error
			if b, err = Sign(b, k); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	rot := Rotation{From: current.Hash(), To: next}
	t.Run("threshold of the current set", func(t *testing.T) {
		r, signers, err := VerifyRotation(sign(rot.Text(), opS, veS), current)
		if err != nil {
			t.Fatal(err)
		}
		if r.To.Hash() != next.Hash() || !slices.Equal(signers, []string{"operator", "vendor"}) {
			t.Errorf("got %v signed by %v, want the next set signed by operator and vendor", r, signers)
		}
	})
	t.Run("one party alone", func(t *testing.T) {
		_, _, err := VerifyRotation(sign(rot.Text(), opS), current)
		if e, ok := errors.AsType[*ThresholdError](err); !ok || e.Need != 2 {
			t.Errorf("got %v, want a ThresholdError needing 2", err)
		}
	})
	t.Run("signed by outsiders", func(t *testing.T) {
		_, _, err := VerifyRotation(sign(rot.Text(), rogueS), current)
		if _, ok := errors.AsType[*ThresholdError](err); !ok {
			t.Errorf("got %v, want a ThresholdError", err)
		}
	})
	t.Run("replaces another set", func(t *testing.T) {
		stale := Rotation{From: next.Hash(), To: current}
		_, _, err := VerifyRotation(sign(stale.Text(), opS, veS), current)
		if _, ok := errors.AsType[*RotationError](err); !ok {
			t.Errorf("got %v, want a RotationError", err)
		}
	})
	t.Run("not canonical", func(t *testing.T) {
		text := strings.Replace(rot.Text(), "threshold 2", "threshold 02", 1)
		if _, err := Sign([]byte(text), opS); !errors.Is(err, ErrMalformed) {
			t.Errorf("Sign: got %v, want ErrMalformed", err)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		r, err := ParseRotation(rot.Text())
		if err != nil || r.Text() != rot.Text() {
			t.Errorf("ParseRotation: got %v, %v", r, err)
		}
	})
}
