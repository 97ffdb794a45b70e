package auditlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline/internal/store"
	"golang.org/x/mod/sumdb/tlog"
)

// The journal is where a decision becomes durable before it is in the
// tree. It is a directory of segment files, each named by the sequence
// number of its first record ("%020d.jnl"), holding records back to back:
//
//	u32 big endian   payload length
//	u32 big endian   CRC-32C (Castagnoli) of the payload
//	payload          uvarint seq, varint time (Unix µs),
//	                 then uvarint-length-prefixed: entry, request id, kind,
//	                 stage; a byte 1 if a commitment follows (salt and body,
//	                 each length-prefixed), else 0
//
// A body larger than OpeningInlineMax is not in its record: the record's
// body is a reference to the side file the appending request wrote first
// (see openings.go), so a group stays small whatever the requests' sizes.
//
// Sequence numbers are the entries' log indexes: the journal assigns them
// in order, and the integrator appends record n to Tessera only when the
// tree holds exactly n entries. Appends are group-committed: every record
// that arrives while a group is written joins the next group, and a group
// costs one write and one flush (fdatasync).
//
// A segment is extended ahead of its records with zeros, journalFill at a
// time up to its size, written and flushed with the group that needs
// them: a group's flush then overwrites blocks the file already has,
// which on ext4 and XFS needs no metadata commit and took about half the
// time of an appending one beside Tessera's fsyncs. Zeros are never a
// record (a record's length is never 0), so the records of a segment end
// at its first zero header when only zeros follow.
//
// On open, a torn tail (a partial or corrupt last record of the last
// segment) is truncated; a bad record followed by a good one, or a bad
// record in an earlier segment, is an error, never skipped. Segments whose
// records are all in the tree are deleted.

const (
	journalExt       = ".jnl"
	journalHeader    = 8
	journalMaxRecord = 256 << 20
	journalMaxGroup  = 4096
	// journalFill is how far a segment is zero-filled ahead of its
	// records at a time.
	journalFill = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalRecord is one decision or event on its way into the tree.
type journalRecord struct {
	seq   uint64
	time  time.Time // when the journal took it (UTC, µs)
	entry []byte    // Entry.Marshal bytes, exactly as they will be logged
	leaf  tlog.Hash // RFC 6962 leaf hash of entry
	index store.AuditRecord
	// receipt is the signed receipt, set by Append once it has signed it
	// so that the integrator need not sign again; nil until then.
	receipt atomic.Pointer[[]byte]
}

func (r *journalRecord) encode(buf []byte) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, journalHeader)...)
	buf = binary.AppendUvarint(buf, r.seq)
	buf = binary.AppendVarint(buf, r.time.UnixMicro())
	for _, f := range [][]byte{r.entry, []byte(r.index.RequestID), []byte(r.index.Kind), []byte(r.index.Stage)} {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	if r.index.Salt != nil {
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(r.index.Salt)))
		buf = append(buf, r.index.Salt...)
		buf = binary.AppendUvarint(buf, uint64(len(r.index.Body)))
		buf = append(buf, r.index.Body...)
	} else {
		buf = append(buf, 0)
	}
	payload := buf[start+journalHeader:]
	binary.BigEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf
}

var errBadRecord = errors.New("bad journal record")

