package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
)

// TestApprovals checks an implementation of approval.Store against the
// contract documented on the interface. open must return a new, empty store
// for each call.
func TestApprovals(t *testing.T, open OpenFunc[approval.Store]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s approval.Store, c *clock)
	}{
		{"CreateThenGet", testApprovalCreateGet},
		{"CreateInvalid", testApprovalInvalid},
		{"List", testApprovalList},
		{"Update", testApprovalUpdate},
		{"UpdateConcurrent", testApprovalUpdateConcurrent},
		{"Consume", testApprovalConsume},
		{"ConsumeConcurrent", testApprovalConsumeConcurrent},
		{"FindApproved", testApprovalFind},
		{"BoundToUpstream", testApprovalUpstream},
		{"PendingLimit", testApprovalPendingLimit},
		{"PendingLimitConcurrent", testApprovalPendingLimitConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			tt.fn(t, open(t, c.Now), c)
		})
	}
}

// sampleUpstream is the upstream sample approvals are bound to.
const sampleUpstream = "mcp:sim http://sim.test/mcp"

func sampleApproval(id string) approval.Approval {
	return approval.Approval{
		ID:            id,
		RequestID:     "req_" + id,
		Principal:     brightline.Principal{ID: "key_agent", Name: "agent", Person: "ada", Org: "acme", Purpose: "defence", Roles: []string{"user"}},
		Upstream:      sampleUpstream,
		Delegates:     []string{"grace"},
		Tool:          "fire_interceptor",
		Class:         "force",
		Arguments:     json.RawMessage(`{"target":"track-7",  "salvo":2}`),
		ArgsDigest:    "digest-" + id,
		PolicyVersion: 4,
		Rule:          "human-control-of-force",
		Require:       approval.Requirement{Role: "weapons-release-authority", Count: 2},
		Excerpt:       "user: intercept track 7",
		// Set by the store, whatever the caller says:
		Status:    approval.StatusApproved,
		Votes:     []approval.Vote{{By: brightline.Principal{ID: "x"}, Approve: true}},
		CreatedAt: time.Unix(1, 0),
		ExpiresAt: time.Unix(2, 0),
	}
}

func mustCreateApproval(t *testing.T, s approval.Store, a approval.Approval, ttl time.Duration) approval.Approval {
	t.Helper()
	got, err := s.CreateApproval(context.Background(), a, ttl, 0)
	if err != nil {
		t.Fatalf("CreateApproval(%q): %v", a.ID, err)
	}
	return got
}

// approve marks id approved through UpdateApproval.
func approve(t *testing.T, s approval.Store, id string) approval.Approval {
	t.Helper()
	a, err := s.UpdateApproval(context.Background(), id, func(a *approval.Approval, now time.Time) error {
		a.Status = approval.StatusApproved
		a.DecidedAt = &now
		return nil
	})
	if err != nil {
		t.Fatalf("approving %q: %v", id, err)
	}
	return a
}

func testApprovalCreateGet(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	in := sampleApproval("apr_1")
	created := mustCreateApproval(t, s, in, 90*time.Second+1500*time.Nanosecond)
	got, err := s.GetApproval(ctx, "apr_1")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []approval.Approval{created, got} {
		if !g.CreatedAt.Equal(c.Now()) || g.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt: got %v, want the store's time %v in UTC", g.CreatedAt, c.Now())
		}
		if want := c.Now().Add(90*time.Second + time.Microsecond); !g.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt: got %v, want %v (created + ttl, in microseconds)", g.ExpiresAt, want)
		}
		if g.Status != approval.StatusPending || len(g.Votes) != 0 || g.DecidedAt != nil || g.ConsumedAt != nil {
			t.Errorf("got status %q, votes %v, decided %v, consumed %v; want a fresh pending approval", g.Status, g.Votes, g.DecidedAt, g.ConsumedAt)
		}
		want := in
		want.Status, want.Votes, want.CreatedAt, want.ExpiresAt = g.Status, g.Votes, g.CreatedAt, g.ExpiresAt
		if !reflect.DeepEqual(g, want) {
			t.Errorf("got\n%+v\nwant\n%+v", g, want)
		}
		if string(g.Arguments) != string(in.Arguments) {
			t.Errorf("arguments: got %s, want %s byte for byte", g.Arguments, in.Arguments)
		}
	}
	if _, err := s.CreateApproval(ctx, in, time.Minute, 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("creating apr_1 again: got %v, want ErrExists", err)
	}
	if _, err := s.GetApproval(ctx, "apr_none"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("GetApproval of an unknown id: got %v, want ErrNotFound", err)
	}
	// Get never expires anything.
	c.Advance(time.Hour)
	if g, _ := s.GetApproval(ctx, "apr_1"); g.Status != approval.StatusPending {
		t.Errorf("after expiry: got status %q, want pending until someone changes it", g.Status)
	}
}

