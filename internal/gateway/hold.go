package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/safeguard"
)

// Approvals records tool calls held for human approval
// (*approval.Service).
type Approvals interface {
	Create(ctx context.Context, r approval.Request) (approval.Approval, error)
	StatusURL(id string) string
}

// Held is what a client is told about a tool call held for approval: the
// text notice that replaces the call, and the same facts for machines.
type Held struct {
	ApprovalID string    `json:"approval_id"`
	Tool       string    `json:"tool"`
	StatusURL  string    `json:"status_url"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Header names that carry held calls on a non-streamed answer, one value
// per held call, in the order of the notices.
const (
	HeaderHeldApproval  = "Brightline-Approval-Id"
	HeaderHeldStatusURL = "Brightline-Approval-Status-Url"
	HeaderHeldExpires   = "Brightline-Approval-Expires"
)

// withhold returns the notice that replaces a tool call policy did not
// release. A call held for approval is first recorded as an approval
// request bound to its exact arguments; if that cannot be recorded, the
// call stays withheld and the answer fails with an error.
func (g *Gateway) withhold(x *exchange, o safeguard.ToolOutcome, call *llm.ToolCall) (string, error) {
	d := o.Decision
	if d.Action != brightline.ActionRequireApproval {
		return "[brightline] " + sentence(refusalMessage(d, "Tool call "+call.Name, "blocked")), nil
	}
	if g.cfg.Approvals == nil {
		return "[brightline] " + sentence(refusalMessage(d, "Tool call "+call.Name, "held for human approval, but this gateway has no approval service, so it was not released")), nil
	}
	role, count, ttl := x.sg.Policy.ApprovalRequirement(d)
	args := call.Arguments
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	a, err := g.cfg.Approvals.Create(x.ctx, approval.Request{
		RequestID:     x.id,
		Principal:     x.principal,
		Tool:          call.Name,
		Class:         o.Effect.Class,
		Arguments:     args,
		PolicyVersion: d.PolicyVersion,
		Rule:          d.Rule,
		Require:       approval.Requirement{Role: role, Count: count},
		TTL:           ttl,
		Excerpt:       x.excerpt,
		// The provider and model that proposed the call: an MCP upstream
		// never matches it, so the approval can't be spent elsewhere.
		Upstream: approval.GatewayUpstream(x.served.Target),
	})
	if errors.Is(err, approval.ErrTooManyPending) {
		// A *brightline.Error with code rate_limited: HTTP 429.
		return "", err
	}
	if err != nil {
		return "", &brightline.Error{Code: brightline.CodeUnavailable,
			Message:    fmt.Sprintf("tool call %s needs human approval, and the approval request could not be recorded; nothing was released", call.Name),
			RetryAfter: time.Second, Err: err}
	}
	h := Held{ApprovalID: a.ID, Tool: call.Name, StatusURL: g.cfg.Approvals.StatusURL(a.ID), ExpiresAt: a.ExpiresAt.UTC()}
	x.held = append(x.held, h)
	x.approvals = append(x.approvals, a.ID)
	who := fmt.Sprintf("%d approver with role %s", count, role)
	if count > 1 {
		who = fmt.Sprintf("%d distinct approvers with role %s", count, role)
	}
	return fmt.Sprintf("[brightline] %s It needs %s.\napproval_id: %s\nstatus_url: %s\nexpires_at: %s",
		sentence(refusalMessage(d, "Tool call "+call.Name, "held for human approval")), who,
		h.ApprovalID, h.StatusURL, h.ExpiresAt.Format(time.RFC3339)), nil
}

// excerpt is the last user text of a request, shortened, for approvers.
// It copies at most what it keeps (about excerptRunes runes), not the
// text, which may be tens of megabytes.
func excerpt(req *llm.Request) string {
	const limit = (excerptRunes + 1) * utf8.UTFMax
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != llm.RoleUser {
			continue
		}
		var b strings.Builder
		cut := false
		for _, bl := range m.Content {
			if bl.Type != llm.BlockText {
				continue
			}
			t := bl.Text
			if b.Len() == 0 {
				// Leading space is trimmed, so it does not count.
				if t = strings.TrimLeftFunc(t, unicode.IsSpace); t == "" {
					continue
				}
			}
			if n := limit - b.Len(); len(t) > n {
				t, cut = t[:n], true
			}
			b.WriteString(t)
			b.WriteByte(' ')
			if cut {
				break
			}
		}
		s := b.String()
		if !cut {
			s = strings.TrimRightFunc(s, unicode.IsSpace)
		}
		// (When cut, "…" is added even if only space follows.)
		if s != "" {
			if cut || utf8.RuneCountInString(s) > excerptRunes {
				n := 0
				for j := range s {
					if n == excerptRunes {
						s = s[:j]
						break
					}
					n++
				}
				s += "…"
			}
			return s
		}
	}
	return ""
}

// excerptRunes is the length of an excerpt, in runes.
const excerptRunes = 400
