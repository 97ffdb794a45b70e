package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
)

// The two-person rule counts persons: two keys of one person approve once.
func TestTwoPersonRuleCountsPersons(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 2, time.Hour)
	for _, p := range []brightline.Principal{officer1, officer1Phone} {
		got, err := f.svc.Approve(ctx, a.ID, p)
		if err != nil {
			t.Fatalf("Approve by %s: %v", p.ID, err)
		}
		if got.Status != approval.StatusPending {
			t.Fatalf("after %s (person %q): got %s, want pending", p.ID, p.Who(), got.Status)
		}
	}
	got, err := f.svc.Approve(ctx, a.ID, officer2)
	if err != nil || got.Status != approval.StatusApproved {
		t.Fatalf("second person: got %s, %v; want approved", got.Status, err)
	}
}

// The requester's person may not decide the call, with any key.
func TestRequesterPersonCannotApprove(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 1, time.Hour) // by agent, person "ada"
	if !agentLaptop.HasRole(a.Require.Role) {
		t.Fatal("test setup: the second key lacks the role")
	}
	if _, err := f.svc.Approve(ctx, a.ID, agentLaptop); !errors.Is(err, approval.ErrForbidden) {
		t.Errorf("approval by the requester's other key: got %v, want ErrForbidden", err)
	}
	if _, err := f.svc.Deny(ctx, a.ID, agentLaptop, "no"); !errors.Is(err, approval.ErrForbidden) {
		t.Errorf("denial by the requester's other key: got %v, want ErrForbidden", err)
	}
	if got, _ := f.svc.Get(ctx, a.ID); got.Status != approval.StatusPending || len(got.Votes) != 0 {
		t.Errorf("got %s with %d votes, want pending with none", got.Status, len(got.Votes))
	}
}