func testApprovalInvalid(t *testing.T, s approval.Store, c *clock) {
	tests := []struct {
		name string
		edit func(a *approval.Approval)
		ttl  time.Duration
	}{
		{"empty id", func(a *approval.Approval) { a.ID = "" }, time.Minute},
		{"no principal", func(a *approval.Approval) { a.Principal.ID = "" }, time.Minute},
		{"no tool", func(a *approval.Approval) { a.Tool = "" }, time.Minute},
		{"no digest", func(a *approval.Approval) { a.ArgsDigest = "" }, time.Minute},
		{"no role", func(a *approval.Approval) { a.Require.Role = "" }, time.Minute},
		{"zero count", func(a *approval.Approval) { a.Require.Count = 0 }, time.Minute},
		{"array arguments", func(a *approval.Approval) { a.Arguments = json.RawMessage(`[1]`) }, time.Minute},
		{"null arguments", func(a *approval.Approval) { a.Arguments = json.RawMessage(`null`) }, time.Minute},
		{"bad json", func(a *approval.Approval) { a.Arguments = json.RawMessage(`{`) }, time.Minute},
		{"nul in excerpt", func(a *approval.Approval) { a.Excerpt = "a\x00b" }, time.Minute},
		{"invalid utf-8", func(a *approval.Approval) { a.Tool = "\xff" }, time.Minute},
		{"zero ttl", func(a *approval.Approval) {}, 0},
		{"negative ttl", func(a *approval.Approval) {}, -time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleApproval(fmt.Sprintf("apr_%d", i))
			tt.edit(&a)
			_, err := s.CreateApproval(context.Background(), a, tt.ttl, 0)
			if err == nil || errors.Is(err, store.ErrExists) || errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("got %v, want a validation error", err)
			}
		})
	}
	if got, err := s.ListApprovals(context.Background(), ""); err != nil || len(got) != 0 {
		t.Errorf("after invalid creates: got %d approvals, %v; want none", len(got), err)
	}
}

func testApprovalList(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	if got, err := s.ListApprovals(ctx, ""); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty store: got %#v, %v; want an empty, non-nil slice", got, err)
	}
	// Created in an order that neither ids nor times follow.
	ids := []string{"apr_c", "apr_a", "apr_b", "apr_d"}
	for i, id := range ids {
		c.Advance(-time.Duration(i) * time.Second)
		mustCreateApproval(t, s, sampleApproval(id), time.Hour)
	}
	approve(t, s, "apr_a")
	approve(t, s, "apr_d")
	tests := []struct {
		status approval.Status
		want   []string
	}{
		{"", ids},
		{approval.StatusPending, []string{"apr_c", "apr_b"}},
		{approval.StatusApproved, []string{"apr_a", "apr_d"}},
		{approval.StatusDenied, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			got, err := s.ListApprovals(ctx, tt.status)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, a := range got {
				gotIDs = append(gotIDs, a.ID)
			}
			if !reflect.DeepEqual(gotIDs, tt.want) {
				t.Errorf("got %v, want %v", gotIDs, tt.want)
			}
		})
	}
}

