package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

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

// TestKubernetesExampleConfig keeps the config in
// examples/kubernetes/brightline.yaml's ConfigMap loadable, and on
// PostgreSQL.
func TestKubernetesExampleConfig(t *testing.T) {
	b, err := os.ReadFile("../../examples/kubernetes/brightline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var text string
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.Kind == "ConfigMap" {
			text = doc.Data["brightline.yaml"]
		}
	}
	if text == "" {
		t.Fatal("no ConfigMap with brightline.yaml in the example")
	}
	path := filepath.Join(t.TempDir(), "brightline.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envMap(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-x", "BRIGHTLINE_DATABASE_URL": "postgres://db/brightline"})
	cfg, err := loadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Driver != driverPostgres || cfg.DataDir != "/data" || cfg.Audit.Origin == "" {
		t.Errorf("got driver %q, data_dir %q, origin %q; want postgres, /data and a fixed origin for the fleet", cfg.Store.Driver, cfg.DataDir, cfg.Audit.Origin)
	}
}
