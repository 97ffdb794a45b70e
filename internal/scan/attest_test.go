package scan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/bundle"
)

func testAttestation() Attestation {
	return Attestation{
		Scanner: ToolName + " devel", Vendor: "anthropic",
		ProfileHash: "sha256:" + strings.Repeat("ab", 32), TreeHash: "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		Files: 12, Time: time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC),
	}
}

func TestAttestationRoundTrip(t *testing.T) {
	skey, vkey, err := bundle.GenerateKey("test-scan")
	if err != nil {
		t.Fatal(err)
	}
	a := testAttestation()
	signed, err := SignAttestation(a, skey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyAttestation(signed, vkey)
	if err != nil {
		t.Fatalf("VerifyAttestation: %v", err)
	}
	a.Signer = "test-scan"
	if got != a {
		t.Errorf("got %+v, want %+v", got, a)
	}
}

func TestAttestationTampered(t *testing.T) {
	skey, vkey, err := bundle.GenerateKey("test-scan")
	if err != nil {
		t.Fatal(err)
	}
	_, otherVkey, err := bundle.GenerateKey("test-scan")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignAttestation(testAttestation(), skey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		note []byte
		vkey string
	}{
		{"vendor changed", bytes.Replace(signed, []byte("vendor anthropic"), []byte("vendor openai"), 1), vkey},
		{"files changed", bytes.Replace(signed, []byte("files 12"), []byte("files 13"), 1), vkey},
		{"tree changed", bytes.Replace(signed, []byte("tree h1:4"), []byte("tree h1:5"), 1), vkey},
		{"signature changed", bytes.Replace(signed, []byte("— test-scan "), []byte("— test-scan AAAA"), 1), vkey},
		{"other key", signed, otherVkey},
		{"truncated", signed[:len(signed)/2], vkey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(tt.note, signed) && tt.vkey == vkey {
				t.Fatal("test case didn't change anything")
			}
			if _, err := VerifyAttestation(tt.note, tt.vkey); !errors.Is(err, ErrBadAttestation) {
				t.Errorf("got %v, want ErrBadAttestation", err)
			}
		})
	}
}

func TestAttestationNotAnAttestation(t *testing.T) {
	skey, vkey, err := bundle.GenerateKey("test-scan")
	if err != nil {
		t.Fatal(err)
	}
	// A valid signature over some other text must not pass as an attestation.
	other, err := bundle.Sign([]byte("brightline-policy\nversion 1\nsha256 "+strings.Repeat("ab", 32)+"\n"), skey)
	if err != nil {
		t.Skipf("couldn't make another signed note: %v", err)
	}
	if _, err := VerifyAttestation(other, vkey); !errors.Is(err, ErrBadAttestation) {
		t.Errorf("got %v, want ErrBadAttestation", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data", "scan.key")
	skey, vkey, created, err := LoadOrCreateKey(file)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Errorf("got created=false for a new key")
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", info.Mode().Perm())
	}
	skey2, vkey2, created2, err := LoadOrCreateKey(file)
	if err != nil {
		t.Fatal(err)
	}
	if created2 || skey2 != skey || vkey2 != vkey {
		t.Errorf("second load: got created=%v and a different key, want the same key", created2)
	}
	// The derived verifier key verifies what the signer key signs.
	signed, err := SignAttestation(testAttestation(), skey2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyAttestation(signed, vkey2); err != nil {
		t.Errorf("VerifyAttestation with the derived key: %v", err)
	}
}

func TestVerifierKeyMatchesGenerateKey(t *testing.T) {
	for range 5 {
		skey, vkey, err := bundle.GenerateKey("k")
		if err != nil {
			t.Fatal(err)
		}
		got, err := verifierKey(skey)
		if err != nil {
			t.Fatal(err)
		}
		if got != vkey {
			t.Errorf("got %q, want %q", got, vkey)
		}
	}
	if _, err := verifierKey("not a key"); err == nil {
		t.Errorf("got no error for a bad key")
	}
}
