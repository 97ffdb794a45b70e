package brightline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// KeyPrefix begins every plaintext API key, so that keys are recognisable
// in logs and by secret scanners.
const KeyPrefix = "bl_"

// keySecretLen is the number of base62 characters after KeyPrefix.
// 43 characters carry log2(62^43) ≈ 256.03 bits.
const keySecretLen = 43

// PrefixLen is how many leading characters of a plaintext key are stored for
// display: KeyPrefix and 9 secret characters (about 54 of the 256 bits).
const PrefixLen = 12

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey mints a plaintext API key, KeyPrefix followed by 43 base62
// characters drawn uniformly from crypto/rand, and returns it with its
// hash. Show the plaintext to its owner once and store only the hash.
func NewKey() (plaintext string, hash [32]byte, err error) {
	out := make([]byte, 0, len(KeyPrefix)+keySecretLen)
	out = append(out, KeyPrefix...)
	var buf [64]byte
	for len(out) < cap(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", [32]byte{}, fmt.Errorf("couldn't read random bytes for a key: %w", err)
		}
		for _, b := range buf {
			// 248 = 4·62: rejecting bytes at or above it keeps b%62 uniform.
			if b >= 248 {
				continue
			}
			out = append(out, base62[b%62])
			if len(out) == cap(out) {
				break
			}
		}
	}
	plaintext = string(out)
	return plaintext, HashKey(plaintext), nil
}

// HashKey returns the SHA-256 of a plaintext key, the only form in which
// stores keep it. A single unsalted hash suffices because keys carry 256
// bits of randomness; a slow hash would only slow down every request.
func HashKey(plaintext string) [32]byte {
	return sha256.Sum256([]byte(plaintext))
}

// DisplayPrefix returns the first PrefixLen characters of a plaintext key,
// the part stores keep for display (store.Key.Prefix), or all of it if it is shorter.
func DisplayPrefix(plaintext string) string {
	if len(plaintext) <= PrefixLen {
		return plaintext
	}
	return plaintext[:PrefixLen]
}

// crockford is the Crockford base32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewKeyID returns a new key (and principal) ID: "key_" followed by a ULID,
// 48 bits of millisecond time then 80 random bits in Crockford base32, so
// IDs sort roughly by creation time. Callers must treat IDs as opaque;
// stores order keys by insertion, not by ID.
func NewKeyID() (string, error) {
	return newKeyID(time.Now())
}

func newKeyID(now time.Time) (string, error) {
	var u [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	if _, err := rand.Read(u[6:]); err != nil {
		return "", fmt.Errorf("couldn't read random bytes for a key id: %w", err)
	}
	// 128 bits as 26 base32 digits: the first digit holds the top 3 bits
	// (so it is at most '7'), each following digit 5 bits.
	hi := binary.BigEndian.Uint64(u[0:8])
	lo := binary.BigEndian.Uint64(u[8:16])
	var out [4 + 26]byte
	copy(out[:], "key_")
	for i := 25; i >= 0; i-- {
		out[4+i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:]), nil
}
