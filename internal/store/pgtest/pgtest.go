// Package pgtest gives tests a fresh PostgreSQL database on the server
// named by the environment variable BRIGHTLINE_TEST_DATABASE_URL.
//
// When the variable is unset the tests that need PostgreSQL skip, unless
// BRIGHTLINE_REQUIRE_POSTGRES=1, in which case they fail: CI sets it, so
// that they can never silently skip there. .ci/postgres.sh starts a
// throwaway server and sets both:
//
//	source .ci/postgres.sh && go test ./internal/store/postgres/
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The environment variables this package reads.
const (
	// EnvURL names the server: a postgres:// URL of a role that may
	// create and drop databases, and of a database to connect to while
	// doing so (postgres, usually).
	EnvURL = "BRIGHTLINE_TEST_DATABASE_URL"
	// EnvRequire, set to 1, turns a missing EnvURL into a test failure.
	EnvRequire = "BRIGHTLINE_REQUIRE_POSTGRES"
)

// adminTimeout bounds each CREATE DATABASE and DROP DATABASE.
const adminTimeout = time.Minute

// AdminURL returns the URL in BRIGHTLINE_TEST_DATABASE_URL, for tests that
// inspect the server itself. It skips t when the variable is unset, or
// fails t if BRIGHTLINE_REQUIRE_POSTGRES=1.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u != "" {
		return u
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s is not set but %s=1: the PostgreSQL tests must run (source .ci/postgres.sh to start a server)", EnvURL, EnvRequire)
	}
	t.Skipf("PostgreSQL tests skipped: %s is not set (source .ci/postgres.sh to start a throwaway server)", EnvURL)
	return ""
}

// URL creates a new, empty database (UTF8) on the server named by
// BRIGHTLINE_TEST_DATABASE_URL and returns its URL. The database is
// dropped, with any connections still open to it, when t ends. URL skips
// or fails t as [AdminURL] does when the variable is unset, and fails t if
// the server refuses.
func URL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got one that is not (%v)", EnvURL, err)
	}
	name := "brightline_test_" + strings.ToLower(rand.Text()[:16])
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := execAdmin(ctx, admin, `CREATE DATABASE `+name+` ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`); err != nil {
		t.Fatalf("couldn't create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := execAdmin(ctx, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("couldn't drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// execAdmin runs one statement on a connection of its own: CREATE and DROP
// DATABASE may not run inside a transaction or a pooled session's state.
func execAdmin(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("couldn't connect to %s: %w", EnvURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
