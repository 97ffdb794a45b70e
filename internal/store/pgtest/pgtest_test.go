package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestURL(t *testing.T) {
	ctx := context.Background()
	admin := AdminURL(t)
	var name string
	t.Run("fresh", func(t *testing.T) {
		url := URL(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connecting to the test database: %v", err)
		}
		defer conn.Close(ctx)
		var encoding string
		var tables int
		if err := conn.QueryRow(ctx, `SELECT current_database(), pg_encoding_to_char(encoding),
			(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')
			FROM pg_database WHERE datname = current_database()`).Scan(&name, &encoding, &tables); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "brightline_test_") || encoding != "UTF8" || tables != 0 {
			t.Errorf("got database %q, encoding %s, %d tables; want a new brightline_test_ database, UTF8, empty", name, encoding, tables)
		}
		if other := URL(t); other == url {
			t.Errorf("two calls returned the same URL %s", url)
		}
	})
	// The subtest's cleanup dropped it, although a connection was open
	// until just before.
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Errorf("database %q: %d left after the test ended, want it dropped", name, n)
	}
}

// childEnv marks the test binary run by TestUnset as the child.
const childEnv = "BRIGHTLINE_PGTEST_CHILD"

// TestChildNeedsPostgres is the child of TestUnset; run directly, it does
// nothing.
func TestChildNeedsPostgres(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		return
	}
	URL(t)
	t.Log("URL returned")
}

// TestUnset runs TestChildNeedsPostgres without a server: it skips, or
// fails when BRIGHTLINE_REQUIRE_POSTGRES=1.
func TestUnset(t *testing.T) {
	tests := []struct {
		require  string
		wantFail bool
		want     string
	}{
		{"", false, "SKIP"},
		{"0", false, "SKIP"},
		{"1", true, EnvRequire + "=1"},
	}
	for _, tt := range tests {
		t.Run("require="+tt.require, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildNeedsPostgres$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"=1", EnvURL+"=", EnvRequire+"="+tt.require)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("child failed: %v, want %v; output:\n%s", err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "URL returned") {
				t.Errorf("child output does not mention %q, or URL returned:\n%s", tt.want, out)
			}
		})
	}
}
