package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brightline/brightline"
)

// countingAuth counts lookups and can be told to fail.
type countingAuth struct {
	calls int
	keys  map[string]brightline.Principal
	err   error
}

func (a *countingAuth) Authenticate(ctx context.Context, key string) (brightline.Principal, error) {
	a.calls++
	if a.err != nil {
		return brightline.Principal{}, a.err
	}
	p, ok := a.keys[key]
	if !ok {
		return p, brightline.ErrNotFound
	}
	return p, nil
}

func TestCacheAuthenticator(t *testing.T) {
	next := &countingAuth{keys: map[string]brightline.Principal{"k1": {ID: "p1"}, "k2": {ID: "p2"}, "k3": {ID: "p3"}}}
	now := time.Unix(1000, 0)
	c := CacheAuthenticator(next, 2*time.Second, 2).(*cacheAuth)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	auth := func(key string) (brightline.Principal, error) { return c.Authenticate(ctx, key) }
	if p, err := auth("k1"); err != nil || p.ID != "p1" {
		t.Fatalf("got %v %v, want p1", p, err)
	}
	auth("k1")
	if next.calls != 1 {
		t.Errorf("second lookup within ttl: got %d store calls, want 1", next.calls)
	}

	// Unknown keys are never cached.
	auth("nope")
	auth("nope")
	if next.calls != 3 {
		t.Errorf("unknown key: got %d store calls, want 3", next.calls)
	}

	// After the ttl the store is asked again: a revoked key stops working.
	now = now.Add(2 * time.Second)
	delete(next.keys, "k1")
	if _, err := auth("k1"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("revoked key after ttl: got %v, want ErrNotFound", err)
	}

	// Store errors are not cached either.
	next.err = errors.New("disk on fire")
	if _, err := auth("k2"); err == nil {
		t.Error("store failure: got no error")
	}
	next.err = nil

	// The size bound holds.
	auth("k2")
	auth("k3")
	auth("k1")
	if n := len(c.entries); n > 2 {
		t.Errorf("cache holds %d entries, want at most 2", n)
	}
}
