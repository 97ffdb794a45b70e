// Package auditlog is Brightline's verifiable audit log: every decision and
// policy event becomes an entry in a Tessera transparency log on local disk,
// with checkpoints signed by the gateway's Ed25519 note key, optionally
// cosigned by witnesses (C2SP tlog-witness), and served as C2SP tlog-tiles.
//
// # Entries and commitments
//
// An [Entry] holds decisions and metadata, never prompt content. Instead of
// the request body it carries a salted commitment ([Commit]); the salt and
// the canonical body stay in the local index (store.AuditIndex), so that the
// operator can open one request's commitment for an auditor.
//
// # The promise model
//
// [Log.Append] returns once the entry is durable in the local journal (see
// journal.go), with a signed [Receipt]: the log's promise that the entry
// will be in the tree at the receipt's index within the maximum merge delay
// ([Config.MMD]), as a CT log's SCT promises. The gateway releases an
// answer only after that, with the receipt. One integrator goroutine moves
// the journal into Tessera in journal order, at most once per record: the
// journal's sequence numbers are the log indexes, and after a crash it
// resumes at the tree's size. Index rows (with the receipt) are written
// before the entry is integrated.
//
// Fail closed: if the journal cannot be written, Append errors; if the
// oldest record not yet integrated is older than the MMD, Append refuses
// ([ErrBehind]) until the integrator catches up, and [Log.Status] says
// why. With [ReleaseSequenced], Append also waits until the entry is in
// the tree and indexed, as before the journal.
//
// # Publishing
//
// Tessera publishes a signed checkpoint at most every
// [Config.CheckpointInterval]. When witnesses are configured, each checkpoint
// is sent to them and a checkpoint counts as published only once it carries
// [Config.WitnessQuorum] cosignatures; /log/checkpoint serves the latest such
// checkpoint. Auditors check everything with package auditverify.
//
// # A fleet
//
// With [Config.Journal] (PostgreSQL, see internal/store/postgres), the
// replicas of a fleet share one journal and one directory: each appends and
// signs receipts, one at a time elected by [Config.Elector] integrates and
// publishes, and the others follow from the shared checkpoint. fleet.go
// says why the tree then never forks, skips or repeats.
package auditlog

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrPushback is returned by Append when the log has more entries in
// flight than it is configured to hold. The gateway answers 503.
var ErrPushback = errors.New("audit log is overloaded")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log is closed")

// ErrBehind is returned by Append while the integrator is further behind
// the journal than the maximum merge delay: a receipt given now could not
// be kept. The gateway answers 503.
var ErrBehind = errors.New("audit log integration is behind its maximum merge delay")

// errMismatch means an entry went into the tree at another index than its
// journal sequence number: its receipt is wrong, and integration stops.
var errMismatch = errors.New("log index differs from the journal's")

// Receipt is the signed promise Append returns; see [auditverify.Receipt].
type Receipt = auditverify.Receipt

// Release modes: when Append returns.
const (
	// ReleaseJournal returns once the entry is durable in the journal.
	ReleaseJournal = "journal"
	// ReleaseSequenced returns once the entry is also in the tree and
	// its index row is durable.
	ReleaseSequenced = "sequenced"
)

// Where the gateway keeps the log under its data directory.
const (
	DirName = "log"           // tiles and checkpoints: <data>/log
	KeyFile = "log.key"       // the log's note signer key: <data>/log.key
	IndexDB = "brightline.db" // the SQLite store holding the local index
)

// JournalDirName is the journal's directory under the data directory,
// beside the log's (<data>/journal).
const JournalDirName = "journal"

// Witness is a C2SP tlog-witness the log sends its checkpoints to.
type Witness struct {
	// URL is the witness's submission prefix; checkpoints are POSTed to
	// URL + "/add-checkpoint".
	URL string
	// Verifier checks the witness's cosignature/v1 signatures; make it
	// with auditverify.NewWitnessVerifier from the witness's vkey.
	Verifier note.Verifier
}

// Config configures a [Log]. Zero values of the optional fields work.
type Config struct {
	Dir    string      // tiles and checkpoint live here (e.g. <data>/log); created if missing
	Origin string      // checkpoint origin line; "" means Signer.Name(), and it must equal it
	Signer note.Signer // the log's Ed25519 note key (see LoadOrCreateKey)

	// Index records request id → log index, commitment openings and
	// receipts. Nil means no local index (then `audit prove` and `audit
	// open` can't work).
	Index store.AuditIndex
	// BodyKey, if set, encrypts each commitment's salt and body before
	// they are written to the journal and the index (see [BodyKey]). Nil
	// writes them in plaintext (tests).
	BodyKey *BodyKey
	// BodyRetention is how long the index keeps commitment openings;
	// [Log.ForgetBodies] deletes older ones. 0 keeps them for ever.
	BodyRetention time.Duration
	// OpeningsDir holds the side files of bodies larger than
	// [OpeningInlineMax] (see openings.go); "" means OpeningsDirName
	// beside Dir. With a shared Journal, every replica must see it.
	OpeningsDir string

	// JournalDir holds the journal; "" means JournalDirName beside Dir.
	JournalDir string
	// SegmentBytes is the size past which the journal starts a new
	// segment file; 0 means 64 MiB. Segments whose records are all in the
	// tree are deleted.
	SegmentBytes int64
	// Release is ReleaseJournal ("" too) or ReleaseSequenced.
	Release string
	// MMD is the maximum merge delay receipts promise; 0 means 1s. Past it,
	// Append refuses until the integrator catches up.
	MMD time.Duration

	Witnesses     []Witness
	WitnessQuorum int // cosignatures a checkpoint needs to count as published (0 = none)

	// QueueSize 0 fails closed: Append errors at once when MaxInFlight
	// appends are already under way, and on the first failure to journal
	// (or, when sequenced, to sequence or index). QueueSize > 0 lets up to that many further appends wait for
	// room, and retries failed attempts until the caller's context ends;
	// beyond that Append errors at once. Nothing is dropped silently either
	// way: Append returns an index or an error.
	QueueSize int
	// MaxInFlight bounds appends under way at once; 0 means 4096.
	MaxInFlight int

	// The integrator hands Tessera up to BatchMaxSize journal records at a
	// time (0 means 1024: each Tessera batch costs 8 fsyncs, so under load
	// bigger batches integrate faster, but handing 4096 over took 17-22ms
	// on a loaded 2-core machine, too close to BatchMaxAge; 1024 take about
	// 5ms) and waits for them before handing over more. BatchMaxAge is
	// how long Tessera waits for more once a
	// batch is handed over; 0 means 25ms. It is long on purpose: Tessera
	// v1.0.4 can write two of its flushes in swapped order when a timer
	// flush fires while a batch is still being handed over (fixed upstream
	// after v1.0.4), and the integrator's index check would then stop the
	// log. With the whole batch handed over well within BatchMaxAge, each
	// of our batches is one Tessera flush.
	BatchMaxAge  time.Duration
	BatchMaxSize int
	// CheckpointInterval is how often a new checkpoint is signed and sent
	// to witnesses; 0 means 1s (Tessera's minimum is 100ms), or with a
	// shared Journal a quarter of the MMD (100ms to 1s): followers learn
	// the integrated size from the checkpoint.
	CheckpointInterval time.Duration
	// WitnessTimeout bounds each round of witnessing; 0 means 5s.
	WitnessTimeout time.Duration
	// HTTPClient talks to witnesses; nil means http.DefaultClient.
	HTTPClient *http.Client

	// Journal, if set, is a journal that the replicas of a fleet share
	// (PostgreSQL) in place of the file journal in JournalDir; Dir is then
	// on a volume every replica shares, and Elector picks the replica that
	// integrates. See fleet.go. JournalTimeout bounds each group's commit
	// to it; 0 means 10s.
	Journal        Journal
	JournalTimeout time.Duration
	// Elector elects the replica that integrates a shared Journal; nil
	// means AlwaysLeader (a single replica). It needs Journal.
	Elector Elector

	Registerer prometheus.Registerer // may be nil
	Logger     *slog.Logger          // nil means slog.Default()
	Now        func() time.Time      // fills a zero Entry.Time, times receipts and the MMD; nil means time.Now
}

