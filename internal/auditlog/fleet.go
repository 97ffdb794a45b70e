package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/storage/posix"
)

// A fleet of gateway replicas shares one log: one journal (a PostgreSQL
// table, see [Journal]), one tile directory (Config.Dir on a shared
// volume) and one log key. Every replica appends to the journal and signs
// receipts; one replica at a time, elected by an [Elector], integrates the
// journal into Tessera and publishes checkpoints. The others follow: they
// serve /log/ from the shared directory and learn the integrated size from
// the checkpoint there.
//
// # Why the tree never forks, skips or repeats
//
//   - The journal fixes each record's bytes and index when its group
//     commits; a record is never rewritten. The integrator hands record n
//     to Tessera only when the tree holds n entries, and checks that
//     Tessera gave it index n. So any tree built from the journal is a
//     prefix of the one tree the journal describes, whoever built it.
//   - Tessera's POSIX driver makes each batch visible by renaming one
//     file, .state/treeState, after it has written the batch's bundles and
//     tiles (each by rename too), under an fcntl lock on
//     .state/treeState.lock, and it re-reads treeState under that lock
//     before each batch. An integrator killed mid-batch leaves bundles and
//     tiles past the tree's size that no checkpoint covers; the next batch
//     from that size rewrites them with the same bytes (they depend only
//     on the journal). Checkpoints are signed from treeState, so each one
//     extends the one before.
//   - Two integrators must never hand batches to Tessera at once: one
//     could read a size the other is about to change, and log a record
//     twice. Leadership alone does not ensure that: a leader that lost its
//     PostgreSQL session learns it only at its next check, and a batch it
//     handed over meanwhile is still written. So an elected leader also
//     takes an exclusive flock(2) on <Dir>/integrator.lock (an open file
//     description lock: it excludes other processes and other Logs in this
//     process alike) and holds it until its last batch has resolved and
//     its Tessera appender has shut down. The kernel drops it when the
//     process dies. A new leader waits for it; SIGKILL frees it at once.
//   - Should an index still differ, integration stops for good and appends
//     are refused (ErrBehind): fail closed, never a silent duplicate.

// Journal is a journal that the replicas of a fleet share, such as a
// PostgreSQL table. Records are opaque to it: their bytes are those of
// the file journal's records, sequence number included.
type Journal interface {
	// Append commits a group of n records atomically. It allocates the n
	// sequence numbers that follow every group committed before (by any
	// replica), calls encode with the first to get the records' bytes, and
	// commits; it returns the first sequence number. Groups are numbered
	// in commit order, without gaps. On error the group may or may not
	// have been committed, so its records must not be appended again
	// (they would be logged twice); other records may be.
	Append(ctx context.Context, n int, encode func(first uint64) ([][]byte, error)) (first uint64, err error)
	// Read returns up to max records from sequence number from on, in
	// order. Records deleted by Prune are left out, so the first may come
	// later than from; none means nothing was committed from there on.
	Read(ctx context.Context, from uint64, max int) ([][]byte, error)
	// Next returns the sequence number the next group will start at.
	Next(ctx context.Context) (uint64, error)
	// Advance raises the next sequence number to next if it is lower: for
	// a tree that already holds entries the shared journal never did (a
	// log that a single node kept before). It may be retried.
	Advance(ctx context.Context, next uint64) error
	// Prune deletes the records below seq, which the tree holds. It may
	// be retried.
	Prune(ctx context.Context, below uint64) error
}

// Elector elects the one replica that integrates a shared journal.
type Elector interface {
	// Lead blocks until this replica leads, or until ctx ends (then it
	// returns ctx's error). The context it returns ends as soon as the
	// leadership is lost, or ctx ends. Call release once done leading;
	// it may be called more than once. Lead may be called again after
	// release.
	Lead(ctx context.Context) (lead context.Context, release func(), err error)
}

// AlwaysLeader is the elector of a single replica: it always leads.
type AlwaysLeader struct{}