// decodeRecord reads the record at the start of b and returns it and its
// length on disk. errBadRecord means b does not start with a whole, intact
// record.
func decodeRecord(b []byte) (*journalRecord, int, error) {
	if len(b) < journalHeader {
		return nil, 0, errBadRecord
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 || n > journalMaxRecord || uint64(len(b)) < journalHeader+uint64(n) {
		return nil, 0, errBadRecord
	}
	p := b[journalHeader : journalHeader+n]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0, errBadRecord
	}
	r := &journalRecord{}
	var err error
	uv := func() uint64 {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			err = errBadRecord
			return 0
		}
		p = p[k:]
		return v
	}
	field := func() []byte {
		l := uv()
		if err != nil || l > uint64(len(p)) {
			err = errBadRecord
			return nil
		}
		f := bytes.Clone(p[:l])
		p = p[l:]
		return f
	}
	r.seq = uv()
	t, k := binary.Varint(p)
	if k <= 0 {
		return nil, 0, errBadRecord
	}
	p = p[k:]
	r.time = time.UnixMicro(t).UTC()
	r.entry = field()
	r.index.RequestID, r.index.Kind, r.index.Stage = string(field()), string(field()), string(field())
	if err != nil || len(p) < 1 {
		return nil, 0, errBadRecord
	}
	has := p[0]
	p = p[1:]
	if has == 1 {
		r.index.Salt, r.index.Body = field(), field()
		if r.index.Body == nil {
			r.index.Body = []byte{}
		}
	}
	if err != nil || len(p) != 0 || has > 1 {
		return nil, 0, errBadRecord
	}
	r.index.LogIndex = r.seq
	r.leaf = tlog.RecordHash(r.entry)
	return r, journalHeader + int(n), nil
}

// journalReq asks the journal writer to make recs durable, in one group.
type journalReq struct {
	recs []*journalRecord
	done chan error
	// numbered (buffered, may be nil) receives recs' receipt group from
	// the writer once they have their sequence numbers and times: the
	// file journal sends it before it writes the group, so that the
	// receipts are signed while the group is flushed; the shared journal
	// after its commit.
	numbered chan *receiptGroup
}

// journal is the open journal. Its writer goroutine owns the active
// segment (f, off, next); segments is shared with pruning.
type journal struct {
	dir          string
	segmentBytes int64
	now          func() time.Time
	log          *slog.Logger
	// durable is called by the writer with each group once it is on disk,
	// before any of its appenders is told.
	durable func([]*journalRecord)
	// flushed, if set, is called by the writer with how long each
	// group's write and flush took.
	flushed func(time.Duration)
	// fault, if set, is called before each write ("write"), fsync
	// ("sync") and probe ("probe"); an error it returns is the operation's
	// error. Tests use it to fill the disk.
	fault atomic.Pointer[func(op string) error]

	reqs chan journalReq

	f        *os.File // owned by the writer: the active segment
	off      int64    // owned by the writer: end of the last durable group
	filled   int64    // owned by the writer: the active segment is zeros from off to filled
	next     uint64   // owned by the writer: the next record's sequence number
	dirty    bool     // owned by the writer: bytes past off may be on disk
	buf      []byte   // owned by the writer
	group    []journalReq
	segMu    sync.Mutex
	segments []uint64 // guarded by segMu: first sequence number of each segment, oldest first; the last is active
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, journalExt) }

