package gateway

import (
	"regexp"
	"testing"
	"time"
)

// Request IDs sort by when they were made, so index rows keyed by them
// are appended at the right edge of their B-trees, and they stay unique
// within one millisecond.
func TestRequestIDsSortByTime(t *testing.T) {
	format := regexp.MustCompile(`^req_[0-9a-f]{32}$`)
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	var last string
	for ms := range 300 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		latest := ""
		for range 50 {
			id := newRequestID(now)
			if !format.MatchString(id) {
				t.Fatalf("request ID %q: want req_ and 32 hex digits", id)
			}
			if seen[id] {
				t.Fatalf("request ID %q made twice", id)
			}
			seen[id] = true
			if id <= last {
				t.Fatalf("request ID %q at %v sorts before %q, made a millisecond earlier", id, now, last)
			}
			latest = max(latest, id)
		}
		last = latest
	}
	if got, want := newRequestID(t0)[4:16], "01a2475ce500"; got != want {
		t.Errorf("request ID's time part = %s, want %s (%d ms)", got, want, t0.UnixMilli())
	}
}
