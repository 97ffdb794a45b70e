package mcpproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
)

// callHandler returns the handler of the mirrored tool name.
func (u *upstream) callHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return u.call(ctx, name, req)
	}
}

func (u *upstream) call(ctx context.Context, name string, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	c, v, res, err := u.decide(ctx, name, req)
	if res != nil || err != nil {
		return res, err
	}
	switch c.d.Action {
	case brightline.ActionAllow, brightline.ActionAnnotate:
		return u.forward(ctx, c, "")
	case brightline.ActionRequireApproval:
		return u.requireApproval(ctx, c, v)
	default:
		// A deny (or anything unknown) is a refusal, never an approval.
		return u.deny(ctx, c), nil
	}
}

// decide authenticates the caller of tool name and asks the policy about
// the call. It returns the decided call and the policy's verdict, or the
// answer to a call that cannot be decided: a JSON-RPC error if the caller
// is not authenticated or the tool is unknown, a tool error if the
// arguments are not a JSON object or the policy could not be evaluated.
func (u *upstream) decide(ctx context.Context, name string, req *mcp.CallToolRequest) (toolCall, Verdict, *mcp.CallToolResult, error) {
	p := u.p
	who, err := p.principal(ctx, req)
	if err != nil {
		u.log.Info("mcp proxy: tools/call refused: not authenticated", "tool", name, "err", err)
		return toolCall{}, Verdict{}, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "not authenticated"}
	}
	info, ok := u.tool(name)
	if !ok {
		return toolCall{}, Verdict{}, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
	}
	args := json.RawMessage(bytes.TrimSpace(req.Params.Arguments))
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	log := u.log.With("tool", name, "principal", who.ID)
	digest, err := approval.Digest(name, args)
	if err != nil {
		return toolCall{}, Verdict{}, toolError(fmt.Sprintf("Brightline refused the call to %s: its arguments are not a JSON object.", name), nil), nil
	}
	var hdr http.Header
	if req.Extra != nil {
		hdr = req.Extra.Header
	}
	v, err := p.cfg.Decide(ctx, who, ToolCall{Upstream: u.id, UpstreamName: u.cfg.Name, Name: name, Tool: info.def,
		Class: info.class, Declared: info.declared, Arguments: args, Header: hdr})
	if err != nil {
		log.Error("mcp proxy: couldn't decide tools/call; refusing it", "err", err)
		return toolCall{}, Verdict{}, toolError(fmt.Sprintf("Brightline refused the call to %s: the policy could not be evaluated, so nothing was run.", name), nil), nil
	}
	class := info.class
	if v.Class != "" {
		class = v.Class
	}
	return toolCall{who: who, name: name, class: class, args: args, digest: digest, meta: req.Params.Meta, d: v.Decision,
		log: log.With("class", class)}, v, nil, nil
}

// deny records the policy's refusal of c in the audit log and answers it.
// A failed record does not change the answer: the call is not run either
// way.
func (u *upstream) deny(ctx context.Context, c toolCall) *mcp.CallToolResult {
	if err := u.p.cfg.Audit(ctx, u.entry(c, "")); err != nil {
		c.log.Error("mcp proxy: couldn't record a denial", "err", err)
	}
	c.log.Info("mcp proxy: tools/call denied by policy", "rule", c.d.Rule, "action", c.d.Action)
	return denied(c)
}

// requireApproval answers a call the policy holds for approval (v). It
// runs c if the caller presents an approval token of it in _meta, or holds
// an approved, unconsumed approval of exactly it. Otherwise c is held
// under the pending approval of an earlier attempt, or a new one, and
// waits up to the wait limit for a decision.
func (u *upstream) requireApproval(ctx context.Context, c toolCall, v Verdict) (*mcp.CallToolResult, error) {
	// An approval token in the call's _meta.
	if tok, ok := c.meta[MetaApprovalToken].(string); ok {
		return u.runToken(ctx, c, tok)
	}

	key := pendingKey{u.id, c.who.ID, c.digest}

	// An approved, unconsumed approval of exactly this call.
	if res, ok, err := u.runApproved(ctx, key, c); ok || err != nil {
		return res, err
	}

	// A pending approval of this call, from an earlier attempt.
	a, res, err := u.earlierApproval(ctx, key, c)
	if res != nil || err != nil {
		return res, err
	}
	if a.ID == "" {
		if a, err = u.hold(ctx, key, c, v); err != nil {
			return nil, err
		}
	}
	return u.await(ctx, key, c, a)
}

