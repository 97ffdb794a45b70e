package main

import (
	"context"

	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store/postgres"
)

var _ dataStore = (*postgres.DB)(nil)

// openPostgres opens the PostgreSQL store at url, applying its migrations.
func openPostgres(ctx context.Context, url string) (dataStore, error) {
	return postgres.Open(ctx, url)
}

// fleetJournal returns the audit journal and integrator election that
// replicas sharing db use: with PostgreSQL, a journal table and an
// advisory lock; with SQLite (one gateway), nil for the file journal in
// the data directory.
func fleetJournal(db dataStore) (auditlog.Journal, auditlog.Elector) {
	pg, ok := db.(*postgres.DB)
	if !ok {
		return nil, nil
	}
	return postgres.NewJournal(pg.Pool()), postgres.NewElector(pg.Pool())
}
