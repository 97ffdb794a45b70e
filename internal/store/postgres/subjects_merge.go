package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline/internal/store"
)

var _ store.SubjectMerger = (*DB)(nil)

// MergeSubjectStates implements [store.SubjectMerger]. In one transaction
// it inserts an empty row for each state that has none, then locks every
// state's row with SELECT ... FOR UPDATE, both in byte order of
// (principal, kind) (COLLATE "C", which is Go's string order), so that
// concurrent merges of overlapping states wait for each other rather than
// deadlock. merge runs in Go while the rows are locked, and one UPDATE
// writes the unions. A
// state's Version is the id of the transaction that wrote it, stamped by
// a trigger (migration 0003).
func (db *DB) MergeSubjectStates(ctx context.Context, states []store.SubjectState, merge func(stored, state store.SubjectState) ([]byte, error)) ([]store.SubjectState, error) {
	for _, s := range states {
		if s.PrincipalID == "" || (s.Kind != store.SubjectWindows && s.Kind != store.SubjectProfiles) {
			return nil, fmt.Errorf("couldn't merge subject state: principal %q, kind %q: want a principal and kind windows or profiles", s.PrincipalID, s.Kind)
		}
	}
	if len(states) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(states)
	slices.SortFunc(sorted, func(a, b store.SubjectState) int {
		if c := strings.Compare(a.PrincipalID, b.PrincipalID); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i].PrincipalID == sorted[i-1].PrincipalID && sorted[i].Kind == sorted[i-1].Kind {
			return nil, fmt.Errorf("couldn't merge subject state: %s state of %s given twice", sorted[i].Kind, sorted[i].PrincipalID)
		}
	}
	now := micros(db.now())
	ids := make([]string, len(sorted))
	kinds := make([]string, len(sorted))
	data := make([][]byte, len(sorted))
	var out []store.SubjectState
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for i, s := range sorted {
			ids[i], kinds[i] = s.PrincipalID, s.Kind
		}
		// Insert the missing rows, then lock every row, both in byte
		// order: a merger waits on another's inserts only in its insert
		// phase and on row locks only in its lock phase, each in the same
		// order in every merger, so no cycle can form.
		rows, err := tx.Query(ctx, `INSERT INTO subject_state (principal_id, kind, data, updated_at)
			SELECT p, k, '', $3 FROM unnest($1::text[], $2::text[]) AS u(p, k) ORDER BY p COLLATE "C", k COLLATE "C"
			ON CONFLICT (principal_id, kind) DO NOTHING RETURNING principal_id, kind`, ids, kinds, now)
		if err != nil {
			return fmt.Errorf("couldn't insert the new subject states: %w", err)
		}
		inserted := make(map[[2]string]bool)
		var id, kind string
		if _, err := pgx.ForEachRow(rows, []any{&id, &kind}, func() error {
			inserted[[2]string{id, kind}] = true
			return nil
		}); err != nil {
			return fmt.Errorf("couldn't insert the new subject states: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT s.principal_id, s.kind, s.data, s.version FROM subject_state s
			JOIN unnest($1::text[], $2::text[]) AS u(p, k) ON s.principal_id = u.p AND s.kind = u.k
			ORDER BY s.principal_id COLLATE "C", s.kind COLLATE "C" FOR UPDATE OF s`, ids, kinds)
		if err != nil {
			return fmt.Errorf("couldn't lock the subject states: %w", err)
		}
		i := 0
		var d []byte
		var v int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &kind, &d, &v}, func() error {
			if i >= len(sorted) || id != ids[i] || kind != kinds[i] {
				return fmt.Errorf("locked the %s state of %s, out of order", kind, id)
			}
			s := sorted[i]
			stored := store.SubjectState{PrincipalID: id, Kind: kind}
			if !inserted[[2]string{id, kind}] {
				stored.Data, stored.Version = bytes.Clone(d), v
			}
			merged, err := merge(stored, s)
			if err != nil {
				return fmt.Errorf("couldn't merge the %s state of %s: %w", kind, id, err)
			}
			if merged == nil {
				merged = []byte{}
			}
			data[i] = merged
			i++
			return nil
		}); err != nil {
			return fmt.Errorf("couldn't lock the subject states: %w", err)
		}
		if i != len(sorted) {
			return fmt.Errorf("couldn't lock the subject states: locked %d of %d", i, len(sorted))
		}
		var version int64
		if err := tx.QueryRow(ctx, `UPDATE subject_state s SET data = u.data, updated_at = $4
			FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(principal_id, kind, data)
			WHERE s.principal_id = u.principal_id AND s.kind = u.kind
			RETURNING s.version`, ids, kinds, data, now).Scan(&version); err != nil {
			return fmt.Errorf("couldn't write the merged subject states: %w", err)
		}
		out = make([]store.SubjectState, len(sorted))
		for i := range sorted {
			out[i] = store.SubjectState{PrincipalID: ids[i], Kind: kinds[i], Data: data[i], UpdatedAt: fromMicros(now), Version: version}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't merge subject state: %w", err)
	}
	return out, nil
}

// SubjectStatesSince implements [store.SubjectMerger]. The watermark is a
// transaction id: next is the oldest transaction still running when the
// call read (pg_snapshot_xmin, taken before the rows are read), so a state
// written by a transaction that commits afterwards, whatever its id, has a
// Version of at least next. A long transaction anywhere on the server holds
// the watermark back, and states written since it began are returned
// again until it ends.
func (db *DB) SubjectStatesSince(ctx context.Context, since int64) ([]store.SubjectState, int64, error) {
	var b pgx.Batch
	// Two statements, two snapshots in READ COMMITTED: the watermark's
	// snapshot is the earlier, so the rows' one sees at least every
	// transaction it counts as finished.
	b.Queue(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`)
	b.Queue(`SELECT principal_id, kind, data, updated_at, version FROM subject_state
		WHERE version >= $1 ORDER BY principal_id COLLATE "C", kind COLLATE "C"`, since)
	br := db.pool.SendBatch(ctx, &b)
	defer br.Close()
	var next int64
	if err := br.QueryRow().Scan(&next); err != nil {
		return nil, 0, fmt.Errorf("couldn't read subject state: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, fmt.Errorf("couldn't read subject state: %w", err)
	}
	var out []store.SubjectState
	for rows.Next() {
		var s store.SubjectState
		var at int64
		if err := rows.Scan(&s.PrincipalID, &s.Kind, &s.Data, &at, &s.Version); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("couldn't read subject state: %w", err)
		}
		s.UpdatedAt = fromMicros(at)
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("couldn't read subject state: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, 0, fmt.Errorf("couldn't read subject state: %w", err)
	}
	return out, next, nil
}
