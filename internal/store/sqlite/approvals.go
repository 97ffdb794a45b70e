package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
)

var _ approval.Store = (*DB)(nil)

const approvalColumns = `id, request_id, principal, upstream, delegates, tool, class, arguments, args_digest,
	policy_version, rule, require_role, require_count, excerpt, status, votes, created_at, expires_at, decided_at,
	consumed_at`

// voteRow is how a vote is kept in the votes JSON array.
type voteRow struct {
	By      brightline.Principal `json:"by"`
	At      int64                `json:"at"` // Unix microseconds
	Approve bool                 `json:"approve"`
	Reason  string               `json:"reason,omitempty"`
}

// CreateApproval implements [approval.Store]. The count of the
// requester's pending approvals and the insert are one IMMEDIATE
// transaction on the one writer connection.
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
	delegates, err := encodeRoles(a.Delegates)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: delegates: %w", a.ID, err)
	}
	requester := a.Principal.Who()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, err)
	}
	defer tx.Rollback()
	now := db.now().Truncate(time.Microsecond)
	expires := now.Add(ttl).Truncate(time.Microsecond)
	if maxPending > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM approvals
			WHERE requester = ? AND status = 'pending' AND expires_at > ?`, requester, micros(now)).Scan(&n); err != nil {
			return approval.Approval{}, fmt.Errorf("couldn't create approval %q: couldn't count pending approvals: %w", a.ID, err)
		}
		if n >= maxPending {
			return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %q has %d pending approvals, the most allowed: %w",
				a.ID, requester, n, approval.ErrLimit)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO approvals (id, request_id, principal_id, principal, requester, upstream,
		delegates, tool, class, arguments, args_digest, policy_version, rule, require_role, require_count, excerpt,
		status, votes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', '[]', ?, ?)`,
		a.ID, a.RequestID, a.Principal.ID, string(principal), requester, a.Upstream, delegates, a.Tool, a.Class,
		string(a.Arguments), a.ArgsDigest, a.PolicyVersion, a.Rule, a.Require.Role, a.Require.Count, a.Excerpt,
		micros(now), micros(expires))
	if isUniqueViolation(err) {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, store.ErrExists)
	}
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, err)
	}
	stored, err := getApproval(ctx, tx, a.ID)
	if err != nil {
		return approval.Approval{}, err
	}
	if err := tx.Commit(); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't create approval %q: %w", a.ID, err)
	}
	return stored, nil
}

// GetApproval implements [approval.Store].
func (db *DB) GetApproval(ctx context.Context, id string) (approval.Approval, error) {
	return getApproval(ctx, db.read, id)
}

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getApproval(ctx context.Context, q queryer, id string) (approval.Approval, error) {
	a, err := scanApproval(q.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("couldn't find approval %q: %w", id, brightline.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("couldn't read approval %q: %w", id, err)
	}
	return a, nil
}

// ListApprovals implements [approval.Store].
func (db *DB) ListApprovals(ctx context.Context, status approval.Status) ([]approval.Approval, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE ? = '' OR status = ? ORDER BY seq`, string(status), string(status))
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

// UpdateApproval implements [approval.Store].
func (db *DB) UpdateApproval(ctx context.Context, id string, fn func(a *approval.Approval, now time.Time) error) (approval.Approval, error) {
	tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: read, fn and write are atomic
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	defer tx.Rollback()
	a, err := getApproval(ctx, tx, id)
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
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET status = ?, votes = ?, decided_at = ?, consumed_at = ?
		WHERE id = ?`, string(a.Status), votes, nullMicros(a.DecidedAt), nullMicros(a.ConsumedAt), id); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	stored, err := getApproval(ctx, tx, id)
	if err != nil {
		return approval.Approval{}, err
	}
	if err := tx.Commit(); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't update approval %q: %w", id, err)
	}
	return stored, nil
}

// ConsumeApproval implements [approval.Store]. The status, expiry and
// digest checks and the write are one UPDATE statement.
func (db *DB) ConsumeApproval(ctx context.Context, id, digest, upstream string) (approval.Approval, error) {
	now := micros(db.now())
	res, err := db.write.ExecContext(ctx, `UPDATE approvals SET status = 'consumed', consumed_at = ?
		WHERE id = ? AND status = 'approved' AND expires_at > ? AND args_digest = ? AND upstream = ?`,
		now, id, now, digest, upstream)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't consume approval %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't consume approval %q: %w", id, err)
	}
	// Read through the writer so the answer reflects this write.
	a, err := getApproval(ctx, db.write, id)
	if err != nil {
		return a, err
	}
	if n == 0 {
		return a, fmt.Errorf("couldn't consume approval %q (status %s, expires %v): %w",
			id, a.Status, a.ExpiresAt.Format(time.RFC3339Nano), approval.ErrPrecondition)
	}
	return a, nil
}

// FindApproved implements [approval.Store].
func (db *DB) FindApproved(ctx context.Context, principalID, digest, upstream string) (approval.Approval, error) {
	a, err := scanApproval(db.read.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE principal_id = ? AND args_digest = ? AND upstream = ? AND status = 'approved' AND expires_at > ?
		ORDER BY seq DESC LIMIT 1`, principalID, digest, upstream, micros(db.now())))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("couldn't find an approved call by %q with digest %s: %w", principalID, digest, brightline.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("couldn't look up approved calls: %w", err)
	}
	return a, nil
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

func scanApproval(s scanner) (approval.Approval, error) {
	var (
		a                      approval.Approval
		principal, args, votes string
		status, delegates      string
		created, expires       int64
		decided, consumed      sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.RequestID, &principal, &a.Upstream, &delegates, &a.Tool, &a.Class, &args, &a.ArgsDigest, &a.PolicyVersion,
		&a.Rule, &a.Require.Role, &a.Require.Count, &a.Excerpt, &status, &votes, &created, &expires,
		&decided, &consumed); err != nil {
		return approval.Approval{}, err
	}
	if err := json.Unmarshal([]byte(principal), &a.Principal); err != nil {
		return approval.Approval{}, fmt.Errorf("couldn't decode principal of approval %q: %w", a.ID, err)
	}
	var err error
	if a.Delegates, err = decodeRoles(delegates); err != nil {
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

// nullMicros converts a nullable time to its stored form.
func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}
