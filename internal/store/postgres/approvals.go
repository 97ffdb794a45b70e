package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
)

var _ approval.Store = (*DB)(nil)

const approvalColumns = `id, request_id, principal, upstream, delegates, tool, class, arguments, args_digest,
	policy_version, rule, require_role, require_count, excerpt, status, votes, created_at, expires_at, decided_at,
	consumed_at`

// approvalLockKey is the first key of the two-key advisory lock that
// CreateApproval takes per requester (the second is hashtext of the
// requester), so that the count of pending approvals and the insert are
// atomic across replicas without locking the whole table.
const approvalLockKey int32 = 0x62726c61 // "brla"

// voteRow is how a vote is kept in the votes JSON array; the same form as
// the SQLite store's.
type voteRow struct {
	By      brightline.Principal `json:"by"`
	At      int64                `json:"at"` // Unix microseconds
	Approve bool                 `json:"approve"`
	Reason  string               `json:"reason,omitempty"`
}

// CreateApproval implements [approval.Store]. With maxPending > 0 the
// count of the requester's pending approvals and the insert are one
// transaction holding an advisory lock on the requester.
func (db *DB) CreateApproval(ctx context.Context, a approval.Approval, ttl time.Duration, maxPending int) (approval.Approval, error) {
	if err := a.Validate(); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval: %w", err)
	}
	if ttl <= 0 {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: ttl %v is not positive", a.ID, ttl)
	}
	principal, err := json.Marshal(a.Principal)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, err)
	}
	delegates, err := encodeStrings(a.Delegates)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: delegates: %w", a.ID, err)
	}
	requester := a.Principal.Who()
	now := db.now().Truncate(time.Microsecond)
	expires := now.Add(ttl).Truncate(time.Microsecond)
	var stored approval.Approval
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if maxPending > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, approvalLockKey, requester); err != nil {
				return fmt.Errorf("couldn't lock the requester's approvals: %w", err)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM approvals
				WHERE requester = $1 AND status = 'pending' AND expires_at > $2`, requester, micros(now)).Scan(&n); err != nil {
				return fmt.Errorf("couldn't count pending approvals: %w", err)
			}
			if n >= maxPending {
				return fmt.Errorf("%q has %d pending approvals, the most allowed: %w", requester, n, approval.ErrLimit)
			}
		}
		var err error
		stored, err = scanApproval(tx.QueryRow(ctx, `INSERT INTO approvals (id, request_id, principal_id, principal,
			requester, upstream, delegates, tool, class, arguments, args_digest, policy_version, rule, require_role,
			require_count, excerpt, status, votes, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'pending', '[]', $17, $18)
			RETURNING `+approvalColumns,
			a.ID, a.RequestID, a.Principal.ID, string(principal), requester, a.Upstream, delegates, a.Tool, a.Class,
			string(a.Arguments), a.ArgsDigest, a.PolicyVersion, a.Rule, a.Require.Role, a.Require.Count, a.Excerpt,
			micros(now), micros(expires)))
		if isUniqueViolation(err) {
			return store.ErrExists
		}
		return err
	})
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, err)
	}
	return stored, nil
}

// GetApproval implements [approval.Store].
func (db *DB) GetApproval(ctx context.Context, id string) (approval.Approval, error) {
	return getApproval(ctx, db.pool, id, "")
}

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// getApproval reads approval id, adding suffix (" FOR UPDATE") to the query.
func getApproval(ctx context.Context, q querier, id, suffix string) (approval.Approval, error) {
	a, err := scanApproval(q.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = $1`+suffix, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("couldn't find approval %q: %w", id, brightline.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("couldn't read approval %q: %w", id, err)
	}
	return a, nil
}

