package policy

import (
	"fmt"
	"path"
	"slices"

	"github.com/brightline/brightline/internal/toolclass"
)

// Values of the policy's undeclared_tools switch.
const (
	// UndeclaredClassify classes an undeclared tool with the effect
	// classifier, which fails towards force.
	UndeclaredClassify = "classify"
	// UndeclaredHold treats every undeclared tool that the classifier does
	// not find informational as force, so it is held for approval.
	UndeclaredHold = "hold"
)

// DefaultMaxPendingPerRequester is how many approvals one requester may
// have pending when the policy does not say.
const DefaultMaxPendingPerRequester = 20

// ToolEffects resolves tool names to declared effect classes. Exact names
// win over globs; among globs the first listed wins. Names are matched as
// given: callers normalise both the declarations and the name they look
// up with the same function, so that look-alike names match.
type ToolEffects struct {
	exact map[string]string
	globs []ToolDecl
}

// NewToolEffects validates decls and returns their resolver. normalize,
// if not nil, is applied to every declared name.
func NewToolEffects(decls []ToolDecl, normalize func(string) string) (*ToolEffects, error) {
	t := &ToolEffects{exact: map[string]string{}}
	for i, d := range decls {
		where := fmt.Sprintf("tools[%d]", i)
		if d.Line > 0 {
			where = fmt.Sprintf("line %d", d.Line)
		}
		if toolclass.Rank(d.Effect) == 0 {
			return nil, fmt.Errorf("%s (%s): effect %q is not informational, consequential or force", where, d.Name, d.Effect)
		}
		if _, err := path.Match(d.Name, ""); err != nil || d.Name == "" {
			return nil, fmt.Errorf("%s: bad tool name pattern %q", where, d.Name)
		}
		if normalize != nil {
			d.Name = normalize(d.Name)
		}
		if isGlob(d.Name) {
			t.globs = append(t.globs, d)
		} else if _, dup := t.exact[d.Name]; dup {
			return nil, fmt.Errorf("%s: tool %q declared twice", where, d.Name)
		} else {
			t.exact[d.Name] = d.Effect
		}
	}
	return t, nil
}

// Effect returns the declared effect class of the tool name and true, or
// "" and false if no declaration names it. A nil *ToolEffects declares
// nothing.
func (t *ToolEffects) Effect(name string) (string, bool) {
	if t == nil {
		return "", false
	}
	if e, ok := t.exact[name]; ok {
		return e, true
	}
	for _, d := range t.globs {
		if ok, _ := path.Match(d.Name, name); ok {
			return d.Effect, true
		}
	}
	return "", false
}

// Len returns the number of declarations.
func (t *ToolEffects) Len() int {
	if t == nil {
		return 0
	}
	return len(t.exact) + len(t.globs)
}

func isGlob(s string) bool {
	for _, c := range s {
		switch c {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

// NormalizeToolName is how tool names are compared with declarations:
// look-alike spellings of one name (case, compatibility forms, confusable
// letters, digits for letters) normalise to the same string, so that a
// declaration of fire_* also covers "FІRE_x" with a Cyrillic І and
// "f1re_x". See toolclass.Normalize.
func NormalizeToolName(name string) string { return toolclass.Normalize(name) }

// AllowsRequestField reports whether the signed policy allows the
// unmodelled top-level request field in dialect ("openai", "anthropic",
// "responses").
func (p *Policy) AllowsRequestField(dialect, field string) bool {
	return slices.Contains(p.file.Allow.RequestFields[dialect], field)
}

// AllowsAnthropicBeta reports whether the signed policy allows the
// anthropic-beta value.
func (p *Policy) AllowsAnthropicBeta(beta string) bool {
	return slices.Contains(p.file.Allow.AnthropicBeta, beta)
}

// AllowsServerTool reports whether the signed policy allows the provider
// to execute tools of kind (web_search, web_fetch, code_execution, mcp,
// …) itself.
func (p *Policy) AllowsServerTool(kind string) bool {
	return slices.Contains(p.file.Allow.ServerTools, kind)
}
