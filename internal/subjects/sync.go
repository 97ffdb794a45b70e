package subjects

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// DefaultSyncInterval is the zero value of [Sync.Interval].
const DefaultSyncInterval = 250 * time.Millisecond

// Merger is the shared store a [Sync] merges through;
// [store.SubjectMerger] (PostgreSQL) implements it and documents the
// contract. Both methods may be retried: merges are unions.
type Merger interface {
	// MergeSubjectStates merges each state into the stored state of the
	// same principal and kind, with merge, in one transaction, and
	// returns the stored states with their new Version.
	MergeSubjectStates(ctx context.Context, states []store.SubjectState, merge func(stored, state store.SubjectState) ([]byte, error)) ([]store.SubjectState, error)
	// SubjectStatesSince returns the states written since a watermark
	// and the watermark for the next call.
	SubjectStatesSince(ctx context.Context, since int64) (states []store.SubjectState, next int64, err error)
}

// Sync shares a [Counter] and a [Profiles] with the other gateway replicas
// through a [store.SubjectMerger], so that every replica decides on what
// the whole fleet has seen of a principal: a collector that spreads its
// requests over three replicas is refused at about the count at which one
// replica alone would refuse it.
//
// # A round
//
// Each [Sync.Round] (every Interval in [Sync.Run]) does two things:
//
//   - It merges into the store, in one transaction, what this replica
//     observed since its last round: the buckets that observations changed
//     (the current hour's, mostly) of every principal and organisation
//     ([OrgID]) that was active, and the profile pairs observed. The store
//     locks each stored state, unions it with the delta in Go and writes
//     the union back. Where another replica wrote the state since this
//     replica last saw it, the union is merged back into the local state.
//   - It reads the states other replicas wrote since the last round and
//     merges them into the local state.
//
// Both merges are unions (a HyperLogLog merge is the register-wise
// maximum; a profile keeps, per subject and category, the latest day
// seen), so they are idempotent and order-free: a round that fails, or
// crashes after storing, is retried whole by the next one, and merging a
// state twice changes nothing. Observations never wait for a round: the
// request path only marks what it changed.
//
// What is merged: the distinct-subject windows (all subjects and US
// persons, 1h, 24h and 30d) of every principal and organisation, and
// profile breadth (every category gathered about a subject within the
// profile window, whichever replica saw it). What is not: the request
// windows ([Requests], counters.requests_1h), which stay per replica.
//
// # How far a collector can overshoot a limit
//
// A replica decides on its own observations plus the fleet's state as of
// its last round. A subject observed on replica B reaches the store at
// B's next round, at most Interval (T) later, and replica A's view at A's
// next round after that, at most T later again. So with N replicas, when
// the first replica refuses a principal at a limit L, the fleet has let
// through at most the subjects the principal added on the other N−1
// replicas within the last 2T (plus the rounds' own duration), beyond L,
// and the sketch's error (0.81% standard error at the default precision;
// practically exact below a few thousand subjects). A collector adding r
// new people a second, evenly over N replicas, overshoots by at most
// r × 2T × (N−1)/N: with T = 250 ms and three replicas, a third of r. For
// rounds that run in step (each replica's round right after the others')
// the lag is one interval, not two. A round that takes longer than the
// interval delays the next (Run skips the ticks it missed), so T is the
// longer of the two.
//
// # Cost
//
// A round decodes only the buckets that changed: the store merges a
// delta bucket into the stored bucket of the same start, and a stored
// state merged back skips the buckets whose encoding this replica already
// holds (it keeps a hash of each; equal bytes are the same sketch).
// Profile records carry the generation of the merge that last changed
// them, and a replica merges back only those newer than the generation it
// holds. The current hour's bucket is sent whole, not as the subjects
// added since the last round, so that Observe keeps one sketch insertion
// per subject.
//
// # When the store is down
//
// While the store is unreachable each replica counts only what it sees, so
// a collector spread over N replicas can reach up to N times a limit. What
// was observed meanwhile stays marked and is merged when the store returns.
type Sync struct {
	// Counter is the replica's distinct-subject counter. Required.
	Counter *Counter
	// Profiles is the replica's profile breadth. Nil shares none.
	Profiles *Profiles
	// Store holds the fleet's merged state. Required.
	Store Merger
	// Interval is how often [Sync.Run] runs a round. Zero means
	// DefaultSyncInterval.
	Interval time.Duration
	// OnError is called by [Sync.Run] with the error of a failed round.
	// Nil ignores it; the next round retries.
	OnError func(error)

	mu    sync.Mutex // serialises rounds; guards everything below
	since int64      // the store's watermark for SubjectStatesSince
	// seen is the Version of each stored state this replica's local
	// state holds (it merged it, or wrote it from a union it holds).
	seen map[stateKey]int64
	// held is, per principal, a hash of each stored bucket the local
	// state holds, as last stored: merging a stored state back only
	// decodes the buckets that changed since.
	held map[string][]heldBucket
	// profGen is, per principal, the generation of the stored profiles
	// the local Profiles holds.
	profGen map[string]uint64
	synced  time.Time
}

