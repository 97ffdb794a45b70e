package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
)

// testPolicy holds get_weather calls on a launcher (a rule on the
// arguments), denies firing at civil tracks and holds other force calls.
const testPolicy = `rules:
  - id: launcher-needs-approval
    stage: tool_call
    when: tool_call.name == "get_weather" && has(tool_call.arguments.city) && tool_call.arguments.city.startsWith("launcher")
    action: require_approval
    message: Launchers are moved only with approval.
    approvers: {role: weapons-release-authority, count: 1}
  - id: no-civil-tracks
    stage: tool_call
    when: tool_call.name == "fire_interceptor" && has(tool_call.arguments.track) && tool_call.arguments.track.startsWith("civil")
    action: deny
    message: Civil tracks are never engaged.
  - id: force-requires-approval
    stage: tool_call
    when: tool_call.effect == "force"
    action: require_approval
    message: Use of force needs a human decision.
    approvers: {role: weapons-release-authority, count: 1}
approvals:
  max_pending_per_requester: 3
`

// newPolicyFixture is a fixture whose proxy decides with the one decider
// under testPolicy, as serve wires it.
func newPolicyFixture(t *testing.T) (*fixture, *policy.Policy) {
	t.Helper()
	pol, err := policy.Load("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	dec := safeguard.New(safeguard.Config{})
	return newFixtureWith(t, 0, DecideWith(dec, func() *policy.Policy { return pol }, nil)), pol
}

func callErr(cs *mcp.ClientSession, name string, args map[string]any, meta mcp.Meta) (*mcp.CallToolResult, error) {
	return cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
}

// A deny is a tool error naming the rule, never an approval anyone could
// give: nothing is held, nothing runs, and the denial is audited.
func TestProxyDenyIsNotApprovable(t *testing.T) {
	f, pol := newPolicyFixture(t)
	cs := f.connect(t, "http", "agent-key")
	res := call(t, cs, "fire_interceptor", map[string]any{"track": "civil-airliner-9"}, nil)
	if !res.IsError || !strings.Contains(text(res), "denied") || !strings.Contains(text(res), "no-civil-tracks") {
		t.Fatalf("got %q (isError %v), want a denial naming rule no-civil-tracks", text(res), res.IsError)
	}
	if _, ok := res.Meta[MetaApproval]; ok {
		t.Errorf("the denial carries an approval: %v", res.Meta)
	}
	all, err := f.svc.List(context.Background(), "")
	if err != nil || len(all) != 0 {
		t.Fatalf("approvals after a denial: got %d (%v), want none", len(all), err)
	}
	if f.shots.Load() != 0 {
		t.Errorf("upstream fired %d times, want 0", f.shots.Load())
	}
	es := f.audit.Entries()
	if len(es) != 1 || es[0].Action != "deny" || es[0].Stage != "tool_call" || es[0].PolicyHash != pol.Hash() ||
		len(es[0].Matches) == 0 || es[0].Matches[0].Rule != "no-civil-tracks" {
		t.Errorf("audit entries: got %+v, want one deny by no-civil-tracks under %s", es, pol.Hash())
	}
}

// Rules see the real arguments: a call on a launcher is held, the same
// tool elsewhere runs; the approval records the rule that matched.
func TestProxyDecidesOnArguments(t *testing.T) {
	f, _ := newPolicyFixture(t)
	cs := f.connect(t, "http", "agent-key")
	if res := call(t, cs, "get_weather", map[string]any{"city": "Oslo"}, nil); res.IsError || text(res) != "sunny in Oslo" {
		t.Fatalf("Oslo: got %q (isError %v), want it run", text(res), res.IsError)
	}
	id := wantHeld(t, call(t, cs, "get_weather", map[string]any{"city": "launcher-3"}, nil))
	a, err := f.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rule != "launcher-needs-approval" || a.Class != "informational" {
		t.Errorf("held approval: got rule %q class %q, want launcher-needs-approval, informational", a.Rule, a.Class)
	}
	id = wantHeld(t, call(t, cs, "fire_interceptor", map[string]any{"track": "T-17"}, nil))
	if a, _ := f.svc.Get(context.Background(), id); a.Rule != "force-requires-approval" {
		t.Errorf("held force call: got rule %q, want force-requires-approval", a.Rule)
	}
}

// Every forwarded call is in the audit log before it reaches the
// upstream, with the policy hash; if the log fails the call is refused.
func TestProxyAuditsForwardedCalls(t *testing.T) {
	f, pol := newPolicyFixture(t)
	ctx := context.Background()
	cs := f.connect(t, "http", "agent-key")
	for _, city := range []string{"Oslo", "Lima"} {
		if res := call(t, cs, "get_weather", map[string]any{"city": city}, nil); res.IsError {
			t.Fatalf("%s: %q", city, text(res))
		}
	}
	es := f.audit.Entries()
	if len(es) != 2 {
		t.Fatalf("after two executed calls: got %d audit entries, want 2", len(es))
	}
	for _, e := range es {
		if e.Kind != "decision" || e.Stage != "tool_call" || e.Action != "allow" || e.PolicyHash != pol.Hash() ||
			e.PrincipalID != agent.ID || e.Detail["tool"] != "get_weather" || e.Detail["upstream"] != f.upstreamID("http") ||
			e.Detail["args_digest"] == "" {
			t.Errorf("entry: got %+v", e)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "Oslo") || strings.Contains(string(b), "Lima") {
			t.Errorf("entry holds the arguments: %s", b)
		}
	}

	// An approved force call: its entry is written while the upstream has
	// not yet fired, and names the approval.
	id := wantHeld(t, call(t, cs, "fire_interceptor", map[string]any{"track": "T-17"}, nil))
	if _, err := f.svc.Approve(ctx, id, approver); err != nil {
		t.Fatal(err)
	}
	var shotsAtAppend int64 = -1
	f.audit.mu.Lock()
	f.audit.onAppend = func() { shotsAtAppend = f.shots.Load() }
	f.audit.mu.Unlock()
	wantShot(t, call(t, cs, "fire_interceptor", map[string]any{"track": "T-17"}, nil), 1, "T-17")
	es = f.audit.Entries()
	last := es[len(es)-1]
	if shotsAtAppend != 0 || last.Action != "require_approval" || len(last.ApprovalIDs) != 1 || last.ApprovalIDs[0] != id {
		t.Errorf("approved call: appended with %d shots fired, entry %+v; want 0 fired and approval %s", shotsAtAppend, last, id)
	}

	// The log is down: nothing is forwarded.
	f.audit.Fail(errors.New("disk full"))
	if res, err := callErr(cs, "get_weather", map[string]any{"city": "Oslo"}, nil); err == nil && !res.IsError {
		t.Errorf("with the log down: got %q, want a refusal", text(res))
	}
	id = wantHeld(t, callWithLog(t, f, cs, "fire_interceptor", map[string]any{"track": "T-18"}))
	if _, err := f.svc.Approve(ctx, id, approver); err != nil {
		t.Fatal(err)
	}
	f.audit.Fail(errors.New("disk full"))
	if res, err := callErr(cs, "fire_interceptor", map[string]any{"track": "T-18"}, nil); err == nil && !res.IsError {
		t.Errorf("approved call with the log down: got %q, want a refusal", text(res))
	}
	if f.shots.Load() != 1 {
		t.Errorf("upstream fired %d times, want 1", f.shots.Load())
	}
}

// callWithLog makes a call with the audit log up, and leaves it up.
func callWithLog(t *testing.T, f *fixture, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	f.audit.Fail(nil)
	return call(t, cs, name, args, nil)
}

// An approval runs only at the upstream it was made for; one the gateway
// made runs at no MCP upstream.
func TestProxyApprovalsBindUpstream(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	sim := f.connect(t, "http", "agent-key")
	live := f.connect(t, "stdio", "agent-key")
	args := map[string]any{"track": "T-17"}

	id := wantHeld(t, call(t, sim, "fire_interceptor", args, nil))
	if _, err := f.svc.Approve(ctx, id, approver); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.svc.Get(ctx, id); a.Upstream != f.upstreamID("http") {
		t.Errorf("approval upstream: got %q, want %q", a.Upstream, f.upstreamID("http"))
	}
	// The same call at the other upstream is held, not run.
	other := wantHeld(t, call(t, live, "fire_interceptor", args, nil))
	if other == id {
		t.Fatalf("the other upstream reused approval %s", id)
	}
	// Its token is refused there too.
	tok, err := f.svc.Token(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	res := call(t, live, "fire_interceptor", args, mcp.Meta{MetaApprovalToken: tok})
	if !res.IsError || !strings.Contains(text(res), "another upstream") {
		t.Errorf("token at another upstream: got %q (isError %v), want a refusal", text(res), res.IsError)
	}
	// At its own upstream it runs, once.
	wantShot(t, call(t, sim, "fire_interceptor", args, nil), 1, "T-17")

	// A call the gateway held runs at no MCP upstream.
	g, err := f.svc.Create(ctx, approval.Request{Principal: agent, Tool: "fire_interceptor", Class: "force",
		Arguments: json.RawMessage(`{"track":"T-20"}`), Rule: "force-requires-approval",
		Require: approval.Requirement{Role: DefaultApproverRole, Count: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, g.ID, approver); err != nil {
		t.Fatal(err)
	}
	gtok, err := f.svc.Token(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	res = call(t, sim, "fire_interceptor", map[string]any{"track": "T-20"}, mcp.Meta{MetaApprovalToken: gtok})
	if !res.IsError || !strings.Contains(text(res), "another upstream") {
		t.Errorf("gateway-held call at an MCP upstream: got %q (isError %v), want a refusal", text(res), res.IsError)
	}
	wantHeld(t, call(t, sim, "fire_interceptor", map[string]any{"track": "T-20"}, nil))
	if f.shots.Load() != 1 {
		t.Errorf("upstream fired %d times, want 1", f.shots.Load())
	}
}

func TestUpstreamIdentity(t *testing.T) {
	a := Upstream{Name: "sim", URL: "http://sim.test/mcp"}.Identity()
	for _, u := range []Upstream{
		{Name: "live", URL: "http://sim.test/mcp"},
		{Name: "sim", URL: "http://live.test/mcp"},
		{Name: "sim", Command: []string{"http://sim.test/mcp"}},
	} {
		if b := u.Identity(); b == a {
			t.Errorf("%+v has the identity of %q", u, a)
		}
	}
	if x, y := (Upstream{Name: "s", Command: []string{"a b", "c"}}).Identity(), (Upstream{Name: "s", Command: []string{"a", "b c"}}).Identity(); x == y {
		t.Errorf("two command lines share identity %q", x)
	}
}

// One person may have at most the policy's number of approvals pending;
// past it the call is refused with a 429 rate-limit error, whichever key
// the person uses.
func TestProxyPendingCap(t *testing.T) {
	f, _ := newPolicyFixture(t)
	cs := f.connect(t, "http", "agent-key")
	for _, track := range []string{"T-1", "T-2", "T-3"} {
		wantHeld(t, call(t, cs, "fire_interceptor", map[string]any{"track": track}, nil))
	}
	laptop := f.connect(t, "http", "laptop-key")
	for name, s := range map[string]*mcp.ClientSession{"same key": cs, "same person, other key": laptop} {
		_, err := callErr(s, "fire_interceptor", map[string]any{"track": "T-4"}, nil)
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != CodeRateLimited || !strings.Contains(je.Message, "429") {
			t.Errorf("%s: fourth pending call: got %v, want a JSON-RPC rate-limit error (429)", name, err)
			continue
		}
		var data struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(je.Data, &data); err != nil || data.Type != string(brightline.CodeRateLimited) || data.Status != 429 {
			t.Errorf("%s: error data: got %s, want type rate_limited, status 429", name, je.Data)
		}
	}
	all, _ := f.svc.List(context.Background(), approval.StatusPending)
	if len(all) != 3 {
		t.Errorf("pending approvals: got %d, want 3", len(all))
	}
	wantHeld(t, call(t, f.connect(t, "http", "other-key"), "fire_interceptor", map[string]any{"track": "T-4"}, nil))
}
