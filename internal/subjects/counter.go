// Package subjects counts, per principal, how many distinct people the
// principal's traffic has touched over sliding windows of 1 hour, 24 hours
// and 30 days. It is the cross-request half of the mass-surveillance
// safeguard: one request rarely looks like surveillance, but a client that
// drips a few new people into every request adds up.
//
// # Keys
//
// A subject is identified by a [Key], the HMAC-SHA-256 under a per-deployment
// secret of its strongest normalised identifier (see [Keyer]). Raw
// identifiers never reach this package's state.
//
// # Counting
//
// A [Counter] keeps, for each principal, HyperLogLog sketches
// (github.com/axiomhq/hyperloglog) in time buckets and merges the buckets
// inside a window when asked for [Counts]. Each subject key's first eight
// bytes are inserted with InsertHash: the key is already a uniform hash.
// The same subject seen in many requests counts once, so a help-desk client
// that touches the same few customers again and again stays at a few.
//
// There are two tiers of buckets so that per-principal memory stays bounded:
// fine buckets (default one hour) serve the 1h and 24h windows, and coarse
// buckets (default one day) serve the 30d window. An observation goes into
// the current fine bucket only. When a fine bucket is evicted from its ring
// (a day later) it is merged into the coarse bucket its start falls in; until
// then the 30d window reads it directly. So each subject costs one sketch
// insertion (two if it is a US person), not one per tier.
//
// A window of length W is made of whole buckets: the current one plus the
// ceil(W/width) before it. It therefore counts every subject seen in the last
// W, and may also count subjects seen up to one bucket width earlier. With
// the defaults the 1h window looks back between 1 and 2 hours, the 24h window
// between 24 and 25 hours, and the 30d window between 30 and 31 days. For a
// safeguard erring this way is deliberate: a window never forgets early.
//
// # Error and memory
//
// At the default precision p = 14 (2^14 registers) the relative standard
// error of an estimate is 1.04/sqrt(2^14) ≈ 0.81%, so estimates are within
// 2% about 98% of the time, at any cardinality. Below a few thousand subjects
// the sketch is sparse and practically exact. Merging buckets does not add
// error: the union of sketches is the sketch of the union.
//
// A dense sketch takes 2^p bytes (16 KiB at p = 14). A bucket starts sparse,
// at a few bytes per distinct subject, and turns dense once it holds about
// 2^p distinct subjects, so a sparse sketch never grows past a small multiple
// of the dense size.
// A principal holds at most ceil(24h/Bucket)+1 fine and ceil(30d/LongBucket)+1
// coarse buckets, each with one sketch of all subjects and, if any were seen,
// one of US-person subjects. With the defaults that is 25 + 31 = 56 buckets,
// so at worst 56 × 2 × 16 KiB ≈ 1.75 MiB for a principal that touches
// thousands of new people every hour, and a few KiB for a typical one. Hourly
// buckets for the whole 30 days would be 720 buckets, about 23 MiB at worst.
// [Counter.Sweep] forgets principals with nothing left in any window.
//
// # Cost
//
// [Counter.Observe] costs one sketch insertion per subject (two for a US
// person) under the principal's lock; the benchmark sustains over 1M
// identifiers/s on one core while every bucket fills with new people, and
// far more for repeated ones. [Counter.Counts] keeps, per principal, each
// window's union of every bucket but the current one (rebuilt when a new
// bucket starts or buckets are merged in), so a call merges one bucket per
// window and makes six estimates: about 28 µs for a typical principal and
// about 1.5 ms when every bucket is dense, where the estimates dominate
// (merging all 56 buckets on every call cost 0.1 ms and 2.5 ms). The cache
// adds at most six sketches per principal.
//
// # Persistence
//
// Counter state is in memory. [Counter.Snapshot] returns a principal's live
// [Bucket]s, which marshal to bytes, and [Counter.Merge] merges buckets back
// in. Because sketches merge by union, buckets written by several gateway
// replicas for the same principal and time can be merged in any order.
// [Sync] shares a Counter's buckets with other replicas through a store
// that merges them (PostgreSQL); a single gateway saves them to SQLite
// with [Counter.MarshalPrincipal].
package subjects

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// The windows reported in [Counts].
const (
	Window1h  = time.Hour
	Window24h = 24 * time.Hour
	Window30d = 30 * 24 * time.Hour
)

