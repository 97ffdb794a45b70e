package subjects

import (
	"testing"
	"time"
)

// TestRequests: requests_1h counts the principal's requests in the hour up
// to and including each one, per principal, on the requests' own times.
func TestRequests(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		p    string
		at   time.Duration // after t0
		want int
	}{
		{"key_alice", 0, 1},
		{"key_alice", 10 * time.Minute, 2},
		{"name:bob", 15 * time.Minute, 1},
		{"key_alice", 59 * time.Minute, 3},
		{"key_alice", 60 * time.Minute, 3},  // t0 is exactly an hour before: out
		{"key_alice", 75 * time.Minute, 3},  // 59 and 60 minutes, and this one
		{"key_alice", 30 * time.Minute, 1},  // out of order: +0 and +10 were forgotten at +75; later ones don't count
		{"name:bob", 200 * time.Minute, 1},  // bob's earlier request is long gone
		{"key_alice", 300 * time.Minute, 1}, // everything expired
	}
	var r Requests
	for i, tt := range tests {
		if got := r.Observe(tt.p, t0.Add(tt.at)); got != tt.want {
			t.Errorf("request %d (%s at +%v): got requests_1h %d, want %d", i+1, tt.p, tt.at, got, tt.want)
		}
	}
	if got := r.Count("key_alice", t0.Add(300*time.Minute)); got != 1 {
		t.Errorf("Count: got %d, want 1", got)
	}
	if got := r.Count("key_nobody", t0); got != 0 {
		t.Errorf("Count of an unknown principal: got %d, want 0", got)
	}
	if n := r.Sweep(t0.Add(400 * time.Minute)); n != 2 {
		t.Errorf("Sweep: forgot %d principals, want 2", n)
	}
}

// TestRequestsBurst: a burst within one second is kept as one run and
// still counted request by request.
func TestRequestsBurst(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var r Requests
	for i := range 1000 {
		if got := r.Observe("key_burst", t0.Add(time.Duration(i)*time.Millisecond/2)); got != i+1 {
			t.Fatalf("request %d: got %d, want %d", i+1, got, i+1)
		}
	}
	if n := len(r.principals["key_burst"].runs); n != 1 {
		t.Errorf("got %d runs for a burst within one second, want 1", n)
	}
	// An hour and a half-second later, the burst (which ended at +0.4995s)
	// has left the window.
	if got := r.Observe("key_burst", t0.Add(time.Hour+500*time.Millisecond)); got != 1 {
		t.Errorf("after the hour: got %d, want 1", got)
	}
}