// runToken runs c if tok, from the call's _meta, is an approval token of
// exactly c presented by its requester (or a delegate), and refuses c
// otherwise.
func (u *upstream) runToken(ctx context.Context, c toolCall, tok string) (*mcp.CallToolResult, error) {
	ap := u.p.cfg.Approvals
	a, err := ap.Consume(ctx, tok, approval.Call{Presenter: c.who, Upstream: u.id, Tool: c.name, Arguments: c.args})
	if err != nil {
		c.log.Info("mcp proxy: approval token refused", "err", err)
		return refused(a, ap, "The approval token was refused: "+tokenProblem(err)+"."), nil
	}
	c.log.Info("mcp proxy: forwarding approved call", "approval", a.ID, "via", "token")
	return u.forward(ctx, c, a.ID)
}

// earlierApproval returns the approval still pending that an earlier
// attempt of c created, or the zero Approval if there is none (or it was
// approved since, and consumed by a racing call or expired: c asks
// again). If that approval was denied or expired it returns the refusal.
func (u *upstream) earlierApproval(ctx context.Context, key pendingKey, c toolCall) (approval.Approval, *mcp.CallToolResult, error) {
	p := u.p
	id := p.pendingID(key)
	if id == "" {
		return approval.Approval{}, nil, nil
	}
	a, err := p.cfg.Approvals.Get(ctx, id)
	switch {
	case err != nil:
		c.log.Error("mcp proxy: couldn't read approval", "approval", id, "err", err)
		p.forgetPending(key, id)
		return approval.Approval{}, nil, errInternal
	case a.Status == approval.StatusDenied || a.Status == approval.StatusExpired:
		p.forgetPending(key, id)
		return approval.Approval{}, refused(a, p.cfg.Approvals, ""), nil
	case a.Status != approval.StatusPending:
		// Approved and consumed by a racing call, or approved but
		// past its expiry: ask again.
		p.forgetPending(key, id)
		return approval.Approval{}, nil, nil
	}
	return a, nil, nil
}

// hold creates the approval c waits for, with the approvers, time to live
// and pending cap of v, and remembers it under key so that a repeat of c
// waits for the same approval.
func (u *upstream) hold(ctx context.Context, key pendingKey, c toolCall, v Verdict) (approval.Approval, error) {
	p := u.p
	ttl := v.TTL
	if ttl == 0 {
		ttl = p.cfg.ApprovalTTL
	}
	a, err := p.cfg.Approvals.Create(ctx, approval.Request{
		RequestID:     "mcp_" + randomHex(12),
		Principal:     c.who,
		Upstream:      u.id,
		Tool:          c.name,
		Class:         c.class,
		Arguments:     c.args,
		PolicyVersion: c.d.PolicyVersion,
		Rule:          c.d.Rule,
		Require:       v.Require,
		TTL:           ttl,
		MaxPending:    v.MaxPending,
		Excerpt:       fmt.Sprintf("MCP tools/call through upstream %q: %s %s", u.cfg.Name, c.name, c.args),
	})
	if errors.Is(err, approval.ErrTooManyPending) {
		c.log.Info("mcp proxy: call refused: too many pending approvals", "person", c.who.Who(), "err", err)
		return approval.Approval{}, rateLimited(err)
	}
	if err != nil {
		c.log.Error("mcp proxy: couldn't hold call", "err", err)
		return approval.Approval{}, errInternal
	}
	p.rememberPending(key, a.ID)
	c.log.Info("mcp proxy: call held for approval", "approval", a.ID, "rule", c.d.Rule, "role", v.Require.Role, "count", v.Require.Count)
	return a, nil
}

// await waits up to the wait limit for a decision on a, the approval that
// holds c. It runs c if a is approved in time, refuses it if a is denied
// or expires, and otherwise answers that c is held.
func (u *upstream) await(ctx context.Context, key pendingKey, c toolCall, a approval.Approval) (*mcp.CallToolResult, error) {
	p := u.p
	if p.cfg.WaitLimit <= 0 {
		return held(a, p.cfg.Approvals), nil
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.WaitLimit)
	got, err := p.cfg.Approvals.Wait(wctx, a.ID)
	cancel()
	switch {
	case err == nil && got.Status == approval.StatusApproved:
		if res, ok, err := u.runApproved(ctx, key, c); ok || err != nil {
			return res, err
		}
		a = got
	case err == nil && (got.Status == approval.StatusDenied || got.Status == approval.StatusExpired):
		p.forgetPending(key, a.ID)
		return refused(got, p.cfg.Approvals, ""), nil
	case err == nil:
		a = got
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		// Still pending after the wait limit.
	default:
		return nil, err
	}
	return held(a, p.cfg.Approvals), nil
}

// toolCall is one decided tools/call.
type toolCall struct {
	who    brightline.Principal
	name   string
	class  string
	args   json.RawMessage
	digest string
	meta   mcp.Meta
	d      brightline.Decision
	log    *slog.Logger // the upstream's, with the tool, principal and class
}