// Defaults for the zero values of [Counter]'s options.
const (
	DefaultBucket     = time.Hour
	DefaultLongBucket = 24 * time.Hour
	DefaultPrecision  = 14
)

// Subject is one subject seen in a request.
type Subject struct {
	Key      Key
	USPerson bool // the subject carries US-person signals (+1 number, SSN, US address or ZIP)
}

// Counts are the estimated distinct subjects a principal touched in each
// window, in total and of those flagged as US persons.
type Counts struct {
	Subjects1h  int `json:"subjects_1h"`
	Subjects24h int `json:"subjects_24h"`
	Subjects30d int `json:"subjects_30d"`

	USPersonSubjects1h  int `json:"us_person_subjects_1h"`
	USPersonSubjects24h int `json:"us_person_subjects_24h"`
	USPersonSubjects30d int `json:"us_person_subjects_30d"`
}

// Counter counts distinct subjects per principal. Its zero value is ready to
// use with the defaults. Set the options before first use and do not change
// them afterwards. A Counter is safe for concurrent use.
type Counter struct {
	// Bucket is the width of the fine buckets that serve the 1h and 24h
	// windows. Zero means DefaultBucket (one hour).
	Bucket time.Duration
	// LongBucket is the width of the coarse buckets that serve the 30d
	// window, a multiple of Bucket. Zero means DefaultLongBucket (one day).
	LongBucket time.Duration
	// Precision is the HyperLogLog precision p, from 4 to 18: 2^p registers,
	// relative standard error 1.04/sqrt(2^p). Zero means DefaultPrecision.
	Precision uint8
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	once   sync.Once
	layout layout

	mu         sync.RWMutex // guards principals (the map, not the values)
	principals map[string]*principal
}

// layout is the Counter's resolved configuration, fixed at first use.
type layout struct {
	fine, coarse       int64 // bucket widths in nanoseconds
	n1h, n24h, n30d    int64 // buckets before the current one in each window
	precision          uint8
	fineLen, coarseLen int64 // ring sizes
}

// principal is one principal's buckets. Each ring holds the buckets of one
// tier, bucket index i at position i % len(ring).
type principal struct {
	mu     sync.Mutex // guards everything below
	latest int64      // newest time observed, in Unix nanoseconds; the clock never goes back past it
	fine   []slot
	coarse []slot
	// gen changes whenever a bucket other than the one being filled
	// changes (a new bucket, a fold, a merge), invalidating cache.
	gen   uint64
	cache countsCache
	// dirty is set when a slot is marked dirty; a [Sync] clears both.
	dirty bool
}

// countsCache holds each window's union of every bucket but the current
// fine one, which is the only one observations change within a bucket
// width. Counts then merges one bucket into each instead of up to 56.
type countsCache struct {
	valid bool
	cur   int64  // the fine bucket index the bases exclude
	gen   uint64 // principal.gen when they were built
	// Bases of the 1h, 24h and 30d windows, all subjects and US persons.
	all, us [3]*hyperloglog.Sketch
}

// slot is one bucket: its index (start time / width) and sketches. A slot
// with a nil all sketch is empty.
type slot struct {
	idx int64
	all *hyperloglog.Sketch
	us  *hyperloglog.Sketch // nil until a US-person subject is seen
	// dirty marks a bucket changed by an observation since a [Sync] last
	// took it: what this replica has to share. Merges do not set it, or
	// replicas would echo each other's updates forever.
	dirty bool
}

