package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFS holds the schema as numbered files, NNNN_description.sql.
// Never edit an applied migration; add one.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key held while migrating,
// so that replicas opening one database at once apply each migration
// once: the others wait and then find nothing to do. Code that takes other
// advisory locks in this database must use other keys.
const migrationLockKey int64 = 0x6272_6c6e_6d69_6701 // "brlnmig" 1

type migration struct {
	version int
	name    string // file name, recorded for the operator
	sql     string
}

// loadMigrations returns the embedded migrations in order of version,
// checking that every file is named NNNN_description.sql and that no two
// share a version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	// Glob returns names sorted, and the numbers are zero-padded.
	ms := make([]migration, 0, len(names))
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || len(num) != 4 {
			return nil, fmt.Errorf("migration %s is not named NNNN_description.sql", name)
		}
		if n := len(ms); n > 0 && ms[n-1].version >= v {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d", ms[n-1].name, name, v)
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	return ms, nil
}

// migrate applies the embedded migrations the database lacks, in order of
// version, all in one transaction that holds the advisory lock
// migrationLockKey. A migration is lacking when its version is not in
// schema_migrations, so a migration numbered below one already applied
// (written on another branch) is still applied. A database that records
// a version this binary does not know was migrated by a newer binary and
// is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return fmt.Errorf("couldn't load migrations: %w", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("couldn't take the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INT    PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL -- Unix microseconds
	)`); err != nil {
		return fmt.Errorf("couldn't create schema_migrations: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	applied := make(map[int]bool)
	var version int
	var name string
	_, err = pgx.ForEachRow(rows, []any{&version, &name}, func() error {
		applied[version] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("database schema has version %d, which this binary does not know; use a newer brightline", v)
		}
	}
	now := time.Now()
	n := 0
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		// Exec without arguments uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("couldn't apply migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, micros(now)); err != nil {
			return fmt.Errorf("couldn't record migration %s: %w", m.name, err)
		}
		n++
	}
	if n == 0 {
		return nil // nothing to commit
	}
	return tx.Commit(ctx)
}