// CodeRateLimited is the JSON-RPC error code of a tools/call refused
// because its requester has too many approvals pending. Its data is
// {"type": "rate_limited", "status": 429, "retry_after": seconds}.
const CodeRateLimited = -32029

// rateLimited is the JSON-RPC error for a call over the pending cap.
func rateLimited(err error) *jsonrpc.Error {
	msg := "too many tool calls are waiting for approval"
	var retry time.Duration
	if e, ok := errors.AsType[*brightline.Error](err); ok {
		msg, retry = e.Message, e.RetryAfter
	}
	data, _ := json.Marshal(map[string]any{"type": brightline.CodeRateLimited, "status": http.StatusTooManyRequests,
		"retry_after": int(retry.Seconds())})
	return &jsonrpc.Error{Code: CodeRateLimited, Message: "rate limited (429): " + msg, Data: data}
}

// denied is the answer to a call the policy denies.
func denied(c toolCall) *mcp.CallToolResult {
	text := fmt.Sprintf("Brightline denied the call to %s", c.name)
	if c.d.Rule != "" {
		text += fmt.Sprintf(" (rule %s", c.d.Rule)
		if c.d.Safeguard != "" {
			text += ", safeguard " + c.d.Safeguard
		}
		text += ")"
	}
	if c.d.Message != "" {
		text += ": " + strings.TrimSuffix(c.d.Message, ".")
	}
	return toolError(text+". It was not run, and no approval can release it.", nil)
}

// entry is the audit-log entry of the decision on c at u, released under
// approval approvalID if that is not empty: decisions and metadata, never
// the arguments.
func (u *upstream) entry(c toolCall, approvalID string) auditlog.Entry {
	d := c.d
	e := auditlog.Entry{
		Kind:          auditlog.KindDecision,
		RequestID:     "mcp_" + randomHex(12),
		PrincipalID:   c.who.ID,
		Provider:      u.id,
		PolicyHash:    d.PolicyHash,
		PolicyVersion: d.PolicyVersion,
		TrustHash:     d.TrustHash,
		Stage:         string(brightline.StageToolCall),
		Action:        string(d.Action),
		Detail: map[string]string{
			"tool": c.name, "effect": c.class, "args_digest": c.digest, "upstream": u.id, "person": c.who.Who(),
		},
	}
	if e.Action == "" {
		e.Action = string(brightline.ActionAllow)
	}
	for _, m := range d.Matches {
		e.Matches = append(e.Matches, auditlog.Match{Safeguard: m.Safeguard, Rule: m.Rule, Action: string(m.Action)})
	}
	if approvalID != "" {
		e.ApprovalIDs = []string{approvalID}
	}
	if d.Authorization != "" {
		e.Detail["authorization"] = d.Authorization
	}
	return e
}

// runApproved runs the call if its caller holds an approved, unconsumed
// approval of exactly it at this upstream. ok reports whether it found
// one and ran it.
func (u *upstream) runApproved(ctx context.Context, key pendingKey, c toolCall) (_ *mcp.CallToolResult, ok bool, _ error) {
	ap := u.p.cfg.Approvals
	a, err := ap.FindApproved(ctx, key.principal, key.digest, u.id)
	if errors.Is(err, brightline.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		c.log.Error("mcp proxy: couldn't look for an approval", "err", err)
		return nil, false, errInternal
	}
	tok, err := ap.Token(ctx, a.ID)
	if err == nil {
		_, err = ap.Consume(ctx, tok, approval.Call{Presenter: c.who, Upstream: u.id, Tool: c.name, Arguments: c.args})
	}
	if err != nil {
		// Consumed by a racing identical call, or expired since the
		// lookup: this call is held again.
		c.log.Info("mcp proxy: approval could not be used", "approval", a.ID, "err", err)
		return nil, false, nil
	}
	u.p.forgetPending(key, a.ID)
	c.log.Info("mcp proxy: forwarding approved call", "approval", a.ID, "via", "arguments")
	res, err := u.forward(ctx, c, a.ID)
	return res, true, err
}

var errInternal = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "brightline could not check the approval of this call"}

