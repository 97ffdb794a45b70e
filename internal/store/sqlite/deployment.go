package sqlite

import (
	"context"
	"fmt"
	"sync"

	"github.com/brightline/brightline/internal/store"
)

var _ store.Deployment = (*DB)(nil)

// initMu stands in for PostgreSQL's advisory lock: a SQLite database has
// one gateway process, so a lock in that process is enough.
var initMu sync.Mutex

// WithInitLock implements [store.Deployment].
func (db *DB) WithInitLock(ctx context.Context, fn func(context.Context) error) error {
	initMu.Lock()
	defer initMu.Unlock()
	return fn(ctx)
}

// DeploymentKeys implements [store.Deployment].
func (db *DB) DeploymentKeys(ctx context.Context) ([]store.DeploymentKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name, fingerprint, created_at FROM deployment_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the deployment's keys: %w", err)
	}
	defer rows.Close()
	var keys []store.DeploymentKey
	for rows.Next() {
		var k store.DeploymentKey
		var at int64
		if err := rows.Scan(&k.Name, &k.Fingerprint, &at); err != nil {
			return nil, fmt.Errorf("couldn't read the deployment's keys: %w", err)
		}
		k.CreatedAt = fromMicros(at)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read the deployment's keys: %w", err)
	}
	return keys, nil
}

// RecordDeploymentKeys implements [store.Deployment].
func (db *DB) RecordDeploymentKeys(ctx context.Context, keys []store.DeploymentKey) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't record the deployment's keys: %w", err)
	}
	defer tx.Rollback()
	now := micros(db.now())
	for _, k := range keys {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deployment_keys WHERE name = ?`, k.Name).Scan(&n); err != nil {
			return fmt.Errorf("couldn't record the deployment's keys: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("couldn't record deployment key %s: %w", k.Name, store.ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_keys (name, fingerprint, created_at) VALUES (?, ?, ?)`,
			k.Name, k.Fingerprint, now); err != nil {
			return fmt.Errorf("couldn't record the deployment's keys: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't record the deployment's keys: %w", err)
	}
	return nil
}