// Status is a snapshot of the log for the console and /healthz.
type Status struct {
	Size           uint64        // entries durably sequenced and integrated
	JournalSize    uint64        // entries durable in the journal (the next index)
	Lag            uint64        // JournalSize - Size: entries not yet integrated
	LagAge         time.Duration // age of the oldest entry not yet integrated
	MMD            time.Duration // the maximum merge delay receipts promise
	Degraded       string        // why appends are refused now; "" when the log works
	Checkpoint     string        // latest signed checkpoint (with any cosignatures)
	CheckpointSize uint64        // tree size of Checkpoint
	PublishedSize  uint64        // size of the latest checkpoint with the witness quorum
	Published      string        // that checkpoint; equal to Checkpoint when the quorum is 0
	LastError      string        // the last failure (append or integration), "" if none: history, not status
	LastErrorAt    time.Time     // when it happened
	// Integrator reports whether this replica integrates the journal:
	// always on a single node; with a shared journal, while elected. A
	// follower's Size is its checkpoint's.
	Integrator bool
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	cfg     Config
	log     *slog.Logger
	add     tessera.AddFn // nil with a shared journal: each term opens its own
	reader  tessera.LogReader
	opts    *tessera.AppendOptions
	stopTes func(context.Context) error
	cancel  context.CancelFunc // stops Tessera's and our background work
	bg      sync.WaitGroup

	slots   chan struct{} // one token per append under way
	waiting atomic.Int64  // appends waiting for a slot (queue mode)

	j         *journal        // the file journal; nil with a shared one
	reqs      chan journalReq // to the journal writer (file or shared)
	leading   atomic.Bool     // this replica integrates
	jstop     chan struct{}   // closed to stop the journal writer
	writers   sync.WaitGroup  // the journal writer goroutines
	wake      chan struct{}   // tells the integrator there is work (buffered 1)
	closeOnce sync.Once
	closing   chan struct{} // closed when Close starts: no new appends
	dead      chan struct{} // closed once background work is cancelled

	// integrateFault, if set, is called before each integration attempt;
	// an error it returns fails the attempt. Tests use it to stall Tessera.
	integrateFault atomic.Pointer[func() error]
	// testHooks, if set, injects failures into Tessera's side of an
	// integration attempt (tests only).
	testHooks atomic.Pointer[integrateHooks]

	// indexedTo is where the index rows written so far end: every
	// record below it has its row. Only the integrator writes it.
	indexedTo atomic.Uint64

	mu           sync.Mutex
	pending      []*journalRecord // guarded by mu: durable in the journal, not yet in the tree, in order (with a shared journal: this replica's only)
	fleetOldest  time.Time        // guarded by mu: with a shared journal, the time of its oldest record not yet integrated (zero if none)
	integrated   uint64           // guarded by mu: the tree's size as the integrator last saw it
	journalNext  uint64           // guarded by mu: the journal's next sequence number
	progress     chan struct{}    // guarded by mu: closed and replaced after every integration attempt
	journalErr   error            // guarded by mu: the journal's failure, nil once it works again
	integrateErr error            // guarded by mu: the integrator's failure, nil once it works again
	failures     uint64           // guarded by mu: failed integration attempts so far
	broken       error            // guarded by mu: the integrator stopped for good
	lastErr      error            // guarded by mu
	lastErrAt    time.Time        // guarded by mu
	published    []byte           // guarded by mu: latest checkpoint meeting the quorum
	publishedSz  uint64           // guarded by mu

	m *metrics
}

// publishedFile holds the latest checkpoint that met the witness quorum,
// so that it survives restarts. It is outside Tessera's layout.
const publishedFile = "checkpoint.witnessed"

