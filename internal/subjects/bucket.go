package subjects

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// Bucket is one time bucket of one principal's sketches: the unit a store
// persists, and that replicas merge. Get buckets from [Counter.Snapshot] or
// [Bucket.UnmarshalBinary]; the zero Bucket is empty.
type Bucket struct {
	Start time.Time     // start of the bucket, a multiple of Width since the Unix epoch
	Width time.Duration // the bucket's width: the Counter's Bucket or LongBucket

	all *hyperloglog.Sketch // every subject seen in the bucket
	us  *hyperloglog.Sketch // US-person subjects, or nil if none
	p   uint8               // the sketches' precision
}

// bucketVersion is the first byte of an encoded Bucket.
const bucketVersion = 1

// MarshalBinary encodes b: a version byte, the start and width in
// nanoseconds (big-endian int64), then each sketch in the hyperloglog
// package's encoding, prefixed by its length as a uvarint (length zero for a
// missing sketch).
func (b *Bucket) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 64)
	out = append(out, bucketVersion)
	out = binary.BigEndian.AppendUint64(out, uint64(b.Start.UnixNano()))
	out = binary.BigEndian.AppendUint64(out, uint64(b.Width))
	for _, sk := range []*hyperloglog.Sketch{b.all, b.us} {
		if sk == nil {
			out = binary.AppendUvarint(out, 0)
			continue
		}
		enc, err := sk.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("couldn't encode bucket sketch: %w", err)
		}
		out = binary.AppendUvarint(out, uint64(len(enc)))
		out = append(out, enc...)
	}
	return out, nil
}

// UnmarshalBinary decodes data written by [Bucket.MarshalBinary] into b. On
// error b is unchanged.
func (b *Bucket) UnmarshalBinary(data []byte) error {
	if len(data) < 17 {
		return errors.New("couldn't decode bucket: too short")
	}
	if data[0] != bucketVersion {
		return fmt.Errorf("couldn't decode bucket: unknown version %d", data[0])
	}
	start := int64(binary.BigEndian.Uint64(data[1:9]))
	width := int64(binary.BigEndian.Uint64(data[9:17]))
	if width <= 0 {
		return fmt.Errorf("couldn't decode bucket: width %d is not positive", width)
	}
	if start < 0 || start%width != 0 {
		return fmt.Errorf("couldn't decode bucket: start %d is not a multiple of width %d", start, width)
	}
	rest := data[17:]
	var sks [2]*hyperloglog.Sketch
	var p uint8
	for i := range sks {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return errors.New("couldn't decode bucket: bad sketch length")
		}
		rest = rest[k:]
		if n == 0 {
			continue
		}
		sk := new(hyperloglog.Sketch)
		if err := sk.UnmarshalBinary(rest[:n]); err != nil {
			return fmt.Errorf("couldn't decode bucket sketch: %w", err)
		}
		// The sketch encoding's second byte is its precision (the
		// decoder has checked it).
		if i > 0 && rest[1] != p {
			return fmt.Errorf("couldn't decode bucket: sketches of precisions %d and %d", p, rest[1])
		}
		p = rest[1]
		sks[i] = sk
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return fmt.Errorf("couldn't decode bucket: %d trailing bytes", len(rest))
	}
	if sks[0] == nil {
		return errors.New("couldn't decode bucket: no subject sketch")
	}
	*b = Bucket{Start: time.Unix(0, start).UTC(), Width: time.Duration(width), all: sks[0], us: sks[1], p: p}
	return nil
}

// Estimate returns the estimated distinct subjects in b, in total and of
// those flagged as US persons.
func (b *Bucket) Estimate() (subjects, usPerson int) {
	// Estimate may compact a sketch, so work on copies: b may be shared.
	var all, us hyperloglog.Sketch
	_ = all.Merge(b.all)
	_ = us.Merge(b.us)
	return int(all.Estimate()), int(us.Estimate())
}

