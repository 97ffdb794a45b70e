package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline/internal/store"
)

var _ store.Deployment = (*DB)(nil)

// initLockKey is the session advisory lock under which one replica of
// several starting at once makes the deployment's shared keys.
const initLockKey int64 = 0x6272_6c5f_696e_6974 // "brl_init"

// WithInitLock implements [store.Deployment]: fn runs while a session
// advisory lock, which every replica sharing the database contends for, is
// held. The lock is held on a connection of its own, outside the pool, so
// that gateways waiting for it never starve fn of pooled connections.
func (db *DB) WithInitLock(ctx context.Context, fn func(context.Context) error) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("couldn't take the init lock: %w", err)
	}
	// Closing the session releases the lock, whatever happened.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, initLockKey); err != nil {
		return fmt.Errorf("couldn't take the init lock: %w", err)
	}
	return fn(ctx)
}

// DeploymentKeys implements [store.Deployment].
func (db *DB) DeploymentKeys(ctx context.Context) ([]store.DeploymentKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, fingerprint, created_at FROM deployment_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the deployment's keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DeploymentKey, error) {
		var k store.DeploymentKey
		var at int64
		err := r.Scan(&k.Name, &k.Fingerprint, &at)
		k.CreatedAt = fromMicros(at)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the deployment's keys: %w", err)
	}
	return keys, nil
}

// RecordDeploymentKeys implements [store.Deployment].
func (db *DB) RecordDeploymentKeys(ctx context.Context, keys []store.DeploymentKey) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("couldn't record the deployment's keys: %w", err)
	}
	defer tx.Rollback(ctx)
	now := micros(db.now())
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `INSERT INTO deployment_keys (name, fingerprint, created_at) VALUES ($1, $2, $3)`,
			k.Name, k.Fingerprint, now); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("couldn't record deployment key %s: %w", k.Name, store.ErrExists)
			}
			return fmt.Errorf("couldn't record the deployment's keys: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("couldn't record the deployment's keys: %w", err)
	}
	return nil
}