// Open opens the log in cfg.Dir and its journal in cfg.JournalDir,
// creating them if needed, recovers the journal, and starts journaling,
// integrating, checkpointing and witnessing in the background. Records
// the journal holds but the tree does not are integrated before Open
// returns. Close it when done.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("couldn't open audit log: directory is empty")
	}
	if cfg.Signer == nil {
		return nil, errors.New("couldn't open audit log: no checkpoint signer")
	}
	if cfg.Origin == "" {
		cfg.Origin = cfg.Signer.Name()
	}
	if cfg.Origin != cfg.Signer.Name() {
		return nil, fmt.Errorf("couldn't open audit log: origin %q differs from the signer's key name %q", cfg.Origin, cfg.Signer.Name())
	}
	if cfg.WitnessQuorum < 0 || cfg.WitnessQuorum > len(cfg.Witnesses) {
		return nil, fmt.Errorf("couldn't open audit log: witness quorum %d is outside 0..%d", cfg.WitnessQuorum, len(cfg.Witnesses))
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("couldn't open audit log: queue size %d is negative", cfg.QueueSize)
	}
	switch cfg.Release {
	case "":
		cfg.Release = ReleaseJournal
	case ReleaseJournal, ReleaseSequenced:
	default:
		return nil, fmt.Errorf("couldn't open audit log: release %q, want %q or %q", cfg.Release, ReleaseJournal, ReleaseSequenced)
	}
	if cfg.MMD < 0 {
		return nil, fmt.Errorf("couldn't open audit log: MMD %s is negative", cfg.MMD)
	}
	if cfg.MMD == 0 {
		cfg.MMD = time.Second
	}
	if cfg.JournalDir == "" {
		cfg.JournalDir = filepath.Join(filepath.Dir(filepath.Clean(cfg.Dir)), JournalDirName)
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 64 << 20
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.BatchMaxAge <= 0 {
		cfg.BatchMaxAge = 25 * time.Millisecond
	}
	if cfg.BatchMaxSize <= 0 {
		cfg.BatchMaxSize = 1024
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
		if cfg.Journal != nil {
			// Followers learn the integrated size from the checkpoint, so
			// it must come well within the MMD.
			cfg.CheckpointInterval = min(max(cfg.MMD/4, 100*time.Millisecond), time.Second)
		}
	}
	if cfg.Elector != nil && cfg.Journal == nil {
		return nil, errors.New("couldn't open audit log: an elector needs a shared journal")
	}
	if cfg.Journal != nil && cfg.Elector == nil {
		cfg.Elector = AlwaysLeader{}
	}
	if cfg.JournalTimeout <= 0 {
		cfg.JournalTimeout = 10 * time.Second
	}
	if cfg.WitnessTimeout <= 0 {
		cfg.WitnessTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("couldn't open audit log: %w", err)
	}

	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(cfg.Signer).
		WithBatching(uint(cfg.BatchMaxSize), cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		// Tessera's POSIX driver ignores pushback (v1.0.4); drivers that
		// push back count entries not yet integrated, so leave room for
		// several batches: one must never be refused part way.
		WithPushback(uint(max(cfg.MaxInFlight, 4*cfg.BatchMaxSize))).
		// Keep partial tiles: auditors holding an older checkpoint still
		// find the exact tiles for its size. They are small.
		WithGarbageCollectionInterval(0)
	if len(cfg.Witnesses) > 0 {
		group := tessera.NewWitnessGroup(0)
		for _, w := range cfg.Witnesses {
			if w.Verifier == nil || w.URL == "" {
				return nil, errors.New("couldn't open audit log: a witness has no URL or verifier")
			}
			group.Components = append(group.Components, tessera.Witness{
				Key: w.Verifier,
				URL: strings.TrimSuffix(w.URL, "/") + "/add-checkpoint",
			})
		}
		group.N = cfg.WitnessQuorum
		// Fail open inside Tessera so that sequencing and the signed
		// checkpoint never wait on witnesses; the quorum is enforced here,
		// by what we call published and serve (see trackPublished).
		opts = opts.WithWitnesses(group, &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout, FailOpen: true})
	}

	if cfg.Journal != nil {
		return openShared(ctx, cfg, opts)
	}
	driver, err := posix.New(ctx, posix.Config{Path: cfg.Dir, HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("couldn't open audit log in %s: %w", cfg.Dir, err)
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app, shutdown, reader, err := tessera.NewAppender(bgCtx, driver, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("couldn't open audit log in %s: %w", cfg.Dir, err)
	}
	size, err := reader.IntegratedSize(ctx)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		shutdown(ctx)
		cancel()
		return nil, fmt.Errorf("couldn't read the audit log's size: %w", err)
	}
	l := &Log{
		cfg:        cfg,
		log:        cfg.Logger,
		add:        app.Add,
		reader:     reader,
		opts:       opts,
		stopTes:    shutdown,
		cancel:     cancel,
		slots:      make(chan struct{}, cfg.MaxInFlight),
		jstop:      make(chan struct{}),
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		dead:       make(chan struct{}),
		integrated: size,
		progress:   make(chan struct{}),
		m:          newMetrics(cfg.Registerer),
	}
	j, backlog, err := openJournal(cfg.JournalDir, size, cfg.SegmentBytes, cfg.Now, cfg.Logger)
	if err != nil {
		shutdown(ctx)
		cancel()
		return nil, err
	}
	j.durable = l.journaled
	j.flushed = func(d time.Duration) { l.m.flush.Observe(d.Seconds()) }
	l.j, l.reqs, l.pending, l.journalNext = j, j.reqs, backlog, j.next
	l.leading.Store(true)
	if b, err := os.ReadFile(filepath.Join(cfg.Dir, publishedFile)); err == nil {
		if n, ok := l.quorum(b); ok {
			l.published, l.publishedSz = b, n
		}
	}
	l.writers.Add(1)
	l.bg.Go(func() {
		defer l.writers.Done()
		j.run(l.jstop, l.journalFailed, l.journalWorks)
	})
	l.bg.Go(func() { l.integrate(bgCtx) })
	l.bg.Go(func() { l.trackPublished(bgCtx) })
	l.m.setStatus(l)
	if n := len(backlog); n > 0 {
		l.log.InfoContext(ctx, "audit journal holds entries not yet in the log; integrating them", "from", backlog[0].seq, "entries", n)
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err := l.waitIntegrated(wctx, backlog[n-1].seq, false)
		wcancel()
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("couldn't integrate the audit journal's %d pending entries: %w", n, err)
		}
	}
	return l, nil
}

// Append makes e durable in the journal and returns its signed receipt,
// whose Index is the entry's index in the log. With ReleaseSequenced it
// returns only once the entry is also in the tree and its index row is
// durable.
//
// A zero e.Time is set from Config.Now. When c is not nil, e.Commitment is
// set to c.Hash (or must already equal it) and the store keeps c's salt and
// body with the index row.
//
// An error means the request must be refused (503): the entry is not
// durable, or (ErrBehind) the log could not keep the receipt's promise.
// Append never blocks past ctx; it returns ErrPushback at once when the
// log is full.
func (l *Log) Append(ctx context.Context, e Entry, c *Commitment) (Receipt, error) {
	rs, err := l.AppendAll(ctx, []Item{{Entry: e, Commitment: c}})
	if err != nil {
		return Receipt{}, err
	}
	return rs[0], nil
}

// Item is one entry for AppendAll, with the commitment it opens (or nil),
// as Append takes them.
type Item struct {
	Entry      Entry
	Commitment *Commitment
}

