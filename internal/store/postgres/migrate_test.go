package postgres

import (
	"context"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline/internal/store/pgtest"
)

// openURL opens url and closes the DB when t ends.
func openURL(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// openTemp opens a fresh, empty database.
func openTemp(t testing.TB) *DB {
	t.Helper()
	return openURL(t, pgtest.URL(t))
}

type migrationRow struct {
	version   int
	name      string
	appliedAt int64
}

func migrationRows(t *testing.T, db *DB) []migrationRow {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.version, &r.name, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func embeddedMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestReopenKeepsMigrations(t *testing.T) {
	url := pgtest.URL(t)
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, db)
	if ms := embeddedMigrations(t); len(before) != len(ms) {
		t.Fatalf("schema_migrations after the first open: got %d rows, want %d", len(before), len(ms))
	}
	db.Close()
	db = openURL(t, url)
	after := migrationRows(t, db)
	if len(after) != len(before) {
		t.Fatalf("schema_migrations after reopening: got %d rows, want %d", len(after), len(before))
	}
	for i := range after {
		if after[i] != before[i] {
			t.Errorf("schema_migrations row %d: got %+v, want %+v (unchanged)", i, after[i], before[i])
		}
	}
}

// TestConcurrentOpensMigrateOnce is replicas starting together on a new
// database: every Open succeeds and each migration is applied once.
// Without the advisory lock, the second CREATE TABLE fails.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	url := pgtest.URL(t)
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(context.Background(), url)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	if rows, ms := migrationRows(t, dbs[0]), embeddedMigrations(t); len(rows) != len(ms) {
		t.Errorf("schema_migrations: got %d rows, want %d", len(rows), len(ms))
	}
}

func TestOpenNewerSchema(t *testing.T) {
	url := pgtest.URL(t)
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(context.Background(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(context.Background(), url)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database from a newer version: got nil error")
	}
	if !strings.Contains(err.Error(), "version 999") {
		t.Errorf("got %q, want it to mention version 999", err)
	}
}

func TestOpenErrors(t *testing.T) {
	missing, err := neturl.Parse(pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	missing.Path = "/no_such_database"
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"empty", "", "URL is empty"},
		{"malformed", "postgres://u:secretpw@[::1", "malformed"},
		{"no such database", missing.String(), `"no_such_database"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.url)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got nil error", tt.url)
			}
			t.Logf("Open: %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("got %q, which shows the password", err)
			}
		})
	}
}

func TestOpenRefusesOtherEncodings(t *testing.T) {
	admin := pgtest.AdminURL(t)
	url := pgtest.URL(t) // for its cleanup; the database is recreated below
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{`DROP DATABASE ` + name,
		`CREATE DATABASE ` + name + ` ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(context.Background(), url)
	if err == nil {
		db.Close()
		t.Fatal("Open of a SQL_ASCII database: got nil error")
	}
	if !strings.Contains(err.Error(), "SQL_ASCII, want UTF8") {
		t.Errorf("got %q, want it to name the encoding and ask for UTF8", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int
		wantErr string
	}{
		{"in order", fstest.MapFS{"migrations/0001_a.sql": file("A"), "migrations/0002_b.sql": file("B")}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file("A"), "migrations/0003_c.sql": file("C")}, []int{1, 3}, ""},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file("A"), "migrations/0001_b.sql": file("B")}, nil, "same version 1"},
		{"bad name", fstest.MapFS{"migrations/init.sql": file("A")}, nil, "NNNN_description"},
		{"short number", fstest.MapFS{"migrations/1_a.sql": file("A")}, nil, "NNNN_description"},
		{"none", fstest.MapFS{}, nil, "no migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if len(got) != len(tt.want) || got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1] {
				t.Errorf("got versions %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := loadMigrations(migrationFS); err != nil {
		t.Errorf("embedded migrations: %v", err)
	}
}
