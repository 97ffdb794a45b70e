package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline/internal/store"
)

var _ store.SubjectStates = (*DB)(nil)

// SaveSubjectStates implements [store.SubjectStates]. The rows are written
// in key order, so that two replicas saving overlapping sets take their
// row locks in the same order and cannot deadlock; of two states for one
// key in a batch, the later wins, as it would written in batch order.
func (db *DB) SaveSubjectStates(ctx context.Context, states []store.SubjectState) error {
	for _, s := range states {
		if s.PrincipalID == "" || (s.Kind != store.SubjectWindows && s.Kind != store.SubjectProfiles) {
			return fmt.Errorf("couldn't save subject state: principal %q, kind %q: want a principal and kind windows or profiles", s.PrincipalID, s.Kind)
		}
	}
	if len(states) == 0 {
		return nil
	}
	sorted := slices.Clone(states)
	slices.SortStableFunc(sorted, func(a, b store.SubjectState) int {
		return cmp.Or(cmp.Compare(a.PrincipalID, b.PrincipalID), cmp.Compare(a.Kind, b.Kind))
	})
	now := micros(db.now())
	var b pgx.Batch
	for _, s := range sorted {
		data := s.Data
		if data == nil {
			data = []byte{}
		}
		b.Queue(`INSERT INTO subject_state (principal_id, kind, data, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (principal_id, kind) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			s.PrincipalID, s.Kind, data, now)
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, s := range sorted {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("couldn't save subject state of %s: %w", s.PrincipalID, err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return fmt.Errorf("couldn't save subject state: %w", err)
	}
	return nil
}

// SubjectStates implements [store.SubjectStates].
func (db *DB) SubjectStates(ctx context.Context) ([]store.SubjectState, error) {
	rows, err := db.pool.Query(ctx, `SELECT principal_id, kind, data, updated_at FROM subject_state ORDER BY principal_id, kind`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read subject state: %w", err)
	}
	defer rows.Close()
	var out []store.SubjectState
	for rows.Next() {
		var s store.SubjectState
		var at int64
		if err := rows.Scan(&s.PrincipalID, &s.Kind, &s.Data, &at); err != nil {
			return nil, fmt.Errorf("couldn't read subject state: %w", err)
		}
		s.UpdatedAt = fromMicros(at)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read subject state: %w", err)
	}
	return out, nil
}