// forward records c in the audit log and then sends it upstream, with the
// caller's _meta except the proxy's own keys and the protocol's
// per-request keys, which the upstream session sets for itself. If the
// record fails the call is refused and not sent (fail closed).
func (u *upstream) forward(ctx context.Context, c toolCall, approvalID string) (*mcp.CallToolResult, error) {
	name, args, meta := c.name, c.args, c.meta
	if err := u.p.cfg.Audit(ctx, u.entry(c, approvalID)); err != nil {
		u.log.Error("mcp proxy: couldn't record the call in the audit log; refusing it", "tool", name, "approval", approvalID, "err", err)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: "brightline could not record this call in the audit log, so it was not run; retry later"}
	}
	cs, err := u.clientSession(ctx)
	if err != nil {
		u.log.Error("mcp proxy: upstream unavailable", "err", err)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q is unavailable", u.cfg.Name)}
	}
	var fwd mcp.Meta
	for k, v := range meta {
		if strings.HasPrefix(k, "brightline/") || strings.HasPrefix(k, "io.modelcontextprotocol/") || k == "progressToken" {
			continue
		}
		if fwd == nil {
			fwd = mcp.Meta{}
		}
		fwd[k] = v
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args, Meta: fwd})
	if err != nil {
		var jerr *jsonrpc.Error
		if errors.As(err, &jerr) {
			return nil, jerr
		}
		if errors.Is(err, mcp.ErrConnectionClosed) {
			u.dropSession(cs)
		}
		u.log.Error("mcp proxy: upstream call failed", "tool", name, "err", err)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q failed", u.cfg.Name)}
	}
	return res, nil
}

// held is the answer to a call that waits for approval.
func held(a approval.Approval, ap Approvals) *mcp.CallToolResult {
	var who string
	if a.Require.Count > 1 {
		who = fmt.Sprintf("%d different people with the role %q", a.Require.Count, a.Require.Role)
	} else {
		who = fmt.Sprintf("a person with the role %q", a.Require.Role)
	}
	text := fmt.Sprintf("Held for human approval: this call to %s (effect class %s) does not run until %s approves it (rule %s). "+
		"Approval %s is %s until %s; follow it at %s. "+
		"Once it is approved, call %s again with exactly the same arguments and it will run once.",
		a.Tool, a.Class, who, a.Rule, a.ID, a.Status, a.ExpiresAt.UTC().Format(time.RFC3339), ap.StatusURL(a.ID), a.Tool)
	return toolError(text, approvalMeta(a, ap))
}

// refused is the answer to a call whose approval was denied or expired,
// or whose token was refused.
func refused(a approval.Approval, ap Approvals, text string) *mcp.CallToolResult {
	if text == "" {
		switch a.Status {
		case approval.StatusDenied:
			text = fmt.Sprintf("The call to %s was denied: approval %s was denied", a.Tool, a.ID)
			for _, v := range a.Votes {
				if !v.Approve {
					text += fmt.Sprintf(" by %s: %q", v.By.ID, v.Reason)
					break
				}
			}
			text += ". It was not run."
		case approval.StatusExpired:
			text = fmt.Sprintf("The call to %s was not run: approval %s expired at %s without a decision. Call again to ask for a new approval.",
				a.Tool, a.ID, a.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if a.ID == "" {
		return toolError(text, nil)
	}
	return toolError(text, approvalMeta(a, ap))
}

func tokenProblem(err error) string {
	switch {
	case errors.Is(err, approval.ErrDigestMismatch):
		return "it approves a different call (tool or arguments changed)"
	case errors.Is(err, approval.ErrWrongUpstream):
		return "it approves this call at another upstream, not this one"
	case errors.Is(err, approval.ErrNotPresenter):
		return "only the requester or a delegate named in the approval may use it"
	case errors.Is(err, approval.ErrRequesterRevoked):
		return "the requester's key has been revoked"
	case errors.Is(err, approval.ErrConsumed):
		return "it has already been used"
	case errors.Is(err, approval.ErrExpired):
		return "its approval has expired"
	case errors.Is(err, approval.ErrNotApproved):
		return "its approval is not approved"
	case errors.Is(err, approval.ErrInvalidToken):
		return "it is not a valid approval token"
	}
	return "it could not be checked"
}

func approvalMeta(a approval.Approval, ap Approvals) mcp.Meta {
	return mcp.Meta{MetaApproval: map[string]any{
		"id":         a.ID,
		"status":     string(a.Status),
		"status_url": ap.StatusURL(a.ID),
		"expires_at": a.ExpiresAt.UTC().Format(time.RFC3339),
	}}
}

func toolError(text string, meta mcp.Meta) *mcp.CallToolResult {
	return &mcp.CallToolResult{Meta: meta, IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

func (p *Proxy) pendingID(k pendingKey) string {
	p.pendingMu.Lock()
	defer p.pendingMu.Unlock()
	return p.pending[k]
}

// maxPending bounds the pending-call memory; past it the oldest entries
// are not kept (a repeat then creates a second approval, which is safe).
const maxPending = 10000

func (p *Proxy) rememberPending(k pendingKey, id string) {
	p.pendingMu.Lock()
	defer p.pendingMu.Unlock()
	if len(p.pending) >= maxPending {
		clear(p.pending)
	}
	p.pending[k] = id
}

func (p *Proxy) forgetPending(k pendingKey, id string) {
	p.pendingMu.Lock()
	defer p.pendingMu.Unlock()
	if p.pending[k] == id {
		delete(p.pending, k)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