// openJournal recovers the journal in dir and opens it for appending.
// integrated is the tree's size: records below it are already in the tree.
// It returns the records at or after integrated, in order.
func openJournal(dir string, integrated uint64, segmentBytes int64, now func() time.Time, log *slog.Logger) (*journal, []*journalRecord, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("couldn't open the audit journal: %w", err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't open the audit journal: %w", err)
	}
	var firsts []uint64
	for _, d := range names {
		name := d.Name()
		if !strings.HasSuffix(name, journalExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, journalExt), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("couldn't open the audit journal: unexpected file %s", filepath.Join(dir, name))
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)

	var pending []*journalRecord
	next := integrated
	lastEnd, lastCount, lastSize := int64(0), uint64(0), int64(0)
	for i, first := range firsts {
		path := filepath.Join(dir, segmentName(first))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("couldn't read the audit journal: %w", err)
		}
		off, count := 0, uint64(0)
		for off < len(b) {
			r, n, err := decodeRecord(b[off:])
			if err == nil && r.seq != first+count {
				return nil, nil, fmt.Errorf("audit journal %s: record at offset %d has sequence number %d, want %d", path, off, r.seq, first+count)
			}
			if err != nil && allZero(b[off:]) {
				break // the segment's zero-filled space
			}
			if err != nil {
				if i != len(firsts)-1 {
					return nil, nil, fmt.Errorf("audit journal %s: corrupt record at offset %d in a segment that is not the last; refusing to skip it", path, off)
				}
				// A record that follows the bad one means the bad one is
				// not a torn tail: the journal is damaged in the middle.
				var hdr [4]byte
				copy(hdr[:], b[off:])
				if l := binary.BigEndian.Uint32(hdr[:]); l > 0 && l <= journalMaxRecord {
					if at := off + journalHeader + int(l); at < len(b) {
						if r2, _, err2 := decodeRecord(b[at:]); err2 == nil && r2.seq == first+count+1 {
							return nil, nil, fmt.Errorf("audit journal %s: corrupt record %d at offset %d is followed by intact records; refusing to skip it", path, first+count, off)
						}
					}
				}
				log.Warn("audit journal: truncating a torn tail", "segment", path, "offset", off, "bytes", len(b)-off)
				if err := truncateSync(path, int64(off)); err != nil {
					return nil, nil, fmt.Errorf("couldn't truncate the torn tail of the audit journal: %w", err)
				}
				break
			}
			if r.seq >= integrated {
				if len(pending) == 0 && r.seq != integrated {
					return nil, nil, fmt.Errorf("audit journal: the tree holds %d entries but the journal resumes at %d; records %d to %d are lost", integrated, r.seq, integrated, r.seq-1)
				}
				if len(pending) > 0 && r.seq != pending[len(pending)-1].seq+1 {
					return nil, nil, fmt.Errorf("audit journal: record %d follows record %d", r.seq, pending[len(pending)-1].seq)
				}
				pending = append(pending, r)
			}
			off += n
			count++
		}
		next = max(next, first+count)
		lastEnd, lastCount, lastSize = int64(off), count, int64(len(b))
	}

	j := &journal{dir: dir, segmentBytes: segmentBytes, now: now, log: log, next: next, reqs: make(chan journalReq, journalMaxGroup)}
	if n := len(firsts); n > 0 && firsts[n-1]+lastCount == next {
		// Keep appending to the last segment.
		f, err := os.OpenFile(filepath.Join(dir, segmentName(firsts[n-1])), os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("couldn't open the audit journal: %w", err)
		}
		j.f, j.off, j.filled, j.segments = f, lastEnd, lastSize, firsts
	} else {
		j.segments = firsts
		if err := j.rotate(); err != nil {
			return nil, nil, err
		}
	}
	return j, pending, nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	terr := f.Truncate(size)
	serr := f.Sync()
	return errors.Join(terr, serr, f.Close())
}

