// Package sqlite implements the store interfaces on an embedded SQLite
// database, using the pure-Go modernc.org/sqlite driver. It is the default
// for a single gateway node.
//
// A [DB] holds two connection pools on one file: a single writer
// connection, so that writes in this process queue in Go rather than
// fighting over SQLite's lock, and a pool of read-only connections, which
// WAL mode lets run alongside the writer. Other processes (the brightline
// CLI creating a key while the server runs) may open the same file; the
// busy timeout and BEGIN IMMEDIATE transactions make them wait for each
// other instead of failing.
//
// The schema is kept in numbered migrations embedded in the binary and
// applied by [Open].
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a connection waits for another connection's lock
// (in this process or another) before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// DB is a SQLite database holding the gateway's tables. It is safe for
// concurrent use.
type DB struct {
	// Now is the clock used for every time the store records. Nil means
	// time.Now. Set it before the DB is used, not while it is in use.
	Now func() time.Time

	path  string
	write *sql.DB // one connection: every write goes through it
	read  *sql.DB // query_only connections

	// Prepared on read; database/sql re-prepares it per connection.
	lookup *sql.Stmt
}

// Open opens the SQLite database at path, creating the file if it does not
// exist, and brings its schema up to date. The directory must exist.
// Close the DB when done.
//
// Open fails with a descriptive error if the directory is missing or not
// writable, if the file is not a SQLite database, or if the database was
// migrated by a newer version of Brightline.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("couldn't open database: path is empty")
	}
	abs, err := checkPath(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't open database %s: %w", path, err)
	}
	if err := makePrivate(abs); err != nil {
		return nil, fmt.Errorf("couldn't open database %s: can't create the file or make it private (is the directory writable?): %w", path, err)
	}
	bt := fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())

	write, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {bt, "foreign_keys(1)", "journal_mode(WAL)",
			// Writes are rare (keys, approvals, counters) and a lost
			// revocation matters, so pay for an fsync per commit.
			"synchronous(FULL)",
			// Deleted content (expired audit bodies) is overwritten,
			// not left in free pages.
			"secure_delete(1)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("couldn't open database %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	if err := migrateRetrying(ctx, write); err != nil {
		write.Close()
		return nil, openError(path, err)
	}

	read, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {bt, "foreign_keys(1)", "query_only(1)"},
	}))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("couldn't open database %s: %w", path, err)
	}
	// Keep every reader idle rather than closing it, so that prepared
	// statements stay prepared.
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	db := &DB{path: path, write: write, read: read}
	if db.lookup, err = read.PrepareContext(ctx, lookupSQL); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	return db, nil
}

// migrateRetrying runs migrate, retrying for up to busyTimeout when
// SQLite reports SQLITE_BUSY without waiting. That happens when several
// processes open a new file at once: switching it to WAL needs an
// exclusive lock, and that step does not go through the busy handler.
func migrateRetrying(ctx context.Context, write *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := migrate(ctx, write)
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// Close closes the database. The DB must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	if db.lookup != nil {
		errs = append(errs, db.lookup.Close())
	}
	errs = append(errs, db.read.Close(), db.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("couldn't close database %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) now() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

// checkPath returns the absolute form of path after checking the things
// SQLite would otherwise report only as "unable to open database file".
func checkPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return "", err
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return "", fmt.Errorf("%s is a directory", abs)
	}
	return abs, nil
}

// fileMode is the mode of the database and its -wal and -shm files: they
// hold API key hashes and audit material, readable by the owner only.
const fileMode = 0o600

// makePrivate creates the database file at abs with fileMode if it does not
// exist, and sets fileMode on it and on any -wal and -shm files left by an
// earlier run (older versions created them 0644). SQLite creates new -wal
// and -shm files with the database file's mode, so they follow.
func makePrivate(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, name := range []string{abs, abs + "-wal", abs + "-shm"} {
		if err := os.Chmod(name, fileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// dsn returns a file: URI for the driver, so that any character in the
// path, '?' included, is escaped rather than read as a parameter.
func dsn(abs string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}
	return u.String()
}

// openError explains the SQLite failures Open can meet, keeping err for the
// log and errors.Is.
func openError(path string, err error) error {
	var why string
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_NOTADB:
		why = "the file is not a SQLite database"
	case sqlite3.SQLITE_CANTOPEN:
		why = "can't create or open the file or its -wal and -shm files (is the directory writable?)"
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		why = "the file or its directory is read-only"
	case sqlite3.SQLITE_CORRUPT:
		why = "the database is corrupt"
	default:
		return fmt.Errorf("couldn't open database %s: %w", path, err)
	}
	return fmt.Errorf("couldn't open database %s: %s: %w", path, why, err)
}

// sqliteCode returns the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		return e.Code()
	}
	return 0
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// micros converts t to the stored form: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime converts a nullable stored time.
func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