// Lead returns ctx.
func (AlwaysLeader) Lead(ctx context.Context) (context.Context, func(), error) {
	return ctx, func() {}, ctx.Err()
}

var _ Elector = AlwaysLeader{}

// fenceFile is the integrator's lock file in Config.Dir (see above).
const fenceFile = "integrator.lock"

// sharedWriter group-commits this replica's records to a shared journal:
// every record that arrives while a group commits joins the next group,
// and a group is one transaction. sharedWriters groups are under way at
// once, so that the next one waits on the server for the journal's head
// while the one before commits; the journal still numbers them in commit
// order.
const sharedWriters = 2

type sharedWriter struct {
	j       Journal
	now     func() time.Time
	reqs    chan journalReq
	timeout time.Duration
	// durable is called with each group once it is committed, before any
	// of its appenders is told.
	durable func([]*journalRecord)
}

// run commits groups until stop is closed, then fails what is left.
func (w *sharedWriter) run(stop <-chan struct{}, failed func(error), ok func()) {
	var group []journalReq
	for {
		var first journalReq
		select {
		case <-stop:
			refuseQueued(w.reqs)
			return
		case first = <-w.reqs:
		}
		group = append(group[:0], first)
	drain:
		for len(group) < journalMaxGroup {
			select {
			case r := <-w.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		err := w.write(group)
		if err != nil {
			failed(err)
		} else {
			ok()
		}
		for _, r := range group {
			r.done <- err // buffered
		}
	}
}

// write commits group: sequence numbers from the journal, one transaction.
func (w *sharedWriter) write(group []journalReq) error {
	now := w.now().UTC().Truncate(time.Microsecond)
	recs := groupRecords(group)
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	_, err := w.j.Append(ctx, len(recs), func(first uint64) ([][]byte, error) {
		out := make([][]byte, len(recs))
		for i, r := range recs {
			seq := first + uint64(i)
			r.seq, r.time, r.index.LogIndex = seq, now, seq
			out[i] = r.encode(nil)
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("couldn't commit to the audit journal: %w", err)
	}
	// Hand the group over before the integrator can see it, so that the
	// index rows get the receipts the appenders return.
	handOver(group, recs)
	w.durable(recs)
	return nil
}

// decodeShared decodes records read from the shared journal.
func decodeShared(raws [][]byte) ([]*journalRecord, error) {
	recs := make([]*journalRecord, len(raws))
	for i, b := range raws {
		r, n, err := decodeRecord(b)
		if err != nil || n != len(b) {
			return nil, fmt.Errorf("audit journal: record %d of %d read is corrupt", i+1, len(raws))
		}
		recs[i] = r
	}
	return recs, nil
}

// sharedJournaled is told by the writer about each committed group of
// this replica's.
func (l *Log) sharedJournaled(recs []*journalRecord) {
	l.mu.Lock()
	for _, r := range recs {
		if r.seq < l.integrated {
			continue
		}
		// Groups committed at once may report out of order.
		i := len(l.pending)
		for i > 0 && l.pending[i-1].seq > r.seq {
			i--
		}
		l.pending = slices.Insert(l.pending, i, r)
	}
	l.journalNext = max(l.journalNext, recs[len(recs)-1].seq+1)
	l.mu.Unlock()
	l.wakeIntegrator()
}

// sharedIntegrated records that the tree (leader) or the checkpoint
// (follower) holds size entries.
func (l *Log) sharedIntegrated(size uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size <= l.integrated {
		return
	}
	l.integrated = size
	n := 0
	for n < len(l.pending) && l.pending[n].seq < size {
		n++
	}
	clear(l.pending[:n])
	l.pending = l.pending[n:]
	close(l.progress)
	l.progress = make(chan struct{})
}

// pollInterval is how often a replica reads the journal's head and the
// checkpoint, and how often an idle leader looks for other replicas'
// records.
func (l *Log) pollInterval() time.Duration {
	return max(min(l.cfg.MMD/10, 100*time.Millisecond), 10*time.Millisecond)
}

// pollShared keeps what every replica knows of the fleet's log current:
// the journal's head and the age of its oldest record not yet integrated
// (from the journal), and the integrated size (from the checkpoint in the
// shared directory). A journal that fails marks the log degraded until it
// answers again.
func (l *Log) pollShared(ctx context.Context) {
	t := time.NewTicker(l.pollInterval())
	defer t.Stop()
	for {
		if err := l.pollOnce(ctx); err != nil && ctx.Err() == nil {
			l.journalFailed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Log) pollOnce(ctx context.Context) error {
	if cp, err := l.reader.ReadCheckpoint(ctx); err == nil {
		if n, err := checkpointSize(cp); err == nil {
			l.sharedIntegrated(n)
		}
	}
	qctx, cancel := context.WithTimeout(ctx, max(l.cfg.MMD, time.Second))
	defer cancel()
	next, err := l.cfg.Journal.Next(qctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	integrated := l.integrated
	l.journalNext = max(l.journalNext, next)
	l.mu.Unlock()
	var oldest time.Time
	if next > integrated {
		raws, err := l.cfg.Journal.Read(qctx, integrated, 1)
		if err != nil {
			return err
		}
		recs, err := decodeShared(raws)
		if err != nil {
			return err
		}
		if len(recs) == 1 && recs[0].seq == integrated {
			oldest = recs[0].time
		}
	}
	l.mu.Lock()
	if l.integrated == integrated {
		l.fleetOldest = oldest
	}
	l.mu.Unlock()
	l.journalWorks()
	return nil
}

// integrateShared leads when elected: it integrates the shared journal
// for as long as it leads, then waits to lead again, until ctx ends or
// integration breaks.
func (l *Log) integrateShared(ctx context.Context) {
	// Retry well within the MMD: receipts wait on the integrator.
	maxBackoff := max(min(l.cfg.MMD/4, 5*time.Second), 100*time.Millisecond)
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		lead, release, err := l.cfg.Elector.Lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.noteErr(fmt.Errorf("couldn't run for the audit log's integrator: %w", err))
			l.log.WarnContext(ctx, "couldn't run for the audit log's integrator; retrying", "err", err)
			backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
			if !sleepCtx(ctx, backoff) {
				return
			}
			continue
		}
		err = l.leadTerm(ctx, lead)
		l.leading.Store(false)
		lost := lead.Err() != nil
		release()
		if l.isBroken() || ctx.Err() != nil {
			return
		}
		l.log.WarnContext(ctx, "this replica no longer integrates the audit log", "err", err)
		if lost {
			backoff = 0
			continue
		}
		// The term failed while it led (Tessera or the journal failed):
		// step down for a while, so that another replica may try.
		l.noteErr(fmt.Errorf("couldn't integrate the audit log: %w", err))
		backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
	}
}

// leadTerm integrates while lead lasts: it takes the fence, opens a
// Tessera appender on the shared directory, checks the tree against the
// journal, then integrates batches. It returns once its last batch has
// resolved and its appender has shut down.
func (l *Log) leadTerm(ctx, lead context.Context) error {
	unlock, err := l.fence(lead)
	if err != nil {
		return err
	}
	defer unlock()
	l.leading.Store(true)
	l.log.InfoContext(ctx, "this replica integrates the audit log")

	// Tessera's background work outlives lead by as much as the batch
	// handed to it last needs: its futures resolve only while it runs.
	tctx, tcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer tcancel()
	add, reader, shutdown, err := l.openTessera(tctx)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			l.log.Warn("couldn't shut the audit log's Tessera appender down cleanly", "err", err)
		}
	}()
	if err := l.checkTree(lead, reader); err != nil {
		return err
	}

	spacing := min(l.cfg.MMD/10, 100*time.Millisecond)
	if l.cfg.Release == ReleaseSequenced {
		spacing = 0
	}
	poll := l.pollInterval()
	if spacing == 0 {
		poll = 10 * time.Millisecond
	}
	backoff := time.Duration(0)
	var last time.Time
	for {
		if lead.Err() != nil {
			return fmt.Errorf("leadership lost: %w", context.Cause(lead))
		}
		size, err := reader.IntegratedSize(lead)
		var batch []*journalRecord
		if err == nil {
			batch, err = l.readBatch(lead, size)
		}
		if err == nil && len(batch) == 0 {
			t := time.NewTimer(poll)
			select {
			case <-lead.Done():
			case <-l.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if err == nil {
			if wait := spacing - time.Since(last); len(batch) < l.cfg.BatchMaxSize && wait > 0 {
				if !sleepCtx(lead, wait) {
					continue
				}
				if batch, err = l.readBatch(lead, size); err != nil || len(batch) == 0 {
					continue
				}
			}
			last = time.Now()
			// Wait for the batch with tctx, not lead: once handed to
			// Tessera it will be written, and the fence must be held
			// until it is.
			wctx, cancel := context.WithTimeout(tctx, 60*time.Second)
			var n int
			n, err = l.integrateBatch(wctx, add, batch, nil)
			cancel()
			after := l.checkSize(tctx, reader, batch, n, &err)
			l.advanceShared(after, batch, err)
			if l.isBroken() {
				return err
			}
			if errors.Is(err, errUnresolved) {
				// Tessera may still sequence some of the batch: end the
				// term (its appender shuts down) rather than hand the
				// batch over again.
				return err
			}
			if err == nil {
				backoff = 0
				pctx, cancel := context.WithTimeout(lead, 5*time.Second)
				if perr := l.cfg.Journal.Prune(pctx, after); perr != nil {
					l.log.WarnContext(ctx, "couldn't prune the audit journal", "below", after, "err", perr)
				}
				cancel()
				continue
			}
		}
		if lead.Err() != nil {
			continue
		}
		l.log.WarnContext(ctx, "couldn't integrate the shared audit journal; retrying", "err", err)
		backoff = min(max(2*backoff, 20*time.Millisecond), time.Second)
		sleepCtx(lead, backoff)
	}
}

// readBatch reads the records the tree of size entries lacks.
func (l *Log) readBatch(ctx context.Context, size uint64) ([]*journalRecord, error) {
	raws, err := l.cfg.Journal.Read(ctx, size, l.cfg.BatchMaxSize)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the audit journal from %d: %w", size, err)
	}
	batch, err := decodeShared(raws)
	if err != nil {
		return nil, err
	}
	for i, r := range batch {
		if r.seq != size+uint64(i) {
			return nil, fmt.Errorf("audit journal: the tree holds %d entries but the journal's record %d is %d", size, i, r.seq)
		}
	}
	return batch, nil
}

// checkTree checks, as a term starts, that the tree is a prefix of the
// journal: not longer than it, and ending in the journal's record.
func (l *Log) checkTree(ctx context.Context, reader tessera.LogReader) error {
	size, err := reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the tree's size: %w", err)
	}
	next, err := l.cfg.Journal.Next(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the audit journal's head: %w", err)
	}
	if size > next {
		return l.breakOff(fmt.Errorf("the tree holds %d entries but the shared journal only %d", size, next))
	}
	if size == 0 {
		return nil
	}
	leaf, err := lastLeaf(ctx, reader, size)
	if err != nil {
		return fmt.Errorf("couldn't read the tree's last entry: %w", err)
	}
	raws, err := l.cfg.Journal.Read(ctx, size-1, 1)
	if err != nil {
		return fmt.Errorf("couldn't read the audit journal: %w", err)
	}
	recs, err := decodeShared(raws)
	if err != nil {
		return err
	}
	if len(recs) == 0 || recs[0].seq != size-1 {
		return nil // pruned: nothing to compare with
	}
	if string(recs[0].entry) != string(leaf) {
		return l.breakOff(fmt.Errorf("the tree's entry %d differs from the journal's record", size-1))
	}
	return nil
}

// lastLeaf returns the data of the tree's entry size-1.
func lastLeaf(ctx context.Context, reader tessera.LogReader, size uint64) ([]byte, error) {
	idx := size - 1
	b, err := reader.ReadEntryBundle(ctx, idx/layout.EntryBundleWidth, layout.PartialTileSize(0, idx/layout.EntryBundleWidth, size))
	if err != nil {
		return nil, err
	}
	var eb entryBundle
	if err := eb.parse(b); err != nil {
		return nil, err
	}
	i := int(idx % layout.EntryBundleWidth)
	if i >= len(eb) {
		return nil, fmt.Errorf("entry bundle holds %d entries, want at least %d", len(eb), i+1)
	}
	return eb[i], nil
}

// entryBundle is a parsed C2SP tlog-tiles entry bundle.
type entryBundle [][]byte

func (eb *entryBundle) parse(b []byte) error {
	for len(b) > 0 {
		if len(b) < 2 {
			return errors.New("truncated entry bundle")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			return errors.New("truncated entry bundle")
		}
		*eb = append(*eb, b[2:2+n])
		b = b[2+n:]
	}
	return nil
}

// breakOff stops integration for good with err.
func (l *Log) breakOff(err error) error {
	l.mu.Lock()
	l.broken = err
	l.mu.Unlock()
	l.log.Error("audit log integration stopped: the tree and the journal disagree", "err", err)
	return err
}

func (l *Log) isBroken() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.broken != nil
}

// advanceShared records that the tree holds size entries after the
// leader integrated batch (with err, nil if it worked).
func (l *Log) advanceShared(size uint64, batch []*journalRecord, err error) {
	first, last := batch[0].seq, batch[len(batch)-1].seq
	if err == nil && size != last+1 {
		err = fmt.Errorf("the tree holds %d entries after integrating %d to %d", size, first, last)
	}
	l.mu.Lock()
	if size < first || size > last+1 || errors.Is(err, errMismatch) {
		l.broken = fmt.Errorf("the tree holds %d entries, but the journal's next record for it is %d (batch to %d): %v", size, first, last, err)
		l.log.Error("audit log integration stopped: the tree and the journal disagree", "err", l.broken)
	}
	if err != nil {
		l.integrateErr = fmt.Errorf("couldn't integrate the audit journal: %w", err)
		l.lastErr, l.lastErrAt = l.integrateErr, l.cfg.Now()
		l.failures++
		// Wake sequenced appenders so that they can fail fast.
		close(l.progress)
		l.progress = make(chan struct{})
	} else {
		l.integrateErr = nil
	}
	broken := l.broken != nil
	l.mu.Unlock()
	if !broken {
		l.sharedIntegrated(min(size, last+1))
	}
}

// openTessera opens a Tessera appender on the shared directory for one
// term. Its checkpoints and witnessing run until ctx ends.
func (l *Log) openTessera(ctx context.Context) (tessera.AddFn, tessera.LogReader, func(context.Context) error, error) {
	driver, err := posix.New(ctx, posix.Config{Path: l.cfg.Dir, HTTPClient: l.cfg.HTTPClient})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("couldn't open audit log in %s: %w", l.cfg.Dir, err)
	}
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, l.opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("couldn't open audit log in %s: %w", l.cfg.Dir, err)
	}
	return app.Add, reader, shutdown, nil
}

