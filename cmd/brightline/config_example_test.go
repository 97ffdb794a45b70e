package main

import "testing"

// TestExampleConfig keeps examples/brightline.yaml loadable.
func TestExampleConfig(t *testing.T) {
	env := envMap(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-x", "OPENAI_API_KEY": "sk-x"})
	cfg, err := loadConfig("../../examples/brightline.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 3 || len(cfg.Routes) != 4 {
		t.Errorf("got %d providers and %d routes, want 3 and 4", len(cfg.Providers), len(cfg.Routes))
	}
	if _, err := buildRouter(cfg, nil); err != nil {
		t.Errorf("buildRouter: %v", err)
	}
	if _, err := loadConfig("../../examples/brightline.yaml", envMap(nil)); err == nil {
		t.Error("loading without ANTHROPIC_API_KEY: got no error, want one naming the variable")
	}
}
