package mcpproxy

import (
	"context"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
)

// DecideWith returns a [Config.Decide] that decides each tools/call with
// the one decider, dec, under the policy current returns at the time of
// the call: at stage tool_call, with the call's real arguments, the
// caller's principal and the tool's definition from the upstream. A
// require_approval decision carries the approvers, time to live and
// per-person pending cap of the policy. now is the clock rules see; nil
// means time.Now.
func DecideWith(dec *safeguard.Decider, current func() *policy.Policy, now func() time.Time) func(context.Context, brightline.Principal, ToolCall) (Verdict, error) {
	if now == nil {
		now = time.Now
	}
	return func(_ context.Context, p brightline.Principal, c ToolCall) (Verdict, error) {
		pol := current()
		def := c.Tool
		out, err := dec.ToolCall(pol, safeguard.ToolCall{Principal: p, Name: c.Name, Arguments: c.Arguments,
			Tool: &def, Upstream: c.Upstream, Time: now()})
		if err != nil {
			return Verdict{}, err
		}
		v := Verdict{Decision: out.Decision, Class: out.Effect.Class, MaxPending: pol.MaxPendingPerRequester()}
		if out.Decision.Action == brightline.ActionRequireApproval {
			role, count, ttl := pol.ApprovalRequirement(out.Decision)
			v.Require, v.TTL = approval.Requirement{Role: role, Count: count}, ttl
		}
		return v, nil
	}
}
