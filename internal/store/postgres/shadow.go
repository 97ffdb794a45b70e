package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
// and one round trip hold the batch.
func (db *DB) RecordShadowResults(ctx context.Context, rs []store.ShadowResult) error {
	if len(rs) == 0 {
		return nil
	}
	at := micros(db.now())
	var b pgx.Batch
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("couldn't record shadow result %d of %d: %w", i+1, len(rs), err)
		}
		detail, err := json.Marshal(r.Detail)
		if err != nil {
			return fmt.Errorf("couldn't record shadow result %d of %d for route %q: %w", i+1, len(rs), r.Route, err)
		}
		b.Queue(`INSERT INTO shadow_results (route, candidate, at, primary_ok, candidate_ok,
			primary_us, candidate_us, tool_agreement, refusal_agreement, similarity, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.Route, r.Candidate, at, r.PrimaryOK, r.CandidateOK,
			r.PrimaryLatency.Microseconds(), r.CandidateLatency.Microseconds(),
			r.ToolAgreement, r.RefusalAgreement, r.Similarity, string(detail))
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, r := range rs {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("route %q: %w", r.Route, err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return fmt.Errorf("couldn't record %d shadow results: %w", len(rs), err)
	}
	return nil
}

// ShadowResults implements [store.ShadowResults].
func (db *DB) ShadowResults(ctx context.Context, route string, since time.Time, limit int) ([]store.ShadowResult, error) {
	q := `SELECT ` + shadowColumns + ` FROM shadow_results WHERE ($1 = '' OR route = $1) AND at >= $2 ORDER BY id DESC`
	args := []any{route, micros(since)}
	if limit > 0 {
		q += ` LIMIT $3`
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
	err := db.scanShadow(ctx, `SELECT `+shadowSummaryColumns+` FROM shadow_results WHERE ($1 = '' OR route = $1) AND at >= $2`,
		[]any{route, micros(since)}, fn)
	if err != nil {
		return fmt.Errorf("couldn't sum up shadow results for route %q: %w", route, err)
	}
	return nil
}

func (db *DB) scanShadow(ctx context.Context, q string, args []any, f func(store.ShadowResult)) error {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r             store.ShadowResult
			at, pUS, cUS  int64
			tool, refusal *bool
			sim           *float64
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
		r.ToolAgreement, r.RefusalAgreement, r.Similarity = tool, refusal, sim
		f(r)
	}
	return rows.Err()
}
