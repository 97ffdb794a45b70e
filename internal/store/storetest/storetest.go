// Package storetest is the conformance suite for implementations of the
// interfaces in package store. Every implementation runs it from its own
// tests, so SQLite and PostgreSQL behave the same:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
//			db := open a fresh, empty store for t, with db's clock set to now
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// The suite controls the store's clock, so that it can check that time
// fields come from the store and not from the caller. Its clock moves in
// whole microseconds, the precision stores promise.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
)

// Store is everything a complete store implements. It grows as package
// store gains interfaces.
type Store interface {
	store.Keys
	store.Policies
	store.SubjectStates
	store.AuditIndex
	approval.Store
	store.Exposure
	store.ShadowResults
}

// OpenFunc returns a new, empty store whose clock is now. It must fail t
// rather than return an error, and arrange for the store to be closed when
// t ends. The suite calls it once per subtest, possibly from parallel
// subtests.
type OpenFunc[S any] func(t *testing.T, now func() time.Time) S

// Run runs every suite in this package against the stores open returns.
func Run(t *testing.T, open OpenFunc[Store]) {
	t.Run("Keys", func(t *testing.T) {
		TestKeys(t, func(t *testing.T, now func() time.Time) store.Keys { return open(t, now) })
	})
	t.Run("Policies", func(t *testing.T) {
		TestPolicies(t, func(t *testing.T, now func() time.Time) store.Policies { return open(t, now) })
	})
	t.Run("SubjectStates", func(t *testing.T) {
		TestSubjectStates(t, func(t *testing.T, now func() time.Time) store.SubjectStates { return open(t, now) })
	})
	t.Run("AuditIndex", func(t *testing.T) {
		TestAuditIndex(t, func(t *testing.T, now func() time.Time) store.AuditIndex { return open(t, now) })
	})
	t.Run("Approvals", func(t *testing.T) {
		TestApprovals(t, func(t *testing.T, now func() time.Time) approval.Store { return open(t, now) })
	})
	t.Run("Exposure", func(t *testing.T) {
		TestExposure(t, func(t *testing.T, now func() time.Time) store.Exposure { return open(t, now) })
	})
	t.Run("ShadowResults", func(t *testing.T) {
		TestShadowResults(t, func(t *testing.T, now func() time.Time) store.ShadowResults { return open(t, now) })
	})
}

// start is where every test clock begins: microsecond-aligned and not in
// UTC, so that a store which drops the instant or keeps the zone is caught
// by time.Time.Equal while one that merely converts to UTC passes.
var start = time.Date(2026, time.March, 1, 12, 0, 0, 123456000, time.FixedZone("UTC+1", 3600))

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func newClock() *clock { return &clock{t: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d, which may be negative, and returns the new
// time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