// fence takes the integrator's lock file, retrying until ctx ends, and
// returns its release.
func (l *Log) fence(ctx context.Context) (func(), error) {
	path := filepath.Join(l.cfg.Dir, fenceFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("couldn't open the integrator's lock: %w", err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if waited {
				l.log.InfoContext(ctx, "the previous integrator has stopped; taking over")
			}
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("couldn't lock %s: %w", path, err)
		}
		if !waited {
			l.log.InfoContext(ctx, "waiting for the previous integrator to stop", "lock", path)
			waited = true
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			f.Close()
			return nil, fmt.Errorf("leadership lost while waiting for %s: %w", path, context.Cause(ctx))
		}
	}
}

// sleepCtx waits d, or less if ctx ends; it reports whether ctx is live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// dirReader reads a log that another replica integrates, from the shared
// directory. Its IntegratedSize is the checkpoint's size.
type dirReader struct{ dir string }

var _ tessera.LogReader = dirReader{}

func (r dirReader) ReadCheckpoint(context.Context) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, layout.CheckpointPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, os.ErrNotExist
	}
	return b, err
}

func (r dirReader) ReadTile(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.dir, layout.TilePath(level, index, p)))
}

func (r dirReader) ReadEntryBundle(_ context.Context, index uint64, p uint8) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.dir, layout.EntriesPath(index, p)))
}