// ListApprovals implements [approval.Store].
func (db *DB) ListApprovals(ctx context.Context, status approval.Status) ([]approval.Approval, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE $1 = '' OR status = $1 ORDER BY seq`, string(status))
	if err != nil {
		return nil, fmt.Errorf("couldn't list approvals: %w", err)
	}
	defer rows.Close()
	out := []approval.Approval{}
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't list approvals: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list approvals: %w", err)
	}
	return out, nil
}

// UpdateApproval implements [approval.Store]. The row is read FOR UPDATE,
// so a vote cast on another replica at the same time waits for this one
// and then sees it.
func (db *DB) UpdateApproval(ctx context.Context, id string, fn func(a *approval.Approval, now time.Time) error) (approval.Approval, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	a, err := getApproval(ctx, tx, id, " FOR UPDATE")
	if err != nil {
		return approval.Approval{}, err
	}
	now := db.now().Truncate(time.Microsecond).UTC()
	if err := fn(&a, now); err != nil {
		return approval.Approval{}, err
	}
	if !a.Status.Valid() {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: status %q is not valid", id, a.Status)
	}
	votes, err := encodeVotes(a.Votes)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	stored, err := scanApproval(tx.QueryRow(ctx, `UPDATE approvals SET status = $1, votes = $2, decided_at = $3, consumed_at = $4
		WHERE id = $5 RETURNING `+approvalColumns,
		string(a.Status), votes, nullMicros(a.DecidedAt), nullMicros(a.ConsumedAt), id))
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	return stored, nil
}

// ConsumeApproval implements [approval.Store]. The status, expiry, digest
// and upstream checks and the write are one conditional UPDATE: of two
// replicas racing, the second waits on the row lock, re-checks the row
// the first committed, finds it consumed and changes nothing.
func (db *DB) ConsumeApproval(ctx context.Context, id, digest, upstream string) (approval.Approval, error) {
	now := micros(db.now())
	a, err := scanApproval(db.pool.QueryRow(ctx, `UPDATE approvals SET status = 'consumed', consumed_at = $1
		WHERE id = $2 AND status = 'approved' AND expires_at > $1 AND args_digest = $3 AND upstream = $4
		RETURNING `+approvalColumns, now, id, digest, upstream))
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return approval.Approval{}, fmt.Errorf("couldn't consume approval %q: %w", id, err)
	}
	a, err = getApproval(ctx, db.pool, id, "")
	if err != nil {
		return a, err
	}
	return a, fmt.Errorf("couldn't consume approval %q (status %s, expires %v): %w",
		id, a.Status, a.ExpiresAt.Format(time.RFC3339Nano), approval.ErrPrecondition)
}

// FindApproved implements [approval.Store].
func (db *DB) FindApproved(ctx context.Context, principalID, digest, upstream string) (approval.Approval, error) {
	a, err := scanApproval(db.pool.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE principal_id = $1 AND args_digest = $2 AND upstream = $3 AND status = 'approved' AND expires_at > $4
		ORDER BY seq DESC LIMIT 1`, principalID, digest, upstream, micros(db.now())))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("couldn't find an approved call by %q with digest %s: %w", principalID, digest, brightline.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("couldn't look up approved calls: %w", err)
	}
	return a, nil
}

func scanApproval(s pgx.Row) (approval.Approval, error) {
	var (
		a                      approval.Approval
		principal, args, votes string
		status, delegates      string
		created, expires       int64
		decided, consumed      *int64
	)
	if err := s.Scan(&a.ID, &a.RequestID, &principal, &a.Upstream, &delegates, &a.Tool, &a.Class, &args, &a.ArgsDigest,
		&a.PolicyVersion, &a.Rule, &a.Require.Role, &a.Require.Count, &a.Excerpt, &status, &votes, &created, &expires,
		&decided, &consumed); err != nil {
		return approval.Approval{}, err
	}
	if err := json.Unmarshal([]byte(principal), &a.Principal); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't decode principal of approval %q: %w", a.ID, err)
	}
	var err error
	if a.Delegates, err = decodeStrings(delegates); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't decode delegates of approval %q: %w", a.ID, err)
	}
	var rows []voteRow
	if err := json.Unmarshal([]byte(votes), &rows); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't decode votes of approval %q: %w", a.ID, err)
	}
	for _, r := range rows {
		a.Votes = append(a.Votes, approval.Vote{By: r.By, At: fromMicros(r.At), Approve: r.Approve, Reason: r.Reason})
	}
	a.Arguments = json.RawMessage(args)
	a.Status = approval.Status(status)
	a.CreatedAt = fromMicros(created)
	a.ExpiresAt = fromMicros(expires)
	a.DecidedAt = nullTime(decided)
	a.ConsumedAt = nullTime(consumed)
	return a, nil
}

func encodeVotes(votes []approval.Vote) (string, error) {
	rows := make([]voteRow, 0, len(votes))
	for _, v := range votes {
		rows = append(rows, voteRow{By: v.By, At: micros(v.At), Approve: v.Approve, Reason: v.Reason})
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("couldn't encode votes: %w", err)
	}
	return string(b), nil
}
