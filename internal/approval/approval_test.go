package approval_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// clock is a settable clock shared by the store and the service. step, if
// set, is added after every reading, so time moves while goroutines race.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is the audit log: it keeps events and fails when fail says so.
type recorder struct {
	mu     sync.Mutex
	events []approval.Event
	fail   func(approval.Event) error
}

func (r *recorder) Record(_ context.Context, e approval.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e); err != nil {
			return err
		}
	}
	r.events = append(r.events, e)
	return nil
}

// types returns the recorded event types for approval id, with the
// deciding principal after a colon when there is one.
func (r *recorder) types(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Approval.ID != id {
			continue
		}
		s := e.Type
		if e.By != "" {
			s += ":" + e.By
		}
		out = append(out, s)
	}
	return out
}

func (r *recorder) count(id, typ string) int {
	n := 0
	for _, s := range r.types(id) {
		if s == typ || strings.HasPrefix(s, typ+":") {
			n++
		}
	}
	return n
}

type fixture struct {
	svc   *approval.Service
	clock *clock
	rec   *recorder
	db    *sqlite.DB
}

var start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: start}
	db.Now = c.Now
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	svc, err := approval.New(approval.Config{Store: db, Keys: db, Signer: key, Now: c.Now, Record: rec.Record, BaseURL: "http://gw.test/", PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []brightline.Principal{agent, officer1, officer2, clerk, selfish, agentLaptop, officer1Phone, grace} {
		_, hash, err := brightline.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateKey(context.Background(), store.Key{ID: p.ID, Principal: p}, hash); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{svc: svc, clock: c, rec: rec, db: db}
}

// testUpstream is the upstream test approvals are bound to.
var testUpstream = approval.MCPUpstream("sim", "http://sim.test/mcp")

// agentCall is the agent presenting tool and args at testUpstream.
func agentCall(tool string, args json.RawMessage) approval.Call {
	return approval.Call{Presenter: agent, Upstream: testUpstream, Tool: tool, Arguments: args}
}

var (
	agent = brightline.Principal{ID: "key_agent", Name: "agent", Person: "ada", Roles: []string{"user"}}
	// agentLaptop is a second key of the agent's person.
	agentLaptop = brightline.Principal{ID: "key_agent_laptop", Name: "agent laptop", Person: "ada", Roles: []string{"user", "weapons-release-authority"}}
	// officer1Phone is a second key of officer one's person.
	officer1Phone = brightline.Principal{ID: "key_off1_phone", Name: "officer one phone", Person: "officer one", Roles: []string{"weapons-release-authority"}}
	// grace is another person, named as a delegate in some tests.
	grace    = brightline.Principal{ID: "key_grace", Name: "grace", Roles: []string{"user"}}
	officer1 = brightline.Principal{ID: "key_off1", Name: "officer one", Roles: []string{"weapons-release-authority"}}
	officer2 = brightline.Principal{ID: "key_off2", Name: "officer two", Roles: []string{"approver", "weapons-release-authority"}}
	clerk    = brightline.Principal{ID: "key_clerk", Name: "clerk", Roles: []string{"approver"}}
	// selfish holds the role and requests calls itself.
	selfish = brightline.Principal{ID: "key_selfish", Name: "selfish", Roles: []string{"weapons-release-authority"}}
)

const fireArgs = `{"target": "track-7", "salvo": 2}`

func (f *fixture) create(t testing.TB, count int, ttl time.Duration) approval.Approval {
	t.Helper()
	return f.createBy(t, agent, count, ttl)
}

func (f *fixture) createBy(t testing.TB, p brightline.Principal, count int, ttl time.Duration) approval.Approval {
	t.Helper()
	a, err := f.svc.Create(context.Background(), approval.Request{
		RequestID: "req_1", Principal: p, Upstream: testUpstream, Tool: "fire_interceptor", Class: "force",
		Arguments: json.RawMessage(fireArgs), PolicyVersion: 3, Rule: "human-control-of-force",
		Require: approval.Requirement{Role: "weapons-release-authority", Count: count}, TTL: ttl,
		Excerpt: "user: intercept track 7",
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return a
}

func TestDigest(t *testing.T) {
	// The canonical form sorts keys and drops spaces: check one digest
	// against the bytes RFC 8785 prescribes.
	sum := sha256.Sum256([]byte(`{"arguments":{"a":1,"b":[true,null,"x"]},"name":"fire"}`))
	known := hex.EncodeToString(sum[:])
	got, err := approval.Digest("fire", json.RawMessage(`{ "b": [true, null, "x"], "a": 1.0 }`))
	if err != nil || got != known {
		t.Fatalf("Digest: got %s, %v; want %s", got, err, known)
	}
	same := []string{`{"a":1,"b":[true,null,"x"]}`, `{"b":[true,null,"x"],"a":1e0}`, "\n{\"a\" : 10e-1, \"b\":[true,null,\"\\u0078\"]}\t"}
	for _, args := range same {
		if got, err := approval.Digest("fire", json.RawMessage(args)); err != nil || got != known {
			t.Errorf("Digest(%s): got %s, %v; want %s", args, got, err, known)
		}
	}
	differ := []struct{ name, args string }{
		{"fire", `{"a":2,"b":[true,null,"x"]}`},
		{"fire", `{"a":1,"b":[null,true,"x"]}`},
		{"fire", `{"a":1,"b":[true,null,"x"],"c":0}`},
		{"fire", `{"a":"1","b":[true,null,"x"]}`},
		{"Fire", `{"a":1,"b":[true,null,"x"]}`},
	}
	for _, d := range differ {
		if got, err := approval.Digest(d.name, json.RawMessage(d.args)); err != nil || got == known {
			t.Errorf("Digest(%q, %s): got %s, %v; want a different digest", d.name, d.args, got, err)
		}
	}
	bad := []string{``, `[]`, `null`, `"x"`, `{`, `{"a":1}{}`, `{"a":1,"a":2}`}
	for _, args := range bad {
		if got, err := approval.Digest("fire", json.RawMessage(args)); err == nil {
			t.Errorf("Digest(%q): got %s, want an error", args, got)
		}
	}
}

func TestLifecycleTwoPerson(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 2, time.Minute)
	if a.Status != approval.StatusPending || !a.ExpiresAt.Equal(start.Add(time.Minute)) || !strings.HasPrefix(a.ID, "apr_") {
		t.Fatalf("got %+v, want a pending apr_ approval expiring at %v", a, start.Add(time.Minute))
	}
	if want := "http://gw.test/brightline/v1/approvals/" + a.ID; f.svc.StatusURL(a.ID) != want {
		t.Errorf("StatusURL: got %q, want %q", f.svc.StatusURL(a.ID), want)
	}
	refused := []struct {
		name string
		by   brightline.Principal
	}{
		{"requester", agent},
		{"no role", clerk},
		{"nobody", brightline.Principal{}},
	}
	for _, r := range refused {
		if _, err := f.svc.Approve(ctx, a.ID, r.by); !errors.Is(err, approval.ErrForbidden) {
			t.Errorf("Approve by %s: got %v, want ErrForbidden", r.name, err)
		}
	}
	if _, err := f.svc.Token(ctx, a.ID); !errors.Is(err, approval.ErrNotApproved) {
		t.Errorf("Token while pending: got %v, want ErrNotApproved", err)
	}
	got, err := f.svc.Approve(ctx, a.ID, officer1)
	if err != nil || got.Status != approval.StatusPending || len(got.Votes) != 1 {
		t.Fatalf("first approval: got %q with %d votes, %v; want pending with 1 vote", got.Status, len(got.Votes), err)
	}
	got, err = f.svc.Approve(ctx, a.ID, officer1)
	if err != nil || got.Status != approval.StatusPending || len(got.Votes) != 1 {
		t.Fatalf("same approver again: got %q with %d votes, %v; want pending with 1 vote", got.Status, len(got.Votes), err)
	}
	f.clock.Advance(time.Second)
	got, err = f.svc.Approve(ctx, a.ID, officer2)
	if err != nil || got.Status != approval.StatusApproved || got.DecidedAt == nil || !got.DecidedAt.Equal(start.Add(time.Second)) {
		t.Fatalf("second approval: got %q decided %v, %v; want approved at %v", got.Status, got.DecidedAt, err, start.Add(time.Second))
	}
	if _, err := f.svc.Approve(ctx, a.ID, officer1); !errors.Is(err, approval.ErrNotPending) {
		t.Errorf("approving an approved call: got %v, want ErrNotPending", err)
	}

	tok, err := f.svc.Token(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := approval.VerifyToken(f.svc.PublicKey(), tok)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := approval.Digest("fire_interceptor", json.RawMessage(fireArgs))
	if c.ApprovalID != a.ID || c.ArgsDigest != wantDigest || !c.ExpiresAt.Equal(a.ExpiresAt) ||
		!slices.Equal(c.Approvers, []string{officer1.ID, officer2.ID}) || c.Requester != agent.ID || c.Tool != "fire_interceptor" {
		t.Errorf("claims: got %+v, want id %s, digest %s, expiry %v, approvers [off1 off2]", c, a.ID, wantDigest, a.ExpiresAt)
	}

	tampered := []struct{ tool, args string }{
		{"fire_interceptor", `{"target": "track-8", "salvo": 2}`},
		{"fire_interceptor", `{"target": "track-7", "salvo": 2, "yield": "max"}`},
		{"fire_torpedo", fireArgs},
	}
	for _, tc := range tampered {
		if _, err := f.svc.Consume(ctx, tok, agentCall(tc.tool, json.RawMessage(tc.args))); !errors.Is(err, approval.ErrDigestMismatch) {
			t.Errorf("Consume(%s %s): got %v, want ErrDigestMismatch", tc.tool, tc.args, err)
		}
	}
	// Same call, different spelling: accepted.
	done, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(`{"salvo":2.0,"target":"track-7"}`)))
	if err != nil || done.Status != approval.StatusConsumed || done.ConsumedAt == nil {
		t.Fatalf("Consume: got %q, %v; want consumed", done.Status, err)
	}
	if _, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(fireArgs))); !errors.Is(err, approval.ErrConsumed) {
		t.Errorf("replay: got %v, want ErrConsumed", err)
	}
	if _, err := f.svc.Token(ctx, a.ID); !errors.Is(err, approval.ErrConsumed) {
		t.Errorf("Token after use: got %v, want ErrConsumed", err)
	}
	want := []string{"created", "vote:key_off1", "approved:key_off2", "consumed:key_agent"}
	if got := f.rec.types(a.ID); !slices.Equal(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

func TestDeny(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 2, time.Minute)
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		by     brightline.Principal
		reason string
		want   error
	}{
		{"no reason", officer2, "", approval.ErrReasonRequired},
		{"blank reason", officer2, "  \n", approval.ErrReasonRequired},
		{"requester", agent, "changed my mind", approval.ErrForbidden},
		{"no role", clerk, "no", approval.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.Deny(ctx, a.ID, tt.by, tt.reason); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	got, err := f.svc.Deny(ctx, a.ID, officer2, "wrong track")
	if err != nil || got.Status != approval.StatusDenied || got.Votes[1].Reason != "wrong track" || got.Votes[1].Approve {
		t.Fatalf("Deny: got %+v, %v; want denied with the reason", got, err)
	}
	if _, err := f.svc.Approve(ctx, a.ID, officer2); !errors.Is(err, approval.ErrNotPending) {
		t.Errorf("approving a denied call: got %v, want ErrNotPending", err)
	}
	if _, err := f.svc.Token(ctx, a.ID); !errors.Is(err, approval.ErrNotApproved) {
		t.Errorf("Token of a denied call: got %v, want ErrNotApproved", err)
	}
	want := []string{"created", "vote:key_off1", "denied:key_off2"}
	if got := f.rec.types(a.ID); !slices.Equal(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

func TestSelfApprovalEvenWithRole(t *testing.T) {
	f := newFixture(t)
	a := f.createBy(t, selfish, 1, time.Minute)
	if _, err := f.svc.Approve(context.Background(), a.ID, selfish); !errors.Is(err, approval.ErrForbidden) {
		t.Errorf("got %v, want ErrForbidden", err)
	}
	if _, err := f.svc.Deny(context.Background(), a.ID, selfish, "no"); !errors.Is(err, approval.ErrForbidden) {
		t.Errorf("deny: got %v, want ErrForbidden", err)
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("on read, recorded once", func(t *testing.T) {
		f := newFixture(t)
		a := f.create(t, 1, time.Minute)
		f.clock.Advance(time.Minute - time.Microsecond)
		if got, _ := f.svc.Get(ctx, a.ID); got.Status != approval.StatusPending {
			t.Fatalf("1µs before expiry: got %q, want pending", got.Status)
		}
		f.clock.Advance(time.Microsecond)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got, err := f.svc.Get(ctx, a.ID); err != nil || got.Status != approval.StatusExpired {
					t.Errorf("Get at expiry: got %q, %v; want expired", got.Status, err)
				}
			})
		}
		wg.Wait()
		got, _ := f.svc.Get(ctx, a.ID)
		if got.DecidedAt == nil || !got.DecidedAt.Equal(a.ExpiresAt) || len(got.Votes) != 0 {
			t.Errorf("got decided %v with votes %v, want expired at %v with no votes (not a denial)", got.DecidedAt, got.Votes, a.ExpiresAt)
		}
		if want := []string{"created", "expired"}; !slices.Equal(f.rec.types(a.ID), want) {
			t.Errorf("events: got %v, want %v", f.rec.types(a.ID), want)
		}
		if _, err := f.svc.Approve(ctx, a.ID, officer1); !errors.Is(err, approval.ErrNotPending) {
			t.Errorf("Approve after expiry: got %v, want ErrNotPending", err)
		}
	})
	t.Run("approve at the instant of expiry", func(t *testing.T) {
		f := newFixture(t)
		a := f.create(t, 1, time.Minute)
		f.clock.Set(a.ExpiresAt)
		got, err := f.svc.Approve(ctx, a.ID, officer1)
		if !errors.Is(err, approval.ErrExpired) || got.Status != approval.StatusExpired {
			t.Errorf("got %q, %v; want expired and ErrExpired", got.Status, err)
		}
		if want := []string{"created", "expired"}; !slices.Equal(f.rec.types(a.ID), want) {
			t.Errorf("events: got %v, want %v", f.rec.types(a.ID), want)
		}
	})
	t.Run("sweep and list", func(t *testing.T) {
		f := newFixture(t)
		short := f.create(t, 1, time.Minute)
		long := f.create(t, 1, time.Hour)
		f.clock.Advance(2 * time.Minute)
		pending, err := f.svc.List(ctx, approval.StatusPending)
		if err != nil || len(pending) != 1 || pending[0].ID != long.ID {
			t.Fatalf("List pending: got %d, %v; want only %s", len(pending), err, long.ID)
		}
		if n, err := f.svc.Sweep(ctx); n != 0 || err != nil {
			t.Errorf("second sweep: got %d, %v; want 0 expired", n, err)
		}
		if f.rec.count(short.ID, "expired") != 1 || f.rec.count(long.ID, "expired") != 0 {
			t.Errorf("events: got %v and %v, want one expiry for the short one only", f.rec.types(short.ID), f.rec.types(long.ID))
		}
	})
	t.Run("token after expiry", func(t *testing.T) {
		f := newFixture(t)
		a := f.create(t, 1, time.Minute)
		if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
			t.Fatal(err)
		}
		tok, err := f.svc.Token(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(a.ExpiresAt)
		if _, err := f.svc.Token(ctx, a.ID); !errors.Is(err, approval.ErrExpired) {
			t.Errorf("Token at expiry: got %v, want ErrExpired", err)
		}
		if _, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(fireArgs))); !errors.Is(err, approval.ErrExpired) {
			t.Errorf("Consume at expiry: got %v, want ErrExpired", err)
		}
	})
}