// heldBucket is a stored bucket the local Counter holds: its start and
// width in nanoseconds, and a hash of its encoding.
type heldBucket struct {
	start, width int64
	hash         uint64
}

type stateKey struct{ principal, kind string }

func (s *Sync) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultSyncInterval
}

// Run runs a round every Interval until ctx is done, then returns nil. A
// failed round is reported to OnError and retried by the next one.
func (s *Sync) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.Round(ctx); err != nil && ctx.Err() == nil && s.OnError != nil {
			s.OnError(err)
		}
	}
}

// Synced returns the time (on the Counter's clock) at which the last
// round succeeded, or the zero time if none has.
func (s *Sync) Synced() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// Round merges what this replica observed since the last round into the
// store, and what the other replicas stored into this replica's state. On
// error the observations not stored stay marked for the next round. A
// first round restores the whole stored state: run one before serving.
func (s *Sync) Round(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[stateKey]int64)
		s.held = make(map[string][]heldBucket)
		s.profGen = make(map[string]uint64)
	}
	windows, err := s.Counter.takeChanged()
	if err != nil {
		return err
	}
	var profiles []changedProfiles
	if s.Profiles != nil {
		profiles = s.Profiles.takeChanged()
	}
	states := make([]store.SubjectState, 0, len(windows)+len(profiles))
	for _, w := range windows {
		states = append(states, store.SubjectState{PrincipalID: w.principal, Kind: store.SubjectWindows, Data: w.data})
	}
	for _, p := range profiles {
		states = append(states, store.SubjectState{PrincipalID: p.principal, Kind: store.SubjectProfiles, Data: p.data})
	}

	var errs []error
	if len(states) > 0 {
		// prev is each stored state's Version before this merge, from the
		// last attempt of the transaction.
		prev := make(map[stateKey]int64, len(states))
		merged, err := s.Store.MergeSubjectStates(ctx, states, func(stored, delta store.SubjectState) ([]byte, error) {
			prev[stateKey{stored.PrincipalID, stored.Kind}] = stored.Version
			return s.merge(stored.Data, delta)
		})
		if err != nil {
			s.Counter.requeue(windows)
			if s.Profiles != nil {
				s.Profiles.requeue(profiles)
			}
			return fmt.Errorf("couldn't merge the subject counters into the store: %w", err)
		}
		for _, m := range merged {
			k := stateKey{m.PrincipalID, m.Kind}
			if v, ok := s.seen[k]; !ok || v != prev[k] {
				// Another replica wrote it since we last looked: take
				// the union. Otherwise the local state holds it already.
				if err := s.apply(m); err != nil {
					errs = append(errs, err)
					continue
				}
			} else if m.Kind == store.SubjectWindows {
				s.noteHeld(m.PrincipalID, m.Data)
			} else if gen, _, err := splitSyncProfiles(m.Data); err == nil {
				s.profGen[m.PrincipalID] = gen
			}
			s.seen[k] = m.Version
		}
	}

	pulled, next, err := s.Store.SubjectStatesSince(ctx, s.since)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("couldn't read the fleet's subject counters: %w", err))...)
	}
	for _, st := range pulled {
		k := stateKey{st.PrincipalID, st.Kind}
		if v, ok := s.seen[k]; ok && v == st.Version {
			continue
		}
		if err := s.apply(st); err != nil {
			// Not marked seen: the next write to the state brings it
			// again.
			errs = append(errs, err)
			continue
		}
		s.seen[k] = st.Version
	}
	s.since = next
	if len(errs) == 0 {
		s.synced = time.Unix(0, s.Counter.now()).UTC()
	}
	return errors.Join(errs...)
}