// AppendAll appends items as Append appends one, in one journal group:
// they are durable together, in order, at consecutive indexes, for one
// flush, or none is. It returns their receipts in order. A request's
// decision and the entry of its first upstream attempt go together so
// that forwarding waits for one flush, not two.
func (l *Log) AppendAll(ctx context.Context, items []Item) ([]Receipt, error) {
	start := time.Now()
	rs, err := l.append(ctx, items)
	d := time.Since(start)
	for range items {
		l.m.observe(d, err)
	}
	if err != nil {
		l.noteErr(err)
	}
	return rs, err
}

func (l *Log) noteErr(err error) {
	l.mu.Lock()
	l.lastErr, l.lastErrAt = err, l.cfg.Now()
	l.mu.Unlock()
}

func (l *Log) append(ctx context.Context, items []Item) ([]Receipt, error) {
	if len(items) == 0 {
		return nil, nil
	}
	select {
	case <-l.closing:
		return nil, ErrClosed
	default:
	}
	es := make([]Entry, len(items))
	recs := make([]*journalRecord, len(items))
	for i, it := range items {
		e := &es[i]
		*e = it.Entry
		if e.Time.IsZero() {
			e.Time = l.cfg.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
		rec, err := l.newRecord(e, it.Commitment)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	e := &es[0] // errors name the first entry
	if err := l.behind(); err != nil {
		return nil, appendError(e, err)
	}
	if err := l.acquire(ctx); err != nil {
		return nil, appendError(e, err)
	}
	defer func() { <-l.slots }()

	// A large body goes to a side file, written and fsynced here, by the
	// request, before its record joins the journal: the journal's groups
	// and the index's batches stay small (see openings.go). Failing to
	// write it fails the append; a side file no journaled record refers to
	// is removed.
	var sideFiles []string
	removeSideFiles := func() {
		for _, f := range sideFiles {
			os.Remove(f)
		}
	}
	for i, it := range items {
		if c := it.Commitment; c != nil && needsSideFile(c.Body) {
			f, err := l.writeSideFile(recs[i], c)
			if err != nil {
				removeSideFiles()
				return nil, appendError(&es[i], err)
			}
			sideFiles = append(sideFiles, f)
		}
	}
	rs, referred, err := l.journalRetrying(ctx, recs, e)
	if !referred {
		removeSideFiles()
	}
	return rs, err
}

func appendError(e *Entry, err error) error {
	return fmt.Errorf("couldn't append %s entry for request %q: %w", e.Kind, e.RequestID, err)
}

// newRecord is e's journal record: its canonical encoding and leaf hash,
// and its index row, which holds c's salt and body (sealed when there is
// a body key) after checking that c opens e's commitment. e.Commitment is
// set from c when empty.
func (l *Log) newRecord(e *Entry, c *Commitment) (*journalRecord, error) {
	rec := &journalRecord{index: store.AuditRecord{RequestID: e.RequestID, Kind: e.Kind, Stage: e.Stage}}
	if c != nil {
		if CommitmentHash(c.Salt, c.Body) != c.Hash || len(c.Salt) == 0 {
			return nil, fmt.Errorf("couldn't append %s entry for request %q: commitment does not open with its salt and body", e.Kind, e.RequestID)
		}
		if e.Commitment == "" {
			e.Commitment = c.Hash
		}
		if e.Commitment != c.Hash {
			return nil, fmt.Errorf("couldn't append %s entry for request %q: entry commitment %s differs from the commitment given", e.Kind, e.RequestID, e.Commitment)
		}
		rec.index.Salt, rec.index.Body = c.Salt, c.Body
		if rec.index.Body == nil {
			rec.index.Body = []byte{}
		}
		if k := l.cfg.BodyKey; k != nil && !needsSideFile(c.Body) {
			rec.index.Salt, rec.index.Body = k.seal("salt", c.Salt), k.seal("body", rec.index.Body)
		}
	}
	data, err := e.Marshal()
	if err != nil {
		return nil, err
	}
	rec.entry, rec.leaf = data, tlog.RecordHash(data)
	return rec, nil
}

// writeSideFile writes c's body to its side file and points rec's index
// row at it, returning the file's path.
func (l *Log) writeSideFile(rec *journalRecord, c *Commitment) (string, error) {
	ref, path, err := writeOpening(l.openingsDir(), l.cfg.BodyKey, l.cfg.Now(), c.Hash, c.Body)
	if err != nil {
		return "", err
	}
	rec.index.Body = ref
	if k := l.cfg.BodyKey; k != nil {
		rec.index.Salt, rec.index.Body = k.seal("salt", c.Salt), k.seal("body", ref)
	}
	return path, nil
}

// journalRetrying journals recs (one group), retrying with backoff while
// they never reached the journal and the log has a queue. referred is
// whether any attempt may have journaled them. e names them in errors.
func (l *Log) journalRetrying(ctx context.Context, recs []*journalRecord, e *Entry) (_ []Receipt, referred bool, _ error) {
	for attempt := 0; ; attempt++ {
		r, journaled, err := l.journal(ctx, recs)
		referred = referred || journaled || err == nil
		// Retry only what never reached the journal: a journaled record
		// appended again would be logged twice.
		if err == nil || journaled || l.cfg.QueueSize == 0 || ctx.Err() != nil {
			if err != nil {
				return nil, referred, appendError(e, err)
			}
			return r, referred, nil
		}
		l.log.WarnContext(ctx, "audit append failed; retrying", "request_id", e.RequestID, "attempt", attempt+1, "err", err)
		t := time.NewTimer(min(time.Duration(attempt+1)*50*time.Millisecond, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, referred, fmt.Errorf("couldn't append %s entry for request %q: %w (last failure: %v)", e.Kind, e.RequestID, ctx.Err(), err)
		case <-l.closing:
			t.Stop()
			return nil, referred, fmt.Errorf("couldn't append %s entry for request %q: %w (last failure: %v)", e.Kind, e.RequestID, ErrClosed, err)
		case <-t.C:
		}
	}
}

// behind returns why the log can't promise an entry now: the integrator
// stopped, or the oldest record not yet integrated is past the MMD.
func (l *Log) behind() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.behindLocked(l.cfg.Now())
}

func (l *Log) behindLocked(now time.Time) error {
	if l.broken != nil {
		return fmt.Errorf("%w: integration stopped: %v", ErrBehind, l.broken)
	}
	if len(l.pending) > 0 {
		if age := now.Sub(l.pending[0].time); age > l.cfg.MMD {
			return fmt.Errorf("%w: entry %d has waited %s (MMD %s)", ErrBehind, l.pending[0].seq, age.Round(time.Millisecond), l.cfg.MMD)
		}
	}
	if !l.fleetOldest.IsZero() {
		if age := now.Sub(l.fleetOldest); age > l.cfg.MMD {
			return fmt.Errorf("%w: entry %d has waited %s (MMD %s)", ErrBehind, l.integrated, age.Round(time.Millisecond), l.cfg.MMD)
		}
	}
	return nil
}

// acquire takes an in-flight slot: at once, or in queue mode by waiting
// as one of at most QueueSize waiters.
func (l *Log) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.cfg.QueueSize == 0 {
		return ErrPushback
	}
	if l.waiting.Add(1) > int64(l.cfg.QueueSize) {
		l.waiting.Add(-1)
		return ErrPushback
	}
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return ErrClosed
	}
}

