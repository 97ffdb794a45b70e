package subjects

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sync"
)

// Key identifies a subject without revealing it: the HMAC-SHA-256, under a
// per-deployment secret, of the subject's strongest normalised identifier.
// Raw identifiers are never stored; only keys reach the counters.
type Key [32]byte

// Hash returns the first eight bytes of k as an integer. Because k is an
// HMAC output it is uniformly distributed, so it is used directly as the
// HyperLogLog hash.
func (k Key) Hash() uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// String returns k in hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// keyDomain prefixes every HMAC input so that subject keys can never collide
// with other HMACs a deployment might compute under the same secret.
const keyDomain = "brightline subject key v1\x00"

// Keyer derives subject keys under one deployment secret. It is safe for
// concurrent use.
type Keyer struct {
	pool sync.Pool // of hash.Hash, each an HMAC keyed with the secret
}

// NewKeyer returns a Keyer for secret. The secret should be at least 32
// random bytes, kept outside the store: anyone holding it can test guesses
// of identifiers against stored keys. NewKeyer copies secret.
func NewKeyer(secret []byte) *Keyer {
	s := append([]byte(nil), secret...)
	return &Keyer{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, s) }}}
}

// Key returns the key of an identifier of type idType (for example "SSN" or
// "PHONE") whose normalised form is normalised. The type is length-prefixed
// into the HMAC input, so equal strings of different types get different
// keys. Normalisation is the caller's job: Key hashes exactly what it is
// given.
func (k *Keyer) Key(idType, normalised string) Key {
	h := k.pool.Get().(hash.Hash)
	h.Reset()
	var buf [len(keyDomain) + binary.MaxVarintLen64]byte
	n := copy(buf[:], keyDomain)
	n += binary.PutUvarint(buf[n:], uint64(len(idType)))
	h.Write(buf[:n])
	h.Write([]byte(idType))
	h.Write([]byte(normalised))
	var out Key
	h.Sum(out[:0])
	k.pool.Put(h)
	return out
}
