package sqlite

import (
	"context"
	"fmt"

	"github.com/brightline/brightline/internal/store"
)

var _ store.SubjectStates = (*DB)(nil)

// SaveSubjectStates implements [store.SubjectStates].
func (db *DB) SaveSubjectStates(ctx context.Context, states []store.SubjectState) error {
	for _, s := range states {
		if s.PrincipalID == "" || (s.Kind != store.SubjectWindows && s.Kind != store.SubjectProfiles) {
			return fmt.Errorf("couldn't save subject state: principal %q, kind %q: want a principal and kind windows or profiles", s.PrincipalID, s.Kind)
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't save subject state: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO subject_state (principal_id, kind, data, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (principal_id, kind) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`)
	if err != nil {
		return fmt.Errorf("couldn't save subject state: %w", err)
	}
	defer stmt.Close()
	now := micros(db.now())
	for _, s := range states {
		data := s.Data
		if data == nil {
			data = []byte{}
		}
		if _, err := stmt.ExecContext(ctx, s.PrincipalID, s.Kind, data, now); err != nil {
			return fmt.Errorf("couldn't save subject state of %s: %w", s.PrincipalID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't save subject state: %w", err)
	}
	return nil
}

// SubjectStates implements [store.SubjectStates].
func (db *DB) SubjectStates(ctx context.Context) ([]store.SubjectState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT principal_id, kind, data, updated_at FROM subject_state ORDER BY principal_id, kind`)
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