// journal hands recs to the journal writer as one group, waits until
// they are durable, signs their receipts and, when sequenced, waits for
// the tree. journaled reports whether recs may be in the journal (then
// they must not be retried). It respects ctx; records whose append gave up
// may still be journaled and logged.
func (l *Log) journal(ctx context.Context, recs []*journalRecord) (_ []Receipt, journaled bool, _ error) {
	req := journalReq{recs: recs, done: make(chan error, 1), numbered: make(chan *receiptGroup, 1)}
	select {
	case l.reqs <- req:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-l.closing:
		return nil, false, ErrClosed
	}
	// The file journal numbers a group before it writes and flushes it:
	// the receipts are signed meanwhile, and returned only once the
	// group is durable.
	numbered := req.numbered
	var rs []Receipt
	var serr error
	for durable := false; !durable; {
		select {
		case g := <-numbered:
			numbered = nil
			rs, serr = l.receipts(g, recs)
		case err := <-req.done:
			if err != nil {
				// A shared journal's commit may have failed after it
				// took the group: retrying could log it twice.
				return nil, l.cfg.Journal != nil, err
			}
			durable = true
		case <-ctx.Done():
			return nil, true, ctx.Err()
		case <-l.dead:
			return nil, true, fmt.Errorf("the log closed before the entry was journaled: %w", ErrClosed)
		}
	}
	if rs == nil && serr == nil {
		// The shared journal hands its group over with the commit; a
		// journal that doesn't has recs signed as a group of their own.
		g := newReceiptGroup(recs)
		select {
		case g = <-req.numbered:
		default:
		}
		rs, serr = l.receipts(g, recs)
	}
	if serr != nil {
		return nil, true, serr
	}
	if l.cfg.Release == ReleaseSequenced {
		// Without a queue, fail on the first failure to integrate; the
		// records stay in the journal and are integrated on a retry, but
		// this answer is refused. Never journal them again: that would
		// log them twice.
		last := recs[len(recs)-1].seq
		if err := l.waitIntegrated(ctx, last, l.cfg.QueueSize == 0); err != nil {
			return nil, true, fmt.Errorf("entry %d is journaled but not yet in the log: %w", last, err)
		}
	}
	return rs, true, nil
}

// receiptGroup is one journal group's receipts: the log signs the group
// once (an auditverify version 2 receipt), when the first of its
// appenders asks, and each entry's receipt carries its proof within the
// group. It holds a copy of what it signs, made when the group is
// numbered: a record of a failed group can be numbered again, by its own
// appender's retry, while another appender of the group still signs.
type receiptGroup struct {
	first  uint64
	time   time.Time
	leaves []tlog.Hash
	once   sync.Once
	group  *auditverify.ReceiptGroup
	signed []byte
	err    error
}

// newReceiptGroup returns the receipt group of recs, which are numbered
// and consecutive, with one time (one journal group, or part of one).
func newReceiptGroup(recs []*journalRecord) *receiptGroup {
	g := &receiptGroup{first: recs[0].seq, time: recs[0].time, leaves: make([]tlog.Hash, len(recs))}
	for i, r := range recs {
		g.leaves[i] = r.leaf
	}
	return g
}

// receipts returns the receipts of recs, which are some of g's records,
// signing g first if no one has, and keeps each one's encoding on its
// record for the index.
func (l *Log) receipts(g *receiptGroup, recs []*journalRecord) ([]Receipt, error) {
	g.once.Do(func() { g.group, g.signed, g.err = l.signGroup(g) })
	if g.err != nil {
		return nil, g.err
	}
	rs := make([]Receipt, len(recs))
	for i, rec := range recs {
		r, err := g.group.Receipt(rec.seq, rec.leaf, g.signed)
		if err != nil {
			return nil, err
		}
		rec.receipt.Store(&r.Note)
		rs[i] = r
	}
	return rs, nil
}

// signGroup signs g.
func (l *Log) signGroup(g *receiptGroup) (*auditverify.ReceiptGroup, []byte, error) {
	last := g.first + uint64(len(g.leaves)) - 1
	rg, err := auditverify.NewReceiptGroup(l.cfg.Origin, g.first, g.leaves, g.time, l.cfg.MMD)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't sign the receipts of entries %d to %d: %w", g.first, last, err)
	}
	signed, err := note.Sign(&note.Note{Text: rg.Text()}, l.cfg.Signer)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't sign the receipts of entries %d to %d: %w", g.first, last, err)
	}
	return rg, signed, nil
}

// waitIntegrated waits until the tree holds entry seq. With failFast it
// returns the integrator's error if an attempt fails meanwhile.
func (l *Log) waitIntegrated(ctx context.Context, seq uint64, failFast bool) error {
	l.mu.Lock()
	failures := l.failures
	l.mu.Unlock()
	for {
		l.mu.Lock()
		done, ch, broken, failed, ierr := l.integrated > seq, l.progress, l.broken, l.failures != failures, l.integrateErr
		l.mu.Unlock()
		if done {
			return nil
		}
		if broken != nil {
			return fmt.Errorf("integration stopped: %w", broken)
		}
		if failFast && failed && ierr != nil {
			return ierr
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.dead:
			return ErrClosed
		}
	}
}

// journaled is told by the journal writer about every durable group.
func (l *Log) journaled(recs []*journalRecord) {
	l.mu.Lock()
	l.pending = append(l.pending, recs...)
	l.journalNext = recs[len(recs)-1].seq + 1
	l.mu.Unlock()
	l.wakeIntegrator()
}

