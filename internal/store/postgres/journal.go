package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Journal is the audit log's journal in PostgreSQL (auditlog.Journal),
// shared by the replicas of a fleet: the tables audit_journal and
// audit_journal_head of migration 0002. It is safe for concurrent use.
//
// Each group of records is one transaction: it takes its sequence numbers
// by updating the head row, inserts the records, and commits. The head
// row's lock is held until the commit, so the groups of all replicas are
// numbered in commit order, without gaps: a reader that sees record n
// sees every record below it.
type Journal struct {
	pool *pgxpool.Pool
}

// NewJournal returns the journal in the database pool connects to (the
// pool of [DB.Pool]); the database must be migrated.
func NewJournal(pool *pgxpool.Pool) *Journal { return &Journal{pool: pool} }

// Append commits n records in one transaction and returns the sequence
// number of the first. encode is called, inside the transaction, with
// that number and must return the n records' bytes. On error the group may
// or may not be committed (the commit's answer may be lost): the caller
// must not append the same records again.
func (j *Journal) Append(ctx context.Context, n int, encode func(first uint64) ([][]byte, error)) (uint64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("couldn't append to the audit journal: %d records", n)
	}
	// Two round trips: BEGIN with the allocation, then the insert with
	// the commit. On any error the connection goes back to the pool
	// inside the failed transaction, and the pool closes it rather than
	// reuse it, which rolls the transaction back.
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("couldn't connect to append to the audit journal: %w", err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`UPDATE audit_journal_head SET next = next + $1 RETURNING next`, n)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	var next int64
	if err == nil {
		err = br.QueryRow().Scan(&next)
	}
	if err = errors.Join(err, br.Close()); err != nil {
		return 0, fmt.Errorf("couldn't allocate %d audit journal sequence numbers: %w", n, err)
	}
	first := uint64(next) - uint64(n)
	recs, err := encode(first)
	if err != nil {
		rollback(ctx, conn)
		return 0, err
	}
	if len(recs) != n {
		rollback(ctx, conn)
		return 0, fmt.Errorf("couldn't append to the audit journal: encoded %d records, want %d", len(recs), n)
	}
	// One statement whatever the group's size: the records travel as one
	// array and are numbered by their position in it.
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO audit_journal (seq, record)
		SELECT $1::bigint + i - 1, r FROM unnest($2::bytea[]) WITH ORDINALITY AS t(r, i)`, int64(first), recs)
	b.Queue(`COMMIT`)
	br = conn.SendBatch(ctx, b)
	_, ierr := br.Exec()
	_, cerr := br.Exec()
	if err := errors.Join(ierr, cerr, br.Close()); err != nil {
		return 0, fmt.Errorf("couldn't commit audit journal records %d to %d: %w", first, first+uint64(n)-1, err)
	}
	if conn.Conn().PgConn().TxStatus() != 'I' {
		// COMMIT of a transaction that failed answers ROLLBACK, no error.
		return 0, fmt.Errorf("couldn't commit audit journal records %d to %d: the transaction did not commit", first, first+uint64(n)-1)
	}
	return first, nil
}

// rollback ends conn's transaction; if it can't, the pool closes conn.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
}

// Read returns up to max records from sequence number from on, in order,
// leaving out pruned ones. Safe to retry.
func (j *Journal) Read(ctx context.Context, from uint64, max int) ([][]byte, error) {
	rows, err := j.pool.Query(ctx, `SELECT record FROM audit_journal WHERE seq >= $1 ORDER BY seq LIMIT $2`, int64(from), max)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the audit journal from %d: %w", from, err)
	}
	recs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("couldn't read the audit journal from %d: %w", from, err)
	}
	return recs, nil
}

// Next returns the sequence number the next group will start at. Safe to
// retry.
func (j *Journal) Next(ctx context.Context) (uint64, error) {
	var next int64
	if err := j.pool.QueryRow(ctx, `SELECT next FROM audit_journal_head`).Scan(&next); err != nil {
		return 0, fmt.Errorf("couldn't read the audit journal's head: %w", err)
	}
	return uint64(next), nil
}

// Advance raises the next sequence number to next if it is lower. Safe to
// retry.
func (j *Journal) Advance(ctx context.Context, next uint64) error {
	if _, err := j.pool.Exec(ctx, `UPDATE audit_journal_head SET next = $1 WHERE next < $1`, int64(next)); err != nil {
		return fmt.Errorf("couldn't advance the audit journal to %d: %w", next, err)
	}
	return nil
}

// Prune deletes the records below seq. Safe to retry.
func (j *Journal) Prune(ctx context.Context, below uint64) error {
	if _, err := j.pool.Exec(ctx, `DELETE FROM audit_journal WHERE seq < $1`, int64(below)); err != nil {
		return fmt.Errorf("couldn't prune the audit journal below %d: %w", below, err)
	}
	return nil
}

// IntegratorLockKey is the session advisory lock that elects the replica
// integrating the audit journal ("brlnint" 1).
const IntegratorLockKey int64 = 0x6272_6c6e_696e_7401

// Elector elects the replica that integrates the audit journal
// (auditlog.Elector) with a session advisory lock, held on a connection of
// its own: whoever holds the lock leads, and leadership ends with the
// session, when the replica dies or the connection breaks.
type Elector struct {
	pool *pgxpool.Pool

	// Key is the advisory lock's key; 0 means IntegratorLockKey.
	Key int64
	// Interval is how often Lead tries for the lock, and how often the
	// leader checks that its session lives; 0 means 500ms. A leader whose
	// session ended learns it within Interval; one whose check gets no
	// answer, within Interval and the check's timeout (Interval, at least
	// 1s).
	Interval time.Duration
	// Logger, nil means slog.Default().
	Logger *slog.Logger
}

// NewElector returns an elector whose lock connections use pool's
// connection settings.
func NewElector(pool *pgxpool.Pool) *Elector { return &Elector{pool: pool} }

var errReleased = errors.New("leadership released")

// Lead connects, then tries for the lock every Interval until it gets it
// or ctx ends. The returned context ends when the lock's session fails a
// check (or ends), when ctx ends, or on release, which closes the
// connection and so releases the lock. An error connecting or querying is
// returned; Lead may be called again.
func (e *Elector) Lead(ctx context.Context) (context.Context, func(), error) {
	key, interval, log := e.Key, e.Interval, e.Logger
	if key == 0 {
		key = IntegratorLockKey
	}
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	if log == nil {
		log = slog.Default()
	}
	conn, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't connect for the integrator's lock: %w", err)
	}
	closeConn := func() {
		cctx, cancel := context.WithTimeout(context.Background(), interval)
		defer cancel()
		conn.Close(cctx)
	}
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			closeConn()
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("couldn't try the integrator's lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			closeConn()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}

	lead, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	// The monitor owns conn from here on.
	go func() {
		defer close(done)
		defer closeConn()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-lead.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(lead, max(interval, time.Second))
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && lead.Err() == nil {
				log.Warn("lost the PostgreSQL session holding the audit integrator's lock", "err", err)
				cancel(fmt.Errorf("lost the PostgreSQL session holding the integrator's lock: %w", err))
				return
			}
		}
	}()
	release := sync.OnceFunc(func() {
		cancel(errReleased)
		<-done
	})
	return lead, release, nil
}
