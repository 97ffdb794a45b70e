package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

var _ store.Policies = (*DB)(nil)

// ActivePolicy implements [store.Policies].
func (db *DB) ActivePolicy(ctx context.Context) (store.PolicyActivation, error) {
	var a store.PolicyActivation
	var signers string
	var at int64
	err := db.pool.QueryRow(ctx, `SELECT version, hash, signers, trust_hash, activated_at
		FROM policy_activations ORDER BY version DESC LIMIT 1`).Scan(&a.Version, &a.Hash, &signers, &a.TrustHash, &at)
	if errors.Is(err, pgx.ErrNoRows) {
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

// RecordPolicyActivation implements [store.Policies]. The check against
// the active version and the insert are one transaction holding an
// EXCLUSIVE lock on the table (readers go on), so that two replicas
// activating versions 5 and 6 at once cannot record 5 after 6.
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
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE policy_activations IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var active *int64
		if err := tx.QueryRow(ctx, `SELECT max(version) FROM policy_activations`).Scan(&active); err != nil {
			return err
		}
		if active != nil && a.Version <= *active {
			return fmt.Errorf("active version is %d: %w", *active, store.ErrStale)
		}
		_, err := tx.Exec(ctx, `INSERT INTO policy_activations (version, hash, signers, trust_hash, activated_at)
			VALUES ($1, $2, $3, $4, $5)`, a.Version, a.Hash, string(sj), a.TrustHash, micros(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't record policy version %d: %w", a.Version, err)
	}
	return nil
}

// TrustRoot implements [store.Policies].
func (db *DB) TrustRoot(ctx context.Context) (store.TrustRoot, error) {
	var r store.TrustRoot
	var keys, rotation string
	var at int64
	err := db.pool.QueryRow(ctx, `SELECT seq, hash, keys, threshold, rotation, pinned_at
		FROM trust_roots ORDER BY seq DESC LIMIT 1`).Scan(&r.Seq, &r.Hash, &keys, &r.Threshold, &rotation, &at)
	if errors.Is(err, pgx.ErrNoRows) {
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

// PinTrustRoot implements [store.Policies]. As for policy activations, the
// check and the insert are one transaction under an EXCLUSIVE table lock.
func (db *DB) PinTrustRoot(ctx context.Context, r store.TrustRoot) error {
	if r.Hash == "" || len(r.Keys) == 0 || r.Threshold < 1 {
		return fmt.Errorf("couldn't pin trust root: it needs a hash, keys and a threshold")
	}
	kj, err := json.Marshal(r.Keys)
	if err != nil {
		return fmt.Errorf("couldn't pin trust root: %w", err)
	}
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE trust_roots IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var cur int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM trust_roots`).Scan(&cur); err != nil {
			return err
		}
		if r.Seq != cur+1 {
			return fmt.Errorf("the one in force is %d: %w", cur, store.ErrStale)
		}
		_, err := tx.Exec(ctx, `INSERT INTO trust_roots (seq, hash, keys, threshold, rotation, pinned_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.Seq, r.Hash, string(kj), r.Threshold, string(r.Rotation), micros(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't pin trust root %d: %w", r.Seq, err)
	}
	return nil
}