// wakeIntegrator tells the integrator that records are pending, without
// waiting: one wake-up queued is enough.
func (l *Log) wakeIntegrator() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Log) journalFailed(err error) {
	l.mu.Lock()
	if l.journalErr == nil {
		l.log.Error("the audit journal failed; refusing requests until it works again", "err", err)
	}
	l.journalErr = err
	l.lastErr, l.lastErrAt = err, l.cfg.Now()
	l.mu.Unlock()
}

func (l *Log) journalWorks() {
	l.mu.Lock()
	if l.journalErr != nil {
		l.log.Info("the audit journal works again")
	}
	l.journalErr = nil
	l.mu.Unlock()
}

// integrate moves journal records into Tessera in order, one batch at a
// time, until ctx ends. For each batch it writes the index rows, then
// appends to Tessera and checks that every record got its own sequence
// number as its index. A failed batch is retried from the tree's size;
// an index that differs stops integration for good (broken): appending
// past it could log a record twice.
func (l *Log) integrate(ctx context.Context) {
	backoff := time.Duration(0)
	// With journal release, batches are spaced by a tenth of the MMD (at
	// most 100ms) unless a full batch waits: each Tessera batch costs
	// several fsyncs, which compete with the journal's on the same disk,
	// so fewer, larger batches keep appends fast. Sequenced appends wait
	// for the tree, so there is no spacing then.
	spacing := min(l.cfg.MMD/10, 100*time.Millisecond)
	if l.cfg.Release == ReleaseSequenced {
		spacing = 0
	}
	var last time.Time
	for {
		l.mu.Lock()
		batch := slices.Clone(l.pending[:min(len(l.pending), l.cfg.BatchMaxSize)])
		l.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
			}
			continue
		}
		if wait := spacing - time.Since(last); len(batch) < l.cfg.BatchMaxSize && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue // take what has arrived meanwhile
		}
		last = time.Now()
		n, err := l.integrateBatch(ctx, l.add, batch, l.pendingAhead)
		if ctx.Err() != nil {
			return
		}
		next := l.checkSize(ctx, l.reader, batch, n, &err)
		l.advance(next, batch, err)
		if err == nil {
			backoff = 0
			l.j.prune(next)
			continue
		}
		l.log.WarnContext(ctx, "couldn't integrate audit journal entries; retrying", "from", batch[0].seq, "entries", len(batch), "err", err)
		backoff = min(max(2*backoff, 20*time.Millisecond), time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// advance records that the tree has size entries after integrating batch
// (with err, nil if it worked): size is where the next batch starts, as
// checkSize derived it.
func (l *Log) advance(size uint64, batch []*journalRecord, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, last := batch[0].seq, batch[len(batch)-1].seq
	if err == nil && size != last+1 {
		err = fmt.Errorf("the tree holds %d entries after integrating %d to %d", size, first, last)
	}
	if size < first || size > last+1 || errors.Is(err, errMismatch) {
		l.broken = fmt.Errorf("the tree and the journal disagree after integrating records %d to %d (next %d): %v", first, last, size, err)
		l.log.Error("audit log integration stopped: the tree and the journal disagree", "err", l.broken)
	}
	if err != nil {
		l.integrateErr = fmt.Errorf("couldn't integrate the audit journal: %w", err)
		l.lastErr, l.lastErrAt = l.integrateErr, l.cfg.Now()
		l.failures++
	} else {
		l.integrateErr = nil
	}
	if n := int(min(size, last+1) - min(size, first)); n > 0 && l.broken == nil {
		clear(l.pending[:n])
		l.pending = l.pending[n:]
		l.integrated = size
	}
	close(l.progress)
	l.progress = make(chan struct{})
}

// integrateHooks inject failures into integration attempts (tests).
type integrateHooks struct {
	// add, if set, wraps Tessera's AddFn for each batch.
	add func(tessera.AddFn) tessera.AddFn
	// size, if set, is called before the integrator reads the tree's
	// size after a batch; an error it returns fails that read.
	size func() error
}

// errUnresolved means integrateBatch stopped waiting (its context ended)
// while Tessera still held some of the batch: where the tree ends is not
// known until they resolve, so the batch must not be handed over again by
// the same appender.
var errUnresolved = errors.New("some entries of the batch are still unresolved in Tessera")

// integrateBatch writes batch's index rows, then appends it to Tessera
// with add and waits for every entry's future. It returns how many of
// batch's leading records Tessera sequenced, each at its journal sequence
// number: the next batch starts after them, and Tessera holds none of
// batch any more (unless the error is errUnresolved).
//
// Tessera sequences a batch in one or more flushes; a flush that fails
// writes nothing (its tree state is not updated) and fails all its
// futures, so the failed records are retried. A record sequenced at
// another index than its sequence number (a flush written out of order,
// or one after a failed one: a hole) is errMismatch: its receipt is
// wrong, and integration must stop.
//
// ahead, if not nil, returns records after batch whose index rows may be
// written while Tessera sequences batch (see pendingAhead).
func (l *Log) integrateBatch(ctx context.Context, add tessera.AddFn, batch []*journalRecord, ahead func(from uint64) []*journalRecord) (int, error) {
	if f := l.integrateFault.Load(); f != nil {
		if err := (*f)(); err != nil {
			return 0, err
		}
	}
	l.m.integrate.WithLabelValues("queued").Observe(max(l.cfg.Now().Sub(batch[0].time), 0).Seconds())
	if l.cfg.Index != nil {
		// The batch starts where the tree ends, and every record in the
		// tree has its row (rows are written before Tessera gets a
		// record). Rows written ahead, while Tessera had the batch
		// before, are durable already.
		to := max(l.indexedTo.Load(), batch[0].seq)
		l.indexedTo.Store(to)
		todo := batch
		if to > batch[0].seq {
			todo = batch[min(to-batch[0].seq, uint64(len(batch))):]
		}
		if len(todo) > 0 {
			start := time.Now()
			if err := l.indexRecords(ctx, todo); err != nil {
				return 0, err
			}
			l.m.integrate.WithLabelValues("index").Observe(time.Since(start).Seconds())
		}
	}
	if h := l.testHooks.Load(); h != nil && h.add != nil {
		add = h.add(add)
	}
	// Hash the entries first so that handing them over is quick: Tessera
	// v1.0.4 can write two timer flushes of one batch in swapped order,
	// so a batch should reach it well within its BatchMaxAge (one flush).
	entries := make([]*tessera.Entry, len(batch))
	for i, r := range batch {
		entries[i] = tessera.NewEntry(r.entry)
	}
	futures := make([]tessera.IndexFuture, len(batch))
	start := time.Now()
	for i, e := range entries {
		futures[i] = add(ctx, e)
	}
	if d := time.Since(start); d >= l.cfg.BatchMaxAge {
		l.log.WarnContext(ctx, "handing a batch to Tessera took longer than its batch age; it may be split into flushes", "from", batch[0].seq, "entries", len(batch), "took", d, "batch_max_age", l.cfg.BatchMaxAge)
	}
	// Tessera's futures ignore contexts and may never resolve once its
	// background work is cancelled, so wait for them on the side.
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, prefix := 0, true
		var ferr, merr error
		for i, f := range futures {
			idx, err := f()
			switch {
			case err != nil:
				prefix = false
				if ferr == nil {
					ferr = fmt.Errorf("couldn't sequence entry %d: %w", batch[i].seq, err)
				}
			case idx.Index != batch[i].seq:
				prefix = false
				if merr == nil {
					merr = fmt.Errorf("%w: Tessera gave journal record %d index %d", errMismatch, batch[i].seq, idx.Index)
				}
			case prefix:
				n++
			}
		}
		done <- result{n, cmp.Or(merr, ferr)}
	}()
	if ahead != nil && l.cfg.Index != nil {
		// While Tessera sequences the batch (its batch age and fsyncs),
		// write the rows of the records after it: under load the index
		// and Tessera then take turns on the disk instead of adding up.
		if recs := ahead(batch[len(batch)-1].seq + 1); len(recs) > 0 {
			start := time.Now()
			if err := l.indexRecords(ctx, recs); err != nil {
				l.log.DebugContext(ctx, "couldn't index audit journal entries ahead of integration; they are indexed when integrated", "from", recs[0].seq, "entries", len(recs), "err", err)
			} else {
				l.m.integrate.WithLabelValues("index_ahead").Observe(time.Since(start).Seconds())
			}
		}
	}
	select {
	case r := <-done:
		l.m.integrate.WithLabelValues("tessera").Observe(time.Since(start).Seconds())
		return r.n, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: %w", errUnresolved, ctx.Err())
	}
}

