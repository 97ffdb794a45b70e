package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/storetest"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "brightline.db"))
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

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		db := openTemp(t)
		db.Now = now
		return db
	})
}

type migrationRow struct {
	version   int
	name      string
	appliedAt int64
}

func migrationRows(t *testing.T, db *DB) []migrationRow {
	t.Helper()
	rows, err := db.read.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
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

// TestReopenKeepsDataAndMigrations runs in a synctest bubble, where the
// clock moves only when the test sleeps: a migration re-run on reopening
// would record a later applied_at, and nothing else could.
func TestReopenKeepsDataAndMigrations(t *testing.T) {
	synctest.Test(t, testReopenKeepsDataAndMigrations)
}

func testReopenKeepsDataAndMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "brightline.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	plain, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	want := brightline.Principal{ID: "key_1", Name: "ci", Org: "acme", Purpose: "logistics", Roles: []string{"admin", "auditor"}}
	if err := db.CreateKey(ctx, store.Key{ID: "key_1", Prefix: brightline.DisplayPrefix(plain), Principal: want}, hash); err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, db)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(ms) {
		t.Fatalf("schema_migrations after the first open: got %d rows, want %d", len(before), len(ms))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(time.Second) // virtual time: a re-run would record a later applied_at
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	after := migrationRows(t, db)
	if len(after) != len(before) {
		t.Fatalf("schema_migrations after reopening: got %d rows, want %d", len(after), len(before))
	}
	for i := range after {
		if after[i] != before[i] {
			t.Errorf("schema_migrations row %d: got %+v, want %+v (unchanged)", i, after[i], before[i])
		}
	}
	got, err := db.PrincipalByKeyHash(ctx, brightline.HashKey(plain))
	if err != nil {
		t.Fatalf("lookup after reopening: %v", err)
	}
	if got.ID != want.ID || got.Name != want.Name || strings.Join(got.Roles, ",") != "admin,auditor" {
		t.Errorf("lookup after reopening: got %#v, want %#v", got, want)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brightline.db")
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if rows := migrationRows(t, dbs[0]); len(rows) != len(ms) {
		t.Errorf("schema_migrations: got %d rows, want %d", len(rows), len(ms))
	}
}

func TestOpenErrors(t *testing.T) {
	notDB := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is a text file, not a database\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string // substrings of the error
	}{
		{"missing directory", filepath.Join(t.TempDir(), "nope", "brightline.db"), []string{"nope", "does not exist"}},
		{"parent is a file", filepath.Join(aFile, "brightline.db"), []string{aFile, "not a directory"}},
		{"path is a directory", t.TempDir(), []string{"is a directory"}},
		{"not a SQLite file", notDB, []string{notDB, "not a SQLite database"}},
		{"empty path", "", []string{"path is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got nil error", tt.path)
			}
			t.Logf("Open(%q): %v", tt.path, err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%q): got error %q, want it to mention %q", tt.path, err, w)
				}
			}
		})
	}
	b, err := os.ReadFile(notDB)
	if err != nil || !strings.HasPrefix(string(b), "this is a text file") {
		t.Errorf("the non-SQLite file was modified")
	}
}

func TestOpenReadOnlyDirectory(t *testing.T) {
	var path string
	if os.Geteuid() == 0 {
		// Root ignores directory permissions. /proc refuses new files even
		// to root, so it stands in for a read-only directory.
		path = "/proc/brightline-test.db"
	} else {
		dir := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(dir, "brightline.db")
	}
	db, err := Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatalf("Open(%q): got nil error", path)
	}
	t.Logf("Open(%q): %v", path, err)
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable") {
		t.Errorf("Open(%q): got error %q, want it to name the path and ask whether the directory is writable", path, err)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "brightline.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database from a newer version: got nil error")
	}
	if !strings.Contains(err.Error(), "version 999") {
		t.Errorf("got %q, want it to mention version 999", err)
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
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file("A"), "migrations/0003_c.sql": file("C")}, nil, "want 2"},
		{"starts at 2", fstest.MapFS{"migrations/0002_b.sql": file("B")}, nil, "want 1"},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file("A"), "migrations/0001_b.sql": file("B")}, nil, "want 2"},
		{"bad name", fstest.MapFS{"migrations/init.sql": file("A")}, nil, "NNNN_description"},
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
	// The embedded set itself must load.
	if _, err := loadMigrations(migrationFS); err != nil {
		t.Errorf("embedded migrations: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	db := openTemp(t)
	tests := []struct {
		name   string
		pool   string
		pragma string
		want   string
	}{
		{"journal mode", "write", "journal_mode", "wal"},
		{"writer foreign keys", "write", "foreign_keys", "1"},
		{"writer busy timeout", "write", "busy_timeout", "5000"},
		{"writer synchronous FULL", "write", "synchronous", "2"},
		{"reader foreign keys", "read", "foreign_keys", "1"},
		{"reader busy timeout", "read", "busy_timeout", "5000"},
		{"reader query only", "read", "query_only", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := db.write
			if tt.pool == "read" {
				pool = db.read
			}
			var got string
			if err := pool.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s on %s: got %q, want %q", tt.pragma, tt.pool, got, tt.want)
			}
		})
	}
	if _, err := db.read.Exec(`DELETE FROM keys`); err == nil {
		t.Errorf("write through the read pool: got nil error, want query_only to refuse it")
	}
}

func TestPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "odd ?name#%20&x=1.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created at the literal path: %v", err)
	}
}

func TestCreateKeyReportsStorageErrors(t *testing.T) {
	db := openTemp(t)
	if _, err := db.write.Exec(`DROP TABLE keys`); err != nil {
		t.Fatal(err)
	}
	_, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	err = db.CreateKey(context.Background(), store.Key{ID: "key_1"}, hash)
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("CreateKey without a table: got %v, want a storage error that is not ErrExists", err)
	}
}

func TestFileModes(t *testing.T) {
	check := func(t *testing.T, path string) {
		t.Helper()
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: got mode %v, want 0600", filepath.Base(name), got)
			}
		}
	}
	write := func(t *testing.T, db *DB) {
		t.Helper()
		// A write makes sure the -wal and -shm files exist.
		if _, err := db.write.Exec(`CREATE TABLE IF NOT EXISTS mode_probe (x)`); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("new", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "brightline.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		write(t, db)
		check(t, path)
	})
	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "brightline.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		write(t, db)
		// Leave the -wal and -shm files behind, as a crash would, with
		// the modes older versions used.
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(name, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		db2, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		check(t, path)
		db2.Close()
		db.Close()
	})
}
