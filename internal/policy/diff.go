package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/brightline/brightline/internal/toolclass"
)

// Kinds of [Change].
const (
	SafeguardAdded   = "safeguard added"
	SafeguardRemoved = "safeguard removed"
	SafeguardChanged = "safeguard changed" // title or description
	RuleAdded        = "rule added"
	RuleRemoved      = "rule removed"
	RuleChanged      = "rule changed"
	HeadersChanged   = "metadata headers changed"
	ToolChanged      = "tool declaration changed"
	SettingChanged   = "setting changed"
	AllowChanged     = "allow-list changed"
	AuthzChanged     = "authorization changed"
)

// Change is one difference between two policy files.
type Change struct {
	Safeguard string // the rule's safeguard in the new file (the old one when removed); empty for other rules
	Rule      string // empty for safeguard and header changes
	Kind      string // one of the kinds above
	Detail    string // what changed, for people
	// Weakens is set when the change removes or may relax a protection,
	// so that the parties asked to sign it look closely.
	Weakens bool
}

func (c Change) String() string {
	var b strings.Builder
	if c.Weakens {
		b.WriteString("WEAKENS ")
	}
	b.WriteString(c.Kind)
	if c.Safeguard != "" {
		fmt.Fprintf(&b, " [%s]", c.Safeguard)
	}
	if c.Rule != "" {
		fmt.Fprintf(&b, " %s", c.Rule)
	}
	if c.Detail != "" {
		fmt.Fprintf(&b, ": %s", c.Detail)
	}
	return b.String()
}

// Diff compares two policy files rule by rule, matching rules by id. A
// change weakens the policy when it:
//   - removes a safeguard or a rule;
//   - lowers a rule's action (see [brightline.Action.Rank]);
//   - changes the when or the stage of a safeguard rule, since a changed
//     condition cannot be proved no weaker;
//   - removes a redact pattern;
//   - moves a rule out of a safeguard;
//   - grants allow_refusal_retry, which lets a refusal be retried elsewhere;
//   - removes a metadata header, which rules may rely on;
//   - lowers or removes a tool declaration, or declares a tool below
//     force (a new declaration can only take a tool out of the
//     classifier's hands), or turns undeclared_tools from hold to
//     classify;
//   - raises the cap on pending approvals;
//   - allows a provider feature (request field, beta, server tool);
//   - adds or changes an authorization, which raises limits.
//
// Changes come in a stable order: headers, safeguards, then rules in the
// order of the old file followed by the rules only the new file has.
// Either file may be nil, standing for an empty policy.
func Diff(old, new *File) []Change {
	if old == nil {
		old = &File{}
	}
	if new == nil {
		new = &File{}
	}
	var out []Change

	oldH, newH := headerSet(old.MetadataHeaders), headerSet(new.MetadataHeaders)
	var added, removed []string
	for h := range newH {
		if !oldH[h] {
			added = append(added, h)
		}
	}
	for h := range oldH {
		if !newH[h] {
			removed = append(removed, h)
		}
	}
	if len(added)+len(removed) > 0 {
		slices.Sort(added)
		slices.Sort(removed)
		var parts []string
		if len(added) > 0 {
			parts = append(parts, "added "+strings.Join(added, ", "))
		}
		if len(removed) > 0 {
			parts = append(parts, "removed "+strings.Join(removed, ", "))
		}
		out = append(out, Change{Kind: HeadersChanged, Detail: strings.Join(parts, "; "), Weakens: len(removed) > 0})
	}

	oldS, newS := safeguardsByID(old), safeguardsByID(new)
	for _, s := range old.Safeguards {
		n, ok := newS[s.ID]
		switch {
		case !ok:
			out = append(out, Change{Safeguard: s.ID, Kind: SafeguardRemoved, Detail: s.Title, Weakens: true})
		case n.Title != s.Title || n.Description != s.Description:
			out = append(out, Change{Safeguard: s.ID, Kind: SafeguardChanged, Detail: "title or description changed"})
		}
	}
	for _, s := range new.Safeguards {
		if _, ok := oldS[s.ID]; !ok {
			out = append(out, Change{Safeguard: s.ID, Kind: SafeguardAdded, Detail: s.Title})
		}
	}

	oldR, newR := rulesByID(old), rulesByID(new)
	for _, o := range rulesInOrder(old) {
		n, ok := newR[o.ID]
		if !ok {
			out = append(out, Change{Safeguard: o.safeguard, Rule: o.ID, Kind: RuleRemoved,
				Detail: fmt.Sprintf("%s at stage %s", o.Action, o.Stage), Weakens: true})
			continue
		}
		if c, changed := diffRule(o, n); changed {
			out = append(out, c)
		}
	}
	for _, n := range rulesInOrder(new) {
		if _, ok := oldR[n.ID]; !ok {
			c := Change{Safeguard: n.safeguard, Rule: n.ID, Kind: RuleAdded,
				Detail: fmt.Sprintf("%s at stage %s when %s", n.Action, n.Stage, n.When)}
			if n.AllowRefusalRetry {
				c.Detail += "; allows refusal retry"
				c.Weakens = true
			}
			out = append(out, c)
		}
	}
	return append(out, diffSettings(old, new)...)
}