// checkSize returns where the next batch starts after integrateBatch
// sequenced the first n records of batch (with *err): first+n, which
// must be the tree's size now. A tree of another size is a mismatch
// (set in *err). If the size cannot be read, the futures' answer stands:
// going back to an older size would hand Tessera records it already
// holds.
func (l *Log) checkSize(ctx context.Context, reader tessera.LogReader, batch []*journalRecord, n int, err *error) uint64 {
	next := batch[0].seq + uint64(n)
	if errors.Is(*err, errUnresolved) {
		return next
	}
	var size uint64
	var serr error
	if h := l.testHooks.Load(); h != nil && h.size != nil {
		serr = h.size()
	}
	if serr == nil {
		size, serr = reader.IntegratedSize(ctx)
	}
	switch {
	case serr != nil:
		l.log.WarnContext(ctx, "couldn't read the audit log's size after a batch; going by Tessera's indexes", "next", next, "err", serr)
	case size != next && !errors.Is(*err, errMismatch):
		*err = errors.Join(*err, fmt.Errorf("%w: the tree holds %d entries, want %d (Tessera sequenced %d records of the batch from %d)", errMismatch, size, next, n, batch[0].seq))
	}
	return next
}

// indexRecords writes the index rows of recs, consecutive records, with
// their receipts (signing any a record lacks: its appender gave up), and
// records how far the index is durable.
func (l *Log) indexRecords(ctx context.Context, recs []*journalRecord) error {
	rows := make([]store.AuditRecord, len(recs))
	for i, r := range recs {
		rows[i] = r.index
		if s := r.receipt.Load(); s != nil {
			rows[i].Receipt = *s
		} else if rc, err := l.receipts(newReceiptGroup(recs[i:i+1]), recs[i:i+1]); err == nil {
			rows[i].Receipt = rc[0].Note
		}
	}
	if err := l.index(ctx, rows); err != nil {
		return err
	}
	// Only a contiguous prefix counts: a gap's rows are not written.
	if to := l.indexedTo.Load(); recs[0].seq <= to {
		l.indexedTo.Store(max(to, recs[len(recs)-1].seq+1))
	}
	return nil
}

// pendingAhead returns the pending records from index from on, up to
// BatchMaxSize, for integrateBatch to index ahead: none unless at least a
// quarter batch waits (below that the integrator keeps up with room to
// spare, and an extra commit would only cost a flush), and only up to the
// first whose receipt is not signed yet, so that its row gets the
// receipt its client got.
func (l *Log) pendingAhead(from uint64) []*journalRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.pending, from, func(r *journalRecord, seq uint64) int { return cmp.Compare(r.seq, seq) })
	recs := l.pending[i:min(len(l.pending), i+l.cfg.BatchMaxSize)]
	if len(recs) == 0 || len(recs) < l.cfg.BatchMaxSize/4 || recs[0].seq != from {
		return nil
	}
	for k, r := range recs {
		if r.receipt.Load() == nil {
			recs = recs[:k]
			break
		}
	}
	return slices.Clone(recs)
}

// index writes recs in one transaction. Rows a crashed run wrote before
// it could integrate them exist already; then it writes row by row and
// skips those.
func (l *Log) index(ctx context.Context, recs []store.AuditRecord) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := l.cfg.Index.RecordAuditEntries(wctx, recs)
	if !errors.Is(err, store.ErrExists) {
		if err != nil {
			return fmt.Errorf("couldn't index entries %d to %d: %w", recs[0].LogIndex, recs[len(recs)-1].LogIndex, err)
		}
		return nil
	}
	for _, r := range recs {
		if err := l.cfg.Index.RecordAuditEntries(wctx, []store.AuditRecord{r}); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("couldn't index entry %d: %w", r.LogIndex, err)
		}
	}
	return nil
}

