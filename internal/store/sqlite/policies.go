package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

var _ store.Policies = (*DB)(nil)

// ActivePolicy implements [store.Policies].
func (db *DB) ActivePolicy(ctx context.Context) (store.PolicyActivation, error) {
	var a store.PolicyActivation
	var signers string
	var at int64
	err := db.read.QueryRowContext(ctx, `SELECT version, hash, signers, trust_hash, activated_at
		FROM policy_activations ORDER BY version DESC LIMIT 1`).Scan(&a.Version, &a.Hash, &signers, &a.TrustHash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("no policy activation recorded: %w", brightline.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("couldn't read the active policy: %w", err)
	}
	if err := json.Unmarshal([]byte(signers), &a.Signers); err != nil {
		return a, fmt.Errorf("couldn't read the active policy's signers: %w", err)
	}
	a.ActivatedAt = fromMicros(at)
	return a, nil
}

// RecordPolicyActivation implements [store.Policies].
func (db *DB) RecordPolicyActivation(ctx context.Context, a store.PolicyActivation) error {
	if a.Version <= 0 {
		return fmt.Errorf("couldn't record policy activation: version %d is not positive", a.Version)
	}
	signers := a.Signers
	if signers == nil {
		signers = []string{}
	}
	sj, err := json.Marshal(signers)
	if err != nil {
		return fmt.Errorf("couldn't record policy activation: %w", err)
	}
	tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the check and insert are atomic
	if err != nil {
		return fmt.Errorf("couldn't record policy activation: %w", err)
	}
	defer tx.Rollback()
	var active sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM policy_activations`).Scan(&active); err != nil {
		return fmt.Errorf("couldn't record policy activation: %w", err)
	}
	if active.Valid && a.Version <= active.Int64 {
		return fmt.Errorf("couldn't record policy version %d: active version is %d: %w", a.Version, active.Int64, store.ErrStale)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_activations (version, hash, signers, trust_hash, activated_at)
		VALUES (?, ?, ?, ?, ?)`, a.Version, a.Hash, string(sj), a.TrustHash, micros(db.now())); err != nil {
		return fmt.Errorf("couldn't record policy activation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't record policy activation: %w", err)
	}
	return nil
}

// TrustRoot implements [store.Policies].
func (db *DB) TrustRoot(ctx context.Context) (store.TrustRoot, error) {
	var r store.TrustRoot
	var keys, rotation string
	var at int64
	err := db.read.QueryRowContext(ctx, `SELECT seq, hash, keys, threshold, rotation, pinned_at
		FROM trust_roots ORDER BY seq DESC LIMIT 1`).Scan(&r.Seq, &r.Hash, &keys, &r.Threshold, &rotation, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("no trust root pinned: %w", brightline.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("couldn't read the trust root: %w", err)
	}
	if err := json.Unmarshal([]byte(keys), &r.Keys); err != nil {
		return r, fmt.Errorf("couldn't read the trust root's keys: %w", err)
	}
	if rotation != "" {
		r.Rotation = []byte(rotation)
	}
	r.PinnedAt = fromMicros(at)
	return r, nil
}

// PinTrustRoot implements [store.Policies].
func (db *DB) PinTrustRoot(ctx context.Context, r store.TrustRoot) error {
	if r.Hash == "" || len(r.Keys) == 0 || r.Threshold < 1 {
		return fmt.Errorf("couldn't pin trust root: it needs a hash, keys and a threshold")
	}
	kj, err := json.Marshal(r.Keys)
	if err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the check and insert are atomic
	if err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	defer tx.Rollback()
	var cur sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM trust_roots`).Scan(&cur); err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	if r.Seq != cur.Int64+1 {
		return fmt.Errorf("couldn't pin trust root %d: the one in force is %d: %w", r.Seq, cur.Int64, store.ErrStale)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO trust_roots (seq, hash, keys, threshold, rotation, pinned_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.Seq, r.Hash, string(kj), r.Threshold, string(r.Rotation), micros(db.now())); err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	return nil
}
