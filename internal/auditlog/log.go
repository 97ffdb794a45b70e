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
// # Sequenced before release
//
// [Log.Append] returns only once the entry is durably sequenced and
// integrated into the tree, and its index row is durable in the store. The
// gateway releases an answer only after that. If the log cannot take an
// entry, Append fails promptly and the request is refused (fail closed).
//
// # Publishing
//
// Tessera publishes a signed checkpoint at most every
// [Config.CheckpointInterval]. When witnesses are configured, each checkpoint
// is sent to them and a checkpoint counts as published only once it carries
// [Config.WitnessQuorum] cosignatures; /log/checkpoint serves the latest such
// checkpoint. Auditors check everything with package auditverify.
package auditlog

import (
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

	"github.com/brightline/brightline/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// ErrPushback is returned by Append when the log has more entries in
// flight than it is configured to hold. The gateway answers 503.
var ErrPushback = errors.New("audit log is overloaded")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log is closed")

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

	// Index records request id → log index and commitment openings. Nil
	// means no local index (then `audit prove` and `audit open` can't work).
	Index store.AuditIndex

	Witnesses     []Witness
	WitnessQuorum int // cosignatures a checkpoint needs to count as published (0 = none)

	// QueueSize 0 fails closed: Append errors at once when MaxInFlight
	// appends are already under way, and on the first failure to sequence
	// or index. QueueSize > 0 lets up to that many further appends wait for
	// room, and retries failed attempts until the caller's context ends;
	// beyond that Append errors at once. Nothing is dropped silently either
	// way: Append returns an index or an error.
	QueueSize int
	// MaxInFlight bounds appends being sequenced at once; 0 means 4096.
	MaxInFlight int

	// Entries that arrive while a batch is being written share the next
	// batch (group commit). BatchMaxAge is how long Tessera waits for more
	// once a batch is handed over; 0 means 1ms. BatchMaxSize caps a batch;
	// 0 means 1024.
	BatchMaxAge  time.Duration
	BatchMaxSize int
	// CheckpointInterval is how often a new checkpoint is signed and sent
	// to witnesses; 0 means 1s (Tessera's minimum is 100ms).
	CheckpointInterval time.Duration
	// WitnessTimeout bounds each round of witnessing; 0 means 5s.
	WitnessTimeout time.Duration
	// HTTPClient talks to witnesses; nil means http.DefaultClient.
	HTTPClient *http.Client

	Registerer prometheus.Registerer // may be nil
	Logger     *slog.Logger          // nil means slog.Default()
	Now        func() time.Time      // fills a zero Entry.Time; nil means time.Now
}

// Status is a snapshot of the log for the console and /healthz.
type Status struct {
	Size           uint64    // entries durably sequenced and integrated
	Checkpoint     string    // latest signed checkpoint (with any cosignatures)
	CheckpointSize uint64    // tree size of Checkpoint
	PublishedSize  uint64    // size of the latest checkpoint with the witness quorum
	Published      string    // that checkpoint; equal to Checkpoint when the quorum is 0
	LastError      string    // the last Append failure, "" if none
	LastErrorAt    time.Time // when it happened
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	cfg     Config
	log     *slog.Logger
	add     tessera.AddFn
	reader  tessera.LogReader
	stopTes func(context.Context) error
	cancel  context.CancelFunc // stops Tessera's and our background work
	bg      sync.WaitGroup

	slots   chan struct{} // one token per append being sequenced
	waiting atomic.Int64  // appends waiting for a slot (queue mode)

	seq       chan seqReq
	index     chan indexReq
	closeOnce sync.Once
	closing   chan struct{} // closed when Close starts: no new appends
	dead      chan struct{} // closed once background work is cancelled

	mu          sync.Mutex
	lastErr     error     // guarded by mu
	lastErrAt   time.Time // guarded by mu
	published   []byte    // guarded by mu: latest checkpoint meeting the quorum
	publishedSz uint64    // guarded by mu

	m *metrics
}

// seqReq asks the sequencer to add data and report on done.
type seqReq struct {
	data []byte
	done chan seqResult
}

type seqResult struct {
	idx tessera.Index
	err error
}

// indexReq asks the indexer to record rec durably and report on done.
type indexReq struct {
	rec  store.AuditRecord
	done chan error
}

// publishedFile holds the latest checkpoint that met the witness quorum,
// so that it survives restarts. It is outside Tessera's layout.
const publishedFile = "checkpoint.witnessed"

