package safeguard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/toolclass"
)

// Effect is the effect class of a tool and where it came from.
type Effect struct {
	// Class is informational, consequential or force: tool_call.effect.
	Class string `json:"class"`
	// Declared reports that the signed policy declares the tool.
	Declared bool `json:"declared"`
	// Raised reports that the operator's config raised the class.
	Raised bool `json:"raised,omitempty"`
	// Reason says, in words, what decided the class.
	Reason string `json:"reason"`
}

// Effect resolves the effect class of the tool called name. def is the
// tool's definition (name, description, input schema) if the caller has
// one; without it the tool is classified from its name alone. See the
// package documentation for the order of precedence. It never fails: a
// tool that cannot be classified is force.
func (d *Decider) Effect(p *policy.Policy, name string, def *toolclass.Tool) Effect {
	norm := policy.NormalizeToolName(name)
	var e Effect
	if c, ok := p.Tools().Effect(norm); ok && toolclass.Rank(c) > 0 {
		e = Effect{Class: c, Declared: true, Reason: "declared " + c + " in the signed policy"}
	} else {
		t := toolclass.Tool{Name: name}
		if def != nil {
			t = *def
		}
		r := toolclass.Classify(t)
		e = Effect{Class: r.Class, Reason: r.Reason}
		if toolclass.Rank(e.Class) == 0 {
			e = Effect{Class: toolclass.Force, Reason: "the classifier gave no class, so it is held as force"}
		}
		if p.UndeclaredTools() == policy.UndeclaredHold && e.Class != toolclass.Informational && e.Class != toolclass.Force {
			e.Class = toolclass.Force
			e.Reason = "not declared in the signed policy, which holds undeclared tools that are not informational (classified: " + e.Reason + ")"
		}
	}
	if c, ok := d.cfg.Tools.Effect(norm); ok && toolclass.Rank(c) > toolclass.Rank(e.Class) {
		e.Class, e.Raised = c, true
		e.Reason += "; raised to " + c + " by the operator's config"
	}
	return e
}

// ToolCall is a tool call to decide on its own, outside a model exchange:
// the MCP proxy's tools/call.
type ToolCall struct {
	Principal brightline.Principal
	// Name is the tool's name as called.
	Name string
	// Arguments is the call's JSON object; empty or null means {}.
	Arguments json.RawMessage
	// Tool is the tool's definition, if known. nil classifies the tool
	// from its name alone.
	Tool *toolclass.Tool
	// Upstream names who runs the tool: "mcp:" + the MCP server's name,
	// or a provider's name. It is returned in the outcome for the audit
	// record and approval binding; rules do not see it.
	Upstream string
	// Time is the time rules see.
	Time time.Time
}

// ToolOutcome is a tool call's decision, the input it was made on and
// the tool's effect.
type ToolOutcome struct {
	Decision brightline.Decision
	Input    *policy.Input
	Effect   Effect
	Upstream string
}

// ToolCall decides c at stage tool_call with p. The input holds the
// principal, the time, the principal's counters as they stand (reading
// them records nothing) and the call. If the arguments are not a JSON
// object or the policy cannot be evaluated, it returns an error with the
// outcome's Input and Effect filled in: the call must then be held or
// refused, never run.
func (d *Decider) ToolCall(p *policy.Policy, c ToolCall) (ToolOutcome, error) {
	in := &policy.Input{
		Principal: c.Principal,
		Findings:  policy.FindingsAttrs{Counts: noCounts, Identifiers: []policy.Identifier{}, Categories: []string{}},
		Counters:  d.cfg.Surveillance.counters(c.Principal, c.Time),
		Time:      c.Time,
	}
	return d.decideTool(p, in, c.Name, c.Arguments, c.Tool, c.Upstream)
}

// ToolCall decides a tool call in the exchange's answer at stage
// tool_call: its name, its arguments (a JSON object, empty meaning {})
// and upstream, the provider that answered. The tool is classified from
// its definition in the request, or from its name alone if the request
// did not define it. Errors are as for [Decider.ToolCall]: the call must
// then be withheld.
func (x *Exchange) ToolCall(name string, args json.RawMessage, upstream string) (ToolOutcome, error) {
	in := *x.Input
	var def *toolclass.Tool
	t, ok := x.tools[name]
	if !ok {
		// A look-alike spelling of a defined tool is that tool.
		norm := policy.NormalizeToolName(name)
		for _, u := range x.tools {
			if policy.NormalizeToolName(u.Name) == norm {
				t, ok = u, true
				break
			}
		}
	}
	if ok {
		def = &toolclass.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}
	}
	return x.d.decideTool(x.Policy, &in, name, args, def, upstream)
}

// decideTool fills in's tool_call attributes and decides.
func (d *Decider) decideTool(p *policy.Policy, in *policy.Input, name string, args json.RawMessage, def *toolclass.Tool, upstream string) (ToolOutcome, error) {
	e := d.Effect(p, name, def)
	in.ToolCall = policy.ToolCallAttrs{Name: name, Effect: e.Class}
	in.Response = policy.ResponseAttrs{}
	out := ToolOutcome{Input: in, Effect: e, Upstream: upstream}
	args = bytes.TrimSpace(args)
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	// Arguments a model produced may be malformed; a call whose arguments
	// cannot be read cannot be decided, so it is not released.
	if args[0] != '{' {
		return out, fmt.Errorf("couldn't read the arguments of tool call %s: not a JSON object", name)
	}
	if err := json.Unmarshal(args, &in.ToolCall.Arguments); err != nil {
		return out, fmt.Errorf("couldn't read the arguments of tool call %s: %w", name, err)
	}
	dec, err := d.evaluate(p, brightline.StageToolCall, in)
	if err != nil {
		return out, fmt.Errorf("couldn't evaluate the policy at stage tool_call: %w", err)
	}
	out.Decision = dec
	return out, nil
}

// noCounts is findings.counts with every identifier type at zero. Inputs
// without findings share it, so it must never be written.
var noCounts = func() map[string]int {
	m := make(map[string]int, len(brightline.IdentifierTypes))
	for _, t := range brightline.IdentifierTypes {
		m[t] = 0
	}
	return m
}()
