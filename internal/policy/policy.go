package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"go.yaml.in/yaml/v3"

	"github.com/brightline/brightline"
)

// Redacted replaces each match of a redact pattern.
const Redacted = "[REDACTED]"

// Policy is a compiled policy file. It is immutable and safe for
// concurrent use.
type Policy struct {
	file    *File
	hash    string
	version int64
	trust   string // hash of the trust set the bundle was verified against
	headers []string
	// stages holds each stage's rules in policy order: safeguard rules
	// first, in file order, then the rules that belong to no safeguard.
	stages map[brightline.Stage][]*rule
	byID   map[string]*rule
	// refusalRetry holds the response-stage rules with allow_refusal_retry.
	refusalRetry []*rule
	auths        []*authorization
	tools        *ToolEffects
	undeclared   string
	maxPending   int
}

// rule is a compiled Rule.
type rule struct {
	Rule
	safeguard string
	prg       cel.Program
	redact    []*regexp.Regexp
	ttl       time.Duration // approval_ttl, parsed
}

// EvalError is returned by [Policy.Evaluate] when a rule fails at run time,
// for example by reading a map key that is absent. The caller must refuse
// what was being decided: a rule that cannot be evaluated has not been
// satisfied.
type EvalError struct {
	Stage     brightline.Stage
	Safeguard string // empty for a rule outside any safeguard
	Rule      string
	Err       error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("policy: couldn't evaluate rule %q at stage %s: %v", e.Rule, e.Stage, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Load parses and compiles a policy file.
func Load(filename string, data []byte) (*Policy, error) {
	f, err := Parse(filename, data)
	if err != nil {
		return nil, err
	}
	return Compile(f)
}

var validStages = map[brightline.Stage]bool{
	brightline.StageRequest:  true,
	brightline.StageResponse: true,
	brightline.StageToolCall: true,
}

// Compile checks a File and compiles its rules. Every problem is reported,
// joined, each as "file:line: rule "id": what is wrong", with the CEL
// checker's own message for a bad expression. A reference to an attribute
// or field that does not exist is such an error, as is an expression that
// is not of type bool.
func Compile(f *File) (*Policy, error) {
	c := &compiler{f: f}
	src := f.Source
	if src == nil {
		var err error
		if src, err = yaml.Marshal(f); err != nil {
			return nil, fmt.Errorf("policy: couldn't encode policy %s for hashing: %w", f.Name, err)
		}
	}
	p := &Policy{
		file:   f,
		hash:   HashSource(src),
		stages: map[brightline.Stage][]*rule{},
		byID:   map[string]*rule{},
	}
	seenHeaders := map[string]bool{}
	for _, h := range f.MetadataHeaders {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "" || strings.ContainsAny(name, " \t:"):
			c.errorf(0, "", "invalid metadata header name %q", h)
		case !seenHeaders[name]:
			seenHeaders[name] = true
			p.headers = append(p.headers, name)
		}
	}
	seenSafeguards := map[string]int{}
	for _, s := range f.Safeguards {
		switch {
		case s.ID == "":
			c.errorf(s.Line, "", "safeguard has no id")
		case seenSafeguards[s.ID] != 0:
			c.errorf(s.Line, "", "duplicate safeguard id %q (first at line %d)", s.ID, seenSafeguards[s.ID])
		default:
			seenSafeguards[s.ID] = max(s.Line, 1)
		}
		for _, r := range s.Rules {
			c.rule(p, s.ID, r)
		}
	}
	for _, r := range f.Rules {
		c.rule(p, "", r)
	}
	c.authorizations(p)
	c.tools(p)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return p, nil
}

// tools compiles the tool declarations and the switches that go with them.
func (c *compiler) tools(p *Policy) {
	t, err := NewToolEffects(c.f.Tools, NormalizeToolName)
	if err != nil {
		c.errorf(0, "", "tools: %v", err)
	}
	p.tools = t
	switch c.f.UndeclaredTools {
	case "":
		p.undeclared = UndeclaredClassify
	case UndeclaredClassify, UndeclaredHold:
		p.undeclared = c.f.UndeclaredTools
	default:
		c.errorf(0, "", "undeclared_tools: %q is not classify or hold", c.f.UndeclaredTools)
	}
	p.maxPending = c.f.Approvals.MaxPendingPerRequester
	if p.maxPending <= 0 {
		p.maxPending = DefaultMaxPendingPerRequester
	}
}

// Tools returns the tool effect declarations of the signed policy.
func (p *Policy) Tools() *ToolEffects { return p.tools }

// UndeclaredTools returns UndeclaredClassify or UndeclaredHold.
func (p *Policy) UndeclaredTools() string { return p.undeclared }

// MaxPendingPerRequester is how many approvals one requester may have
// pending at once.
func (p *Policy) MaxPendingPerRequester() int { return p.maxPending }

// authorization is a compiled Authorization.
type authorization struct {
	attrs      AuthorizationAttrs
	principals map[string]bool
	expires    time.Time
}

// authorizations checks and compiles the file's authorizations.
func (c *compiler) authorizations(p *Policy) {
	seen := map[string]bool{}
	for _, a := range c.f.Authorizations {
		switch {
		case a.ID == "":
			c.errorf(a.Line, "", "authorization has no id")
		case seen[a.ID]:
			c.errorf(a.Line, "", "duplicate authorization id %q", a.ID)
		}
		seen[a.ID] = true
		if strings.TrimSpace(a.Reference) == "" {
			c.errorf(a.Line, "", "authorization %q has no reference: name the legal instrument it rests on", a.ID)
		}
		if len(a.Principals) == 0 {
			c.errorf(a.Line, "", "authorization %q names no principals", a.ID)
		}
		exp, err := time.Parse(time.RFC3339, a.Expires)
		if err != nil {
			c.errorf(a.Line, "", "authorization %q: expires %q is not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z)", a.ID, a.Expires)
		}
		ca := &authorization{
			attrs:      AuthorizationAttrs{ID: a.ID, Reference: a.Reference, Scope: a.Scope, Limits: maps.Clone(a.Limits)},
			principals: map[string]bool{},
			expires:    exp,
		}
		if ca.attrs.Limits == nil {
			ca.attrs.Limits = map[string]int{}
		}
		for _, pr := range a.Principals {
			ca.principals[pr] = true
		}
		p.auths = append(p.auths, ca)
	}
}

// authorizationFor returns the authorization in force for the principal
// at t: the first in file order that names its ID or name and has not
// expired.
func (p *Policy) authorizationFor(pr *brightline.Principal, t time.Time) *authorization {
	for _, a := range p.auths {
		if (a.principals[pr.ID] || pr.Name != "" && a.principals[pr.Name]) && t.Before(a.expires) {
			return a
		}
	}
	return nil
}

type compiler struct {
	f    *File
	errs []error
	// seen maps rule ids to the line of their first definition.
	seen map[string]int
}

func (c *compiler) errorf(line int, ruleID, format string, args ...any) {
	var b strings.Builder
	if c.f.Name == "" {
		b.WriteString("policy")
	}
	b.WriteString(c.f.Name)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
	}
	b.WriteString(": ")
	if ruleID != "" {
		fmt.Fprintf(&b, "rule %q: ", ruleID)
	}
	fmt.Fprintf(&b, format, args...)
	c.errs = append(c.errs, errors.New(b.String()))
}