// rotate starts a new segment at j.next. Writer only.
func (j *journal) rotate() error {
	path := filepath.Join(j.dir, segmentName(j.next))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("couldn't start an audit journal segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return fmt.Errorf("couldn't start an audit journal segment: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.off, j.filled, j.dirty = f, 0, 0, false
	j.segMu.Lock()
	if n := len(j.segments); n == 0 || j.segments[n-1] != j.next {
		j.segments = append(j.segments, j.next)
	}
	j.segMu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (j *journal) check(op string) error {
	if f := j.fault.Load(); f != nil {
		return (*f)(op)
	}
	return nil
}

// groupRecords is the records of group's requests, in order.
func groupRecords(group []journalReq) []*journalRecord {
	n := 0
	for _, r := range group {
		n += len(r.recs)
	}
	recs := make([]*journalRecord, 0, n)
	for _, r := range group {
		recs = append(recs, r.recs...)
	}
	return recs
}

// handOver gives each of group's requests their receipt group, recs
// (numbered), to sign.
func handOver(group []journalReq, recs []*journalRecord) {
	g := newReceiptGroup(recs)
	for _, r := range group {
		if r.numbered != nil {
			r.numbered <- g // buffered, one send per request
		}
	}
}

// refuseQueued answers every request still queued on reqs with ErrClosed.
func refuseQueued(reqs <-chan journalReq) {
	for {
		select {
		case r := <-reqs:
			r.done <- ErrClosed
		default:
			return
		}
	}
}

// run writes groups until stop is closed, then fails what is left.
func (j *journal) run(stop <-chan struct{}, failed func(error), ok func()) {
	defer j.f.Close()
	var probe <-chan time.Time
	var probeT *time.Ticker
	for {
		var first journalReq
		select {
		case <-stop:
			refuseQueued(j.reqs)
			return
		case <-probe:
			// Nothing to write, but the journal failed last time: find out
			// whether it works again, so that /healthz can say so.
			if err := j.probe(); err == nil {
				probeT.Stop()
				probe, probeT = nil, nil
				ok()
			}
			continue
		case first = <-j.reqs:
		}
		j.group = append(j.group[:0], first)
	drain:
		for len(j.group) < journalMaxGroup {
			select {
			case r := <-j.reqs:
				j.group = append(j.group, r)
			default:
				break drain
			}
		}
		// The log's status changes before any appender hears the result.
		err := j.write()
		if err != nil {
			failed(err)
			if probeT == nil {
				probeT = time.NewTicker(time.Second)
				probe = probeT.C
			}
		} else {
			ok()
			if probeT != nil {
				probeT.Stop()
				probe, probeT = nil, nil
			}
		}
		for _, r := range j.group {
			r.done <- err // buffered
		}
	}
}

// write makes j.group durable: sequence numbers, one write, one flush.
// On error nothing of the group counts, and its sequence numbers are
// reused by the next group.
func (j *journal) write() error {
	if j.dirty {
		// A failed group may have left bytes behind: cut them first.
		if err := errors.Join(j.check("write"), j.f.Truncate(j.off), j.f.Sync()); err != nil {
			return fmt.Errorf("couldn't write the audit journal: %w", err)
		}
		j.dirty, j.filled = false, j.off
	}
	if j.off >= j.segmentBytes {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	now := j.now().UTC().Truncate(time.Microsecond)
	j.buf = j.buf[:0]
	recs := groupRecords(j.group)
	for i, r := range recs {
		r.seq, r.time, r.index.LogIndex = j.next+uint64(i), now, j.next+uint64(i)
		j.buf = r.encode(j.buf)
	}
	handOver(j.group, recs)
	j.dirty = true
	if err := j.check("write"); err != nil {
		return fmt.Errorf("couldn't write the audit journal: %w", err)
	}
	start := time.Now()
	end := j.off + int64(len(j.buf))
	// Zeros past the group, to the next multiple of journalFill but not
	// past the segment's size, flushed with it: the next groups
	// overwrite them.
	fill := max(j.filled, min((end/journalFill+1)*journalFill, j.segmentBytes))
	if fill > end && end > j.filled {
		if _, err := j.f.WriteAt(make([]byte, fill-end), end); err != nil {
			return fmt.Errorf("couldn't write the audit journal: %w", err)
		}
	}
	if _, err := j.f.WriteAt(j.buf, j.off); err != nil {
		return fmt.Errorf("couldn't write the audit journal: %w", err)
	}
	if err := errors.Join(j.check("sync"), datasync(j.f)); err != nil {
		return fmt.Errorf("couldn't sync the audit journal: %w", err)
	}
	j.filled = fill
	if j.flushed != nil {
		j.flushed(time.Since(start))
	}
	j.dirty = false
	j.off += int64(len(j.buf))
	j.next += uint64(len(recs))
	j.durable(recs)
	return nil
}

// probe checks that the journal's disk takes a write and a flush again.
func (j *journal) probe() error {
	if err := j.check("probe"); err != nil {
		return err
	}
	path := filepath.Join(j.dir, ".probe")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	_, werr := f.Write(make([]byte, 4096))
	return errors.Join(werr, f.Sync(), f.Close())
}

// prune deletes the segments whose records are all below integrated,
// never the active one.
func (j *journal) prune(integrated uint64) {
	j.segMu.Lock()
	var drop []uint64
	for len(j.segments) > 1 && j.segments[1] <= integrated {
		drop = append(drop, j.segments[0])
		j.segments = j.segments[1:]
	}
	j.segMu.Unlock()
	for _, first := range drop {
		if err := os.Remove(filepath.Join(j.dir, segmentName(first))); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Warn("couldn't delete an integrated audit journal segment", "segment", segmentName(first), "err", err)
		}
	}
}

// segmentCount is the number of segment files, for tests.
func (j *journal) segmentCount() int {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	return len(j.segments)
}
