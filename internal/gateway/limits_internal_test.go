package gateway

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/brightline/brightline"
)

func isRateLimited(err error) bool {
	e, ok := errors.AsType[*brightline.Error](err)
	return ok && e.Code == brightline.CodeRateLimited && e.RetryAfter > 0
}

// TestBodyBytesInFlight checks the global budget: it counts bodies until
// they are inspected, over all keys, declared or read.
func TestBodyBytesInFlight(t *testing.T) {
	l := newLimiter(Limits{BodyBytesInFlight: 1000}.withDefaults())
	a, err := l.admit("a", 700)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admit("b", 400); !isRateLimited(err) {
		t.Fatalf("declared body over the global budget: got %v, want a 429 error", err)
	}
	// A body of unknown length is refused as it is read.
	b, err := l.admit("b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b.body(strings.NewReader(strings.Repeat("x", 400)))); !isRateLimited(err) {
		t.Fatalf("read body over the global budget: got %v, want a 429 error", err)
	}
	b.release()
	// Once inspected, a body leaves the global budget but not its key's.
	a.doneInspecting()
	c, err := l.admit("b", 900)
	if err != nil {
		t.Fatalf("after inspection: %v", err)
	}
	c.release()
	a.release()
	if len(l.keys) != 0 || l.bodyBytes != 0 {
		t.Errorf("after release: got keys %v and %d body bytes, want none", l.keys, l.bodyBytes)
	}
}
