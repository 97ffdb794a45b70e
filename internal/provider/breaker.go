package provider

import (
	"sync"
	"time"
)

// BreakerPolicy configures the circuit breaker the [Router] keeps for each
// target. The zero value is usable; each zero field takes the default given
// in its comment.
//
// A breaker opens after FailureThreshold consecutive failed attempts and
// then skips its target for Cooldown. After that it is half-open: one
// request at a time may try the target; its success closes the breaker, its
// failure opens it for another Cooldown. Only failures that are the
// provider's fault count: connection errors, timeouts, 429, 5xx and broken
// streams, but not other 4xx answers or requests the client cancelled.
type BreakerPolicy struct {
	// FailureThreshold is the number of consecutive failed attempts that
	// opens the breaker. 0 means 5; a negative value disables breakers.
	FailureThreshold int
	// Cooldown is how long an open breaker skips its target. 0 means 30s.
	Cooldown time.Duration
}

func (p BreakerPolicy) withDefaults() BreakerPolicy {
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 5
	}
	if p.Cooldown <= 0 {
		p.Cooldown = 30 * time.Second
	}
	return p
}

// breaker is the circuit breaker of one target. It is closed when openUntil
// is zero, open while now < openUntil, and half-open once openUntil has
// passed.
type breaker struct {
	mu        sync.Mutex
	failures  int       // consecutive failures while closed
	openUntil time.Time // zero: closed
	trial     bool      // half-open: a trial request holds the target
}

// allow reports whether an attempt may use the target at now. If the
// breaker is half-open and free, the caller becomes its trial (trial true)
// and must report the attempt's outcome with success, failure or release.
// When the target must be skipped, wait is how long until it may be tried
// again (at least 1s when a trial is under way).
func (b *breaker) allow(now time.Time, p BreakerPolicy) (ok, trial bool, wait time.Duration) {
	if p.FailureThreshold < 0 {
		return true, false, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true, false, 0
	case now.Before(b.openUntil):
		return false, false, b.openUntil.Sub(now)
	case b.trial:
		return false, false, time.Second
	default:
		b.trial = true
		return true, true, 0
	}
}

// success records a successful attempt: the breaker closes.
func (b *breaker) success() {
	b.mu.Lock()
	b.failures = 0
	b.openUntil = time.Time{}
	b.trial = false
	b.mu.Unlock()
}

// failure records an attempt that failed through the provider's fault and
// reports whether the breaker opened because of it. A failure of a request
// that started before the breaker opened, and was not its trial, changes
// nothing.
func (b *breaker) failure(now time.Time, trial bool, p BreakerPolicy) (opened bool) {
	if p.FailureThreshold < 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.openUntil.IsZero() {
		if !trial {
			return false
		}
		b.trial = false
		b.openUntil = now.Add(p.Cooldown)
		return true
	}
	b.failures++
	if b.failures < p.FailureThreshold {
		return false
	}
	b.failures = 0
	b.openUntil = now.Add(p.Cooldown)
	return true
}

// release ends an attempt whose outcome says nothing about the provider
// (a 4xx answer, a cancelled request). A trial gives the target back so that
// another request may try it.
func (b *breaker) release(trial bool) {
	if !trial {
		return
	}
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}

// idle reports whether the breaker holds no state worth keeping.
func (b *breaker) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures == 0 && b.openUntil.IsZero() && !b.trial
}

// breakers holds one breaker per target, created on first use.
type breakers struct {
	mu sync.Mutex
	m  map[string]*breaker
}

// maxIdleBreakers bounds the map: targets that pass the requested model
// through create one breaker per model name a client asks for.
const maxIdleBreakers = 4096

func (bs *breakers) get(target string) *breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.m[target]; ok {
		return b
	}
	if bs.m == nil {
		bs.m = make(map[string]*breaker)
	}
	if len(bs.m) >= maxIdleBreakers {
		for k, b := range bs.m {
			if b.idle() {
				delete(bs.m, k)
			}
		}
	}
	b := &breaker{}
	bs.m[target] = b
	return b
}
