package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/safeguard"
)

// PolicySource gives the policy in force. Implementations that reload swap
// the policy atomically: a request is decided, from first stage to last,
// by the policy Current returned when it arrived.
type PolicySource interface {
	Current() *policy.Policy
	Status() PolicyStatus
}

// PolicyStatus describes the policy in force and the last activation that
// was refused, for /healthz, /metrics and the admin API.
type PolicyStatus struct {
	Source      string         `json:"source"` // "embedded default" or the policy file's path
	Version     int64          `json:"version"`
	Hash        string         `json:"hash"`
	Signers     []string       `json:"signers"`
	Unsigned    bool           `json:"unsigned"` // development mode: loaded without signatures
	ActivatedAt time.Time      `json:"activated_at"`
	LastRefusal *PolicyRefusal `json:"last_refusal,omitempty"`
}

// PolicyRefusal is an activation the gateway refused; the previous policy
// stayed in force.
type PolicyRefusal struct {
	At      time.Time `json:"at"`
	Version int64     `json:"version,omitempty"`
	Reason  string    `json:"reason"`
}

// StaticPolicy is a PolicySource that never changes.
type StaticPolicy struct {
	Policy *policy.Policy
	Source string
}

// Current implements PolicySource.
func (s StaticPolicy) Current() *policy.Policy { return s.Policy }

// Status implements PolicySource.
func (s StaticPolicy) Status() PolicyStatus {
	return PolicyStatus{Source: s.Source, Version: s.Policy.Version(), Hash: s.Policy.Hash(), Signers: []string{}}
}

// decisionError is the client's error for a request or answer that policy
// stopped, or nil if d lets it through.
func decisionError(d brightline.Decision, what string) error {
	switch d.Action {
	case brightline.ActionDeny:
		return &brightline.Error{Code: brightline.CodePolicyDenied, Message: refusalMessage(d, what, "denied")}
	case brightline.ActionRequireApproval:
		return &brightline.Error{Code: brightline.CodeApprovalRequired, Message: refusalMessage(d, what, "held for human approval") +
			" (only tool calls can be held for approval, so this was refused)"}
	}
	return nil
}

// sentence ends s with a full stop unless it has one.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

func refusalMessage(d brightline.Decision, what, verb string) string {
	by := "rule " + d.Rule
	if d.Safeguard != "" {
		by = fmt.Sprintf("safeguard %s (rule %s)", d.Safeguard, d.Rule)
	}
	msg := fmt.Sprintf("%s %s by %s", what, verb, by)
	if d.Message != "" {
		msg += ": " + d.Message
	}
	return msg
}

// policyError is the fail-closed answer when a policy cannot be evaluated.
func policyError(stage brightline.Stage, err error) error {
	what := map[brightline.Stage]string{
		brightline.StageRequest:  "the request could not be checked against the policy, so it was not forwarded",
		brightline.StageResponse: "the answer could not be checked against the policy, so it was withheld",
		brightline.StageToolCall: "a tool call could not be checked against the policy, so the answer was withheld",
	}[stage]
	return &brightline.Error{Code: brightline.CodePolicyError, Message: what, Err: err}
}

// decideResponse runs the tool_call and response stages on a complete
// answer. Tool calls policy does not release are replaced by a text notice
// at the same place; if none remain, a tool_use stop becomes end_turn. A
// denied answer, or one that cannot be evaluated, is an error.
func (g *Gateway) decideResponse(x *exchange, resp *llm.Response) error {
	modelText := safeguard.TextBytes(resp.Content) // before notices are added: rules judge the model's output
	if err := g.decideServerBlocks(x, resp); err != nil {
		return err
	}
	if x.sg.Decides(brightline.StageToolCall) {
		kept := 0
		for i := range resp.Content {
			b := &resp.Content[i]
			if b.Type != llm.BlockToolUse {
				continue
			}
			o, err := x.sg.ToolCall(b.ToolCall.Name, b.ToolCall.Arguments, x.served.Provider)
			if err != nil {
				return policyError(brightline.StageToolCall, err)
			}
			x.record(o.Decision)
			if o.Decision.Action.Rank() >= brightline.ActionRequireApproval.Rank() {
				notice, err := g.withhold(x, o, b.ToolCall)
				if err != nil {
					return err
				}
				if err := g.audit(x, o.Decision, o.Input); err != nil {
					return err
				}
				*b = llm.Block{Type: llm.BlockText, Text: notice}
				resp.Raw = nil
				continue
			}
			if err := g.audit(x, o.Decision, o.Input); err != nil {
				return err
			}
			kept++
		}
		if resp.Raw == nil && kept == 0 && resp.StopReason == llm.StopToolUse {
			resp.StopReason = llm.StopEndTurn
		}
	}
	if x.sg.Decides(brightline.StageResponse) {
		o, err := x.sg.Response(resp.StopReason, modelText, true)
		if err != nil {
			return policyError(brightline.StageResponse, err)
		}
		x.record(o.Decision)
		if err := g.audit(x, o.Decision, o.Input); err != nil {
			return err
		}
		if err := decisionError(o.Decision, "The answer was"); err != nil {
			return err
		}
	}
	return nil
}

// retryRefusal retries a provider's safety refusal on the route's next
// targets, but only while a policy rule with allow_refusal_retry matches:
// a refusal is otherwise the answer, never routed around. Streams are not
// retried, since the refusal is known only after text has been sent.
func (g *Gateway) retryRefusal(ctx context.Context, x *exchange, req *llm.Request, hdr http.Header,
	resp *llm.Response, served provider.Served) (*llm.Response, provider.Served, error) {
	for resp.StopReason == llm.StopRefusal {
		ok, err := x.sg.RetryRefusal(safeguard.TextBytes(resp.Content))
		if err != nil {
			return nil, served, policyError(brightline.StageResponse, err)
		}
		if !ok {
			break
		}
		next, s, err := g.router.CompleteAfter(ctx, req, hdr, served.Target)
		if err != nil {
			// No other target could answer: the refusal stands.
			g.log.Info("refusal retry failed; the refusal stands", "request_id", x.id, "after", served.Target, "err", err)
			break
		}
		g.log.Info("refusal retried on the next target, as policy allows", "request_id", x.id, "refused_by", served.Target, "answered_by", s.Target)
		resp, served = next, s
	}
	return resp, served, nil
}

// setAnnotations tells the client which annotate rules flagged its request,
// in x-brightline-annotations (comma-separated rule ids).
func setAnnotations(w http.ResponseWriter, d brightline.Decision) {
	var ids []string
	for _, m := range d.Matches {
		if m.Action == brightline.ActionAnnotate {
			ids = append(ids, m.Rule)
		}
	}
	if len(ids) > 0 {
		w.Header().Set("x-brightline-annotations", strings.Join(ids, ", "))
	}
}
