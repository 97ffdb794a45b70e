package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline/internal/store"
)

var _ store.Exposure = (*DB)(nil)

// addExposureSQL sums a usage into its hour's row. The feature counts are
// JSON objects merged key by key: json_each_text reads both sides and
// json_object_agg writes the sums back, keys in order.
const addExposureSQL = `INSERT INTO exposure_usage AS e (principal_id, principal_name, route, provider, provider_type, model,
		hour, requests, input_tokens, output_tokens, features, last_used)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (principal_id, route, provider, model, hour) DO UPDATE SET
		principal_name = CASE excluded.principal_name WHEN '' THEN e.principal_name ELSE excluded.principal_name END,
		provider_type  = CASE excluded.provider_type WHEN '' THEN e.provider_type ELSE excluded.provider_type END,
		requests       = e.requests + excluded.requests,
		input_tokens   = e.input_tokens + excluded.input_tokens,
		output_tokens  = e.output_tokens + excluded.output_tokens,
		features       = (SELECT coalesce(json_object_agg(key, n ORDER BY key)::text, '{}') FROM (
			SELECT key, sum(value::bigint) AS n FROM (
				SELECT key, value FROM json_each_text(e.features::json)
				UNION ALL
				SELECT key, value FROM json_each_text(excluded.features::json)) f
			GROUP BY key) g),
		last_used      = greatest(e.last_used, excluded.last_used)`

// AddExposure implements [store.Exposure]. The batch is one transaction,
// written in key order so that replicas adding overlapping batches take
// their row locks in the same order and cannot deadlock; usages of one
// key keep their batch order, so the latest name still wins.
func (db *DB) AddExposure(ctx context.Context, usage []store.ExposureUsage) error {
	if len(usage) == 0 {
		return nil
	}
	type row struct {
		u        store.ExposureUsage
		features string
	}
	rows := make([]row, len(usage))
	for i, u := range usage {
		if err := u.Validate(); err != nil {
			return fmt.Errorf("couldn't add exposure usage: %w", err)
		}
		f := u.Features
		if f == nil {
			f = map[string]int64{}
		}
		b, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("couldn't add exposure usage of %s: %w", u.PrincipalID, err)
		}
		rows[i] = row{u, string(b)}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.u.PrincipalID, b.u.PrincipalID), cmp.Compare(a.u.Route, b.u.Route),
			cmp.Compare(a.u.Provider, b.u.Provider), cmp.Compare(a.u.Model, b.u.Model), a.u.Hour.Compare(b.u.Hour))
	})
	var b pgx.Batch
	for _, r := range rows {
		u := r.u
		b.Queue(addExposureSQL, u.PrincipalID, u.PrincipalName, u.Route, u.Provider, u.ProviderType, u.Model,
			micros(u.Hour), u.Requests, u.InputTokens, u.OutputTokens, r.features, micros(u.LastUsed))
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, r := range rows {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("couldn't add exposure usage of %s: %w", r.u.PrincipalID, err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return fmt.Errorf("couldn't add exposure usage: %w", err)
	}
	return nil
}

// ExposureUsage implements [store.Exposure].
func (db *DB) ExposureUsage(ctx context.Context, f store.ExposureFilter) ([]store.ExposureUsage, error) {
	where, args := exposureWhere(f)
	q := `SELECT principal_id, principal_name, route, provider, provider_type, model, hour,
		requests, input_tokens, output_tokens, features, last_used FROM exposure_usage` + where + `
		ORDER BY principal_id, route, provider, model, hour`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
	}
	defer rows.Close()
	out := []store.ExposureUsage{}
	for rows.Next() {
		var (
			u          store.ExposureUsage
			hour, last int64
			features   string
		)
		if err := rows.Scan(&u.PrincipalID, &u.PrincipalName, &u.Route, &u.Provider, &u.ProviderType, &u.Model, &hour,
			&u.Requests, &u.InputTokens, &u.OutputTokens, &features, &last); err != nil {
			return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
		}
		if err := json.Unmarshal([]byte(features), &u.Features); err != nil {
			return nil, fmt.Errorf("couldn't read exposure usage of %s: features: %w", u.PrincipalID, err)
		}
		if len(u.Features) == 0 {
			u.Features = nil
		}
		u.Hour, u.LastUsed = fromMicros(hour), fromMicros(last)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
	}
	return out, nil
}

