package auditlog

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// BodyKeyFile is the file in the data directory holding the key that
// encrypts commitment openings at rest: 32 random bytes, mode 0600. It is
// kept apart from the database, so that a copy of the database (a backup,
// a leaked file) does not reveal request bodies, nor the salts that keep
// the logged commitments from being guessed.
const BodyKeyFile = "bodies.key"

// ErrNoBodyKey means the body key file is missing: the openings it
// encrypted cannot be read.
var ErrNoBodyKey = errors.New("the body key is missing")

// BodyKey encrypts the salt and body of each commitment before they are
// written to the journal and the local index, and decrypts them for
// `audit open`.
//
// The cipher is XChaCha20-Poly1305: its 24-byte nonces are drawn at random
// for every seal, and at that size random nonces stay safe however many
// openings one long-lived key seals (two per audited request), where
// AES-GCM's 12-byte random nonces would call for rotating the key after
// some billions of seals.
type BodyKey struct {
	aead cipher.AEAD
}

// sealedMagic starts every sealed value, telling it apart from the
// plaintext openings of rows written without a body key.
var sealedMagic = []byte("blsealed1:")

const sealedOverhead = 10 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// LoadOrCreateBodyKey reads the body key at path, or creates one (0600) if
// there is none; created reports which.
func LoadOrCreateBodyKey(path string) (k *BodyKey, created bool, err error) {
	k, err = LoadBodyKey(path)
	if !errors.Is(err, ErrNoBodyKey) {
		return k, false, err
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("couldn't create the body key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't write the body key: %w", err)
	}
	_, werr := f.Write(key)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("couldn't write the body key %s: %w", path, err)
	}
	k, err = newBodyKey(key)
	return k, err == nil, err
}

// LoadBodyKey reads the body key at path. It returns an error wrapping
// ErrNoBodyKey if the file does not exist.
func LoadBodyKey(path string) (*BodyKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoBodyKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the body key: %w", err)
	}
	k, err := newBodyKey(b)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the body key %s: %w", path, err)
	}
	return k, nil
}

func newBodyKey(key []byte) (*BodyKey, error) {
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("got %d bytes, want %d", len(key), chacha20poly1305.KeySize)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &BodyKey{aead: aead}, nil
}

// seal encrypts p; label (what p is) is authenticated with it, so that a
// sealed salt cannot pass for a body.
func (k *BodyKey) seal(label string, p []byte) []byte {
	out := make([]byte, len(sealedMagic)+chacha20poly1305.NonceSizeX, sealedOverhead+len(p))
	copy(out, sealedMagic)
	nonce := out[len(sealedMagic):]
	rand.Read(nonce)
	return k.aead.Seal(out, nonce, p, []byte(label))
}

// open decrypts what seal made.
func (k *BodyKey) open(label string, b []byte) ([]byte, error) {
	if !isSealed(b) {
		return nil, errors.New("not sealed")
	}
	nonce := b[len(sealedMagic) : len(sealedMagic)+chacha20poly1305.NonceSizeX]
	p, err := k.aead.Open(nil, nonce, b[len(sealedMagic)+chacha20poly1305.NonceSizeX:], []byte(label))
	if err != nil {
		return nil, fmt.Errorf("couldn't decrypt the %s (a different body key?): %w", label, err)
	}
	return p, nil
}

// isSealed reports whether b was made by seal. A plaintext salt (random)
// starts with sealedMagic with a probability of 2^-80.
func isSealed(b []byte) bool {
	return len(b) >= sealedOverhead && bytes.HasPrefix(b, sealedMagic)
}

// Sealed reports whether an index row's salt was sealed with a body key:
// opening the row needs the key.
func Sealed(salt []byte) bool { return isSealed(salt) }