func TestRaceTwoApprovers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i := range 10 {
		a := f.create(t, 2, time.Hour)
		var wg sync.WaitGroup
		for _, by := range []brightline.Principal{officer1, officer2, officer1, officer2} {
			wg.Go(func() {
				if _, err := f.svc.Approve(ctx, a.ID, by); err != nil && !errors.Is(err, approval.ErrNotPending) {
					t.Errorf("round %d: Approve by %s: %v", i, by.ID, err)
				}
			})
		}
		wg.Wait()
		got, err := f.svc.Get(ctx, a.ID)
		if err != nil || got.Status != approval.StatusApproved || len(got.Votes) != 2 || got.Votes[0].By.ID == got.Votes[1].By.ID {
			t.Fatalf("round %d: got %q with votes %+v, %v; want approved by two distinct officers", i, got.Status, got.Votes, err)
		}
		if f.rec.count(a.ID, "vote") != 1 || f.rec.count(a.ID, "approved") != 1 {
			t.Errorf("round %d: events %v, want one vote and one approval", i, f.rec.types(a.ID))
		}
	}
}

func TestRaceApproveAtExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	outcomes := map[approval.Status]int{}
	for i := range 20 {
		a := f.create(t, 1, time.Minute)
		// Time moves 1µs per reading, starting a few readings before
		// expiry, while an approver and a reader race.
		f.clock.mu.Lock()
		f.clock.t, f.clock.step = a.ExpiresAt.Add(-time.Duration(i%5)*time.Microsecond), time.Microsecond
		f.clock.mu.Unlock()
		var approveErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, approveErr = f.svc.Approve(ctx, a.ID, officer1) })
		wg.Go(func() {
			if _, err := f.svc.Get(ctx, a.ID); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		f.clock.mu.Lock()
		f.clock.step = 0
		f.clock.mu.Unlock()
		got, err := f.db.GetApproval(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		outcomes[got.Status]++
		nApproved, nExpired := f.rec.count(a.ID, "approved"), f.rec.count(a.ID, "expired")
		switch got.Status {
		case approval.StatusApproved:
			if approveErr != nil || nApproved != 1 || nExpired != 0 || !got.DecidedAt.Before(got.ExpiresAt) {
				t.Errorf("round %d: approved, but Approve said %v and events are %v", i, approveErr, f.rec.types(a.ID))
			}
		case approval.StatusExpired:
			if !errors.Is(approveErr, approval.ErrExpired) && !errors.Is(approveErr, approval.ErrNotPending) || nApproved != 0 || nExpired != 1 || len(got.Votes) != 0 {
				t.Errorf("round %d: expired, but Approve said %v, votes %v and events are %v", i, approveErr, got.Votes, f.rec.types(a.ID))
			}
		default:
			t.Errorf("round %d: got %q, want approved or expired", i, got.Status)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

func TestConcurrentConsume(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 1, time.Hour)
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	tok, err := f.svc.Token(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	results := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(fireArgs)))
			k := "ok"
			switch {
			case errors.Is(err, approval.ErrConsumed):
				k = "consumed"
			case err != nil:
				k = err.Error()
			}
			mu.Lock()
			results[k]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if results["ok"] != 1 || results["consumed"] != 7 {
		t.Errorf("got %v, want 1 ok and 7 refused as consumed", results)
	}
	if n := f.rec.count(a.ID, "consumed"); n != 1 {
		t.Errorf("got %d consumed events, want 1", n)
	}
}

func TestRecordFailureRefusesChange(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 2, time.Hour)
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	failOn := ""
	f.rec.fail = func(e approval.Event) error {
		if e.Type == failOn {
			return fmt.Errorf("log is down")
		}
		return nil
	}

	failOn = approval.EventApproved
	if _, err := f.svc.Approve(ctx, a.ID, officer2); !errors.Is(err, approval.ErrNotRecorded) {
		t.Fatalf("Approve with the log down: got %v, want ErrNotRecorded", err)
	}
	if got, _ := f.svc.Get(ctx, a.ID); got.Status != approval.StatusPending || len(got.Votes) != 1 {
		t.Fatalf("after refused approval: got %q with %d votes, want pending with 1", got.Status, len(got.Votes))
	}
	failOn = ""
	if got, err := f.svc.Approve(ctx, a.ID, officer2); err != nil || got.Status != approval.StatusApproved {
		t.Fatalf("Approve with the log back: got %q, %v", got.Status, err)
	}

	tok, err := f.svc.Token(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	failOn = approval.EventConsumed
	if _, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(fireArgs))); !errors.Is(err, approval.ErrNotRecorded) {
		t.Fatalf("Consume with the log down: got %v, want ErrNotRecorded", err)
	}
	if got, _ := f.svc.Get(ctx, a.ID); got.Status != approval.StatusApproved || got.ConsumedAt != nil {
		t.Fatalf("after refused consumption: got %q consumed %v, want approved and unused", got.Status, got.ConsumedAt)
	}
	failOn = ""
	if _, err := f.svc.Consume(ctx, tok, agentCall("fire_interceptor", json.RawMessage(fireArgs))); err != nil {
		t.Fatalf("Consume with the log back: %v", err)
	}

	failOn = approval.EventCreated
	_, err = f.svc.Create(ctx, approval.Request{Principal: agent, Upstream: testUpstream, Tool: "fire_interceptor", Arguments: json.RawMessage(`{}`),
		Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}})
	if !errors.Is(err, approval.ErrNotRecorded) {
		t.Fatalf("Create with the log down: got %v, want ErrNotRecorded", err)
	}
	all, _ := f.db.ListApprovals(ctx, "")
	if last := all[len(all)-1]; last.ID == a.ID || last.Status != approval.StatusExpired {
		t.Errorf("the unrecorded approval: got %q, want it retired as expired", last.Status)
	}
	if want := []string{"created", "vote:key_off1", "approved:key_off2", "consumed:key_agent"}; !slices.Equal(f.rec.types(a.ID), want) {
		t.Errorf("events: got %v, want %v", f.rec.types(a.ID), want)
	}
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 1, time.Hour)
	done := make(chan approval.Approval)
	go func() {
		got, err := f.svc.Wait(ctx, a.ID)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got.Status != approval.StatusApproved {
		t.Errorf("Wait: got %q, want approved", got.Status)
	}

	b := f.create(t, 1, time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	go cancel() // before or during the wait: either way Wait gives up
	if got, err := f.svc.Wait(cctx, b.ID); !errors.Is(err, context.Canceled) || (got.ID != "" && got.Status != approval.StatusPending) {
		t.Errorf("Wait with a cancelled context: got %q, %v; want context.Canceled (and pending, if it read the approval)", got.Status, err)
	}
	// Expiry wakes a waiter, through the poll.
	go func() {
		got, err := f.svc.Wait(ctx, b.ID)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	f.clock.Advance(2 * time.Hour)
	if got := <-done; got.Status != approval.StatusExpired {
		t.Errorf("Wait past expiry: got %q, want expired", got.Status)
	}
	if _, err := f.svc.Wait(ctx, "apr_none"); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("Wait on an unknown id: got %v, want ErrNotFound", err)
	}
}

func TestVerifyTokenRejects(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	valid := approval.TokenClaims{Version: 2, ApprovalID: "apr_1", Upstream: testUpstream, ArgsDigest: "d", RequesterPerson: "ada", Approvers: []string{"a"}}
	tok, err := approval.SignToken(key, valid)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if _, err := approval.VerifyToken(pub, tok); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	p, s, _ := strings.Cut(tok, ".")
	forgedClaims := valid
	forgedClaims.ApprovalID = "apr_2"
	forged, _ := approval.SignToken(key, forgedClaims)
	fp, _, _ := strings.Cut(forged, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	variant := func(f func(c *approval.TokenClaims)) string {
		c := valid
		f(&c)
		t, err := approval.SignToken(key, c)
		if err != nil {
			t = err.Error()
		}
		return t
	}
	noID := variant(func(c *approval.TokenClaims) { c.ApprovalID = "" })
	tests := []struct {
		name, tok string
		pub       ed25519.PublicKey
	}{
		{"other key", tok, otherPub},
		{"no dot", p + s, pub},
		{"empty", "", pub},
		{"payload changed", flip(p, 10) + "." + s, pub},
		{"signature changed", p + "." + flip(s, 5), pub},
		{"payload swapped", fp + "." + s, pub},
		{"short signature", p + "." + s[:20], pub},
		{"not base64", p + "!." + s, pub},
		{"no id", noID, pub},
		{"version 1, bound to no upstream", variant(func(c *approval.TokenClaims) { c.Version = 1 }), pub},
		{"no upstream", variant(func(c *approval.TokenClaims) { c.Upstream = "" }), pub},
		{"no requester person", variant(func(c *approval.TokenClaims) { c.RequesterPerson = "" }), pub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := approval.VerifyToken(tt.pub, tt.tok); !errors.Is(err, approval.ErrInvalidToken) {
				t.Errorf("got %+v, %v; want ErrInvalidToken", c, err)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "approval.key")
	k1, created, err := approval.LoadOrCreateKey(path)
	if err != nil || !created || len(k1) != ed25519.PrivateKeySize {
		t.Fatalf("first call: got %d-byte key, created %v, %v; want a new key", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: got %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	k2, created, err := approval.LoadOrCreateKey(path)
	if err != nil || created || !k1.Equal(k2) {
		t.Errorf("second call: got created %v, same key %v, %v; want the same key loaded", created, k1.Equal(k2), err)
	}
	if fp := approval.Fingerprint(k1.Public().(ed25519.PublicKey)); !strings.HasPrefix(fp, "sha256:") || len(fp) != 7+64 {
		t.Errorf("Fingerprint: got %q", fp)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, _, err := approval.LoadOrCreateKey(bad); err == nil {
		t.Error("garbage key file: got no error")
	}
	if _, _, err := approval.LoadOrCreateKey(filepath.Join(t.TempDir(), "missing", "x.key")); err == nil {
		t.Error("missing directory: got no error")
	}
}

func TestNewValidates(t *testing.T) {
	f := newFixture(t)
	_, key, _ := ed25519.GenerateKey(nil)
	rec := func(context.Context, approval.Event) error { return nil }
	tests := []struct {
		name string
		cfg  approval.Config
	}{
		{"no store", approval.Config{Keys: f.db, Signer: key, Record: rec}},
		{"no key", approval.Config{Store: f.db, Keys: f.db, Record: rec}},
		{"no recorder", approval.Config{Store: f.db, Keys: f.db, Signer: key}},
		{"no key store", approval.Config{Store: f.db, Signer: key, Record: rec}},
	}
	for _, tt := range tests {
		if _, err := approval.New(tt.cfg); err == nil {
			t.Errorf("%s: got no error", tt.name)
		}
	}
}

func TestConsumeCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 1, time.Hour)
	respelled := json.RawMessage(`{"salvo":2,"target":"track-7"}`)
	if _, err := f.svc.ConsumeCall(ctx, agentCall("fire_interceptor", respelled)); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("before approval: got %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		principal brightline.Principal
		upstream  string
		tool      string
		args      string
	}{
		{"other principal", officer2, testUpstream, "fire_interceptor", fireArgs},
		{"other arguments", agent, testUpstream, "fire_interceptor", `{"salvo":3,"target":"track-7"}`},
		{"other tool", agent, testUpstream, "fire_torpedo", fireArgs},
		{"other upstream", agent, approval.MCPUpstream("live", "http://live.test/mcp"), "fire_interceptor", fireArgs},
		{"same name, other server", agent, approval.MCPUpstream("sim", "http://elsewhere.test/mcp"), "fire_interceptor", fireArgs},
		{"the gateway", agent, approval.GatewayUpstream("openai/gpt-5"), "fire_interceptor", fireArgs},
	}
	for _, tt := range tests {
		c := approval.Call{Presenter: tt.principal, Upstream: tt.upstream, Tool: tt.tool, Arguments: json.RawMessage(tt.args)}
		if _, err := f.svc.ConsumeCall(ctx, c); !errors.Is(err, brightline.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", tt.name, err)
		}
	}
	got, err := f.svc.ConsumeCall(ctx, agentCall("fire_interceptor", respelled))
	if err != nil || got.ID != a.ID || got.Status != approval.StatusConsumed {
		t.Fatalf("approved call: got %q %q, %v; want %s consumed", got.ID, got.Status, err, a.ID)
	}
	if _, err := f.svc.ConsumeCall(ctx, agentCall("fire_interceptor", respelled)); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("second run: got %v, want ErrNotFound (approval used up)", err)
	}
}

// TestRunSweeper: the sweeper expires an overdue approval on its first
// tick, not before, and only once. It runs in a synctest bubble, so its
// ticker's interval passes in virtual time.
func TestRunSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		f := newFixture(t)
		a := f.create(t, 1, time.Minute)
		f.clock.Advance(time.Hour)
		const every = 5 * time.Second
		done := make(chan error)
		go func() { done <- f.svc.RunSweeper(ctx, every) }()
		time.Sleep(every - time.Millisecond)
		synctest.Wait()
		if n := f.rec.count(a.ID, "expired"); n != 0 {
			t.Errorf("before the first tick: got %d expiry events, want 0", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := f.rec.count(a.ID, "expired"); n != 1 {
			t.Errorf("after the first tick: got %d expiry events, want 1", n)
		}
		time.Sleep(every) // a second tick finds nothing more to expire
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSweeper after cancel: got %v, want nil", err)
		}
		if got, _ := f.db.GetApproval(context.Background(), a.ID); got.Status != approval.StatusExpired {
			t.Errorf("got %q, want expired", got.Status)
		}
		if n := f.rec.count(a.ID, "expired"); n != 1 {
			t.Errorf("got %d expiry events, want 1", n)
		}
	})
}
