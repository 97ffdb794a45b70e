package gateway

import (
	"fmt"
	"path"
)

// Tool effect classes, as rules see them in tool_call.effect.
const (
	EffectInformational = "informational"
	EffectConsequential = "consequential"
	EffectForce         = "force"
)

// ToolDecl declares the effect class of the tools whose names match Name,
// an exact name or a path.Match glob such as "weapons_*".
type ToolDecl struct {
	Name   string
	Effect string
}

// ToolEffects resolves tool names to effect classes from operator
// declarations. Exact names win over globs; among globs the first listed
// wins. A tool nobody declared has effect "" (unknown); the classifier for
// undeclared tools is not built yet.
type ToolEffects struct {
	exact map[string]string
	globs []ToolDecl
}

// NewToolEffects validates decls and returns their resolver.
func NewToolEffects(decls []ToolDecl) (*ToolEffects, error) {
	t := &ToolEffects{exact: map[string]string{}}
	for i, d := range decls {
		switch d.Effect {
		case EffectInformational, EffectConsequential, EffectForce:
		default:
			return nil, fmt.Errorf("tools[%d] (%s): effect %q is not informational, consequential or force", i, d.Name, d.Effect)
		}
		if _, err := path.Match(d.Name, ""); err != nil || d.Name == "" {
			return nil, fmt.Errorf("tools[%d]: bad tool name pattern %q", i, d.Name)
		}
		if isGlob(d.Name) {
			t.globs = append(t.globs, d)
		} else if _, dup := t.exact[d.Name]; dup {
			return nil, fmt.Errorf("tools[%d]: tool %q declared twice", i, d.Name)
		} else {
			t.exact[d.Name] = d.Effect
		}
	}
	return t, nil
}

// Effect returns the declared effect class of the tool name, or "".
func (t *ToolEffects) Effect(name string) string {
	if t == nil {
		return ""
	}
	if e, ok := t.exact[name]; ok {
		return e
	}
	for _, d := range t.globs {
		if ok, _ := path.Match(d.Name, name); ok {
			return d.Effect
		}
	}
	return ""
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