// OpenRecord returns the plaintext salt and body of an index row, which
// may have been sealed with k (k may be nil for rows that were not). A body
// kept in a side file (see openings.go) is read from openingsDir, usually
// <data>/openings. It returns an error wrapping ErrNoBodyKey if the row or
// its side file is sealed and k is nil, and one wrapping ErrOpeningGone if
// the side file was deleted after the retention period.
func OpenRecord(k *BodyKey, openingsDir string, salt, body []byte) ([]byte, []byte, error) {
	if isSealed(salt) {
		if k == nil {
			return nil, nil, ErrNoBodyKey
		}
		s, err := k.open("salt", salt)
		if err != nil {
			return nil, nil, err
		}
		b, err := k.open("body", body)
		if err != nil {
			return nil, nil, err
		}
		salt, body = s, b
	}
	// else written without a body key
	if isOpeningRef(body) {
		b, err := readOpening(openingsDir, k, body)
		if err != nil {
			return nil, nil, err
		}
		body = b
	}
	if body == nil {
		body = []byte{}
	}
	return salt, body, nil
}

// bodyForgetter is the part of the index the retention sweep needs.
type bodyForgetter interface {
	// ForgetAuditBodies deletes the salt and body of every row recorded
	// before t and returns how many it changed. Safe to retry.
	ForgetAuditBodies(ctx context.Context, t time.Time) (int64, error)
}

// ForgetBodies deletes from the index the openings of commitments recorded
// more than Config.BodyRetention ago, and the side files of large ones
// written before then; the commitments stay in the log. It returns how many
// index rows it changed. It does nothing when BodyRetention is 0.
func (l *Log) ForgetBodies(ctx context.Context) (int64, error) {
	if l.cfg.BodyRetention <= 0 {
		return 0, nil
	}
	t := l.cfg.Now().Add(-l.cfg.BodyRetention)
	var rows int64
	var err error
	if f, ok := l.cfg.Index.(bodyForgetter); ok {
		rows, err = f.ForgetAuditBodies(ctx, t)
	}
	// Files after rows: a row the sweep could not change still finds its
	// file until the next sweep.
	if dir := l.openingsDir(); dir != "" && err == nil {
		files, ferr := forgetOpenings(dir, t)
		if files > 0 && l.log != nil {
			l.log.Info("deleted expired request bodies' side files", "files", files, "retention", l.cfg.BodyRetention)
		}
		err = ferr
	}
	return rows, err
}

// bodySealer is the part of the index that encrypts openings written
// before there was a body key.
type bodySealer interface {
	// SealAuditBodies replaces the salt and body of every row whose salt
	// is plainSaltLen bytes long by what seal returns. Safe to retry.
	SealAuditBodies(ctx context.Context, plainSaltLen int, seal func(salt, body []byte) ([]byte, []byte)) (int64, error)
}

// SealOldBodies encrypts, with Config.BodyKey, the openings the index holds
// in plaintext: those written before the gateway had a body key. It does
// nothing without a BodyKey or with an index that cannot.
func (l *Log) SealOldBodies(ctx context.Context) (int64, error) {
	s, ok := l.cfg.Index.(bodySealer)
	k := l.cfg.BodyKey
	if !ok || k == nil {
		return 0, nil
	}
	return s.SealAuditBodies(ctx, SaltSize, func(salt, body []byte) ([]byte, []byte) {
		return k.seal("salt", salt), k.seal("body", body)
	})
}

// RunBodySweeper first encrypts the openings left in plaintext by earlier
// versions (SealOldBodies), then calls ForgetBodies every interval until
// ctx ends, logging failures (the next sweep retries).
func (l *Log) RunBodySweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	sealed := false
	for {
		if !sealed {
			n, err := l.SealOldBodies(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				l.log.Warn("couldn't encrypt the request bodies earlier versions left in plaintext in the audit index; will retry", "err", err)
			case err == nil:
				sealed = true
				if n > 0 {
					l.log.Info("encrypted the request bodies earlier versions left in plaintext in the audit index", "rows", n)
				}
			}
		}
		n, err := l.ForgetBodies(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Warn("couldn't delete expired request bodies from the audit index; will retry", "err", err)
		case n > 0:
			l.log.Info("deleted expired request bodies from the audit index", "rows", n, "retention", l.cfg.BodyRetention)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