// diffSettings compares what the policy says besides its rules: tool
// declarations, switches, the allow-list and authorizations.
func diffSettings(old, new *File) []Change {
	var out []Change
	oldT := map[string]string{}
	for _, d := range old.Tools {
		oldT[d.Name] = d.Effect
	}
	newT := map[string]bool{}
	for _, d := range new.Tools {
		newT[d.Name] = true
		o, had := oldT[d.Name]
		switch {
		case !had:
			out = append(out, Change{Kind: ToolChanged, Detail: fmt.Sprintf("%s declared %s", d.Name, d.Effect), Weakens: d.Effect != toolclass.Force})
		case o != d.Effect:
			out = append(out, Change{Kind: ToolChanged, Detail: fmt.Sprintf("%s from %s to %s", d.Name, o, d.Effect), Weakens: toolclass.Rank(d.Effect) < toolclass.Rank(o)})
		}
	}
	for _, d := range old.Tools {
		if !newT[d.Name] {
			out = append(out, Change{Kind: ToolChanged, Detail: fmt.Sprintf("%s (%s) no longer declared", d.Name, d.Effect), Weakens: d.Effect != toolclass.Informational})
		}
	}
	orDefault := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	if o, n := orDefault(old.UndeclaredTools, UndeclaredClassify), orDefault(new.UndeclaredTools, UndeclaredClassify); o != n {
		out = append(out, Change{Kind: SettingChanged, Detail: fmt.Sprintf("undeclared_tools from %s to %s", o, n), Weakens: n == UndeclaredClassify})
	}
	capOf := func(f *File) int {
		if f.Approvals.MaxPendingPerRequester > 0 {
			return f.Approvals.MaxPendingPerRequester
		}
		return DefaultMaxPendingPerRequester
	}
	if o, n := capOf(old), capOf(new); o != n {
		out = append(out, Change{Kind: SettingChanged, Detail: fmt.Sprintf("approvals.max_pending_per_requester from %d to %d", o, n), Weakens: n > o})
	}
	allowed := func(f *File) []string {
		var a []string
		for d, fields := range f.Allow.RequestFields {
			for _, x := range fields {
				a = append(a, "request field "+d+"."+x)
			}
		}
		for _, x := range f.Allow.AnthropicBeta {
			a = append(a, "anthropic-beta "+x)
		}
		for _, x := range f.Allow.ServerTools {
			a = append(a, "server tool "+x)
		}
		slices.Sort(a)
		return a
	}
	oa, na := allowed(old), allowed(new)
	for _, x := range na {
		if !slices.Contains(oa, x) {
			out = append(out, Change{Kind: AllowChanged, Detail: "allows " + x, Weakens: true})
		}
	}
	for _, x := range oa {
		if !slices.Contains(na, x) {
			out = append(out, Change{Kind: AllowChanged, Detail: "no longer allows " + x})
		}
	}
	oldA := map[string]Authorization{}
	for _, a := range old.Authorizations {
		oldA[a.ID] = a
	}
	for _, a := range new.Authorizations {
		o, had := oldA[a.ID]
		switch {
		case !had:
			out = append(out, Change{Kind: AuthzChanged, Detail: fmt.Sprintf("%s added (%s, until %s)", a.ID, a.Reference, a.Expires), Weakens: true})
		case fmt.Sprint(o.Limits, o.Principals, o.Expires, o.Scope) != fmt.Sprint(a.Limits, a.Principals, a.Expires, a.Scope):
			out = append(out, Change{Kind: AuthzChanged, Detail: a.ID + " changed", Weakens: true})
		}
	}
	return out
}