// Validate reports whether c's options are usable. Invalid options are
// replaced by the defaults, so call Validate when loading configuration.
func (c *Counter) Validate() error {
	var errs []error
	if c.Bucket < 0 {
		errs = append(errs, fmt.Errorf("bucket width %v is negative", c.Bucket))
	}
	if c.LongBucket < 0 {
		errs = append(errs, fmt.Errorf("long bucket width %v is negative", c.LongBucket))
	}
	fine, coarse := cmp.Or(c.Bucket, DefaultBucket), cmp.Or(c.LongBucket, DefaultLongBucket)
	if fine > 0 && coarse > 0 && coarse%fine != 0 {
		errs = append(errs, fmt.Errorf("long bucket width %v is not a multiple of bucket width %v", coarse, fine))
	}
	if c.Precision != 0 && (c.Precision < 4 || c.Precision > 18) {
		errs = append(errs, fmt.Errorf("precision %d is outside 4 to 18", c.Precision))
	}
	return errors.Join(errs...)
}

func (c *Counter) init() *layout {
	c.once.Do(func() {
		l := &c.layout
		l.fine, l.coarse, l.precision = int64(DefaultBucket), int64(DefaultLongBucket), DefaultPrecision
		if c.Bucket > 0 {
			l.fine = int64(c.Bucket)
		}
		if c.LongBucket > 0 {
			l.coarse = int64(c.LongBucket)
		}
		if c.Precision >= 4 && c.Precision <= 18 {
			l.precision = c.Precision
		}
		l.n1h = ceilDiv(int64(Window1h), l.fine)
		l.n24h = ceilDiv(int64(Window24h), l.fine)
		l.n30d = ceilDiv(int64(Window30d), l.coarse)
		l.fineLen = l.n24h + 1
		l.coarseLen = l.n30d + 1
		c.principals = make(map[string]*principal)
	})
	return &c.layout
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func (c *Counter) now() int64 {
	if c.Now != nil {
		return c.Now().UnixNano()
	}
	return time.Now().UnixNano()
}

func (l *layout) newSketch() *hyperloglog.Sketch {
	sk, err := hyperloglog.NewSketch(l.precision, true)
	if err != nil {
		// init only lets valid precisions through.
		panic("subjects: " + err.Error())
	}
	return sk
}

// get returns the principal named id, creating it if create is set.
func (c *Counter) get(id string, create bool) *principal {
	c.mu.RLock()
	p := c.principals[id]
	c.mu.RUnlock()
	if p != nil || !create {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p = c.principals[id]; p == nil {
		p = &principal{fine: make([]slot, c.layout.fineLen), coarse: make([]slot, c.layout.coarseLen)}
		c.principals[id] = p
	}
	return p
}

// find returns the slot of bucket idx in ring, or nil if it holds no such
// bucket. The caller holds the principal's lock.
func find(ring []slot, idx int64) *slot {
	s := &ring[idx%int64(len(ring))]
	if s.all == nil || s.idx != idx {
		return nil
	}
	return s
}

// claim returns the slot of bucket idx in ring, emptying it first if it holds
// an older bucket. The caller holds the principal's lock.
func (l *layout) claim(ring []slot, idx int64) *slot {
	s := &ring[idx%int64(len(ring))]
	if s.all == nil || s.idx != idx {
		*s = slot{idx: idx, all: l.newSketch()}
	}
	return s
}

// claimFine is claim for the fine ring, folding the bucket it evicts into
// its coarse bucket if that is still inside the 30d window. The caller holds
// p's lock, and p.latest is current.
func (p *principal) claimFine(l *layout, idx int64) *slot {
	s := &p.fine[idx%int64(len(p.fine))]
	if s.all != nil && s.idx != idx {
		p.fold(l, s)
		*s = slot{}
	}
	if s.all == nil || idx != p.cache.cur {
		p.gen++
	}
	return l.claim(p.fine, idx)
}

// fold merges fine bucket s into the coarse bucket its start falls in,
// unless that has left the 30d window. The caller holds p's lock.
func (p *principal) fold(l *layout, s *slot) {
	cidx := s.idx * l.fine / l.coarse
	if cidx < p.latest/l.coarse-l.n30d {
		return
	}
	dst := l.claim(p.coarse, cidx)
	mergeSlot(l, dst, s)
	dst.dirty = dst.dirty || s.dirty // a folded bucket not yet shared
}

// Observe records that principal's current request touched subjects.
// Repeated subjects, within the request or across requests, count once.
func (c *Counter) Observe(principal string, subjects []Subject) {
	if len(subjects) == 0 {
		return
	}
	l := c.init()
	now := c.now()
	p := c.get(principal, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = max(p.latest, now)
	s := p.claimFine(l, p.latest/l.fine)
	s.dirty, p.dirty = true, true
	for i := range subjects {
		h := subjects[i].Key.Hash()
		s.all.InsertHash(h)
		if subjects[i].USPerson {
			if s.us == nil {
				s.us = l.newSketch()
			}
			s.us.InsertHash(h)
		}
	}
}

// Counts returns principal's estimated distinct subjects in each window. A
// principal never observed has zero counts.
func (c *Counter) Counts(principal string) Counts {
	l := c.init()
	now := c.now()
	p := c.get(principal, false)
	if p == nil {
		return Counts{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now = max(now, p.latest)

	cur := now / l.fine
	if cc := &p.cache; !cc.valid || cc.cur != cur || cc.gen != p.gen {
		p.buildCache(l, now)
	}
	// The window is its base plus the current fine bucket. The sketches
	// are private copies, so Estimate (which may compact them) is safe;
	// Merge only fails on a precision mismatch, which Counter.Merge rules
	// out on the way in.
	curSlot := find(p.fine, cur)
	var est [3][2]int
	for w := range 3 {
		all, us := p.cache.all[w].Clone(), p.cache.us[w].Clone()
		if curSlot != nil {
			_ = all.Merge(curSlot.all)
			_ = us.Merge(curSlot.us)
		}
		est[w] = [2]int{int(all.Estimate()), int(us.Estimate())}
	}
	out := Counts{
		Subjects1h: est[0][0], USPersonSubjects1h: est[0][1],
		Subjects24h: est[1][0], USPersonSubjects24h: est[1][1],
		Subjects30d: est[2][0], USPersonSubjects30d: est[2][1],
	}
	if l.n1h > l.n24h { // a fine bucket wider than a day
		out.Subjects1h, out.USPersonSubjects1h = out.Subjects24h, out.USPersonSubjects24h
	}
	return out
}

// buildCache merges, for each window, every bucket inside it except the
// current fine one. The caller holds p's lock.
func (p *principal) buildCache(l *layout, now int64) {
	cc := &p.cache
	*cc = countsCache{valid: true, cur: now / l.fine, gen: p.gen}
	all, us := l.newSketch(), l.newSketch()
	snap := func(w int) { cc.all[w], cc.us[w] = all.Clone(), us.Clone() }
	cur := now / l.fine
	for k := int64(1); k <= l.n24h; k++ {
		if s := find(p.fine, cur-k); s != nil {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
		if k == l.n1h {
			snap(0)
		}
	}
	snap(1)
	if l.n1h > l.n24h { // a fine bucket wider than a day: Counts copies 24h
		cc.all[0], cc.us[0] = cc.all[1], cc.us[1]
	}
	// The 30d window is the 24h one, plus fine buckets that have left it
	// but are not folded yet, plus the coarse buckets.
	oldest := now/l.coarse - l.n30d
	for i := range p.fine {
		s := &p.fine[i]
		if s.all != nil && s.idx < cur-l.n24h && s.idx*l.fine/l.coarse >= oldest {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
	}
	ccur := now / l.coarse
	for k := int64(0); k <= l.n30d; k++ {
		if s := find(p.coarse, ccur-k); s != nil {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
	}
	snap(2)
}

// Sweep forgets principals whose buckets have all left every window, and
// returns how many it forgot. Run it periodically; it bounds the number of
// principals held to those active in the last 30 days.
func (c *Counter) Sweep() int {
	l := c.init()
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, p := range c.principals {
		p.mu.Lock()
		t := max(now, p.latest)
		gone := t/l.fine-p.latest/l.fine > l.n24h && t/l.coarse-p.latest/l.coarse > l.n30d
		p.mu.Unlock()
		if gone {
			delete(c.principals, id)
			n++
		}
	}
	return n
}

// Principals returns the principals the Counter holds state for.
func (c *Counter) Principals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.principals))
	for id := range c.principals {
		out = append(out, id)
	}
	return out
}
