package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

var _ store.Keys = (*DB)(nil)

// lookupSQL is the per-request authentication query. The UNIQUE index on
// hash makes it a single index probe, and pgx prepares it once per
// connection and keeps it in the connection's statement cache.
const lookupSQL = `SELECT id, name, person, org, purpose, roles FROM keys WHERE hash = $1 AND revoked_at IS NULL`

// CreateKey implements [store.Keys].
func (db *DB) CreateKey(ctx context.Context, k store.Key, hash [32]byte) error {
	if err := k.Validate(hash); err != nil {
		return fmt.Errorf("couldn't create key: %w", err)
	}
	if p := k.Principal.Person; !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return fmt.Errorf("couldn't create key: key %q has a person that is not valid UTF-8 text: %q", k.ID, p)
	}
	roles, err := encodeStrings(k.Principal.Roles)
	if err != nil {
		return fmt.Errorf("couldn't create key %q: %w", k.ID, err)
	}
	p := k.Principal
	_, err = db.pool.Exec(ctx, `INSERT INTO keys
		(id, hash, prefix, name, person, org, purpose, roles, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, hash[:], k.Prefix, p.Name, p.Person, p.Org, p.Purpose, roles, micros(db.now()))
	if isUniqueViolation(err) {
		return fmt.Errorf("couldn't create key %q: id or hash %w", k.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("couldn't create key %q: %w", k.ID, err)
	}
	return nil
}

// PrincipalByKeyHash implements [store.Keys].
func (db *DB) PrincipalByKeyHash(ctx context.Context, hash [32]byte) (brightline.Principal, error) {
	var p brightline.Principal
	var roles string
	err := db.pool.QueryRow(ctx, lookupSQL, hash[:]).Scan(&p.ID, &p.Name, &p.Person, &p.Org, &p.Purpose, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return brightline.Principal{}, fmt.Errorf("couldn't find an active key with that hash: %w", brightline.ErrNotFound)
	}
	if err != nil {
		return brightline.Principal{}, fmt.Errorf("couldn't look up key: %w", err)
	}
	if p.Roles, err = decodeStrings(roles); err != nil {
		return brightline.Principal{}, fmt.Errorf("couldn't look up key %q: %w", p.ID, err)
	}
	return p, nil
}

const keyColumns = `id, prefix, name, person, org, purpose, roles, created_at, revoked_at, last_used_at`

func scanKey(s pgx.Row) (store.Key, error) {
	var (
		k                store.Key
		roles            string
		created          int64
		revoked, lastUse *int64
	)
	if err := s.Scan(&k.ID, &k.Prefix, &k.Principal.Name, &k.Principal.Person, &k.Principal.Org, &k.Principal.Purpose,
		&roles, &created, &revoked, &lastUse); err != nil {
		return store.Key{}, err
	}
	k.Principal.ID = k.ID
	var err error
	if k.Principal.Roles, err = decodeStrings(roles); err != nil {
		return store.Key{}, fmt.Errorf("key %q: %w", k.ID, err)
	}
	k.CreatedAt = fromMicros(created)
	k.RevokedAt = nullTime(revoked)
	k.LastUsedAt = nullTime(lastUse)
	return k, nil
}

// GetKey returns key id, revoked or not, or an error wrapping
// brightline.ErrNotFound. The approval service uses it to refuse the token
// of a requester whose key was revoked. Safe to retry.
func (db *DB) GetKey(ctx context.Context, id string) (store.Key, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("couldn't find key %q: %w", id, brightline.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("couldn't read key %q: %w", id, err)
	}
	return k, nil
}

// ListKeys implements [store.Keys].
func (db *DB) ListKeys(ctx context.Context) ([]store.Key, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list keys: %w", err)
	}
	defer rows.Close()
	keys := []store.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't list keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list keys: %w", err)
	}
	return keys, nil
}

// RevokeKey implements [store.Keys]. Revoking a revoked key keeps the
// first revocation time and succeeds.
func (db *DB) RevokeKey(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`,
		micros(db.now()), id)
	if err != nil {
		return fmt.Errorf("couldn't revoke key %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("couldn't revoke key %q: %w", id, brightline.ErrNotFound)
	}
	return nil
}

// CountActiveKeys implements [store.Keys].
func (db *DB) CountActiveKeys(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM keys WHERE revoked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("couldn't count active keys: %w", err)
	}
	return n, nil
}

// TouchKeys implements [store.Keys]. The ids travel as one array
// parameter, so the statement is the same whatever their number.
func (db *DB) TouchKeys(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE keys SET last_used_at = $1 WHERE revoked_at IS NULL AND id = ANY($2)`,
		micros(db.now()), ids); err != nil {
		return fmt.Errorf("couldn't record use of %d keys: %w", len(ids), err)
	}
	return nil
}

// encodeStrings stores a list of strings (roles, delegates) as a JSON
// array, which keeps their order, duplicates and any character exactly.
// Nil is stored as [].
func encodeStrings(ss []string) (string, error) {
	if ss == nil {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", fmt.Errorf("couldn't encode %q: %w", ss, err)
	}
	return string(b), nil
}

// decodeStrings reverses encodeStrings, returning nil for an empty list.
func decodeStrings(s string) ([]string, error) {
	if s == "[]" {
		return nil, nil
	}
	var ss []string
	if err := json.Unmarshal([]byte(s), &ss); err != nil {
		return nil, fmt.Errorf("couldn't decode %q: %w", s, err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}
