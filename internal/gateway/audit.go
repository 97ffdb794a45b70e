package gateway

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/policy"
)

// Auditor records decisions in the verifiable audit log (*auditlog.Log).
// Append returns the entry's signed receipt once the entry is durable (in
// the log's journal, or in the tree), or an error: the gateway then refuses
// to release the answer. The receipt of the request's decision goes to the
// client in the Brightline-Audit-Receipt header; a zero receipt (no Note)
// sends none.
type Auditor interface {
	Append(ctx context.Context, e auditlog.Entry, c *auditlog.Commitment) (auditlog.Receipt, error)
}

// AuditStatus is the audit log's state as /healthz shows it. /healthz is
// "degraded" exactly while Degraded is set; LastError is history.
type AuditStatus struct {
	Size          uint64    `json:"size"`           // entries sequenced and integrated
	PublishedSize uint64    `json:"published_size"` // covered by a checkpoint with the witness quorum
	JournalSize   uint64    `json:"journal_size,omitempty"`
	Lag           uint64    `json:"lag,omitempty"`         // journal entries not yet integrated
	LagSeconds    float64   `json:"lag_seconds,omitempty"` // age of the oldest of them
	Degraded      string    `json:"degraded,omitempty"`    // why requests are refused now; "" when the log works
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
}

// auditTimeout bounds one append: a log that cannot take an entry in this
// time is treated as failed, and the request is refused.
const auditTimeout = 10 * time.Second

// errAuditFailed is what the client is told when its decision could not
// be recorded.
func errAuditFailed(err error) error {
	return &brightline.Error{Code: brightline.CodeUnavailable, RetryAfter: 2 * time.Second, Err: err,
		Message: "the gateway could not record its decision in the audit log, so it released nothing; retry later"}
}

// entry is the audit-log entry of decision d on exchange x: decisions and
// metadata, never content.
func (x *exchange) entry(d brightline.Decision, in *policy.Input) auditlog.Entry {
	e := auditlog.Entry{
		Kind:          "decision",
		Time:          in.Time,
		RequestID:     x.id,
		PrincipalID:   x.principal.ID,
		Dialect:       string(x.codec.dialect),
		Provider:      x.served.Provider,
		Model:         x.model,
		PolicyHash:    d.PolicyHash,
		PolicyVersion: d.PolicyVersion,
		TrustHash:     d.TrustHash,
		Stage:         string(d.Stage),
		Action:        string(d.Action),
		Subjects:      in.Findings.Subjects,
	}
	if x.served.Model != "" {
		e.Model = x.served.Model
	}
	for _, m := range d.Matches {
		e.Matches = append(e.Matches, auditlog.Match{Safeguard: m.Safeguard, Rule: m.Rule, Action: string(m.Action)})
	}
	for t, n := range in.Findings.Counts {
		if n > 0 {
			if e.Detections == nil {
				e.Detections = map[string]int{}
			}
			e.Detections[t] = n
		}
	}
	if d.Authorization != "" {
		e.Detail = map[string]string{"authorization": d.Authorization}
	}
	if d.Stage == brightline.StageToolCall {
		e.Detail = setDetail(e.Detail, "tool", in.ToolCall.Name)
		e.Detail = setDetail(e.Detail, "effect", in.ToolCall.Effect)
	}
	return e
}

func setDetail(m map[string]string, k, v string) map[string]string {
	if v == "" {
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// pendingAudit is a decision's append whose result the answer waits for.
// A deferred one (the request's decision, with an Auditor that can append
// several entries together) starts when the first upstream attempt takes
// it to go with its forward entry, so that forwarding waits for one
// journal flush, not two; or, if no attempt does, when its result is
// first waited for. Either way it is appended before anything is released
// to the client.
type pendingAudit struct {
	done    chan struct{}
	err     error
	receipt auditlog.Receipt

	// Set on a deferred append only.
	taken atomic.Bool
	g     *Gateway
	ctx   context.Context
	e     auditlog.Entry
	c     *auditlog.Commitment
}

// groupAuditor is an Auditor that appends several entries in one journal
// group (*auditlog.Log).
type groupAuditor interface {
	AppendAll(ctx context.Context, items []auditlog.Item) ([]auditlog.Receipt, error)
}

// auditAsync starts appending e and returns at once; wait for the result
// before releasing anything to the client.
func (g *Gateway) auditAsync(x *exchange, e auditlog.Entry, c *auditlog.Commitment) *pendingAudit {
	p := &pendingAudit{done: make(chan struct{}), g: g, ctx: x.ctx, e: e, c: c}
	p.start()
	return p
}

// auditDeferred is auditAsync for the request's decision: with a
// groupAuditor, the append waits for the first upstream attempt to take it
// (take) or for the first wait.
func (g *Gateway) auditDeferred(x *exchange, e auditlog.Entry, c *auditlog.Commitment) *pendingAudit {
	if _, ok := g.cfg.Audit.(groupAuditor); !ok {
		return g.auditAsync(x, e, c)
	}
	return &pendingAudit{done: make(chan struct{}), g: g, ctx: x.ctx, e: e, c: c}
}

// start appends p's entry alone, unless it has been started or taken.
func (p *pendingAudit) start() {
	if p == nil || !p.taken.CompareAndSwap(false, true) {
		return
	}
	// The append outlives a client that goes away: the decision was made.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), auditTimeout)
	go func() {
		defer cancel()
		r, err := p.g.cfg.Audit.Append(ctx, p.e, p.c)
		p.resolve(r, err)
	}()
}

// take claims p's append for a caller that appends it together with its
// own entry and then calls resolve; false if p was started or taken.
func (p *pendingAudit) take() bool {
	return p != nil && p.taken.CompareAndSwap(false, true)
}

// resolve ends p's append with its result.
func (p *pendingAudit) resolve(r auditlog.Receipt, err error) {
	if err != nil {
		p.err = errAuditFailed(err)
	}
	p.receipt = r
	close(p.done)
}

// wait returns the append's result.
func (p *pendingAudit) wait() error {
	if p == nil {
		return nil
	}
	p.start()
	<-p.done
	return p.err
}

// setReceipt puts the append's receipt in h once it has succeeded.
func (p *pendingAudit) setReceipt(h http.Header) {
	if p == nil || p.wait() != nil || p.receipt.Note == nil {
		return
	}
	h.Set(auditverify.ReceiptHeader, p.receipt.Encode())
}

// audit appends the entry of decision d and waits until it is sequenced.
// Without an Auditor it does nothing.
func (g *Gateway) audit(x *exchange, d brightline.Decision, in *policy.Input) error {
	if g.cfg.Audit == nil {
		return nil
	}
	e := x.entry(d, in)
	if d.Stage == brightline.StageToolCall {
		e.ApprovalIDs = x.approvals[x.auditedApprovals:]
		x.auditedApprovals = len(x.approvals)
	}
	return g.auditAsync(x, e, nil).wait()
}