// Forget drops what the Sync remembers of principals the Counter and
// Profiles no longer hold. Call it after their Sweep.
func (s *Sync) Forget() {
	held := make(map[stateKey]bool)
	for _, id := range s.Counter.Principals() {
		held[stateKey{id, store.SubjectWindows}] = true
	}
	if s.Profiles != nil {
		for _, id := range s.Profiles.Principals() {
			held[stateKey{id, store.SubjectProfiles}] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.seen {
		if !held[k] {
			delete(s.seen, k)
			if k.kind == store.SubjectWindows {
				delete(s.held, k.principal)
			} else {
				delete(s.profGen, k.principal)
			}
		}
	}
}

// merge returns the union of a stored state's data and a delta of the
// same kind, as the store keeps it.
func (s *Sync) merge(stored []byte, delta store.SubjectState) ([]byte, error) {
	switch delta.Kind {
	case store.SubjectWindows:
		if out, ok, err := s.Counter.mergeEncoded(stored, delta.Data); ok || err != nil {
			if err != nil {
				err = fmt.Errorf("windows of %s: %w", delta.PrincipalID, err)
			}
			return out, err
		}
		// A stored bucket is due to be folded or dropped: let a
		// scratch Counter do it.
		scratch := &Counter{Bucket: s.Counter.Bucket, LongBucket: s.Counter.LongBucket, Precision: s.Counter.Precision, Now: s.Counter.Now}
		if err := scratch.UnmarshalPrincipal("", stored); err != nil {
			return nil, fmt.Errorf("stored windows of %s: %w", delta.PrincipalID, err)
		}
		if err := scratch.UnmarshalPrincipal("", delta.Data); err != nil {
			return nil, fmt.Errorf("windows of %s: %w", delta.PrincipalID, err)
		}
		out, err := scratch.MarshalPrincipal("")
		if out == nil && err == nil {
			out = []byte{} // every bucket has left the windows
		}
		return out, err
	case store.SubjectProfiles:
		out, err := s.Profiles.mergeEncoded(stored, delta.Data)
		if err != nil {
			return nil, fmt.Errorf("profiles of %s: %w", delta.PrincipalID, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("state of %s: unknown kind %q", delta.PrincipalID, delta.Kind)
}

// apply merges a stored state into the local state.
func (s *Sync) apply(st store.SubjectState) error {
	var err error
	switch st.Kind {
	case store.SubjectWindows:
		err = s.applyWindows(st)
	case store.SubjectProfiles:
		if s.Profiles == nil {
			return nil
		}
		err = s.applyProfiles(st)
	default:
		err = fmt.Errorf("unknown kind %q", st.Kind)
	}
	if err != nil {
		return fmt.Errorf("couldn't merge the fleet's %s state of %s: %w", st.Kind, st.PrincipalID, err)
	}
	return nil
}

// changedWindows is one principal's buckets changed by observations since
// the last round, and their encoding.
type changedWindows struct {
	principal string
	buckets   []Bucket
	data      []byte
}

// takeChanged returns the buckets observations changed since the last
// call, and unmarks them.
func (c *Counter) takeChanged() ([]changedWindows, error) {
	l := c.init()
	c.mu.RLock()
	ps := make(map[string]*principal, len(c.principals))
	for id, p := range c.principals {
		ps[id] = p
	}
	c.mu.RUnlock()
	var out []changedWindows
	for id, p := range ps {
		p.mu.Lock()
		if !p.dirty {
			p.mu.Unlock()
			continue
		}
		p.dirty = false
		var bs []Bucket
		take := func(ring []slot, width int64) {
			for i := range ring {
				s := &ring[i]
				if s.all == nil || !s.dirty {
					continue
				}
				s.dirty = false
				b := Bucket{Start: time.Unix(0, s.idx*width).UTC(), Width: time.Duration(width), all: s.all.Clone(), p: l.precision}
				if s.us != nil {
					b.us = s.us.Clone()
				}
				bs = append(bs, b)
			}
		}
		take(p.fine, l.fine)
		take(p.coarse, l.coarse)
		p.mu.Unlock()
		if len(bs) == 0 {
			continue
		}
		data, err := appendBuckets(nil, bs)
		if err != nil {
			c.requeue(out)
			c.requeue([]changedWindows{{principal: id, buckets: bs}})
			return nil, err
		}
		out = append(out, changedWindows{principal: id, buckets: bs, data: data})
	}
	return out, nil
}

// requeue marks again the buckets of ws that could not be stored, or the
// coarse buckets they have been folded into since. Buckets that have left
// every window are dropped.
func (c *Counter) requeue(ws []changedWindows) {
	l := c.init()
	for _, w := range ws {
		p := c.get(w.principal, false)
		if p == nil {
			continue
		}
		p.mu.Lock()
		for _, b := range w.buckets {
			idx := b.Start.UnixNano() / int64(b.Width)
			var s *slot
			if int64(b.Width) == l.fine {
				s = find(p.fine, idx)
				if s == nil {
					idx = idx * l.fine / l.coarse
				}
			}
			if s == nil {
				s = find(p.coarse, idx)
			}
			if s != nil {
				s.dirty, p.dirty = true, true
			}
		}
		p.mu.Unlock()
	}
}

// changedProfiles is one principal's pairs observed since the last round,
// encoded as [Profiles.MarshalPrincipal] does.
type changedProfiles struct {
	principal string
	entries   []*profile
	data      []byte
}

// takeChanged returns the pairs observed since the last call, and
// unmarks them.
func (p *Profiles) takeChanged() []changedProfiles {
	p.mu.Lock()
	defer p.mu.Unlock()
	byID := make(map[string]int)
	var out []changedProfiles
	for _, e := range p.changed {
		e.dirty = false
		if el, ok := p.entries[e.k]; !ok || el.Value.(*profile) != e {
			continue // evicted or expired since
		}
		i, ok := byID[e.k.principal]
		if !ok {
			i = len(out)
			byID[e.k.principal] = i
			out = append(out, changedProfiles{principal: e.k.principal, data: []byte{profileVersion}})
		}
		out[i].entries = append(out[i].entries, e)
		out[i].data = e.appendRecord(out[i].data)
	}
	clear(p.changed)
	p.changed = p.changed[:0]
	return out
}

// requeue marks again the pairs of ps that could not be stored.
func (p *Profiles) requeue(ps []changedProfiles) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range ps {
		for _, e := range c.entries {
			if el, ok := p.entries[e.k]; ok && el.Value.(*profile) == e && !e.dirty {
				e.dirty = true
				p.changed = append(p.changed, e)
			}
		}
	}
}

// rawBucket is one bucket of a principal's encoding, not decoded.
type rawBucket struct {
	start, width int64
	enc          []byte // as Bucket.MarshalBinary wrote it
}

// splitBuckets splits an encoding written by [Counter.MarshalPrincipal]
// into its buckets, reading only their headers.
func splitBuckets(data []byte) ([]rawBucket, error) {
	var out []rawBucket
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return nil, errors.New("couldn't decode buckets: truncated")
		}
		enc := data[k : k+int(n)]
		if len(enc) < 17 || enc[0] != bucketVersion {
			return nil, errors.New("couldn't decode bucket: bad header")
		}
		out = append(out, rawBucket{start: int64(binary.BigEndian.Uint64(enc[1:9])), width: int64(binary.BigEndian.Uint64(enc[9:17])), enc: enc})
		data = data[k+int(n):]
	}
	return out, nil
}

// mergeEncoded returns the union of two principal encodings, decoding
// only the buckets both hold. It reports ok false, without merging, if a
// bucket of stored is due to be folded into a coarse bucket or has left
// every window: a scratch Counter does that.
func (c *Counter) mergeEncoded(stored, delta []byte) (out []byte, ok bool, err error) {
	l := c.init()
	now := c.now()
	sb, err := splitBuckets(stored)
	if err != nil {
		return nil, false, fmt.Errorf("stored: %w", err)
	}
	for _, b := range sb {
		idx := b.start / max(b.width, 1)
		if (b.width == l.fine && idx < now/l.fine-l.n24h) || (b.width == l.coarse && idx < now/l.coarse-l.n30d) {
			return nil, false, nil
		}
	}
	db, err := splitBuckets(delta)
	if err != nil {
		return nil, false, err
	}
	for _, d := range db {
		var in Bucket
		if err := in.UnmarshalBinary(d.enc); err != nil {
			return nil, false, err
		}
		if d.width != l.fine && d.width != l.coarse {
			return nil, false, fmt.Errorf("bucket width %v is not %v or %v", time.Duration(d.width), time.Duration(l.fine), time.Duration(l.coarse))
		}
		if d.start/d.width > now/d.width+1 {
			return nil, false, fmt.Errorf("bucket starts at %v, in the future", in.Start)
		}
		i := slices.IndexFunc(sb, func(b rawBucket) bool { return b.start == d.start && b.width == d.width })
		if in.p != l.precision {
			return nil, false, fmt.Errorf("bucket of precision %d, want %d", in.p, l.precision)
		}
		if i < 0 {
			sb = append(sb, d)
			continue
		}
		var have Bucket
		if err := have.UnmarshalBinary(sb[i].enc); err != nil {
			return nil, false, fmt.Errorf("stored: %w", err)
		}
		if err := have.all.Merge(in.all); err != nil {
			return nil, false, err
		}
		if in.us != nil {
			if have.us == nil {
				have.us = l.newSketch()
			}
			if err := have.us.Merge(in.us); err != nil {
				return nil, false, err
			}
		}
		enc, err := have.MarshalBinary()
		if err != nil {
			return nil, false, err
		}
		sb[i].enc = enc
	}
	slices.SortStableFunc(sb, func(a, b rawBucket) int { return cmp.Compare(a.start, b.start) })
	out = []byte{}
	for _, b := range sb {
		out = binary.AppendUvarint(out, uint64(len(b.enc)))
		out = append(out, b.enc...)
	}
	return out, true, nil
}

// applyWindows merges into the Counter the buckets of a stored state that
// changed since this replica last held it.
func (s *Sync) applyWindows(st store.SubjectState) error {
	bs, err := splitBuckets(st.Data)
	if err != nil {
		return err
	}
	had := s.held[st.PrincipalID]
	var changed []Bucket
	now := make([]heldBucket, 0, len(bs))
	for _, b := range bs {
		h := heldBucket{start: b.start, width: b.width, hash: maphash.Bytes(heldSeed, b.enc)}
		now = append(now, h)
		if slices.Contains(had, h) {
			continue
		}
		var in Bucket
		if err := in.UnmarshalBinary(b.enc); err != nil {
			return err
		}
		changed = append(changed, in)
	}
	if err := s.Counter.Merge(st.PrincipalID, changed...); err != nil {
		delete(s.held, st.PrincipalID) // some may be merged: decode all next time
		return err
	}
	s.held[st.PrincipalID] = now
	return nil
}

// noteHeld records the buckets of a stored state the local Counter holds
// already.
func (s *Sync) noteHeld(principal string, data []byte) {
	bs, err := splitBuckets(data)
	if err != nil {
		delete(s.held, principal)
		return
	}
	now := make([]heldBucket, 0, len(bs))
	for _, b := range bs {
		now = append(now, heldBucket{start: b.start, width: b.width, hash: maphash.Bytes(heldSeed, b.enc)})
	}
	s.held[principal] = now
}

// heldSeed seeds the hashes of held buckets; they are compared only
// within this process.
var heldSeed = maphash.MakeSeed()

// checkProfiles checks an encoding written by [Profiles.MarshalPrincipal]
// and returns its records.
func checkProfiles(data []byte) ([]byte, error) {
	if len(data) == 0 || data[0] != profileVersion {
		return nil, errors.New("couldn't decode profiles: unknown version")
	}
	if (len(data)-1)%profileRecord != 0 {
		return nil, fmt.Errorf("couldn't decode profiles: %d bytes is not a whole number of records", len(data)-1)
	}
	return data[1:], nil
}

// The profiles of a principal as the store keeps them: a version byte
// (syncProfileVersion) and the state's generation, a count of the merges
// that changed it (big-endian uint64), then records as
// [Profiles.MarshalPrincipal] writes them, each followed by the
// generation that last changed it. A replica that holds generation g
// merges back only the records changed after g.
const (
	syncProfileVersion = 2
	syncRecord         = profileRecord + 8
)

// splitSyncProfiles returns the generation and records of a stored
// profiles state; an empty state is generation 0, and one in
// [Profiles.MarshalPrincipal]'s encoding generation 1.
func splitSyncProfiles(data []byte) (gen uint64, recs []byte, err error) {
	if len(data) == 0 {
		return 0, nil, nil
	}
	if data[0] == profileVersion {
		// Saved by SaveSubjectStates, not merged: generation 1 throughout.
		v1, err := checkProfiles(data)
		if err != nil {
			return 0, nil, err
		}
		recs = make([]byte, 0, len(v1)/profileRecord*syncRecord)
		for ; len(v1) > 0; v1 = v1[profileRecord:] {
			recs = append(recs, v1[:profileRecord]...)
			recs = binary.BigEndian.AppendUint64(recs, 1)
		}
		return 1, recs, nil
	}
	if len(data) < 9 || data[0] != syncProfileVersion || (len(data)-9)%syncRecord != 0 {
		return 0, nil, errors.New("couldn't decode stored profiles: bad encoding")
	}
	return binary.BigEndian.Uint64(data[1:9]), data[9:], nil
}

// mergeEncoded returns the union of a stored profiles state and the
// encoding of a delta ([Profiles.MarshalPrincipal]'s), record by record
// without building a Profiles: per subject the later last-seen time and,
// per category, the later day. Records the delta changes get the next
// generation. Records that left the window are dropped, and past Capacity
// the least recently seen.
func (p *Profiles) mergeEncoded(stored, delta []byte) ([]byte, error) {
	dr, err := checkProfiles(delta)
	if err != nil {
		return nil, err
	}
	gen, sr, err := splitSyncProfiles(stored)
	if err != nil {
		return nil, err
	}
	gen++
	cutoff := p.now().Add(-p.window()).UnixNano()
	// Index the delta, which is small, and stream the stored records.
	type pending struct {
		rec  [profileRecord]byte
		used bool
	}
	var order []Key
	dm := make(map[Key]*pending, len(dr)/profileRecord)
	for ; len(dr) > 0; dr = dr[profileRecord:] {
		k := Key(dr[:32])
		if d, ok := dm[k]; ok {
			maxRecord(d.rec[:], dr[:profileRecord])
			continue
		}
		d := &pending{}
		copy(d.rec[:], dr[:profileRecord])
		dm[k] = d
		order = append(order, k)
	}
	out := make([]byte, 9, 9+len(sr)+len(dm)*syncRecord)
	out[0] = syncProfileVersion
	binary.BigEndian.PutUint64(out[1:9], gen)
	for ; len(sr) > 0; sr = sr[syncRecord:] {
		if int64(binary.BigEndian.Uint64(sr[32:40])) < cutoff {
			continue
		}
		i := len(out)
		out = append(out, sr[:syncRecord]...)
		if d, ok := dm[Key(sr[:32])]; ok {
			d.used = true
			if maxRecord(out[i:i+profileRecord], d.rec[:]) {
				binary.BigEndian.PutUint64(out[i+profileRecord:], gen)
			}
		}
	}
	for _, k := range order {
		if d := dm[k]; !d.used && int64(binary.BigEndian.Uint64(d.rec[32:40])) >= cutoff {
			out = append(out, d.rec[:]...)
			out = binary.BigEndian.AppendUint64(out, gen)
		}
	}
	if n := (len(out) - 9) / syncRecord; n > p.capacity() {
		// Keep the most recently seen, in their order.
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = out[9+i*syncRecord : 9+(i+1)*syncRecord]
		}
		byLast := slices.Clone(recs)
		slices.SortFunc(byLast, func(a, b []byte) int {
			return cmp.Compare(binary.BigEndian.Uint64(b[32:40]), binary.BigEndian.Uint64(a[32:40]))
		})
		keep := make(map[*byte]bool, p.capacity())
		for _, r := range byLast[:p.capacity()] {
			keep[&r[0]] = true
		}
		trimmed := slices.Clone(out[:9])
		for _, r := range recs {
			if keep[&r[0]] {
				trimmed = append(trimmed, r...)
			}
		}
		out = trimmed
	}
	return out, nil
}

// maxRecord merges profile record src into dst: the later last-seen time
// and, per category, the later day. It reports whether dst changed.
func maxRecord(dst, src []byte) bool {
	changed := false
	if l := binary.BigEndian.Uint64(src[32:40]); l > binary.BigEndian.Uint64(dst[32:40]) {
		binary.BigEndian.PutUint64(dst[32:], l)
		changed = true
	}
	for c := range NumCategories {
		off := 40 + 4*c
		if d := binary.BigEndian.Uint32(src[off:]); d > binary.BigEndian.Uint32(dst[off:]) {
			binary.BigEndian.PutUint32(dst[off:], d)
			changed = true
		}
	}
	return changed
}

// applyProfiles merges into the Profiles the records of a stored state
// changed after the generation this replica holds.
func (s *Sync) applyProfiles(st store.SubjectState) error {
	gen, recs, err := splitSyncProfiles(st.Data)
	if err != nil {
		return err
	}
	held := s.profGen[st.PrincipalID]
	news := []byte{profileVersion}
	for ; len(recs) > 0; recs = recs[syncRecord:] {
		if binary.BigEndian.Uint64(recs[profileRecord:syncRecord]) > held {
			news = append(news, recs[:profileRecord]...)
		}
	}
	if len(news) > 1 {
		if err := s.Profiles.mergeNew(st.PrincipalID, news); err != nil {
			return err
		}
	}
	s.profGen[st.PrincipalID] = gen
	return nil
}

// mergeNew merges into principal's pairs the records of an encoding that
// bring something the pairs lack: a later last-seen time or day for a
// category, or a subject not tracked. Records that bring nothing are skipped without
// touching the pair's recency, so merging back a large stored state costs
// a lookup a record.
func (p *Profiles) mergeNew(principal string, data []byte) error {
	recs, err := checkProfiles(data)
	if err != nil {
		return err
	}
	p.mu.Lock()
	var news []byte
	for ; len(recs) > 0; recs = recs[profileRecord:] {
		rec := recs[:profileRecord]
		el, ok := p.entries[profileKey{principal, Key(rec[:32])}]
		if ok {
			e := el.Value.(*profile)
			newer := int64(binary.BigEndian.Uint64(rec[32:40])) > e.last
			for c := range NumCategories {
				newer = newer || int32(binary.BigEndian.Uint32(rec[40+4*c:])) > e.seen[c]
			}
			if !newer {
				continue
			}
		}
		if news == nil {
			news = []byte{profileVersion}
		}
		news = append(news, rec...)
	}
	p.mu.Unlock()
	if news == nil {
		return nil
	}
	return p.UnmarshalPrincipal(principal, news)
}