// placedRule is a rule with the safeguard it sits in.
type placedRule struct {
	Rule
	safeguard string
}

func rulesInOrder(f *File) []placedRule {
	var out []placedRule
	for _, s := range f.Safeguards {
		for _, r := range s.Rules {
			out = append(out, placedRule{r, s.ID})
		}
	}
	for _, r := range f.Rules {
		out = append(out, placedRule{r, ""})
	}
	return out
}

// rulesByID keeps the first rule of each id, as Compile would refuse the
// others anyway.
func rulesByID(f *File) map[string]placedRule {
	m := map[string]placedRule{}
	for _, r := range rulesInOrder(f) {
		if _, dup := m[r.ID]; !dup {
			m[r.ID] = r
		}
	}
	return m
}

func safeguardsByID(f *File) map[string]Safeguard {
	m := map[string]Safeguard{}
	for _, s := range f.Safeguards {
		if _, dup := m[s.ID]; !dup {
			m[s.ID] = s
		}
	}
	return m
}

func headerSet(hs []string) map[string]bool {
	m := map[string]bool{}
	for _, h := range hs {
		m[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return m
}

func diffRule(o, n placedRule) (Change, bool) {
	c := Change{Safeguard: n.safeguard, Rule: n.ID, Kind: RuleChanged}
	if n.safeguard == "" {
		c.Safeguard = o.safeguard
	}
	var details []string
	note := func(weakens bool, format string, args ...any) {
		details = append(details, fmt.Sprintf(format, args...))
		c.Weakens = c.Weakens || weakens
	}
	inSafeguard := o.safeguard != ""
	if o.safeguard != n.safeguard {
		switch {
		case o.safeguard == "":
			note(false, "moved into safeguard %s", n.safeguard)
		case n.safeguard == "":
			note(true, "moved out of safeguard %s", o.safeguard)
		default:
			note(true, "moved from safeguard %s to %s", o.safeguard, n.safeguard)
		}
	}
	if o.Stage != n.Stage {
		note(inSafeguard, "stage %s → %s", o.Stage, n.Stage)
	}
	if o.When != n.When {
		note(inSafeguard, "when %q → %q", o.When, n.When)
	}
	if o.Action != n.Action {
		note(n.Action.Rank() < o.Action.Rank(), "action %s → %s", o.Action, n.Action)
	}
	if o.Message != n.Message {
		note(false, "message %q → %q", o.Message, n.Message)
	}
	var gone, added []string
	for _, p := range o.Redact {
		if !slices.Contains(n.Redact, p) {
			gone = append(gone, p)
		}
	}
	for _, p := range n.Redact {
		if !slices.Contains(o.Redact, p) {
			added = append(added, p)
		}
	}
	if len(gone) > 0 {
		note(true, "redact patterns removed: %q", gone)
	}
	if len(added) > 0 {
		note(false, "redact patterns added: %q", added)
	}
	if o.AllowRefusalRetry != n.AllowRefusalRetry {
		note(n.AllowRefusalRetry, "allow_refusal_retry %v → %v", o.AllowRefusalRetry, n.AllowRefusalRetry)
	}
	c.Detail = strings.Join(details, "; ")
	return c, len(details) > 0
}
