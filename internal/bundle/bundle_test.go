package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if _, _, err := LoadFiles(path); err == nil {
		t.Error("LoadFiles with no files: got no error")
	}
	writeFile(t, path, testPolicy)
	if _, _, err := LoadFiles(path); err == nil {
		t.Error("LoadFiles with no note: got no error")
	}
	noteBytes := []byte("a note\n")
	writeFile(t, path+NoteSuffix, noteBytes)
	policy, n, err := LoadFiles(path)
	if err != nil {
		t.Fatalf("LoadFiles: %v", err)
	}
	if !bytes.Equal(policy, testPolicy) || !bytes.Equal(n, noteBytes) {
		t.Errorf("got policy %q and note %q, want %q and %q", policy, n, testPolicy, noteBytes)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