func (c *compiler) rule(p *Policy, safeguard string, r Rule) {
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	n := len(c.errs)
	switch {
	case r.ID == "":
		c.errorf(r.Line, "", "rule has no id")
	case c.seen[r.ID] != 0:
		c.errorf(r.Line, r.ID, "duplicate rule id (first at line %d)", c.seen[r.ID])
	default:
		c.seen[r.ID] = max(r.Line, 1)
	}
	if !validStages[r.Stage] {
		c.errorf(r.Line, r.ID, "stage %q: want request, response or tool_call", r.Stage)
	}
	if !r.Action.Valid() {
		c.errorf(r.Line, r.ID, "action %q: want allow, annotate, redact, require_approval or deny", r.Action)
	}
	if r.Message == "" && (r.Action == brightline.ActionDeny || r.Action == brightline.ActionRequireApproval) {
		c.errorf(r.Line, r.ID, "action %s needs a message", r.Action)
	}
	cr := &rule{Rule: r, safeguard: safeguard}
	switch {
	case r.Action == brightline.ActionRedact && len(r.Redact) == 0 && len(r.RedactIdentifiers) == 0:
		c.errorf(r.Line, r.ID, "action redact needs redact patterns or redact_identifiers")
	case len(r.RedactIdentifiers) > 0 && (r.Action != brightline.ActionRedact || r.Stage != brightline.StageRequest):
		c.errorf(r.Line, r.ID, "redact_identifiers is allowed only with action redact at stage request")
	case r.RestoreIdentifiers && len(r.RedactIdentifiers) == 0:
		c.errorf(r.Line, r.ID, "restore_identifiers needs redact_identifiers")
	case len(r.Redact) > 0 && (r.Action != brightline.ActionRedact || r.Stage != brightline.StageRequest):
		c.errorf(r.Line, r.ID, "redact patterns are allowed only with action redact at stage request")
	}
	for _, t := range r.RedactIdentifiers {
		if t != "*" && !slices.Contains(brightline.IdentifierTypes, t) {
			c.errorf(r.Line, r.ID, "redact_identifiers: unknown identifier type %q (want one of %s, or *)", t, strings.Join(brightline.IdentifierTypes, ", "))
		}
	}
	for _, pat := range r.Redact {
		re, err := regexp.Compile(pat)
		if err != nil {
			c.errorf(r.Line, r.ID, "bad redact pattern: %v", err)
			continue
		}
		if re.MatchString("") {
			c.errorf(r.Line, r.ID, "redact pattern %q matches the empty string", pat)
			continue
		}
		cr.redact = append(cr.redact, re)
	}
	if (r.Approvers != nil || r.ApprovalTTL != "") && r.Action != brightline.ActionRequireApproval {
		c.errorf(r.Line, r.ID, "approvers and approval_ttl are allowed only with action require_approval")
	}
	if a := r.Approvers; a != nil && (a.Role == "" || a.Count < 1 || a.Count > 10) {
		c.errorf(r.Line, r.ID, "approvers needs a role and a count from 1 to 10")
	}
	if r.ApprovalTTL != "" {
		ttl, err := time.ParseDuration(r.ApprovalTTL)
		if err != nil || ttl < time.Minute || ttl > 7*24*time.Hour {
			c.errorf(r.Line, r.ID, "approval_ttl %q: want a duration from 1m to 168h, e.g. 15m", r.ApprovalTTL)
		}
		cr.ttl = ttl
	}
	if r.AllowRefusalRetry && r.Stage != brightline.StageResponse {
		c.errorf(r.Line, r.ID, "allow_refusal_retry is allowed only at stage response")
	}
	if strings.TrimSpace(r.When) == "" {
		c.errorf(r.WhenLine, r.ID, "rule has no when expression")
	} else {
		ast, iss := env.Compile(r.When)
		switch {
		case iss.Err() != nil:
			for _, e := range iss.Errors() {
				// CEL counts lines and columns within the expression;
				// a block scalar's text starts on the line after "|".
				line := r.WhenLine + max(e.Location.Line(), 1) - 1
				if r.WhenBlock {
					line++
				}
				c.errorf(line, r.ID, "when, column %d: %s", e.Location.Column()+1, e.Message)
			}
		case !ast.OutputType().IsExactType(cel.BoolType):
			c.errorf(r.WhenLine, r.ID, "when has type %s, want bool", ast.OutputType())
		default:
			prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
			if err != nil {
				c.errorf(r.WhenLine, r.ID, "%v", err)
			}
			cr.prg = prg
		}
	}
	if len(c.errs) > n {
		return
	}
	p.stages[r.Stage] = append(p.stages[r.Stage], cr)
	p.byID[r.ID] = cr
	if r.AllowRefusalRetry {
		p.refusalRetry = append(p.refusalRetry, cr)
	}
}

