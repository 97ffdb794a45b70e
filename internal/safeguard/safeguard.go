// Package safeguard is Brightline's one decider. It builds the input the
// policy's rules see ([policy.Input]) and decides, against one policy,
// a model request, each tool call of its answer, and the answer itself;
// and, outside any model exchange, a single tool call (the MCP proxy's
// tools/call). The gateway, streamed or not, the MCP proxy, and the dry
// runs brightline check and brightline replay call this package and
// nothing else to decide, so that a rule means the same thing on every
// path: a rule that passes a backtest with replay fires in the gateway.
//
// # Requests
//
// [Decider.Request] reads the request's attributes (model, dialect,
// messages, text size, tools offered, metadata headers), runs the
// detectors over every piece of text that reaches the model, links what
// they find into subjects, records the subjects and the request in the
// [Surveillance] state and reads the counters back, then evaluates the
// request rules. Counting happens before the decision: asking is what the
// mass-surveillance safeguard watches, so a refused request still counts.
// It returns an [Exchange] that decides the rest of the exchange with the
// same policy and the same request attributes.
//
// # Counters
//
// Counters are kept per principal (API key) and per organisation
// (principal.org): counters.subjects_* and the org_ windows
// counters.org_subjects_* merge every key of one organisation, so work
// split over several keys is counted as one. counters.requests_1h counts
// the principal's requests in the hour up to and including this one, on
// the request's own time. Without a Surveillance the counters are zero.
//
// # Tool effects
//
// Every tool path resolves a tool's effect class with [Decider.Effect]:
// the class the signed policy declares for the tool's normalised name;
// otherwise the classifier's class (from the tool's definition in the
// request, or from its name alone when the request did not define it),
// made force when the policy says undeclared_tools: hold and the tool is
// not informational; then the operator's config declaration, which may
// only raise the class. A tool that cannot be classified is force.
//
// # Failing closed
//
// Every decision returns an error when the policy cannot be evaluated or
// a tool call's arguments cannot be read. The caller must then refuse the
// request, or hold or withhold the call: never release it.
package safeguard

import (
	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/subjects"
)

// Config holds a Decider's options. The zero value of each field is usable.
type Config struct {
	// Tools are the operator's tool declarations (the config file's tools
	// list). They may only raise the class a tool would otherwise have.
	// Build them with policy.NewToolEffects(decls, policy.NormalizeToolName).
	// nil declares none.
	Tools *policy.ToolEffects
	// Surveillance is the state kept across requests for the counters.
	// nil fills the findings only and leaves every counter at zero.
	Surveillance *Surveillance
	// Trace, if set, is told every decision and the input it was made
	// on, in order, on the deciding goroutine. It must not keep or change
	// the input. For tests and debugging.
	Trace func(Outcome)
}

// Surveillance is the state the counters are read from: the subject
// keyer (per-deployment secret), the distinct-subject windows and the
// profile breadths, and the request windows. Each field may be nil, which
// leaves its counters at zero. It is safe for concurrent use.
type Surveillance struct {
	Keyer    *subjects.Keyer
	Counter  *subjects.Counter
	Profiles *subjects.Profiles
	Requests *subjects.Requests
}

// Decider decides requests, tool calls and answers. Create it with New;
// it is safe for concurrent use.
type Decider struct {
	cfg Config
}

// New returns a Decider with the options in cfg.
func New(cfg Config) *Decider { return &Decider{cfg: cfg} }

// Outcome is one decision and the input it was made on.
type Outcome struct {
	Decision brightline.Decision
	Input    *policy.Input
}

// trace reports an outcome to Config.Trace.
func (d *Decider) trace(dec brightline.Decision, in *policy.Input) {
	if d.cfg.Trace != nil {
		d.cfg.Trace(Outcome{Decision: dec, Input: in})
	}
}

// PolicyErrorAction is the action traced for a decision the policy could
// not make; the caller refuses or holds.
const PolicyErrorAction brightline.Action = "policy_error"

// evaluate evaluates stage on in and traces the outcome, a failure
// included.
func (d *Decider) evaluate(p *policy.Policy, stage brightline.Stage, in *policy.Input) (brightline.Decision, error) {
	dec, err := p.Evaluate(stage, in)
	if err != nil {
		d.trace(brightline.Decision{Stage: stage, Action: PolicyErrorAction, PolicyVersion: p.Version(), PolicyHash: p.Hash(), TrustHash: p.TrustHash()}, in)
		return dec, err
	}
	d.trace(dec, in)
	return dec, nil
}