func testApprovalUpdate(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	in := mustCreateApproval(t, s, sampleApproval("apr_1"), time.Hour)
	later := c.Advance(time.Minute)
	voter := brightline.Principal{ID: "key_officer", Name: "officer", Roles: []string{"weapons-release-authority"}}
	got, err := s.UpdateApproval(ctx, "apr_1", func(a *approval.Approval, now time.Time) error {
		if !now.Equal(later) {
			t.Errorf("fn got now %v, want the store's time %v", now, later)
		}
		a.Votes = append(a.Votes, approval.Vote{By: voter, At: now, Approve: false, Reason: "wrong track"})
		a.Status = approval.StatusDenied
		a.DecidedAt = &now
		// Ignored: only status, votes and the two times are written.
		a.Tool = "something_else"
		a.Arguments = json.RawMessage(`{}`)
		a.ExpiresAt = now.Add(time.Hour * 24)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reread, err := s.GetApproval(ctx, "apr_1")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []approval.Approval{got, reread} {
		if g.Status != approval.StatusDenied || g.DecidedAt == nil || !g.DecidedAt.Equal(later) {
			t.Errorf("got status %q decided %v, want denied at %v", g.Status, g.DecidedAt, later)
		}
		wantVote := []approval.Vote{{By: voter, At: later.UTC(), Approve: false, Reason: "wrong track"}}
		if len(g.Votes) != 1 || !g.Votes[0].At.Equal(later) || g.Votes[0].By.ID != voter.ID || g.Votes[0].Reason != "wrong track" || g.Votes[0].Approve {
			t.Errorf("votes: got %+v, want %+v", g.Votes, wantVote)
		}
		if g.Tool != in.Tool || string(g.Arguments) != string(in.Arguments) || !g.ExpiresAt.Equal(in.ExpiresAt) {
			t.Errorf("got tool %q args %s expires %v; want the originals %q %s %v", g.Tool, g.Arguments, g.ExpiresAt, in.Tool, in.Arguments, in.ExpiresAt)
		}
	}

	sentinel := errors.New("refused")
	_, err = s.UpdateApproval(ctx, "apr_1", func(a *approval.Approval, now time.Time) error {
		a.Status = approval.StatusApproved
		return sentinel
	})
	if err != sentinel {
		t.Errorf("fn error: got %v, want fn's error unwrapped", err)
	}
	if g, _ := s.GetApproval(ctx, "apr_1"); g.Status != approval.StatusDenied {
		t.Errorf("after a refused update: got status %q, want denied (nothing written)", g.Status)
	}
	if _, err := s.UpdateApproval(ctx, "apr_1", func(a *approval.Approval, now time.Time) error {
		a.Status = "maybe"
		return nil
	}); err == nil {
		t.Error("status \"maybe\": got no error, want one")
	}
	called := false
	if _, err := s.UpdateApproval(ctx, "apr_none", func(*approval.Approval, time.Time) error { called = true; return nil }); !errors.Is(err, brightline.ErrNotFound) || called {
		t.Errorf("unknown id: got %v (fn called: %v), want ErrNotFound without calling fn", err, called)
	}
}

func testApprovalUpdateConcurrent(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	mustCreateApproval(t, s, sampleApproval("apr_1"), time.Hour)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateApproval(ctx, "apr_1", func(a *approval.Approval, now time.Time) error {
				a.Votes = append(a.Votes, approval.Vote{By: brightline.Principal{ID: fmt.Sprint("key_", i)}, At: now, Approve: true})
				return nil
			})
			if err != nil {
				t.Errorf("voter %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetApproval(ctx, "apr_1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range got.Votes {
		seen[v.By.ID] = true
	}
	if len(got.Votes) != n || len(seen) != n {
		t.Errorf("got %d votes from %d voters, want %d from %d: read-modify-write is not atomic", len(got.Votes), len(seen), n, n)
	}
}

func testApprovalConsume(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	mustCreateApproval(t, s, sampleApproval("apr_1"), time.Hour)
	if _, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", sampleUpstream); !errors.Is(err, approval.ErrPrecondition) {
		t.Errorf("consuming a pending approval: got %v, want ErrPrecondition", err)
	}
	approve(t, s, "apr_1")
	if a, err := s.ConsumeApproval(ctx, "apr_1", "digest-other", sampleUpstream); !errors.Is(err, approval.ErrPrecondition) || a.Status != approval.StatusApproved {
		t.Errorf("wrong digest: got %q, %v; want ErrPrecondition with the approval still approved", a.Status, err)
	}
	at := c.Advance(time.Minute)
	a, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", sampleUpstream)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != approval.StatusConsumed || a.ConsumedAt == nil || !a.ConsumedAt.Equal(at) {
		t.Errorf("got status %q consumed %v, want consumed at %v", a.Status, a.ConsumedAt, at)
	}
	if a, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", sampleUpstream); !errors.Is(err, approval.ErrPrecondition) || a.Status != approval.StatusConsumed {
		t.Errorf("replay: got %q, %v; want ErrPrecondition and status consumed", a.Status, err)
	}
	if _, err := s.ConsumeApproval(ctx, "apr_none", "d", sampleUpstream); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("unknown id: got %v, want ErrNotFound", err)
	}

	// At the instant of expiry the approval is no longer usable.
	b := mustCreateApproval(t, s, sampleApproval("apr_2"), time.Minute)
	approve(t, s, "apr_2")
	c.Advance(b.ExpiresAt.Sub(c.Now()) - time.Microsecond)
	c.Advance(time.Microsecond) // now == ExpiresAt
	if a, err := s.ConsumeApproval(ctx, "apr_2", "digest-apr_2", sampleUpstream); !errors.Is(err, approval.ErrPrecondition) || a.Status != approval.StatusApproved {
		t.Errorf("at expiry: got %q, %v; want ErrPrecondition", a.Status, err)
	}
}

