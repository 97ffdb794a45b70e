package scan

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/bundle"
	"golang.org/x/mod/sumdb/note"
)

// attestationHeader is the first line of an attestation's note text.
const attestationHeader = "brightline scan attestation: no exposure found"

// Attestation is a signed statement that a scan of a tree found nothing of a
// vendor. Its text form, one "key value" line each after the header, is:
//
//	brightline scan attestation: no exposure found
//	scanner brightline-scan devel
//	vendor anthropic
//	profile sha256:…
//	tree h1:…
//	files 1234
//	time 2026-11-23T18:00:00Z
type Attestation struct {
	Scanner     string    // ToolName and Version, space-separated
	Vendor      string    // profile name
	ProfileHash string    // Profile.Hash
	TreeHash    string    // TreeHash of the scanned files
	Files       int       // number of files scanned
	Time        time.Time // when the scan ran, UTC, to the second
	Signer      string    // name of the key that signed it (set by VerifyAttestation)
}

// ErrBadAttestation is wrapped by VerifyAttestation for a note that is not a
// well-formed attestation or is not signed by the given key.
var ErrBadAttestation = errors.New("bad attestation")

func (a Attestation) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", attestationHeader)
	fmt.Fprintf(&b, "scanner %s\n", a.Scanner)
	fmt.Fprintf(&b, "vendor %s\n", a.Vendor)
	fmt.Fprintf(&b, "profile %s\n", a.ProfileHash)
	fmt.Fprintf(&b, "tree %s\n", a.TreeHash)
	fmt.Fprintf(&b, "files %d\n", a.Files)
	fmt.Fprintf(&b, "time %s\n", a.Time.UTC().Format(time.RFC3339))
	return b.String()
}

// SignAttestation returns a as a note signed with the signer key skey (a
// "PRIVATE+KEY+…" note key).
func SignAttestation(a Attestation, skey string) ([]byte, error) {
	for _, v := range []string{a.Scanner, a.Vendor, a.ProfileHash, a.TreeHash} {
		if v == "" || strings.ContainsAny(v, "\n\t") {
			return nil, fmt.Errorf("couldn't sign attestation: field %q is empty or holds a newline or tab", v)
		}
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse signer key: %w", err) // never echo skey
	}
	msg, err := note.Sign(&note.Note{Text: a.text()}, signer)
	if err != nil {
		return nil, fmt.Errorf("couldn't sign attestation: %w", err)
	}
	return msg, nil
}

// VerifyAttestation checks that attestation is a note signed by the
// verifier key vkey and returns what it attests. It fails, wrapping
// ErrBadAttestation, if the signature doesn't verify (for instance because
// the text was changed) or the text is not an attestation.
func VerifyAttestation(attestation []byte, vkey string) (Attestation, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Attestation{}, fmt.Errorf("couldn't parse verifier key %q: %w", vkey, err)
	}
	n, err := note.Open(attestation, note.VerifierList(v))
	if err != nil {
		return Attestation{}, fmt.Errorf("%w: %v", ErrBadAttestation, err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 7 || lines[0] != attestationHeader {
		return Attestation{}, fmt.Errorf("%w: not a scan attestation", ErrBadAttestation)
	}
	a := Attestation{Signer: n.Sigs[0].Name}
	for i, key := range []string{"scanner", "vendor", "profile", "tree", "files", "time"} {
		val, ok := strings.CutPrefix(lines[i+1], key+" ")
		if !ok {
			return Attestation{}, fmt.Errorf("%w: line %d is not %q", ErrBadAttestation, i+2, key)
		}
		switch key {
		case "scanner":
			a.Scanner = val
		case "vendor":
			a.Vendor = val
		case "profile":
			a.ProfileHash = val
		case "tree":
			a.TreeHash = val
		case "files":
			if a.Files, err = strconv.Atoi(val); err != nil {
				return Attestation{}, fmt.Errorf("%w: bad file count %q", ErrBadAttestation, val)
			}
		case "time":
			if a.Time, err = time.Parse(time.RFC3339, val); err != nil {
				return Attestation{}, fmt.Errorf("%w: bad time %q", ErrBadAttestation, val)
			}
		}
	}
	return a, nil
}

// scanKeyName names the keys LoadOrCreateKey creates.
const scanKeyName = "brightline-scan"

// LoadOrCreateKey returns the signer key in file, creating a new one (mode
// 0600, with its directory) if file doesn't exist; created reports that.
// vkey is the matching verifier key.
func LoadOrCreateKey(file string) (skey, vkey string, created bool, err error) {
	b, err := os.ReadFile(file)
	if err == nil {
		skey = strings.TrimSpace(string(b))
		vkey, err = verifierKey(skey)
		if err != nil {
			return "", "", false, fmt.Errorf("couldn't use key file %s: %w", file, err)
		}
		return skey, vkey, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, fmt.Errorf("couldn't read key file: %w", err)
	}
	skey, vkey, err = bundle.GenerateKey(scanKeyName)
	if err != nil {
		return "", "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", "", false, fmt.Errorf("couldn't create key directory: %w", err)
	}
	// O_EXCL: never overwrite a key another process just wrote.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", false, fmt.Errorf("couldn't create key file: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", "", false, fmt.Errorf("couldn't write key file %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return "", "", false, fmt.Errorf("couldn't write key file %s: %w", file, err)
	}
	return skey, vkey, true, nil
}

// verifierKey derives the verifier key of an Ed25519 note signer key
// ("PRIVATE+KEY+name+hash+base64(0x01 || seed)"). note offers no such
// function; the encoding is the one note.GenerateKey writes.
func verifierKey(skey string) (string, error) {
	if _, err := note.NewSigner(skey); err != nil {
		return "", fmt.Errorf("not a note signer key: %w", err)
	}
	parts := strings.SplitN(skey, "+", 5) // base64 may hold "+"
	// PRIVATE, KEY, name, hash, key
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vk := append([]byte{1}, pub...)
	name := parts[2]
	h := sha256.Sum256(append(append([]byte(name), '\n'), vk...))
	vkey := fmt.Sprintf("%s+%08x+%s", name, h[:4], base64.StdEncoding.EncodeToString(vk))
	// Check: the derived verifier must accept what the signer signs.
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", fmt.Errorf("couldn't derive verifier key: %w", err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+"+name+"+"+vkey[len(name)+1:len(name)+9]) {
		return "", errors.New("key hash doesn't match the key")
	}
	return vkey, nil
}
