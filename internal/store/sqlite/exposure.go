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
	q := `SELECT principal_id, principal_name, route, provider, provider_type, model, hour,
		requests, input_tokens, output_tokens, features, last_used FROM exposure_usage`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY principal_id, route, provider, model, hour"
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
