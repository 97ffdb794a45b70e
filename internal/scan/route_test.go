package scan

import (
	"os"
	"path/filepath"
	"testing"
)

// writeTree writes files (slash-separated path → content) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// A manifest in a sibling directory is not evidence for another one.
func TestRouteEvidenceIsLocal(t *testing.T) {
	root := writeTree(t, map[string]string{
		"claude-svc/requirements.txt": "anthropic==0.70.0\n",
		"llama-svc/app.py":            "URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"  # meta.llama3-1-70b\n",
	})
	res, err := Scan(t.Context(), root, mustProfile(t, "anthropic"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range PossibleRoutes(res.Findings) {
		routes = append(routes, f.File)
	}
	if len(routes) != 1 || routes[0] != "llama-svc/app.py" || len(Exposure(res.Findings)) != 1 {
		t.Errorf("possible routes %q, exposure %+v; want llama-svc/app.py a possible route and the manifest exposure", routes, Exposure(res.Findings))
	}
}

func mustProfile(t *testing.T, vendor string) *Profile {
	t.Helper()
	p, err := LoadProfile(vendor)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
