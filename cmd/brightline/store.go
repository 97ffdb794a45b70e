package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// Store drivers (config store.driver).
const (
	driverSQLite   = "sqlite"
	driverPostgres = "postgres"
)

// sqliteFile is the SQLite database's name in the data directory.
const sqliteFile = "brightline.db"

// dataStore is everything serve and the commands need from a store. Both
// *sqlite.DB and *postgres.DB implement it, and both pass the
// conformance suite in internal/store/storetest.
type dataStore interface {
	store.Keys
	store.Policies
	store.SubjectStates
	store.AuditIndex
	approval.Store
	store.Exposure
	store.ShadowResults
	store.Deployment
	approval.Keys
	Close() error
}

var _ dataStore = (*sqlite.DB)(nil)

// openDataStore opens the store cfg names, creating the data directory
// (and, for SQLite, the database in it) if needed.
func openDataStore(ctx context.Context, cfg *Config) (dataStore, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("couldn't create data directory: %w", err)
	}
	switch cfg.Store.Driver {
	case driverPostgres:
		return openPostgres(ctx, cfg.Store.URL)
	default:
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, sqliteFile))
	}
}

// storeExists reports whether cfg's store may already hold state. A
// missing SQLite file holds none; a PostgreSQL database is opened to find
// out.
func storeExists(cfg *Config) (bool, error) {
	if cfg.Store.Driver == driverPostgres {
		return true, nil
	}
	path := filepath.Join(cfg.DataDir, sqliteFile)
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// existingStore opens cfg's store for a command that reads it, refusing
// to create a SQLite database: an empty new one would answer "nothing
// recorded" for the wrong reason.
func existingStore(cfg *Config) openExposureStore {
	return func(ctx context.Context) (exposureStore, error) {
		ok, err := storeExists(cfg)
		if !ok {
			path := filepath.Join(cfg.DataDir, sqliteFile)
			if err != nil {
				return nil, fmt.Errorf("couldn't open database %s: %w", path, err)
			}
			return nil, fmt.Errorf("no database at %s: is the data directory right, and has the gateway run with it?", path)
		}
		return openDataStore(ctx, cfg)
	}
}
