package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/brightline/brightline/internal/store"
)

var _ store.ShadowResults = (*DB)(nil)

const shadowColumns = `id, route, candidate, at, primary_ok, candidate_ok, primary_us, candidate_us,
	tool_agreement, refusal_agreement, similarity, detail`

// shadowSummaryColumns is shadowColumns without the detail, which
// ScanShadowResults leaves out: summaries do not read it, and decoding it
// would be most of the work.
const shadowSummaryColumns = `id, route, candidate, at, primary_ok, candidate_ok, primary_us, candidate_us,
	tool_agreement, refusal_agreement, similarity, '{}'`

// RecordShadowResults implements [store.ShadowResults]. One transaction
// holds the batch, so the per-commit fsync is paid once per batch.
func (db *DB) RecordShadowResults(ctx context.Context, rs []store.ShadowResult) error {
	if len(rs) == 0 {
		return nil
	}
	details := make([]string, len(rs))
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("couldn't record shadow result %d of %d: %w", i+1, len(rs), err)
		}
		b, err := json.Marshal(r.Detail)
		if err != nil {
			return fmt.Errorf("couldn't record shadow result %d of %d for route %q: %w", i+1, len(rs), r.Route, err)
		}
		details[i] = string(b)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't record %d shadow results: %w", len(rs), err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO shadow_results (route, candidate, at, primary_ok, candidate_ok,
		primary_us, candidate_us, tool_agreement, refusal_agreement, similarity, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("couldn't record %d shadow results: %w", len(rs), err)
	}
	defer stmt.Close()
	at := micros(db.now())
	for i, r := range rs {
		_, err := stmt.ExecContext(ctx, r.Route, r.Candidate, at, r.PrimaryOK, r.CandidateOK,
			r.PrimaryLatency.Microseconds(), r.CandidateLatency.Microseconds(),
			shadowBool(r.ToolAgreement), shadowBool(r.RefusalAgreement), shadowFloat(r.Similarity), details[i])
		if err != nil {
			return fmt.Errorf("couldn't record shadow result for route %q: %w", r.Route, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't record %d shadow results: %w", len(rs), err)
	}
	return nil
}

// ShadowResults implements [store.ShadowResults].
func (db *DB) ShadowResults(ctx context.Context, route string, since time.Time, limit int) ([]store.ShadowResult, error) {
	q := `SELECT ` + shadowColumns + ` FROM shadow_results WHERE (? = '' OR route = ?) AND at >= ? ORDER BY id DESC`
	args := []any{route, route, micros(since)}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	out := []store.ShadowResult{}
	err := db.scanShadow(ctx, q, args, func(r store.ShadowResult) { out = append(out, r) })
	if err != nil {
		return nil, fmt.Errorf("couldn't list shadow results for route %q: %w", route, err)
	}
	return out, nil
}

// ScanShadowResults implements [store.ShadowResults].
func (db *DB) ScanShadowResults(ctx context.Context, route string, since time.Time, fn func(store.ShadowResult)) error {
	err := db.scanShadow(ctx, `SELECT `+shadowSummaryColumns+` FROM shadow_results WHERE (? = '' OR route = ?) AND at >= ?`,
		[]any{route, route, micros(since)}, fn)
	if err != nil {
		return fmt.Errorf("couldn't sum up shadow results for route %q: %w", route, err)
	}
	return nil
}

func (db *DB) scanShadow(ctx context.Context, q string, args []any, f func(store.ShadowResult)) error {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r             store.ShadowResult
			at, pUS, cUS  int64
			tool, refusal sql.NullBool
			sim           sql.NullFloat64
			detail        string
		)
		if err := rows.Scan(&r.ID, &r.Route, &r.Candidate, &at, &r.PrimaryOK, &r.CandidateOK, &pUS, &cUS,
			&tool, &refusal, &sim, &detail); err != nil {
			return err
		}
		if detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &r.Detail); err != nil {
				return fmt.Errorf("shadow result %d has a bad detail: %w", r.ID, err)
			}
		}
		r.At = fromMicros(at)
		r.PrimaryLatency = time.Duration(pUS) * time.Microsecond
		r.CandidateLatency = time.Duration(cUS) * time.Microsecond
		if tool.Valid {
			r.ToolAgreement = &tool.Bool
		}
		if refusal.Valid {
			r.RefusalAgreement = &refusal.Bool
		}
		if sim.Valid {
			r.Similarity = &sim.Float64
		}
		f(r)
	}
	return rows.Err()
}

func shadowBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

func shadowFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}