// A token is not a bearer token: only the requester's person or a named
// delegate may use it, only while the requester's key is active, and the
// consumed event names who used it and where.
func TestTokenBoundToPresenter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	approved := func(delegates ...string) (approval.Approval, string) {
		t.Helper()
		a, err := f.svc.Create(ctx, approval.Request{RequestID: "req", Principal: agent, Upstream: testUpstream, Delegates: delegates,
			Tool: "fire_interceptor", Class: "force", Arguments: json.RawMessage(fireArgs), Rule: "human-control-of-force",
			Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
			t.Fatal(err)
		}
		tok, err := f.svc.Token(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a, tok
	}
	at := func(p brightline.Principal) approval.Call {
		return approval.Call{Presenter: p, Upstream: testUpstream, Tool: "fire_interceptor", Arguments: json.RawMessage(fireArgs)}
	}

	a, tok := approved()
	for _, p := range []brightline.Principal{grace, officer1, {}} {
		if _, err := f.svc.Consume(ctx, tok, at(p)); !errors.Is(err, approval.ErrNotPresenter) {
			t.Errorf("presented by %q: got %v, want ErrNotPresenter", p.ID, err)
		}
	}
	// The requester's person, with another key.
	if _, err := f.svc.Consume(ctx, tok, at(agentLaptop)); err != nil {
		t.Fatalf("presented by the requester's other key: %v", err)
	}
	if got := f.lastEvent(a.ID); got.Type != approval.EventConsumed || got.By != agentLaptop.ID || got.Upstream != testUpstream {
		t.Errorf("consumed event: got %s by %q at %q, want consumed by %s at %s", got.Type, got.By, got.Upstream, agentLaptop.ID, testUpstream)
	}

	// A delegate named at approval.
	d, dtok := approved("grace")
	if _, err := f.svc.Consume(ctx, dtok, at(grace)); err != nil {
		t.Fatalf("presented by the delegate: %v", err)
	}
	if got := f.lastEvent(d.ID); got.By != grace.ID {
		t.Errorf("consumed event: got by %q, want %s", got.By, grace.ID)
	}

	// The requester's key is revoked: nobody may use its token.
	_, rtok := approved("grace")
	if err := f.db.RevokeKey(ctx, agent.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []brightline.Principal{agent, agentLaptop, grace} {
		if _, err := f.svc.Consume(ctx, rtok, at(p)); !errors.Is(err, approval.ErrRequesterRevoked) {
			t.Errorf("revoked requester, presented by %s: got %v, want ErrRequesterRevoked", p.ID, err)
		}
	}
	// And the token binds the upstream.
	_, utok := approved()
	c := at(agentLaptop)
	c.Upstream = approval.MCPUpstream("live", "http://live.test/mcp")
	if _, err := f.svc.Consume(ctx, utok, c); !errors.Is(err, approval.ErrWrongUpstream) {
		t.Errorf("other upstream: got %v, want ErrWrongUpstream", err)
	}
}

func (f *fixture) lastEvent(id string) approval.Event {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	for i := len(f.rec.events) - 1; i >= 0; i-- {
		if f.rec.events[i].Approval.ID == id {
			return f.rec.events[i]
		}
	}
	return approval.Event{}
}

// One person may have at most MaxPending approvals pending, across keys;
// past it Create refuses with a rate-limit error (HTTP 429).
func TestPendingCapPerPerson(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	create := func(p brightline.Principal, n, max int) error {
		_, err := f.svc.Create(ctx, approval.Request{Principal: p, Upstream: testUpstream, Tool: "fire_interceptor",
			Arguments: json.RawMessage(fmt.Sprintf(`{"track":%d}`, n)), Rule: "r",
			Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, MaxPending: max})
		return err
	}
	for i := range 2 {
		if err := create(agent, i, 2); err != nil {
			t.Fatal(err)
		}
	}
	err := create(agentLaptop, 3, 2)
	if !errors.Is(err, approval.ErrTooManyPending) || brightline.ErrorCodeOf(err) != brightline.CodeRateLimited {
		t.Fatalf("third for one person: got %v, want ErrTooManyPending with code rate_limited", err)
	}
	if st, _ := brightline.ErrorResponse(approval.ClientError(err)); st != http.StatusTooManyRequests {
		t.Errorf("status: got %d, want 429", st)
	}
	if err := create(officer1, 4, 2); err != nil {
		t.Errorf("another person: %v", err)
	}
	// Zero is the default cap, 20, not no cap.
	for i := range approval.DefaultMaxPending {
		if err := create(grace, 100+i, 0); err != nil {
			t.Fatalf("grace's %dth: %v", i+1, err)
		}
	}
	if err := create(grace, 200, 0); !errors.Is(err, approval.ErrTooManyPending) {
		t.Errorf("past the default cap: got %v, want ErrTooManyPending", err)
	}
}

// The API shows approvers the upstream and says who wrote the excerpt;
// the token goes to the requester's person on any key, and to nobody else.
func TestViewShowsUpstreamAndExcerptAuthor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(t, 1, time.Hour)
	v, err := f.svc.ViewFor(ctx, officer1, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["upstream"] != testUpstream || m["excerpt_author"] != "written by the requester" || m["excerpt"] != "user: intercept track 7" {
		t.Errorf("approver's view: got upstream %v, excerpt_author %v, excerpt %v", m["upstream"], m["excerpt_author"], m["excerpt"])
	}
	if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		p         brightline.Principal
		wantToken bool
	}{{agent, true}, {agentLaptop, true}, {officer1, false}} {
		v, err := f.svc.ViewFor(ctx, tt.p, a.ID)
		if err != nil {
			t.Fatalf("%s: %v", tt.p.ID, err)
		}
		if (v.Token != "") != tt.wantToken {
			t.Errorf("%s: got token %v, want %v", tt.p.ID, v.Token != "", tt.wantToken)
		}
	}
	if _, err := f.svc.ViewFor(ctx, grace, a.ID); !errors.Is(err, approval.ErrForbidden) {
		t.Errorf("another person: got %v, want ErrForbidden", err)
	}
}
