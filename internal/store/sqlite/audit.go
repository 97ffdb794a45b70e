package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

var _ store.AuditIndex = (*DB)(nil)

// RecordAuditEntries implements [store.AuditIndex]. The whole batch is one
// transaction, so one fsync covers every row; the audit log relies on that
// to index thousands of entries a second.
func (db *DB) RecordAuditEntries(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("couldn't record audit entries: %w", err)
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't record %d audit entries: %w", len(recs), err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_index
		(log_index, request_id, kind, stage, salt, body, receipt, receipt_note, receipt_ref, receipt_proof, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("couldn't record %d audit entries: %w", len(recs), err)
	}
	defer stmt.Close()
	now := micros(db.now())
	// The driver watches a context that can end with a goroutine per
	// statement, which cost a third of the user CPU of a row. A single-row
	// INSERT inside a BEGIN IMMEDIATE transaction holds the write lock
	// already and never waits, so there is nothing to interrupt: run the
	// rows without ctx's cancellation and check ctx between them. The
	// transaction itself still watches ctx (database/sql rolls it back).
	rowCtx := context.WithoutCancel(ctx)
	notes := make(store.ReceiptBatch)
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("couldn't record audit entry for log index %d: %w", r.LogIndex, err)
		}
		whole, note, holder, rest := notes.Columns(r)
		if _, err := stmt.ExecContext(rowCtx, int64(r.LogIndex), r.RequestID, r.Kind, r.Stage, nilBlob(r.Salt), nilBlob(r.Body),
			whole, nilBlob(note), holder, nilBlob(rest), now); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("couldn't record audit entry for log index %d: %w", r.LogIndex, store.ErrExists)
			}
			return fmt.Errorf("couldn't record audit entry for log index %d: %w", r.LogIndex, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't record %d audit entries: %w", len(recs), err)
	}
	return nil
}

// nilBlob keeps nil as SQL NULL and an empty slice as an empty BLOB. It
// need not copy b: database/sql hands a []byte argument to the driver
// as is, and modernc.org/sqlite copies it into C memory when it binds it
// (conn.bindBlob), before the statement runs, and keeps nothing after.
func nilBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// AuditEntries implements [store.AuditIndex].
func (db *DB) AuditEntries(ctx context.Context, requestID string) ([]store.AuditRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT a.log_index, a.request_id, a.kind, a.stage, a.salt, a.body, a.receipt,
			COALESCE(a.receipt_note, n.receipt_note), a.receipt_ref, a.receipt_proof, a.created_at
		FROM audit_index a LEFT JOIN audit_index n ON n.log_index = a.receipt_ref
		WHERE a.request_id = ? ORDER BY a.log_index`, requestID)
	if err != nil {
		return nil, fmt.Errorf("couldn't read audit entries of request %q: %w", requestID, err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var idx, at int64
		var note, proof []byte
		var whole string
		var ref sql.NullInt64
		if err := rows.Scan(&idx, &r.RequestID, &r.Kind, &r.Stage, &r.Salt, &r.Body, &whole, &note, &ref, &proof, &at); err != nil {
			return nil, fmt.Errorf("couldn't read audit entries of request %q: %w", requestID, err)
		}
		if r.Receipt, err = store.ReceiptFromColumns(whole, note, ref.Int64, proof); err != nil {
			return nil, fmt.Errorf("couldn't read audit entries of request %q: log index %d: %w", requestID, idx, err)
		}
		if r.Salt != nil && r.Body == nil {
			r.Body = []byte{} // the driver may read an empty BLOB as nil
		}
		r.LogIndex = uint64(idx)
		r.CreatedAt = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read audit entries of request %q: %w", requestID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no audit entries for request %q: %w", requestID, brightline.ErrNotFound)
	}
	return out, nil
}

// ForgetAuditBodies deletes the salt and body of every audit index row
// recorded before t, and returns how many rows it changed. The rows stay,
// and so does each entry's commitment in the log: only the opening is
// gone. Safe to retry.
func (db *DB) ForgetAuditBodies(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE audit_index SET salt = NULL, body = NULL
		WHERE salt IS NOT NULL AND created_at < ?`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("couldn't delete audit bodies recorded before %s: %w", t.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("couldn't delete audit bodies recorded before %s: %w", t.Format(time.RFC3339), err)
	}
	return n, nil
}

// SealAuditBodies passes the salt and body of every audit index row whose
// salt is plainSaltLen bytes long (openings written before they were
// encrypted) to seal, and stores what it returns in their place, in
// batches. It returns how many rows it rewrote. Safe to retry: a rewritten
// row's salt no longer has that length.
func (db *DB) SealAuditBodies(ctx context.Context, plainSaltLen int, seal func(salt, body []byte) ([]byte, []byte)) (int64, error) {
	var n int64
	for after := int64(-1); ; {
		rows, err := db.read.QueryContext(ctx, `SELECT log_index, salt, body FROM audit_index
			WHERE salt IS NOT NULL AND length(salt) = ? AND log_index > ? ORDER BY log_index LIMIT 500`, plainSaltLen, after)
		if err != nil {
			return n, fmt.Errorf("couldn't read audit bodies to encrypt: %w", err)
		}
		type row struct {
			idx        int64
			salt, body []byte
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.idx, &r.salt, &r.body); err != nil {
				rows.Close()
				return n, fmt.Errorf("couldn't read audit bodies to encrypt: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("couldn't read audit bodies to encrypt: %w", err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return n, fmt.Errorf("couldn't encrypt audit bodies: %w", err)
		}
		for _, r := range batch {
			salt, body := seal(r.salt, r.body)
			// The salt check keeps a row forgotten meanwhile forgotten.
			if _, err := tx.ExecContext(ctx, `UPDATE audit_index SET salt = ?, body = ? WHERE log_index = ? AND salt = ?`,
				salt, body, r.idx, r.salt); err != nil {
				tx.Rollback()
				return n, fmt.Errorf("couldn't encrypt the audit body of log index %d: %w", r.idx, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return n, fmt.Errorf("couldn't encrypt audit bodies: %w", err)
		}
		n += int64(len(batch))
		after = batch[len(batch)-1].idx
	}
}
