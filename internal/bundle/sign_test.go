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

// party is a signer generated for a test.
type party struct {
	name, skey, vkey string
}

func newParty(t testing.TB, name string) party {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatalf("GenerateKey(%q): %v", name, err)
	}
	return party{name, skey, vkey}
}

// signAll has each party sign in turn, starting from text.
func signAll(t testing.TB, text string, parties ...party) []byte {
	t.Helper()
	msg := []byte(text)
	for _, p := range parties {
		var err error
		msg, err = Sign(msg, p.skey)
		if err != nil {
			t.Fatalf("Sign by %s: %v", p.name, err)
		}
	}
	return msg
}

// sigNames returns the signer names on msg's signature lines, in order.
func sigNames(t *testing.T, msg []byte) []string {
	t.Helper()
	_, sigs, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		t.Fatalf("no signature block in %q", msg)
	}
	var names []string
	for line := range strings.Lines(string(sigs)) {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			t.Fatalf("signature line %q doesn't start with an em dash", line)
		}
		name, _, _ := strings.Cut(rest, " ")
		names = append(names, name)
	}
	return names
}

func TestGenerateKey(t *testing.T) {
	p := newParty(t, "operator")
	if !strings.HasPrefix(p.skey, "PRIVATE+KEY+operator+") {
		t.Errorf("got signer key prefix %q, want PRIVATE+KEY+operator+", p.skey[:min(len(p.skey), 21)])
	}
	v, err := note.NewVerifier(p.vkey)
	if err != nil {
		t.Fatalf("NewVerifier(%q): %v", p.vkey, err)
	}
	if v.Name() != "operator" {
		t.Errorf("got verifier name %q, want operator", v.Name())
	}
	if q := newParty(t, "operator"); q.vkey == p.vkey {
		t.Errorf("two generated keys are both %q, want them to differ", p.vkey)
	}
	for _, name := range []string{"", "op erator", "op+erator", "op\terator"} {
		t.Run(name, func(t *testing.T) {
			if _, vkey, err := GenerateKey(name); err == nil {
				t.Errorf("GenerateKey(%q) = %q, want an error", name, vkey)
			}
		})
	}
}

func TestSign(t *testing.T) {
	a, b, c := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "oversight")
	text := NewManifest([]byte("rules: []\n"), 3, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).Text()
	tests := []struct {
		name    string
		signers []party
		want    []string
	}{
		{"one", []party{a}, []string{"operator"}},
		{"in turn", []party{a, b, c}, []string{"operator", "vendor", "oversight"}},
		{"other order", []party{c, a, b}, []string{"oversight", "operator", "vendor"}},
		{"twice in a row", []party{a, a}, []string{"operator"}},
		{"again later", []party{a, b, a}, []string{"vendor", "operator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := signAll(t, text, tt.signers...)
			if got := sigNames(t, msg); !slices.Equal(got, tt.want) {
				t.Errorf("got signatures by %q, want %q", got, tt.want)
			}
			var vs []note.Verifier
			for _, p := range []party{a, b, c} {
				v, err := note.NewVerifier(p.vkey)
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v)
			}
			n, err := note.Open(msg, note.VerifierList(vs...))
			if err != nil {
				t.Fatalf("note.Open: %v", err)
			}
			if n.Text != text {
				t.Errorf("got note text %q, want %q", n.Text, text)
			}
			if len(n.Sigs) != len(tt.want) || len(n.UnverifiedSigs) != 0 {
				t.Errorf("got %d verified and %d unverified signatures, want %d verified", len(n.Sigs), len(n.UnverifiedSigs), len(tt.want))
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	a := newParty(t, "operator")
	text := NewManifest([]byte("x"), 1, time.Unix(0, 0)).Text()
	signed := signAll(t, text, a)
	tests := []struct {
		name      string
		in        string
		skey      string
		malformed bool // want ErrMalformed
	}{
		{"not a manifest", "hello\n", a.skey, true},
		{"manifest without final newline", strings.TrimSuffix(text, "\n"), a.skey, true},
		{"note with a bad text", strings.Replace(string(signed), "version 1", "version 01", 1), a.skey, true},
		{"note with a garbage signature line", string(signed) + "garbage\n", a.skey, true},
		{"blank line but no signatures", text + "\n", a.skey, true},
		{"verifier key as signer key", text, a.vkey, false},
		{"empty signer key", text, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Sign([]byte(tt.in), tt.skey)
			if err == nil {
				t.Fatalf("got note %q, want an error", out)
			}
			if got := errors.Is(err, ErrMalformed); got != tt.malformed {
				t.Errorf("got errors.Is(%v, ErrMalformed) = %v, want %v", err, got, tt.malformed)
			}
			if tt.skey != "" && strings.Contains(err.Error(), tt.skey) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
}