// trackPublished follows the checkpoints Tessera publishes and keeps the
// latest that meets the witness quorum.
func (l *Log) trackPublished(ctx context.Context) {
	t := time.NewTicker(max(l.cfg.CheckpointInterval/4, 25*time.Millisecond))
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cp, err := l.reader.ReadCheckpoint(ctx)
		if err != nil || string(cp) == string(last) {
			continue
		}
		last = cp
		n, ok := l.quorum(cp)
		l.mu.Lock()
		newer := ok && (l.published == nil || n >= l.publishedSz)
		if newer {
			l.published, l.publishedSz = cp, n
		}
		l.mu.Unlock()
		if newer && l.cfg.WitnessQuorum > 0 {
			if err := writeFileAtomic(filepath.Join(l.cfg.Dir, publishedFile), cp); err != nil {
				l.log.WarnContext(ctx, "couldn't save the witnessed checkpoint", "err", err)
			}
		}
		if ok {
			l.m.published.Set(float64(n))
		} else {
			l.log.WarnContext(ctx, "checkpoint lacks the witness quorum", "quorum", l.cfg.WitnessQuorum)
		}
	}
}

// quorum reports cp's tree size and whether it carries cosignatures from
// at least WitnessQuorum distinct configured witnesses.
func (l *Log) quorum(cp []byte) (uint64, bool) {
	size, err := checkpointSize(cp)
	if err != nil {
		return 0, false
	}
	if l.cfg.WitnessQuorum == 0 {
		return size, true
	}
	got := 0
	for _, w := range l.cfg.Witnesses {
		if n, err := note.Open(cp, note.VerifierList(w.Verifier)); err == nil && len(n.Sigs) > 0 {
			got++
		}
	}
	return size, got >= l.cfg.WitnessQuorum
}

// checkpointSize reads the size line of a checkpoint note.
func checkpointSize(cp []byte) (uint64, error) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0, errors.New("checkpoint is too short")
	}
	var n uint64
	if _, err := fmt.Sscanf(lines[1], "%d", &n); err != nil {
		return 0, fmt.Errorf("checkpoint size line %q: %w", lines[1], err)
	}
	return n, nil
}

// Status reports the log's size, journal, lag, checkpoints, whether it
// works now (Degraded) and its last error (history).
func (l *Log) Status() Status {
	s := Status{MMD: l.cfg.MMD}
	if cp, err := l.reader.ReadCheckpoint(context.Background()); err == nil {
		s.Checkpoint = string(cp)
		s.CheckpointSize, _ = checkpointSize(cp)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	s.Size, s.JournalSize, s.Lag, s.LagAge = l.lagLocked(now)
	s.Integrator = l.leading.Load()
	switch err := l.behindLocked(now); {
	case err != nil:
		s.Degraded = err.Error()
	case l.journalErr != nil:
		s.Degraded = "the journal fails: " + l.journalErr.Error()
	}
	s.Published, s.PublishedSize = string(l.published), l.publishedSz
	if l.lastErr != nil {
		s.LastError, s.LastErrorAt = l.lastErr.Error(), l.lastErrAt
	}
	return s
}

// lagLocked returns the tree's size, the journal's, the entries between
// and the age of the oldest of them. The caller holds mu.
func (l *Log) lagLocked(now time.Time) (size, journal, lag uint64, age time.Duration) {
	size, journal = l.integrated, max(l.journalNext, l.integrated)
	if len(l.pending) > 0 {
		age = max(now.Sub(l.pending[0].time), 0)
	}
	if !l.fleetOldest.IsZero() {
		age = max(age, now.Sub(l.fleetOldest))
	}
	return size, journal, journal - size, age
}

// lag is lagLocked for metrics.
func (l *Log) lag() (journal, lag uint64, age time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, journal, lag, age = l.lagLocked(l.cfg.Now())
	return journal, lag, age
}

// Close stops new appends, waits (up to 10s in all) for the journal to be
// integrated and for a checkpoint to cover the tree, then stops the
// background work. Appends fail afterwards; anything still in the journal
// is integrated at the next Open.
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		// Stop the journal writer first: it finishes the group it is
		// writing and refuses what is still queued, so every append it
		// acknowledged is below journalNext when that is read here.
		close(l.jstop)
		l.writers.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l.mu.Lock()
		next, done := l.journalNext, l.integrated >= l.journalNext
		if l.cfg.Journal != nil {
			// Wait for this replica's records only.
			next, done = 0, len(l.pending) == 0
			if !done {
				next = l.pending[len(l.pending)-1].seq + 1
			}
		}
		l.mu.Unlock()
		if !done {
			// Stop at the first failure: a failing integrator won't drain.
			if e := l.waitIntegrated(ctx, next-1, true); e != nil {
				l.log.Warn("closing the audit log with journal entries not yet integrated; they will be at the next start", "err", e)
			}
		}
		if e := l.stopTes(ctx); e != nil {
			err = fmt.Errorf("couldn't close audit log cleanly: %w", e)
		}
		l.cancel()
		close(l.dead)
		l.bg.Wait()
		l.m.unregister()
	})
	return err
}

// LoadKey reads the note signer key at path. vkey is the matching
// verifier key to give auditors. A key named other than name, unless name
// is "", is an error, because the name is the log's origin; so is a
// missing file (wrapping fs.ErrNotExist).
func LoadKey(path, name string) (s note.Signer, vkey string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("couldn't read log key: %w", err)
	}
	skey := strings.TrimSpace(string(b))
	s, err = note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("couldn't read log key %s: %w", path, err)
	}
	if name != "" && s.Name() != name {
		return nil, "", fmt.Errorf("log key %s is named %q, want %q", path, s.Name(), name)
	}
	vkey, err = VerifierKey(skey)
	if err != nil {
		return nil, "", fmt.Errorf("couldn't read log key %s: %w", path, err)
	}
	return s, vkey, nil
}

// LoadOrCreateKey reads the note signer key at path (see [LoadKey]), or
// creates one (0600) named name and writes it if there is none; created
// reports which.
func LoadOrCreateKey(path, name string) (s note.Signer, vkey string, created bool, err error) {
	s, vkey, err = LoadKey(path, name)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, vkey, false, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, "", false, fmt.Errorf("couldn't create log key %q: %w", name, err)
	}
	s, err = note.NewSigner(skey)
	if err != nil {
		return nil, "", false, fmt.Errorf("couldn't create log key %q: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", false, fmt.Errorf("couldn't write log key: %w", err)
	}
	_, werr := f.WriteString(skey + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, "", false, fmt.Errorf("couldn't write log key %s: %w", path, err)
	}
	return s, vkey, true, nil
}

// VerifierKey returns the verifier key (vkey) of an Ed25519 note signer key
// ("PRIVATE+KEY+name+hash+key").
func VerifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("malformed note signer key")
	}
	k, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != 1 {
		return "", errors.New("note signer key is not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(k[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// writeFileAtomic replaces path with b durably: temp file, fsync, rename,
// fsync of the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
