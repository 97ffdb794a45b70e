package gateway

import "testing"

func TestToolEffects(t *testing.T) {
	te, err := NewToolEffects([]ToolDecl{
		{Name: "weapons_*", Effect: "force"},
		{Name: "weapons_status", Effect: "informational"},
		{Name: "*_order", Effect: "consequential"},
		{Name: "*", Effect: "informational"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"weapons_release": "force",
		"weapons_status":  "informational", // exact beats glob
		"purchase_order":  "consequential",
		"weather":         "informational",
	} {
		if got := te.Effect(name); got != want {
			t.Errorf("Effect(%q): got %q, want %q", name, got, want)
		}
	}
	if got := (*ToolEffects)(nil).Effect("x"); got != "" {
		t.Errorf("nil resolver: got %q, want \"\"", got)
	}
	for _, bad := range [][]ToolDecl{
		{{Name: "x", Effect: "lethal"}},
		{{Name: "[", Effect: "force"}},
		{{Name: "", Effect: "force"}},
		{{Name: "x", Effect: "force"}, {Name: "x", Effect: "informational"}},
	} {
		if _, err := NewToolEffects(bad); err == nil {
			t.Errorf("NewToolEffects(%v): got no error", bad)
		}
	}
}