func testApprovalConsumeConcurrent(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	mustCreateApproval(t, s, sampleApproval("apr_1"), time.Hour)
	approve(t, s, "apr_1")
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", sampleUpstream)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, approval.ErrPrecondition):
				refused.Add(1)
			default:
				t.Errorf("ConsumeApproval: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 7 {
		t.Errorf("got %d consumed and %d refused, want 1 and 7", ok.Load(), refused.Load())
	}
}

func testApprovalFind(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	a := sampleApproval("apr_1")
	a.ArgsDigest = "same"
	b := sampleApproval("apr_2")
	b.ArgsDigest = "same"
	other := sampleApproval("apr_3")
	other.ArgsDigest = "same"
	other.Principal.ID = "key_other"
	for _, x := range []approval.Approval{a, b, other} {
		mustCreateApproval(t, s, x, time.Hour)
	}
	if _, err := s.FindApproved(ctx, "key_agent", "same", sampleUpstream); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("none approved: got %v, want ErrNotFound", err)
	}
	approve(t, s, "apr_1")
	approve(t, s, "apr_2")
	approve(t, s, "apr_3")
	tests := []struct {
		principal, digest, want string
	}{
		{"key_agent", "same", "apr_2"}, // the newest
		{"key_other", "same", "apr_3"},
		{"key_agent", "different", ""},
		{"key_nobody", "same", ""},
	}
	for _, tt := range tests {
		got, err := s.FindApproved(ctx, tt.principal, tt.digest, sampleUpstream)
		if tt.want == "" {
			if !errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("FindApproved(%q, %q): got %q, %v; want ErrNotFound", tt.principal, tt.digest, got.ID, err)
			}
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("FindApproved(%q, %q): got %q, %v; want %q", tt.principal, tt.digest, got.ID, err, tt.want)
		}
	}
	if _, err := s.ConsumeApproval(ctx, "apr_2", "same", sampleUpstream); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindApproved(ctx, "key_agent", "same", sampleUpstream); err != nil || got.ID != "apr_1" {
		t.Errorf("after consuming apr_2: got %q, %v; want apr_1", got.ID, err)
	}
	c.Advance(time.Hour)
	if got, err := s.FindApproved(ctx, "key_agent", "same", sampleUpstream); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("after expiry: got %q, %v; want ErrNotFound", got.ID, err)
	}
}