// Open opens the log in cfg.Dir, creating it if needed, and starts
// sequencing, checkpointing, witnessing and indexing in the background.
// Close it when done.
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
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.BatchMaxAge <= 0 {
		cfg.BatchMaxAge = time.Millisecond
	}
	if cfg.BatchMaxSize <= 0 {
		cfg.BatchMaxSize = 1024
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
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

	driver, err := posix.New(ctx, posix.Config{Path: cfg.Dir, HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("couldn't open audit log in %s: %w", cfg.Dir, err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(cfg.Signer).
		WithBatching(uint(cfg.BatchMaxSize), cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithPushback(uint(cfg.MaxInFlight)).
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

	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app, shutdown, reader, err := tessera.NewAppender(bgCtx, driver, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("couldn't open audit log in %s: %w", cfg.Dir, err)
	}
	l := &Log{
		cfg:     cfg,
		log:     cfg.Logger,
		add:     app.Add,
		reader:  reader,
		stopTes: shutdown,
		cancel:  cancel,
		slots:   make(chan struct{}, cfg.MaxInFlight),
		seq:     make(chan seqReq, cfg.MaxInFlight),
		index:   make(chan indexReq, cfg.MaxInFlight),
		closing: make(chan struct{}),
		dead:    make(chan struct{}),
		m:       newMetrics(cfg.Registerer),
	}
	if b, err := os.ReadFile(filepath.Join(cfg.Dir, publishedFile)); err == nil {
		if n, ok := l.quorum(b); ok {
			l.published, l.publishedSz = b, n
		}
	}
	l.bg.Go(func() { l.sequencer(bgCtx) })
	l.bg.Go(func() { l.indexer(bgCtx) })
	l.bg.Go(func() { l.trackPublished(bgCtx) })
	l.m.setStatus(l)
	return l, nil
}

// Append durably sequences e and returns its index. It returns only once
// the entry is durably sequenced AND its index row (and the commitment,
// when given) is durable in the store; index writes are batched.
//
// A zero e.Time is set from Config.Now. When c is not nil, e.Commitment is
// set to c.Hash (or must already equal it) and the store keeps c's salt and
// body with the index row.
//
// An error means the request must be refused (503): either the entry is not
// in the log, or it is but its index row is not durable. Append never
// blocks past ctx; it returns ErrPushback at once when the log is full.
func (l *Log) Append(ctx context.Context, e Entry, c *Commitment) (uint64, error) {
	start := time.Now()
	idx, err := l.append(ctx, e, c)
	l.m.observe(time.Since(start), err)
	if err != nil {
		l.mu.Lock()
		l.lastErr, l.lastErrAt = err, time.Now()
		l.mu.Unlock()
	}
	return idx, err
}

func (l *Log) append(ctx context.Context, e Entry, c *Commitment) (uint64, error) {
	select {
	case <-l.closing:
		return 0, ErrClosed
	default:
	}
	if e.Time.IsZero() {
		e.Time = l.cfg.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	rec := store.AuditRecord{RequestID: e.RequestID, Kind: e.Kind, Stage: e.Stage}
	if c != nil {
		if CommitmentHash(c.Salt, c.Body) != c.Hash || len(c.Salt) == 0 {
			return 0, fmt.Errorf("couldn't append %s entry for request %q: commitment does not open with its salt and body", e.Kind, e.RequestID)
		}
		if e.Commitment == "" {
			e.Commitment = c.Hash
		}
		if e.Commitment != c.Hash {
			return 0, fmt.Errorf("couldn't append %s entry for request %q: entry commitment %s differs from the commitment given", e.Kind, e.RequestID, e.Commitment)
		}
		rec.Salt, rec.Body = c.Salt, c.Body
		if rec.Body == nil {
			rec.Body = []byte{}
		}
	}
	data, err := e.Marshal()
	if err != nil {
		return 0, err
	}
	if err := l.acquire(ctx); err != nil {
		return 0, fmt.Errorf("couldn't append %s entry for request %q: %w", e.Kind, e.RequestID, err)
	}
	defer func() { <-l.slots }()

	for attempt := 0; ; attempt++ {
		idx, err := l.sequence(ctx, data, rec)
		if err == nil || l.cfg.QueueSize == 0 || ctx.Err() != nil {
			if err != nil {
				return 0, fmt.Errorf("couldn't append %s entry for request %q: %w", e.Kind, e.RequestID, err)
			}
			return idx, nil
		}
		l.log.WarnContext(ctx, "audit append failed; retrying", "request_id", e.RequestID, "attempt", attempt+1, "err", err)
		t := time.NewTimer(min(time.Duration(attempt+1)*50*time.Millisecond, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("couldn't append %s entry for request %q: %w (last failure: %v)", e.Kind, e.RequestID, ctx.Err(), err)
		case <-l.closing:
			t.Stop()
			return 0, fmt.Errorf("couldn't append %s entry for request %q: %w (last failure: %v)", e.Kind, e.RequestID, ErrClosed, err)
		case <-t.C:
		}
	}
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

// sequence hands data to the sequencer, waits for its durable index, then
// waits for the index row. It respects ctx even though Tessera's future
// does not.
func (l *Log) sequence(ctx context.Context, data []byte, rec store.AuditRecord) (uint64, error) {
	req := seqReq{data: data, done: make(chan seqResult, 1)}
	select {
	case l.seq <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-l.closing:
		return 0, ErrClosed
	}
	var r seqResult
	select {
	case r = <-req.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-l.dead:
		return 0, fmt.Errorf("the log closed before the entry was sequenced: %w", ErrClosed)
	}
	if r.err != nil {
		return 0, fmt.Errorf("couldn't sequence: %w", r.err)
	}

	if l.cfg.Index == nil {
		return r.idx.Index, nil
	}
	rec.LogIndex = r.idx.Index
	ireq := indexReq{rec: rec, done: make(chan error, 1)}
	select {
	case l.index <- ireq:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-l.closing:
		return 0, ErrClosed
	}
	select {
	case err := <-ireq.done:
		if err != nil {
			return 0, fmt.Errorf("entry %d is sequenced but couldn't be indexed: %w", r.idx.Index, err)
		}
		return r.idx.Index, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-l.closing:
		return 0, fmt.Errorf("entry %d is sequenced but the log closed before it was indexed: %w", r.idx.Index, ErrClosed)
	}
}

// sequencer feeds Tessera one batch at a time: everything that arrived
// while the previous batch was being written goes into the next (group
// commit). Tessera would otherwise cut a batch every BatchMaxAge and queue
// them behind one another, each paying its own fsyncs; with one batch in
// flight the batch grows with the load instead, and so does throughput.
func (l *Log) sequencer(ctx context.Context) {
	batch := make([]seqReq, 0, l.cfg.BatchMaxSize)
	futures := make([]tessera.IndexFuture, 0, l.cfg.BatchMaxSize)
	for {
		batch, futures = batch[:0], futures[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-l.seq:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < l.cfg.BatchMaxSize {
			select {
			case r := <-l.seq:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for _, r := range batch {
			futures = append(futures, l.add(ctx, tessera.NewEntry(r.data)))
		}
		// Tessera's futures ignore contexts and may never resolve once its
		// background work is cancelled, so wait for them on the side.
		finished := make(chan struct{})
		go func(batch []seqReq, futures []tessera.IndexFuture) {
			defer close(finished)
			for i, f := range futures {
				idx, err := f()
				batch[i].done <- seqResult{idx, err} // buffered: never blocks
			}
		}(slices.Clone(batch), slices.Clone(futures))
		select {
		case <-finished:
		case <-ctx.Done():
			return
		}
	}
}

// indexer writes index rows in batches: whatever arrived while the last
// batch was being written goes into the next transaction (group commit).
func (l *Log) indexer(ctx context.Context) {
	const maxBatch = 2048
	batch := make([]indexReq, 0, maxBatch)
	recs := make([]store.AuditRecord, 0, maxBatch)
	for {
		batch, recs = batch[:0], recs[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-l.index:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-l.index:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for _, r := range batch {
			recs = append(recs, r.rec)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := l.cfg.Index.RecordAuditEntries(wctx, recs)
		cancel()
		for _, r := range batch {
			r.done <- err
		}
	}
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

// Status reports the log's size, checkpoints and last error.
func (l *Log) Status() Status {
	var s Status
	ctx := context.Background()
	if n, err := l.reader.IntegratedSize(ctx); err == nil {
		s.Size = n
	}
	if cp, err := l.reader.ReadCheckpoint(ctx); err == nil {
		s.Checkpoint = string(cp)
		s.CheckpointSize, _ = checkpointSize(cp)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s.Published, s.PublishedSize = string(l.published), l.publishedSz
	if l.lastErr != nil {
		s.LastError, s.LastErrorAt = l.lastErr.Error(), l.lastErrAt
	}
	return s
}

// Close waits (up to 10s) for appends already acknowledged to be covered by
// a checkpoint, then stops the background work. Appends fail afterwards.
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
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

// LoadOrCreateKey reads the note signer key at path, or creates one (0600)
// named name and writes it; created reports which. vkey is the matching
// verifier key to give auditors. An existing key with another name is an
// error, because the name is the log's origin.
func LoadOrCreateKey(path, name string) (s note.Signer, vkey string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		skey := strings.TrimSpace(string(b))
		s, err := note.NewSigner(skey)
		if err != nil {
			return nil, "", false, fmt.Errorf("couldn't read log key %s: %w", path, err)
		}
		if name != "" && s.Name() != name {
			return nil, "", false, fmt.Errorf("log key %s is named %q, want %q", path, s.Name(), name)
		}
		vkey, err := VerifierKey(skey)
		if err != nil {
			return nil, "", false, fmt.Errorf("couldn't read log key %s: %w", path, err)
		}
		return s, vkey, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", false, fmt.Errorf("couldn't read log key: %w", err)
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
