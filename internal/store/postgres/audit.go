package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

var _ store.AuditIndex = (*DB)(nil)

// RecordAuditEntries implements [store.AuditIndex]. The whole batch is one
// transaction and one round trip (a pgx batch), so one commit covers every
// row.
func (db *DB) RecordAuditEntries(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("couldn't record audit entries: %w", err)
		}
	}
	now := micros(db.now())
	var b pgx.Batch
	notes := make(store.ReceiptBatch)
	for _, r := range recs {
		whole, note, holder, rest := notes.Columns(r)
		b.Queue(`INSERT INTO audit_index (log_index, request_id, kind, stage, salt, body, receipt, receipt_note, receipt_ref, receipt_proof, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			int64(r.LogIndex), r.RequestID, r.Kind, r.Stage, nilBlob(r.Salt), nilBlob(r.Body), whole, nilBlob(note), holder, nilBlob(rest), now)
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, r := range recs {
			if _, err := br.Exec(); err != nil {
				br.Close()
				if isUniqueViolation(err) {
					return fmt.Errorf("couldn't record audit entry for log index %d: %w", r.LogIndex, store.ErrExists)
				}
				return fmt.Errorf("couldn't record audit entry for log index %d: %w", r.LogIndex, err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return fmt.Errorf("couldn't record %d audit entries: %w", len(recs), err)
	}
	return nil
}

// nilBlob keeps nil as SQL NULL and an empty slice as an empty BYTEA.
func nilBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// AuditEntries implements [store.AuditIndex].
func (db *DB) AuditEntries(ctx context.Context, requestID string) ([]store.AuditRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT a.log_index, a.request_id, a.kind, a.stage, a.salt, a.body, a.receipt,
			COALESCE(a.receipt_note, n.receipt_note), a.receipt_ref, a.receipt_proof, a.created_at
		FROM audit_index a LEFT JOIN audit_index n ON n.log_index = a.receipt_ref
		WHERE a.request_id = $1 ORDER BY a.log_index`, requestID)
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
			r.Body = []byte{} // an empty BYTEA, not NULL: the CHECK keeps them both or neither
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
//
// PostgreSQL leaves the old row versions in the table file until VACUUM
// reuses their space (autovacuum does so in time); unlike SQLite's
// secure_delete they are not overwritten at once.
func (db *DB) ForgetAuditBodies(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE audit_index SET salt = NULL, body = NULL
		WHERE salt IS NOT NULL AND created_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("couldn't delete audit bodies recorded before %s: %w", t.Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}

// sealBatch is how many rows SealAuditBodies rewrites per transaction.
const sealBatch = 500

// SealAuditBodies passes the salt and body of every audit index row whose
// salt is plainSaltLen bytes long (openings written before they were
// encrypted) to seal, and stores what it returns in their place, in
// batches. It returns how many rows it rewrote. Safe to retry, and safe
// to run on several replicas at once: a rewritten row's salt no longer has
// that length, and each write checks that the salt is still the one read.
func (db *DB) SealAuditBodies(ctx context.Context, plainSaltLen int, seal func(salt, body []byte) ([]byte, []byte)) (int64, error) {
	var n int64
	for after := int64(-1); ; {
		type row struct {
			idx        int64
			salt, body []byte
		}
		var batch []row
		rows, err := db.pool.Query(ctx, `SELECT log_index, salt, body FROM audit_index
			WHERE salt IS NOT NULL AND octet_length(salt) = $1 AND log_index > $2 ORDER BY log_index LIMIT $3`,
			plainSaltLen, after, sealBatch)
		if err != nil {
			return n, fmt.Errorf("couldn't read audit bodies to encrypt: %w", err)
		}
		var r row
		_, err = pgx.ForEachRow(rows, []any{&r.idx, &r.salt, &r.body}, func() error {
			batch = append(batch, row{r.idx, r.salt, r.body})
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("couldn't read audit bodies to encrypt: %w", err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		var b pgx.Batch
		for _, r := range batch {
			salt, body := seal(r.salt, r.body)
			// The salt check keeps a row forgotten (or sealed by another
			// replica) meanwhile as it is.
			b.Queue(`UPDATE audit_index SET salt = $1, body = $2 WHERE log_index = $3 AND salt = $4`,
				salt, body, r.idx, r.salt)
		}
		var changed int64
		err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			br := tx.SendBatch(ctx, &b)
			for _, r := range batch {
				tag, err := br.Exec()
				if err != nil {
					br.Close()
					return fmt.Errorf("log index %d: %w", r.idx, err)
				}
				changed += tag.RowsAffected()
			}
			return br.Close()
		})
		if err != nil {
			return n, fmt.Errorf("couldn't encrypt audit bodies: %w", err)
		}
		n += changed
		after = batch[len(batch)-1].idx
	}
}
