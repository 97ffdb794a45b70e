package toolclass

import (
	"hash/maphash"
	"sync"
)

// cacheSize bounds the memo. Deployments see tens to hundreds of distinct
// tools; when the memo is full it is emptied and refilled, which costs one
// cold classification per tool.
const cacheSize = 4096

// cache memoises results by a 64-bit seeded hash of the whole definition.
// The seed is random per process, so an upstream cannot choose a definition
// that collides with another tool's to borrow its class.
type cache struct {
	mu sync.RWMutex
	m  map[uint64]Result // guarded by mu
}

var (
	results  = cache{m: map[uint64]Result{}}
	hashSeed = maphash.MakeSeed()
)

func cacheKey(t Tool) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.WriteString(t.Name)
	h.WriteByte(0)
	h.WriteString(t.Description)
	h.WriteByte(0)
	h.Write(t.InputSchema)
	return h.Sum64()
}

func (c *cache) get(k uint64) (Result, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *cache) put(k uint64, r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[k] = r
}