// File returns the file the policy was compiled from. It must not be
// modified.
func (p *Policy) File() *File { return p.file }

// Hash returns "sha256:" and the hex SHA-256 of the policy's source bytes
// ([HashSource] of them).
func (p *Policy) Hash() string { return p.hash }

// HashSource returns the hash of policy source bytes as [Policy.Hash]
// reports it, "sha256:" and the hex SHA-256, whether or not they compile:
// the store, the audit log and refusals name policies by it.
func HashSource(src []byte) string {
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Version returns the bundle version set by [Policy.WithVersion]; 0 for a
// policy that did not come from a bundle.
func (p *Policy) Version() int64 { return p.version }

// WithVersion returns a copy of p whose decisions carry version v.
func (p *Policy) WithVersion(v int64) *Policy {
	q := *p
	q.version = v
	return &q
}

// WithTrust returns a copy of p recording the hash of the trust set its
// bundle was verified against; decisions carry it into the audit log.
func (p *Policy) WithTrust(trustHash string) *Policy {
	q := *p
	q.trust = trustHash
	return &q
}

// TrustHash returns the hash of the trust set p's bundle was verified
// against, or "" for the embedded default and unsigned policies.
func (p *Policy) TrustHash() string { return p.trust }

// HasRules reports whether any rule is evaluated at stage, so that callers
// can skip building the input for stages no rule uses.
func (p *Policy) HasRules(stage brightline.Stage) bool {
	return len(p.stages[stage]) > 0
}

// MetadataHeaders returns the lower-cased names of the request headers that
// rules may read as request.metadata.
func (p *Policy) MetadataHeaders() []string { return p.headers }

// Metadata picks the allowed headers out of h for request.metadata. Every
// allowed header is present, as "" when the request did not send it, so
// that a rule such as request.metadata["x-mission"] == "training" is false
// rather than an error for requests without the header. It returns nil
// when the policy allows none. Repeated headers are joined with ", ".
func (p *Policy) Metadata(h http.Header) map[string]string {
	if len(p.headers) == 0 {
		return nil
	}
	m := make(map[string]string, len(p.headers))
	for _, name := range p.headers {
		m[name] = strings.Join(h.Values(name), ", ")
	}
	return m
}

// Evaluate decides in at stage. Only the rules of that stage run, in
// policy order. Every rule that matches is recorded in Decision.Matches;
// the most restrictive action wins (see [brightline.Action.Rank]), and of
// equally restrictive rules the first in policy order. If nothing matches,
// the action is allow.
//
// A rule that fails at run time stops the evaluation with an *EvalError;
// the caller must then refuse, not allow.
func (p *Policy) Evaluate(stage brightline.Stage, in *Input) (brightline.Decision, error) {
	d := brightline.Decision{
		Stage:         stage,
		Action:        brightline.ActionAllow,
		PolicyVersion: p.version,
		PolicyHash:    p.hash,
		TrustHash:     p.trust,
	}
	if !validStages[stage] {
		return brightline.Decision{}, fmt.Errorf("policy: couldn't evaluate: unknown stage %q", stage)
	}
	rules := p.stages[stage]
	if len(rules) == 0 {
		return d, nil
	}
	at := in.Time
	if at.IsZero() {
		at = time.Now()
	}
	auth := p.authorizationFor(&in.Principal, at)
	act := &activation{in: in}
	if auth != nil {
		act.auth = &auth.attrs
	}
	if err := p.evalRules(stage, rules, act, &d); err != nil {
		return brightline.Decision{}, err
	}
	if auth != nil {
		// The authorisation affects the decision if, without it, the
		// decision would differ: record it then, and only then.
		without := d
		without.Matches = nil
		if err := p.evalRules(stage, rules, &activation{in: in}, &without); err != nil {
			return brightline.Decision{}, err
		}
		if !slices.EqualFunc(d.Matches, without.Matches, func(a, b brightline.Match) bool { return a.Rule == b.Rule }) {
			d.Authorization = auth.attrs.ID
		}
	}
	return d, nil
}

// evalRules evaluates rules into d: every match is recorded, and the most
// restrictive wins.
func (p *Policy) evalRules(stage brightline.Stage, rules []*rule, act *activation, d *brightline.Decision) error {
	winner := -1
	for _, r := range rules {
		ok, err := r.eval(act)
		if err != nil {
			return &EvalError{Stage: stage, Safeguard: r.safeguard, Rule: r.ID, Err: err}
		}
		if !ok {
			continue
		}
		if winner < 0 || r.Action.Rank() > d.Matches[winner].Action.Rank() {
			winner = len(d.Matches)
		}
		d.Matches = append(d.Matches, brightline.Match{
			Safeguard: r.safeguard,
			Rule:      r.ID,
			Action:    r.Action,
			Message:   r.Message,
		})
	}
	if winner >= 0 {
		w := d.Matches[winner]
		d.Action, d.Safeguard, d.Rule, d.Message = w.Action, w.Safeguard, w.Rule, w.Message
	}
	return nil
}

// DefaultApprovalTTL is how long a held call waits for approval when its
// rule sets no approval_ttl.
const DefaultApprovalTTL = 15 * time.Minute

// ApprovalRequirement returns who must approve a call that decision d
// holds, and for how long it waits: from d's winning require_approval
// rule, or one "approver" for DefaultApprovalTTL.
func (p *Policy) ApprovalRequirement(d brightline.Decision) (role string, count int, ttl time.Duration) {
	role, count, ttl = "approver", 1, DefaultApprovalTTL
	r := p.byID[d.Rule]
	if r == nil || d.PolicyHash != p.hash {
		return role, count, ttl
	}
	if r.Approvers != nil {
		role, count = r.Approvers.Role, r.Approvers.Count
	}
	if r.ttl > 0 {
		ttl = r.ttl
	}
	return role, count, ttl
}

// RedactIdentifiers returns the identifier types that the redact rules
// among d's matches replace with placeholders ("*" for all), and whether
// any of them asks for the originals to be restored in the response.
func (p *Policy) RedactIdentifiers(d brightline.Decision) (types []string, restore bool) {
	for _, m := range d.Matches {
		if m.Action != brightline.ActionRedact {
			continue
		}
		if r := p.byID[m.Rule]; r != nil && len(r.RedactIdentifiers) > 0 {
			types = append(types, r.RedactIdentifiers...)
			restore = restore || r.RestoreIdentifiers
		}
	}
	return types, restore
}

func (r *rule) eval(act *activation) (bool, error) {
	out, _, err := r.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		// The checker proved the type bool; this is a bug, so fail closed.
		return false, fmt.Errorf("rule returned %s, want bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// Redact applies the patterns of every redact rule in d.Matches to text,
// replacing each match with [Redacted]. d must come from p's Evaluate: a
// decision from another policy is an error, since its rules may differ.
func (p *Policy) Redact(d brightline.Decision, text string) (string, error) {
	if d.PolicyHash != p.hash {
		return "", fmt.Errorf("policy: couldn't redact: decision is from policy %s, not %s", d.PolicyHash, p.hash)
	}
	for _, m := range d.Matches {
		if m.Action != brightline.ActionRedact {
			continue
		}
		r := p.byID[m.Rule]
		if r == nil {
			return "", fmt.Errorf("policy: couldn't redact: decision names unknown rule %q", m.Rule)
		}
		for _, re := range r.redact {
			text = re.ReplaceAllLiteralString(text, Redacted)
		}
	}
	return text, nil
}

// AllowsRefusalRetry reports whether a response-stage rule with
// allow_refusal_retry matches in, permitting the gateway to retry a
// provider's safety refusal on another provider. Errors are as for
// [Policy.Evaluate]; on error the refusal stands.
func (p *Policy) AllowsRefusalRetry(in *Input) (bool, error) {
	if len(p.refusalRetry) == 0 {
		return false, nil
	}
	act := &activation{in: in}
	for _, r := range p.refusalRetry {
		ok, err := r.eval(act)
		if err != nil {
			return false, &EvalError{Stage: brightline.StageResponse, Safeguard: r.safeguard, Rule: r.ID, Err: err}
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}
