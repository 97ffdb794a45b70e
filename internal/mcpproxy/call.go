package mcpproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/detect/toolclass"
)

// callHandler returns the handler of the mirrored tool name.
func (u *upstream) callHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return u.call(ctx, name, req)
	}
}

func (u *upstream) call(ctx context.Context, name string, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p := u.p
	who, err := p.principal(ctx, req)
	if err != nil {
		u.log.Info("mcp proxy: tools/call refused: not authenticated", "tool", name, "err", err)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "not authenticated"}
	}
	info, ok := u.tool(name)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
	}
	args := json.RawMessage(bytes.TrimSpace(req.Params.Arguments))
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	req2, need := p.cfg.NeedsApproval(who, name, info.class)
	if !need {
		return u.forward(ctx, name, args, req.Params.Meta)
	}
	log := u.log.With("tool", name, "principal", who.ID, "class", info.class)

	// An approval token in the call's _meta.
	if tok, ok := req.Params.Meta[MetaApprovalToken].(string); ok {
		a, err := p.cfg.Approvals.Consume(ctx, tok, name, args)
		if err != nil {
			log.Info("mcp proxy: approval token refused", "err", err)
			return refused(a, p.cfg.Approvals, "The approval token was refused: "+tokenProblem(err)+"."), nil
		}
		if a.Principal.ID != who.ID {
			// Tokens are bearer: the approval was of this exact call, but
			// say so in the log when someone else presents it.
			log.Info("mcp proxy: approval token of another principal used", "approval", a.ID, "requester", a.Principal.ID)
		}
		log.Info("mcp proxy: forwarding approved call", "approval", a.ID, "via", "token")
		return u.forward(ctx, name, args, req.Params.Meta)
	}

	digest, err := approval.Digest(name, args)
	if err != nil {
		return toolError(fmt.Sprintf("Brightline refused the call to %s: its arguments are not a JSON object.", name), nil), nil
	}
	key := pendingKey{u.cfg.Name, who.ID, digest}

	// An approved, unconsumed approval of exactly this call.
	if res, ok, err := u.runApproved(ctx, log, key, name, args, req.Params.Meta); ok || err != nil {
		return res, err
	}

	// A pending approval of this call, from an earlier attempt.
	var a approval.Approval
	if id := p.pendingID(key); id != "" {
		a, err = p.cfg.Approvals.Get(ctx, id)
		switch {
		case err != nil:
			log.Error("mcp proxy: couldn't read approval", "approval", id, "err", err)
			p.forgetPending(key, id)
			return nil, errInternal
		case a.Status == approval.StatusDenied || a.Status == approval.StatusExpired:
			p.forgetPending(key, id)
			return refused(a, p.cfg.Approvals, ""), nil
		case a.Status != approval.StatusPending:
			// Approved and consumed by a racing call, or approved but
			// past its expiry: ask again.
			p.forgetPending(key, id)
			a = approval.Approval{}
		}
	}
	if a.ID == "" {
		rule := "human-control-of-force"
		if info.class != toolclass.Force {
			rule = "approval-required-" + info.class
		}
		a, err = p.cfg.Approvals.Create(ctx, approval.Request{
			RequestID: "mcp_" + randomHex(12),
			Principal: who,
			Tool:      name,
			Class:     info.class,
			Arguments: args,
			Rule:      rule,
			Require:   req2,
			TTL:       p.cfg.ApprovalTTL,
			Excerpt:   fmt.Sprintf("MCP tools/call through upstream %q: %s %s", u.cfg.Name, name, args),
		})
		if err != nil {
			log.Error("mcp proxy: couldn't hold call", "err", err)
			return nil, errInternal
		}
		p.rememberPending(key, a.ID)
		log.Info("mcp proxy: call held for approval", "approval", a.ID, "role", req2.Role, "count", req2.Count)
	}

	if p.cfg.WaitLimit > 0 {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.WaitLimit)
		got, err := p.cfg.Approvals.Wait(wctx, a.ID)
		cancel()
		switch {
		case err == nil && got.Status == approval.StatusApproved:
			if res, ok, err := u.runApproved(ctx, log, key, name, args, req.Params.Meta); ok || err != nil {
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
	}
	return held(a, p.cfg.Approvals), nil
}

// runApproved runs the call if its caller holds an approved, unconsumed
// approval of exactly it. ok reports whether it found one and ran it.
func (u *upstream) runApproved(ctx context.Context, log interface {
	Info(string, ...any)
	Error(string, ...any)
}, key pendingKey, name string, args json.RawMessage, meta mcp.Meta) (_ *mcp.CallToolResult, ok bool, _ error) {
	ap := u.p.cfg.Approvals
	a, err := ap.FindApproved(ctx, key.principal, key.digest)
	if errors.Is(err, brightline.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		log.Error("mcp proxy: couldn't look for an approval", "err", err)
		return nil, false, errInternal
	}
	tok, err := ap.Token(ctx, a.ID)
	if err == nil {
		_, err = ap.Consume(ctx, tok, name, args)
	}
	if err != nil {
		// Consumed by a racing identical call, or expired since the
		// lookup: this call is held again.
		log.Info("mcp proxy: approval could not be used", "approval", a.ID, "err", err)
		return nil, false, nil
	}
	u.p.forgetPending(key, a.ID)
	log.Info("mcp proxy: forwarding approved call", "approval", a.ID, "via", "arguments")
	res, err := u.forward(ctx, name, args, meta)
	return res, true, err
}

var errInternal = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "brightline could not check the approval of this call"}

// forward sends the call upstream, with the caller's _meta except the
// proxy's own keys and the protocol's per-request keys, which the upstream
// session sets for itself.
func (u *upstream) forward(ctx context.Context, name string, args json.RawMessage, meta mcp.Meta) (*mcp.CallToolResult, error) {
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
