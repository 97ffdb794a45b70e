package exposure

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/store/sqlite"
)

// seededDir returns a data directory whose database holds seed's traffic
// and no shadow results.
func seededDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	seed(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommand(t *testing.T) {
	dir := seededDir(t)
	tests := []struct {
		name        string
		args        []string
		dir         string
		code        int
		stdout      []string
		stderr      string
		notInStdout []string
	}{
		{"table", nil, dir, 0, []string{"PRINCIPAL", "name-key_b (key_b)", "openai/gpt-5", "Traffic: 3 principals, 22 requests"}, "", nil},
		{"vendor", []string{"--vendor", "openai"}, dir, 0, []string{"openai/gpt-5", "Vendor openai: 1 principals, 4 requests"}, "", []string{"claude"}},
		{"principal", []string{"--principal", "key_c", "--vendor", "anthropic"}, dir, 0, []string{"route gone: old-model"}, "", []string{"key_a"}},
		{"nothing", []string{"--vendor", "xai", "--since", "2026-01-01"}, dir, 0, []string{"No xai traffic recorded since 2026-01-01 00:00 UTC."}, "", nil},
		{"json", []string{"--format", "json", "--vendor", "anthropic"}, dir, 0, []string{`"vendor": "anthropic"`, `"alternative": true`}, "", nil},
		{"bad format", []string{"--format", "xml"}, dir, 2, nil, "unknown format", nil},
		{"bad since", []string{"--since", "whenever"}, dir, 2, nil, "not a duration", nil},
		{"extra argument", []string{"anthropic"}, dir, 2, nil, "unexpected argument", nil},
		{"no database", nil, t.TempDir(), 1, nil, "no database at", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := Command(context.Background(), tt.args, openIn(tt.dir), testRoutes, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("got exit code %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.notInStdout {
				if strings.Contains(stdout.String(), w) {
					t.Errorf("stdout has %q:\n%s", w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr.String())
			}
		})
	}
	t.Run("json decodes", func(t *testing.T) {
		var stdout, stderr strings.Builder
		if code := Command(context.Background(), []string{"--format=json"}, openIn(dir), testRoutes, &stdout, &stderr); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr.String())
		}
		var resp Response
		if err := json.Unmarshal([]byte(stdout.String()), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Rows) != 5 {
			t.Errorf("got %d rows, want 5", len(resp.Rows))
		}
	})
}

func TestPlanCommand(t *testing.T) {
	dir := seededDir(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"table", []string{"--from", "anthropic", "--to", "openai", "--since", "36500d"}, 0, []string{
			"Transition plan: anthropic -> openai",
			"Overall: NO-GO (0 of 4 routes ready)",
			"Route claude-sonnet (configured as claude-*): NO-GO",
			"targets at openai: openai/gpt-5",
			"shadow:     no results from a candidate at openai",
			"no shadow results from a candidate at openai in the window",
			"the route has no target at openai",
			"Principals affected (3):",
			"name-key_a (key_a): 14 requests",
		}, ""},
		{"json", []string{"--from=anthropic", "--to=openai", "--format=json", "--since=36500d"}, 0, []string{`"from": "anthropic"`, `"go": false`}, ""},
		{"missing to", []string{"--from", "anthropic"}, 2, nil, "--from and --to are required"},
		{"same vendor", []string{"--from", "openai", "--to", "openai"}, 2, nil, "both"},
		{"bad since", []string{"--from", "anthropic", "--to", "openai", "--since", "x"}, 2, nil, "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := PlanCommand(context.Background(), tt.args, openIn(dir), testRoutes, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("got exit code %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr.String())
			}
		})
	}
}

// openIn opens the SQLite store in dir, as cmd/brightline does for the
// default driver, refusing to create one.
func openIn(dir string) OpenFunc {
	return func(ctx context.Context) (Store, error) {
		path := filepath.Join(dir, "brightline.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s: is the data directory right, and has the gateway run with it?", path)
		}
		return sqlite.Open(ctx, path)
	}
}