// testApprovalUpstream checks that an approval runs only at the upstream
// it is bound to.
func testApprovalUpstream(t *testing.T, s approval.Store, _ *clock) {
	ctx := context.Background()
	mustCreateApproval(t, s, sampleApproval("apr_1"), time.Hour)
	approve(t, s, "apr_1")
	if got, err := s.FindApproved(ctx, "key_agent", "digest-apr_1", "mcp:live http://live.test/mcp"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("FindApproved at another upstream: got %q, %v; want ErrNotFound", got.ID, err)
	}
	a, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", "mcp:live http://live.test/mcp")
	if !errors.Is(err, approval.ErrPrecondition) || a.Status != approval.StatusApproved {
		t.Errorf("ConsumeApproval at another upstream: got %s, %v; want approved, ErrPrecondition", a.Status, err)
	}
	if a.Upstream != sampleUpstream || !reflect.DeepEqual(a.Delegates, []string{"grace"}) {
		t.Errorf("got upstream %q, delegates %q; want %q, [grace]", a.Upstream, a.Delegates, sampleUpstream)
	}
	if _, err := s.ConsumeApproval(ctx, "apr_1", "digest-apr_1", sampleUpstream); err != nil {
		t.Errorf("ConsumeApproval at its upstream: %v", err)
	}
	bad := sampleApproval("apr_2")
	bad.Upstream = ""
	if _, err := s.CreateApproval(ctx, bad, time.Hour, 0); err == nil {
		t.Error("CreateApproval with no upstream: got nil error")
	}
}

// testApprovalPendingLimit checks the per-person cap on pending approvals:
// it counts persons, not keys, and only pending, unexpired approvals.
func testApprovalPendingLimit(t *testing.T, s approval.Store, c *clock) {
	ctx := context.Background()
	create := func(id, keyID, person string) error {
		a := sampleApproval(id)
		a.Principal.ID, a.Principal.Person = keyID, person
		_, err := s.CreateApproval(ctx, a, time.Minute, 2)
		return err
	}
	if err := create("apr_1", "key_a1", "ada"); err != nil {
		t.Fatal(err)
	}
	if err := create("apr_2", "key_a2", "ada"); err != nil { // another key, same person
		t.Fatal(err)
	}
	if err := create("apr_3", "key_a3", "ada"); !errors.Is(err, approval.ErrLimit) {
		t.Fatalf("third pending approval of one person under two keys: got %v, want ErrLimit", err)
	}
	if _, err := s.GetApproval(ctx, "apr_3"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("refused approval was stored: %v", err)
	}
	if err := create("apr_4", "key_b", "bob"); err != nil {
		t.Errorf("another person: %v", err)
	}
	approve(t, s, "apr_1") // no longer pending
	if err := create("apr_5", "key_a1", "ada"); err != nil {
		t.Errorf("after one was decided: %v", err)
	}
	c.Advance(time.Minute) // all expired by time
	if err := create("apr_6", "key_a1", "ada"); err != nil {
		t.Errorf("after the pending ones expired: %v", err)
	}
	a := sampleApproval("apr_7")
	if _, err := s.CreateApproval(ctx, a, time.Minute, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func testApprovalPendingLimitConcurrent(t *testing.T, s approval.Store, _ *clock) {
	var wg sync.WaitGroup
	var ok, limited atomic.Int64
	for i := range 12 {
		wg.Go(func() {
			a := sampleApproval(fmt.Sprintf("apr_%d", i))
			_, err := s.CreateApproval(context.Background(), a, time.Hour, 5)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, approval.ErrLimit):
				limited.Add(1)
			default:
				t.Errorf("CreateApproval: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || limited.Load() != 7 {
		t.Errorf("got %d created and %d limited, want 5 and 7", ok.Load(), limited.Load())
	}
}