// Snapshot returns copies of principal's buckets that are still inside a
// window, fine ones first, for a store to persist. It returns nil for a
// principal never observed.
func (c *Counter) Snapshot(principal string) []Bucket {
	l := c.init()
	now := c.now()
	p := c.get(principal, false)
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now = max(now, p.latest)
	oldest := now/l.coarse - l.n30d
	var out []Bucket
	add := func(s *slot, width int64) {
		b := Bucket{Start: time.Unix(0, s.idx*width).UTC(), Width: time.Duration(width), all: s.all.Clone(), p: l.precision}
		if s.us != nil {
			b.us = s.us.Clone()
		}
		out = append(out, b)
	}
	// Every fine bucket not yet folded into a coarse one, including those
	// past the 24h window: their subjects still count towards 30d.
	for i := range p.fine {
		if s := &p.fine[i]; s.all != nil && s.idx*l.fine/l.coarse >= oldest {
			add(s, l.fine)
		}
	}
	for i := range p.coarse {
		if s := &p.coarse[i]; s.all != nil && s.idx >= oldest {
			add(s, l.coarse)
		}
	}
	slices.SortStableFunc(out, func(a, b Bucket) int { return a.Start.Compare(b.Start) })
	return out
}

// Merge merges buckets into principal's state, as the union of what each
// holds and what principal already has. Buckets that have left every window
// are ignored. A bucket's width must be the Counter's Bucket or LongBucket
// and its sketches of the Counter's Precision, or Merge returns an error; a
// bucket starting more than one bucket width in the future is also an error.
// Buckets before the failing one stay merged.
func (c *Counter) Merge(principal string, buckets ...Bucket) error {
	l := c.init()
	now := c.now()
	p := c.get(principal, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++                       // any bucket may change: Counts rebuilds its cache
	p.latest = max(p.latest, now) // fold and claimFine judge expiry by it
	for i := range buckets {
		b := &buckets[i]
		if b.all == nil {
			return fmt.Errorf("couldn't merge bucket %d: it is empty", i)
		}
		width := int64(b.Width)
		if width != l.fine && width != l.coarse {
			return fmt.Errorf("couldn't merge bucket %d: width %v is not %v or %v", i, b.Width, time.Duration(l.fine), time.Duration(l.coarse))
		}
		start := b.Start.UnixNano()
		if start%width != 0 {
			return fmt.Errorf("couldn't merge bucket %d: start %v is not a multiple of its width", i, b.Start)
		}
		idx := start / width
		t := max(now, p.latest)
		if idx > t/width+1 {
			return fmt.Errorf("couldn't merge bucket %d: it starts at %v, in the future", i, b.Start)
		}
		if b.p != l.precision {
			return fmt.Errorf("couldn't merge bucket %d: precision %d, want %d", i, b.p, l.precision)
		}
		if idx > t/width {
			// A replica whose clock runs slightly ahead; follow it.
			p.latest = start
			t = start
		}
		in := &slot{idx: idx, all: b.all, us: b.us}
		switch {
		case width == l.fine && idx >= t/width-l.n24h:
			mergeSlot(l, p.claimFine(l, idx), in)
		case width == l.fine:
			p.fold(l, in) // past the 24h window; fold drops it if past 30d too
		case idx >= t/width-l.n30d:
			mergeSlot(l, l.claim(p.coarse, idx), in)
		}
	}
	return nil
}

// mergeSlot merges the sketches of src into dst. The caller has checked the
// precisions and holds the principal's lock.
func mergeSlot(l *layout, dst, src *slot) {
	_ = dst.all.Merge(src.all)
	if src.us != nil {
		if dst.us == nil {
			dst.us = l.newSketch()
		}
		_ = dst.us.Merge(src.us)
	}
}

// MarshalPrincipal encodes principal's live buckets (see
// [Counter.Snapshot]) for a store to persist: each bucket's encoding
// prefixed by its length as a uvarint. It returns nil for a principal
// never observed.
func (c *Counter) MarshalPrincipal(principal string) ([]byte, error) {
	bs := c.Snapshot(principal)
	if bs == nil {
		return nil, nil
	}
	return appendBuckets(nil, bs)
}

// appendBuckets appends the encoding of bs read by
// [Counter.UnmarshalPrincipal] to out.
func appendBuckets(out []byte, bs []Bucket) ([]byte, error) {
	for i := range bs {
		enc, err := bs[i].MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(enc)))
		out = append(out, enc...)
	}
	return out, nil
}

// UnmarshalPrincipal merges buckets encoded by [Counter.MarshalPrincipal]
// into principal's state (see [Counter.Merge]).
func (c *Counter) UnmarshalPrincipal(principal string, data []byte) error {
	var bs []Bucket
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return errors.New("couldn't decode buckets: truncated")
		}
		var b Bucket
		if err := b.UnmarshalBinary(data[k : k+int(n)]); err != nil {
			return err
		}
		bs = append(bs, b)
		data = data[k+int(n):]
	}
	return c.Merge(principal, bs...)
}
