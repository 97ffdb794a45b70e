// Package postgres implements the store interfaces on PostgreSQL, through
// github.com/jackc/pgx/v5 and its connection pool. It is the store for
// several gateway replicas sharing one database; package sqlite remains the
// default for a single node. Both pass the conformance suite in
// internal/store/storetest and promise the same semantics.
//
// The schema is kept in numbered migrations embedded in the binary and
// applied by [Open] under an advisory lock, so that replicas starting
// together apply each migration once.
//
// Every check-then-write that SQLite makes atomic with its single writer
// is atomic here through a transaction and a row lock, a table lock or an
// advisory lock, so that it holds across replicas too: an approval is
// consumed once, whichever replicas race for it.
//
// # Cancellation
//
// A call whose context ends while the server is still working returns the
// context's error at once, and pgx closes the connection; the server may
// still finish the statement, as it would after any lost connection. A
// write that fails that way has an unknown outcome, like any ambiguous
// failure the store interfaces describe. For ConsumeApproval the worst
// case is an approval consumed by no call: it fails closed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is a PostgreSQL database holding the gateway's tables. It is safe for
// concurrent use, and any number of DBs, in this process or others, may
// share one database.
type DB struct {
	// Now is the clock used for every time the store records. Nil means
	// time.Now. Set it before the DB is used, not while it is in use.
	Now func() time.Time

	pool *pgxpool.Pool
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, as libpq takes; pool settings such as
// pool_max_conns may be added to it) and brings its schema up to date.
// Close the DB when done.
//
// Open fails with a descriptive error if the URL is malformed, the server
// cannot be reached, or the database was migrated by a newer version of
// Brightline. The database's encoding must be UTF8.
func Open(ctx context.Context, url string) (*DB, error) {
	if url == "" {
		return nil, errors.New("couldn't open database: the PostgreSQL URL is empty")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx masks the password in the URL it quotes.
		return nil, fmt.Errorf("couldn't open database: the PostgreSQL URL is malformed: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server that does not answer (a network partition) must fail a
		// connection attempt in bounded time, so that requests get 503
		// rather than wait for the operating system to give up. The URL's
		// connect_timeout overrides it.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("couldn't open database %s: %w", describe(cfg), err)
	}
	if err := checkEncoding(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("couldn't open database %s: %w", describe(cfg), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("couldn't open database %s: %w", describe(cfg), err)
	}
	return &DB{pool: pool}, nil
}

// checkEncoding refuses a database whose encoding is not UTF8: in
// SQL_ASCII, say, text that is not valid UTF-8 would be stored as it came
// rather than refused, and SQLite and PostgreSQL would disagree.
func checkEncoding(ctx context.Context, pool *pgxpool.Pool) error {
	var enc string
	if err := pool.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&enc); err != nil {
		return err
	}
	if enc != "UTF8" {
		return fmt.Errorf("the database's encoding is %s, want UTF8 (CREATE DATABASE ... ENCODING 'UTF8')", enc)
	}
	return nil
}

// Pool returns the connection pool, for code that keeps its own tables in
// the same database (the audit journal). It is closed by [DB.Close].
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers, for readiness probes. Safe to
// retry.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database %s does not answer: %w", describe(db.pool.Config()), err)
	}
	return nil
}

// Close closes every connection, waiting for those in use to be returned.
// The DB must not be used afterwards.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

func (db *DB) now() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

// describe names the database for error messages: host, port and name,
// never the password.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%q on %s:%d", c.Database, c.Host, c.Port)
}

// defaultConnectTimeout bounds each new connection unless the URL sets
// connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// PostgreSQL's SQLSTATE codes that the store maps to its own errors.
const (
	uniqueViolation = "23505"
)

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == uniqueViolation
}

// micros converts t to the stored form: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime converts a nullable stored time.
func nullTime(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}

// nullMicros converts a nullable time to its stored form.
func nullMicros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := micros(*t)
	return &us
}

// inTx runs fn in a transaction with the given options, committing if fn
// returns nil and rolling back otherwise.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