// ExposureTotals implements [store.Exposure]. It sums in two queries, the
// counts and then the feature counts, so that only one row per group
// crosses into Go; both run in one REPEATABLE READ transaction, so they
// see the same rows.
func (db *DB) ExposureTotals(ctx context.Context, f store.ExposureFilter) ([]store.ExposureUsage, error) {
	where, args := exposureWhere(f)
	// The name and type come from each group's latest hour, found through
	// the primary key.
	q := `SELECT principal_id, route, provider, model, min(hour), sum(requests)::bigint, sum(input_tokens)::bigint,
		sum(output_tokens)::bigint, max(last_used),
		(SELECT l.principal_name FROM exposure_usage l WHERE l.principal_id = e.principal_id AND l.route = e.route
			AND l.provider = e.provider AND l.model = e.model ORDER BY l.hour DESC LIMIT 1),
		(SELECT l.provider_type FROM exposure_usage l WHERE l.principal_id = e.principal_id AND l.route = e.route
			AND l.provider = e.provider AND l.model = e.model ORDER BY l.hour DESC LIMIT 1)
		FROM exposure_usage e` + where + `
		GROUP BY principal_id, route, provider, model
		ORDER BY principal_id, route, provider, model`
	type groupKey struct{ principal, route, provider, model string }
	var out []store.ExposureUsage
	err := db.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		out = []store.ExposureUsage{}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		index := make(map[groupKey]int)
		var (
			u          store.ExposureUsage
			hour, last int64
		)
		_, err = pgx.ForEachRow(rows, []any{&u.PrincipalID, &u.Route, &u.Provider, &u.Model, &hour, &u.Requests,
			&u.InputTokens, &u.OutputTokens, &last, &u.PrincipalName, &u.ProviderType}, func() error {
			u.Hour, u.LastUsed = fromMicros(hour), fromMicros(last)
			index[groupKey{u.PrincipalID, u.Route, u.Provider, u.Model}] = len(out)
			out = append(out, u)
			return nil
		})
		if err != nil {
			return err
		}
		frows, err := tx.Query(ctx, `SELECT principal_id, route, provider, model, j.key, sum(j.value::bigint)::bigint
			FROM exposure_usage e, json_each_text(e.features::json) j`+where+`
			GROUP BY principal_id, route, provider, model, j.key`, args...)
		if err != nil {
			return err
		}
		var (
			k       groupKey
			feature string
			n       int64
		)
		_, err = pgx.ForEachRow(frows, []any{&k.principal, &k.route, &k.provider, &k.model, &feature, &n}, func() error {
			i, ok := index[k]
			if !ok || n == 0 {
				return nil
			}
			g := &out[i]
			if g.Features == nil {
				g.Features = make(map[string]int64)
			}
			g.Features[feature] = n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
	}
	return out, nil
}

// exposureWhere returns the WHERE clause, with a leading space, and its
// arguments for f; columns are those of exposure_usage, unqualified.
func exposureWhere(f store.ExposureFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	if f.PrincipalID != "" {
		args = append(args, f.PrincipalID)
		where = append(where, fmt.Sprintf("principal_id = $%d", len(args)))
	}
	if !f.Since.IsZero() {
		// The hour [hour, hour+1h) reaches Since when hour > Since-1h.
		args = append(args, micros(f.Since.Add(-time.Hour)))
		where = append(where, fmt.Sprintf("hour > $%d", len(args)))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}
