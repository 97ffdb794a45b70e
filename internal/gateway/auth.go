package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/brightline/brightline"
)

// KeyStore looks principals up by the hash of their API key.
type KeyStore interface {
	// PrincipalByKeyHash returns brightline.ErrNotFound for unknown and
	// revoked keys alike.
	PrincipalByKeyHash(ctx context.Context, hash [32]byte) (brightline.Principal, error)
}

// StoreAuthenticator authenticates API keys against a key store, which
// holds only their hashes.
func StoreAuthenticator(s KeyStore) Authenticator { return storeAuth{s} }

type storeAuth struct{ s KeyStore }

func (a storeAuth) Authenticate(ctx context.Context, key string) (brightline.Principal, error) {
	// A store that does not answer (a partitioned database) must not hold
	// the request: past authTimeout the lookup fails, and the request is
	// refused with 503 like one whose store fails. Cached keys never get
	// here, so they pay no timer.
	ctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	return a.s.PrincipalByKeyHash(ctx, brightline.HashKey(key))
}

// apiKey returns the key from Authorization: Bearer or x-api-key.
func apiKey(r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the request's API key. Failures are client errors
// (401) except when the store cannot be consulted, which refuses the
// request without saying more (fail closed).
// Principal authenticates r's API key, as the model APIs do, for other
// handlers mounted on the gateway (approvals, the console, log entries).
func (g *Gateway) Principal(r *http.Request) (brightline.Principal, error) {
	return g.authenticate(r)
}

func (g *Gateway) authenticate(r *http.Request) (brightline.Principal, error) {
	key := apiKey(r)
	if key == "" {
		return brightline.Principal{}, &brightline.Error{Code: brightline.CodeUnauthenticated, Err: errNoKey,
			Message: "missing API key: send it as \"Authorization: Bearer <key>\" or \"x-api-key: <key>\" (create one with: brightline keys create -name NAME)"}
	}
	p, err := g.auth.Authenticate(r.Context(), key)
	switch {
	case errors.Is(err, brightline.ErrNotFound):
		return p, &brightline.Error{Code: brightline.CodeUnauthenticated, Err: err, Message: "invalid API key"}
	case err != nil:
		return p, &brightline.Error{Code: brightline.CodeUnavailable, Err: fmt.Errorf("couldn't check API key: %w", err),
			Message: "the gateway could not check the API key; try again", RetryAfter: time.Second}
	}
	return p, nil
}

// authTimeout bounds one key lookup in the store.
const authTimeout = 5 * time.Second

// CacheAuthenticator remembers successful authentications for ttl, so the
// store is not consulted on every request. Revoking a key therefore takes
// effect within ttl. Failures are never cached: an unknown key costs a store
// lookup every time, and a store outage is not remembered past itself.
// At most max keys are remembered; when full, expired entries are dropped
// and, if none are, the cache is cleared.
func CacheAuthenticator(a Authenticator, ttl time.Duration, max int) Authenticator {
	return &cacheAuth{next: a, ttl: ttl, max: max, now: time.Now, entries: make(map[[32]byte]cacheEntry)}
}

type cacheAuth struct {
	next Authenticator
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry // by SHA-256 of the key; never holds plaintext keys
}

type cacheEntry struct {
	p       brightline.Principal
	expires time.Time
}

func (c *cacheAuth) Authenticate(ctx context.Context, key string) (brightline.Principal, error) {
	h := brightline.HashKey(key)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	p, err := c.next.Authenticate(ctx, key)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[h] = cacheEntry{p: p, expires: now.Add(c.ttl)}
	return p, nil
}
