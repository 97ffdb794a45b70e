package brightline

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestNewKey(t *testing.T) {
	const n = 2000
	seen := make(map[string]bool, n)
	counts := make(map[rune]int)
	for range n {
		plain, hash, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, KeyPrefix) {
			t.Fatalf("NewKey: got %q, want prefix %q", plain, KeyPrefix)
		}
		if got, want := len(plain), len(KeyPrefix)+43; got != want {
			t.Fatalf("NewKey: got length %d, want %d", got, want)
		}
		for _, r := range plain[len(KeyPrefix):] {
			if !strings.ContainsRune(base62, r) {
				t.Fatalf("NewKey: got %q, which has %q outside base62", plain, r)
			}
			counts[r]++
		}
		if hash != HashKey(plain) {
			t.Fatalf("NewKey: hash does not match HashKey of the plaintext")
		}
		if seen[plain] {
			t.Fatalf("NewKey: %q minted twice", plain)
		}
		seen[plain] = true
	}
	// Chi-squared test of uniformity over the 62 symbols (61 degrees of
	// freedom). A uniform source exceeds 130 with probability below 1e-6;
	// the classic b%62 bias without rejection scores in the hundreds.
	total := n * 43
	expected := float64(total) / 62
	var chi2 float64
	for _, r := range base62 {
		d := float64(counts[r]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 130 {
		t.Errorf("NewKey characters: chi-squared %.1f over 62 symbols, want <= 130 for a uniform source", chi2)
	}
}

func TestHashKey(t *testing.T) {
	// FIPS 180-2 test vectors.
	tests := []struct{ in, want string }{
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		h := HashKey(tt.in)
		if got := hex.EncodeToString(h[:]); got != tt.want {
			t.Errorf("HashKey(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDisplayPrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"bl_abcdefghijklmnop", "bl_abcdefghi"},
		{"bl_abcdefghi", "bl_abcdefghi"},
		{"bl_", "bl_"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := DisplayPrefix(tt.in); got != tt.want {
			t.Errorf("DisplayPrefix(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewKeyID(t *testing.T) {
	tests := []struct {
		name string
		ms   int64
		want string // expected time part
	}{
		// The example in the ULID specification.
		{"ulid spec example", 1469918176385, "01ARYZ6S41"},
		{"epoch", 0, "0000000000"},
		{"largest 48-bit time", 1<<48 - 1, "7ZZZZZZZZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := newKeyID(time.UnixMilli(tt.ms))
			if err != nil {
				t.Fatal(err)
			}
			if len(id) != len("key_")+26 {
				t.Fatalf("got %q (length %d), want key_ and 26 characters", id, len(id))
			}
			if got := id[:len("key_")+10]; got != "key_"+tt.want {
				t.Errorf("got time part %q, want %q", got, "key_"+tt.want)
			}
			for _, r := range id[len("key_"):] {
				if !strings.ContainsRune(crockford, r) {
					t.Errorf("got %q, which has %q outside Crockford base32", id, r)
				}
			}
		})
	}
	a, err := NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("NewKeyID twice: got %q both times", a)
	}
}
