package bundle

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// GenerateKey returns a new Ed25519 key pair for the party called name, in
// the note key encodings: skey is the private signer key
// ("PRIVATE+KEY+name+hash+data") and must be kept secret; vkey is the
// verifier key ("name+hash+data") that deployments list in [Trust.Keys].
// name must be non-empty and hold no spaces or '+'.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("couldn't generate key: %w", err)
	}
	// note.GenerateKey doesn't check the name; a bad one makes a key pair
	// that no note function accepts.
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", "", fmt.Errorf("invalid key name %q: it must be non-empty with no spaces or '+'", name)
	}
	return skey, vkey, nil
}

// Sign adds the signature of the signer key skey to a manifest note, or to
// a trust rotation note ([Rotation]), and returns the new note.
//
// The first signer passes a manifest text ([Manifest.Text]); later signers
// pass the signed note the previous signer returned. Existing signatures are
// kept in their order and not checked (Sign knows no verifier keys); the new
// signature comes last. If skey has already signed the note, its signature is
// replaced, not added twice.
//
// Sign refuses text that is not a valid manifest, and a note that is not
// well-formed, with an error wrapping [ErrMalformed].
func Sign(noteOrText []byte, skey string) ([]byte, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		// Don't echo skey: it is secret.
		return nil, fmt.Errorf("couldn't parse signer key: %w", err)
	}
	n, err := openUnverified(noteOrText)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(n.Text, RotationOrigin+"\n") {
		if _, err := ParseRotation(n.Text); err != nil {
			return nil, err
		}
	} else if _, err := ParseManifest(n.Text); err != nil {
		return nil, err
	}
	signed, err := note.Sign(n, signer)
	if err != nil {
		return nil, fmt.Errorf("couldn't sign manifest: %w", err)
	}
	return signed, nil
}

// openUnverified parses b as a signed note without checking signatures, or,
// if b has no signature block, as a bare text. A manifest text never holds a
// blank line, so "\n\n" tells the two apart.
func openUnverified(b []byte) (*note.Note, error) {
	if !bytes.Contains(b, []byte("\n\n")) {
		return &note.Note{Text: string(b)}, nil
	}
	return openNote(b)
}

// openNote parses b as a signed note without checking signatures. Every
// error wraps [ErrMalformed].
func openNote(b []byte) (*note.Note, error) {
	// With no known verifiers every signature is unknown, so Open always
	// fails; UnverifiedNoteError carries the parsed note.
	_, err := note.Open(b, note.VerifierList())
	unverified, ok := errors.AsType[*note.UnverifiedNoteError](err)
	if !ok {
		return nil, fmt.Errorf("%w: not a signed note: %v", ErrMalformed, err)
	}
	return unverified.Note, nil
}
