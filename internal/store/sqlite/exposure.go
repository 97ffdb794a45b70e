package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/store"
)

var _ store.Exposure = (*DB)(nil)

// addExposureSQL sums a usage into its hour's row. The feature counts are
// JSON objects merged key by key: json_each reads both sides and
// json_group_object writes the sums back, keys in order.
const addExposureSQL = `INSERT INTO exposure_usage (principal_id, principal_name, route, provider, provider_type, model,
		hour, requests, input_tokens, output_tokens, features, last_used)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (principal_id, route, provider, model, hour) DO UPDATE SET
		principal_name = CASE excluded.principal_name WHEN '' THEN principal_name ELSE excluded.principal_name END,
		provider_type  = CASE excluded.provider_type WHEN '' THEN provider_type ELSE excluded.provider_type END,
		requests       = requests + excluded.requests,
		input_tokens   = input_tokens + excluded.input_tokens,
		output_tokens  = output_tokens + excluded.output_tokens,
		features       = (SELECT coalesce(json_group_object(key, n), '{}') FROM (
			SELECT key, sum(value) AS n FROM (
				SELECT key, value FROM json_each(exposure_usage.features)
				UNION ALL
				SELECT key, value FROM json_each(excluded.features))
			GROUP BY key ORDER BY key)),
		last_used      = max(last_used, excluded.last_used)`

// AddExposure implements [store.Exposure].
func (db *DB) AddExposure(ctx context.Context, usage []store.ExposureUsage) error {
	if len(usage) == 0 {
		return nil
	}
	features := make([]string, len(usage))
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
		features[i] = string(b)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't add exposure usage: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, addExposureSQL)
	if err != nil {
		return fmt.Errorf("couldn't add exposure usage: %w", err)
	}
	defer stmt.Close()
	for i, u := range usage {
		if _, err := stmt.ExecContext(ctx, u.PrincipalID, u.PrincipalName, u.Route, u.Provider, u.ProviderType, u.Model,
			micros(u.Hour), u.Requests, u.InputTokens, u.OutputTokens, features[i], micros(u.LastUsed)); err != nil {
			return fmt.Errorf("couldn't add exposure usage of %s: %w", u.PrincipalID, err)
		}
	}
	if err := tx.Commit(); err != nil {
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
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
	}
	defer rows.Close()
	out := []store.ExposureUsage{}
	for rows.Next() {
		var (
			u          store.ExposureUsage
			hour, last int64
			features   []byte
		)
		if err := rows.Scan(&u.PrincipalID, &u.PrincipalName, &u.Route, &u.Provider, &u.ProviderType, &u.Model, &hour,
			&u.Requests, &u.InputTokens, &u.OutputTokens, &features, &last); err != nil {
			return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
		}
		if err := json.Unmarshal(features, &u.Features); err != nil {
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
// crosses into Go.
func (db *DB) ExposureTotals(ctx context.Context, f store.ExposureFilter) ([]store.ExposureUsage, error) {
	where, args := exposureWhere(f)
	// The name and type come from each group's latest hour, found through
	// the primary key.
	q := `SELECT principal_id, route, provider, model, min(hour), sum(requests), sum(input_tokens), sum(output_tokens), max(last_used),
		(SELECT l.principal_name FROM exposure_usage l WHERE l.principal_id = e.principal_id AND l.route = e.route
			AND l.provider = e.provider AND l.model = e.model ORDER BY l.hour DESC LIMIT 1),
		(SELECT l.provider_type FROM exposure_usage l WHERE l.principal_id = e.principal_id AND l.route = e.route
			AND l.provider = e.provider AND l.model = e.model ORDER BY l.hour DESC LIMIT 1)
		FROM exposure_usage e` + where + `
		GROUP BY principal_id, route, provider, model
		ORDER BY principal_id, route, provider, model`
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
	}
	defer rows.Close()
	type groupKey struct{ principal, route, provider, model string }
	out := []store.ExposureUsage{}
	index := make(map[groupKey]int)
	for rows.Next() {
		var (
			u          store.ExposureUsage
			hour, last int64
		)
		if err := rows.Scan(&u.PrincipalID, &u.Route, &u.Provider, &u.Model, &hour, &u.Requests, &u.InputTokens, &u.OutputTokens,
			&last, &u.PrincipalName, &u.ProviderType); err != nil {
			return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
		}
		u.Hour, u.LastUsed = fromMicros(hour), fromMicros(last)
		index[groupKey{u.PrincipalID, u.Route, u.Provider, u.Model}] = len(out)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
	}
	rows.Close()

	frows, err := db.read.QueryContext(ctx, `SELECT principal_id, route, provider, model, j.key, sum(j.value)
		FROM exposure_usage e, json_each(e.features) j`+where+`
		GROUP BY principal_id, route, provider, model, j.key`, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var (
			k       groupKey
			feature string
			n       int64
		)
		if err := frows.Scan(&k.principal, &k.route, &k.provider, &k.model, &feature, &n); err != nil {
			return nil, fmt.Errorf("couldn't read exposure totals: %w", err)
		}
		i, ok := index[k]
		if !ok || n == 0 {
			continue // written between the two queries
		}
		u := &out[i]
		if u.Features == nil {
			u.Features = make(map[string]int64)
		}
		u.Features[feature] = n
	}
	if err := frows.Err(); err != nil {
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
		where = append(where, "principal_id = ?")
		args = append(args, f.PrincipalID)
	}
	if !f.Since.IsZero() {
		// The hour [hour, hour+1h) reaches Since when hour > Since-1h.
		where = append(where, "hour > ?")
		args = append(args, micros(f.Since.Add(-time.Hour)))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}