func (r dirReader) IntegratedSize(ctx context.Context) (uint64, error) {
	cp, err := r.ReadCheckpoint(ctx)
	if err != nil {
		return 0, err
	}
	return checkpointSize(cp)
}

func (r dirReader) NextIndex(ctx context.Context) (uint64, error) { return r.IntegratedSize(ctx) }

// openShared opens a log whose journal the replicas of a fleet share.
// Unlike a single node, it does not wait for the journal's backlog: the
// integrator may be another replica.
func openShared(ctx context.Context, cfg Config, opts *tessera.AppendOptions) (*Log, error) {
	reader := dirReader{dir: cfg.Dir}
	size, err := reader.IntegratedSize(ctx)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("couldn't read the audit log's checkpoint: %w", err)
	}
	next, err := cfg.Journal.Next(ctx)
	if err != nil {
		return nil, fmt.Errorf("couldn't open the shared audit journal: %w", err)
	}
	if next < size {
		// A tree a single node kept before: the shared journal starts
		// after it.
		cfg.Logger.WarnContext(ctx, "the shared audit journal starts after the entries the tree already holds", "tree", size, "journal", next)
		if err := cfg.Journal.Advance(ctx, size); err != nil {
			return nil, fmt.Errorf("couldn't start the shared audit journal at %d: %w", size, err)
		}
		next = size
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Log{
		cfg:         cfg,
		log:         cfg.Logger,
		reader:      reader,
		opts:        opts,
		stopTes:     func(context.Context) error { return nil },
		cancel:      cancel,
		slots:       make(chan struct{}, cfg.MaxInFlight),
		jstop:       make(chan struct{}),
		wake:        make(chan struct{}, 1),
		closing:     make(chan struct{}),
		dead:        make(chan struct{}),
		integrated:  size,
		journalNext: next,
		progress:    make(chan struct{}),
		m:           newMetrics(cfg.Registerer),
	}
	w := &sharedWriter{j: cfg.Journal, now: cfg.Now, reqs: make(chan journalReq, journalMaxGroup), timeout: cfg.JournalTimeout, durable: l.sharedJournaled}
	l.reqs = w.reqs
	if b, err := os.ReadFile(filepath.Join(cfg.Dir, publishedFile)); err == nil {
		if n, ok := l.quorum(b); ok {
			l.published, l.publishedSz = b, n
		}
	}
	for range sharedWriters {
		l.writers.Add(1)
		l.bg.Go(func() {
			defer l.writers.Done()
			w.run(l.jstop, l.journalFailed, l.journalWorks)
		})
	}
	l.bg.Go(func() { l.integrateShared(bgCtx) })
	l.bg.Go(func() { l.pollShared(bgCtx) })
	l.bg.Go(func() { l.trackPublished(bgCtx) })
	l.m.setStatus(l)
	return l, nil
}
