package provider

import (
	"sync"
	"time"
)

// MemoryCache is the default [ReplayCache]: a map of keys to the time
// they may be forgotten, and the keys in the order they came. Each Seen
// forgets the oldest keys whose time has passed, so the cache holds about
// one freshness window of receipts, at a constant cost per call. It is
// safe for concurrent use.
type MemoryCache struct {
	now func() time.Time

	mu    sync.Mutex
	until map[string]time.Time // guarded by mu
	order []string             // keys in the order recorded; guarded by mu
}

var _ ReplayCache = (*MemoryCache)(nil)

// NewMemoryCache returns an empty cache on the clock now (nil: time.Now).
func NewMemoryCache(now func() time.Time) *MemoryCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryCache{now: now, until: map[string]time.Time{}}
}

// Seen records key until the time until and reports whether it was
// already recorded and not yet forgotten.
func (c *MemoryCache) Seen(key string, until time.Time) bool {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Receipts come roughly in time order, so the expired keys are at the
	// front; one that expires later than a newer one waits for it.
	n := 0
	for n < len(c.order) {
		t, ok := c.until[c.order[n]]
		if ok && now.Before(t) {
			break
		}
		delete(c.until, c.order[n])
		n++
	}
	if n > 0 {
		c.order = c.order[n:]
	}
	if t, ok := c.until[key]; ok && now.Before(t) {
		return true
	}
	if _, ok := c.until[key]; !ok {
		c.order = append(c.order, key)
	}
	c.until[key] = until
	return false
}

// Len returns the number of keys held.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}
