package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/provider"
)

// forwarder receipts every upstream attempt of one exchange (issue 17):
// before a provider sends a request, it appends a "forward" entry to the
// log, committing to the exact bytes sent under a fresh salt, and gives
// the provider the Brightline-Receipt header value: the log's receipt for
// that entry, the entry and the salt. If the append fails nothing is sent
// and the client gets the 503 of any audit failure.
//
// Retries, failovers and refusal retries share the exchange's forwarder,
// so their attempt numbers count up; each gets its own entry and receipt.
type forwarder struct {
	g      *Gateway
	x      *exchange
	d      brightline.Decision // the request's decision: the policy and trust in force
	shadow bool
	// attempts counts the attempts receipted so far; attempts may come
	// from the request's goroutine and from a shadow worker.
	attempts atomic.Int64
}

var _ provider.Forwarder = (*forwarder)(nil)

// withForwarder returns ctx with the receipting forwarder of exchange x,
// decided by d, or ctx unchanged without an Auditor.
func (g *Gateway) withForwarder(ctx context.Context, x *exchange, d brightline.Decision) context.Context {
	if g.cfg.Audit == nil {
		return ctx
	}
	return provider.WithForwarder(ctx, &forwarder{g: g, x: x, d: d})
}

// append appends the forward entry e; the first attempt's goes in one
// journal group with the request's decision, if that has not started.
func (f *forwarder) append(ctx context.Context, e auditlog.Entry) (auditlog.Receipt, error) {
	p := f.x.pending
	ga, ok := f.g.cfg.Audit.(groupAuditor)
	if !ok || f.shadow || !p.take() {
		return f.g.cfg.Audit.Append(ctx, e, nil)
	}
	rs, err := ga.AppendAll(ctx, []auditlog.Item{{Entry: p.e, Commitment: p.c}, {Entry: e}})
	if err != nil {
		p.resolve(auditlog.Receipt{}, err)
		return auditlog.Receipt{}, err
	}
	p.resolve(rs[0], nil)
	return rs[1], nil
}

// Forward appends the forward entry of one attempt and returns its
// upstream receipt, encoded. An Auditor that returns unsigned receipts
// (tests, dry runs) yields "": the request goes without the header.
func (f *forwarder) Forward(ctx context.Context, fw provider.Forward) (string, error) {
	n := f.attempts.Add(1)
	salt := make([]byte, auditverify.UpstreamSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return "", errAuditFailed(fmt.Errorf("couldn't draw a salt for the forward entry: %w", err))
	}
	e := auditlog.Entry{
		Kind:          auditlog.KindForward,
		Time:          f.g.cfg.Now(),
		RequestID:     f.x.id,
		PrincipalID:   f.x.principal.ID,
		Dialect:       string(f.x.codec.dialect),
		Provider:      fw.Provider,
		Model:         fw.Model,
		PolicyHash:    f.d.PolicyHash,
		PolicyVersion: f.d.PolicyVersion,
		TrustHash:     f.d.TrustHash,
		Commitment:    auditverify.UpstreamCommitment(salt, fw.Body),
		Detail:        map[string]string{"attempt": strconv.FormatInt(n, 10)},
	}
	if f.shadow {
		e.Detail["shadow"] = "true"
	}
	// The log stores the time to the microsecond, in UTC; so do the
	// bytes the provider gets.
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	entry, err := e.Marshal()
	if err != nil {
		return "", errAuditFailed(err)
	}
	// Like the decision's, the append outlives a client that goes away.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	r, err := f.append(actx, e)
	if err != nil {
		return "", errAuditFailed(err)
	}
	if r.Note == nil {
		return "", nil
	}
	// The receipt must promise these exact bytes. That they are a
	// forward entry committing to fw.Body under salt holds by
	// construction, above: parsing them back and hashing the body again
	// (auditverify.NewUpstreamReceipt's checks) cost 3-4% of the
	// gateway's CPU at full load. TestUpstreamReceipts and its neighbours
	// have every kind of provider check the receipts as a real one would.
	if !r.Matches(entry) {
		return "", errAuditFailed(fmt.Errorf("the log's receipt for the forward entry of request %s is for another entry", f.x.id))
	}
	return auditverify.UpstreamReceipt{Receipt: r, Entry: entry, Salt: salt}.Encode(), nil
}
