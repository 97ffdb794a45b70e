package subjects

import (
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NumCategories is how many data categories a profile can hold (identity,
// contact, location, financial, device and online, vehicle, associations).
// Categories are passed as a bit set of this many bits.
const NumCategories = 7

// Defaults for the zero values of [Profiles]' options.
const (
	DefaultProfileCapacity = 1 << 18
	DefaultProfileWindow   = 30 * 24 * time.Hour
	DefaultBroadAt         = 4
)

// ProfileEntryBytes is a generous estimate of the memory one tracked
// (principal, subject) pair costs: the key, the per-category days, the list
// element and the map entry. Capacity × ProfileEntryBytes bounds the memory
// of a [Profiles].
const ProfileEntryBytes = 200

// Profiles tracks profile breadth: for each principal and subject, which
// data categories the principal has gathered about the subject within the
// window (30 days by default). A principal that joins many kinds of data
// about the same people is building profiles, whatever the number of people.
//
// Memory is bounded: at most Capacity (principal, subject) pairs are kept,
// least recently seen evicted first, and pairs not seen within the window
// are dropped. Its zero value is ready to use with the defaults; set the
// options before first use. A Profiles is safe for concurrent use.
type Profiles struct {
	// Capacity is the most (principal, subject) pairs held. Zero means
	// DefaultProfileCapacity.
	Capacity int
	// Window is how long a category gathered about a subject counts. Zero
	// means DefaultProfileWindow.
	Window time.Duration
	// BroadAt is the breadth from which a profile counts as broad. Zero
	// means DefaultBroadAt.
	BroadAt int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[profileKey]*list.Element // of *profile
	lru     list.List                    // most recently seen at the front
	hist    map[string]*[NumCategories + 1]int
	evicted int
	// changed holds the pairs observed since a [Sync] last took them,
	// each once (profile.dirty).
	changed []*profile
}

type profileKey struct {
	principal string
	key       Key
}

// profile is one tracked pair: seen[c] is the day (Unix days, +1 so zero is
// never) category c was last gathered.
type profile struct {
	k       profileKey
	seen    [NumCategories]int32
	breadth uint8 // as counted in hist
	last    int64 // unix nanoseconds of the latest observation
	dirty   bool  // in Profiles.changed
}

// ProfileStats is what rules see of one principal's profiles.
type ProfileStats struct {
	// MaxBreadth is the largest number of categories gathered about one
	// subject within the window.
	MaxBreadth int `json:"max_profile_breadth"`
	// Broad is how many subjects have breadth at least BroadAt.
	Broad int `json:"broad_profiles"`
}

func (p *Profiles) capacity() int {
	if p.Capacity > 0 {
		return p.Capacity
	}
	return DefaultProfileCapacity
}

func (p *Profiles) window() time.Duration {
	if p.Window > 0 {
		return p.Window
	}
	return DefaultProfileWindow
}

func (p *Profiles) broadAt() int {
	if p.BroadAt > 0 {
		return p.BroadAt
	}
	return DefaultBroadAt
}

func (p *Profiles) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func day(t time.Time) int32 { return int32(t.Unix()/86400) + 1 }

// breadthAt counts the categories of e seen on or after the window's first
// day.
func (p *Profiles) breadthAt(e *profile, today int32) uint8 {
	first := today - int32(p.window()/(24*time.Hour)) + 1
	n := uint8(0)
	for _, d := range e.seen {
		if d != 0 && d >= first {
			n++
		}
	}
	return n
}

// Observe records that principal gathered data of categories (a bit set,
// bit i for category i) about the subject key, and returns the subject's
// breadth now.
func (p *Profiles) Observe(principal string, key Key, categories uint8) int {
	now := p.now()
	today := day(now)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initLocked()
	p.expire(now)
	k := profileKey{principal, key}
	var e *profile
	if el, ok := p.entries[k]; ok {
		e = el.Value.(*profile)
		p.lru.MoveToFront(el)
	} else {
		e = &profile{k: k}
		p.entries[k] = p.lru.PushFront(e)
		p.histOf(principal)[0]++
		for len(p.entries) > p.capacity() {
			p.remove(p.lru.Back())
			p.evicted++
		}
	}
	for c := range NumCategories {
		if categories&(1<<c) != 0 {
			e.seen[c] = today
		}
	}
	e.last = now.UnixNano()
	p.setBreadth(e, p.breadthAt(e, today))
	if !e.dirty {
		e.dirty = true
		p.changed = append(p.changed, e)
	}
	return int(e.breadth)
}

// initLocked makes the maps on first use. The caller holds p.mu.
func (p *Profiles) initLocked() {
	if p.entries == nil {
		p.entries = map[profileKey]*list.Element{}
		p.hist = map[string]*[NumCategories + 1]int{}
	}
}

func (p *Profiles) histOf(principal string) *[NumCategories + 1]int {
	h := p.hist[principal]
	if h == nil {
		h = new([NumCategories + 1]int)
		p.hist[principal] = h
	}
	return h
}

func (p *Profiles) setBreadth(e *profile, b uint8) {
	h := p.histOf(e.k.principal)
	h[e.breadth]--
	h[b]++
	e.breadth = b
}

// remove drops the entry of el. The caller holds p.mu.
func (p *Profiles) remove(el *list.Element) {
	e := p.lru.Remove(el).(*profile)
	delete(p.entries, e.k)
	h := p.hist[e.k.principal]
	h[e.breadth]--
	empty := true
	for _, n := range h {
		if n != 0 {
			empty = false
		}
	}
	if empty {
		delete(p.hist, e.k.principal)
	}
}

// expire drops pairs not seen within the window: they are at the back of
// the list. The caller holds p.mu.
func (p *Profiles) expire(now time.Time) {
	cutoff := now.Add(-p.window()).UnixNano()
	for el := p.lru.Back(); el != nil && el.Value.(*profile).last < cutoff; el = p.lru.Back() {
		p.remove(el)
	}
}

// Stats returns principal's largest breadth and number of broad profiles.
// Categories that aged out of the window since a subject was last seen
// still count until [Profiles.Sweep] recounts them.
func (p *Profiles) Stats(principal string) ProfileStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hist[principal]
	if h == nil {
		return ProfileStats{}
	}
	var st ProfileStats
	for b := NumCategories; b > 0; b-- {
		if h[b] > 0 && st.MaxBreadth == 0 {
			st.MaxBreadth = b
		}
		if b >= p.broadAt() {
			st.Broad += h[b]
		}
	}
	return st
}

// Sweep drops pairs that left the window and recounts every breadth. Run it
// periodically (hourly is plenty); it returns the number of pairs held.
func (p *Profiles) Sweep() int {
	now := p.now()
	today := day(now)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	for el := p.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*profile)
		p.setBreadth(e, p.breadthAt(e, today))
	}
	return len(p.entries)
}

// Len returns the number of pairs held and how many were evicted for
// capacity since the Profiles was made.
func (p *Profiles) Len() (held, evicted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries), p.evicted
}

// profileVersion is the first byte of [Profiles.MarshalPrincipal]'s output.
const profileVersion = 1

// profileRecord is the size of one encoded pair: key, last-seen time and
// the days of each category.
const profileRecord = 32 + 8 + 4*NumCategories

// MarshalPrincipal encodes principal's pairs, for a store to persist.
func (p *Profiles) MarshalPrincipal(principal string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []byte{profileVersion}
	for el := p.lru.Back(); el != nil; el = el.Prev() { // oldest first, so a reload keeps the order
		if e := el.Value.(*profile); e.k.principal == principal {
			out = e.appendRecord(out)
		}
	}
	return out
}

// appendRecord appends e's encoding (see [Profiles.MarshalPrincipal]) to
// out.
func (e *profile) appendRecord(out []byte) []byte {
	out = append(out, e.k.key[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(e.last))
	for _, d := range e.seen {
		out = binary.BigEndian.AppendUint32(out, uint32(d))
	}
	return out
}

// Principals returns the principals with tracked pairs.
func (p *Profiles) Principals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.hist))
	for id := range p.hist {
		out = append(out, id)
	}
	return out
}

// UnmarshalPrincipal merges pairs encoded by [Profiles.MarshalPrincipal]
// into principal's state: per category the later day wins. Pairs that left
// the window are skipped.
func (p *Profiles) UnmarshalPrincipal(principal string, data []byte) error {
	if len(data) == 0 || data[0] != profileVersion {
		return errors.New("couldn't decode profiles: unknown version")
	}
	data = data[1:]
	if len(data)%profileRecord != 0 {
		return fmt.Errorf("couldn't decode profiles: %d bytes is not a whole number of records", len(data))
	}
	now := p.now()
	today := day(now)
	cutoff := now.Add(-p.window()).UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initLocked()
	for ; len(data) > 0; data = data[profileRecord:] {
		var k Key
		copy(k[:], data[:32])
		last := int64(binary.BigEndian.Uint64(data[32:40]))
		if last < cutoff {
			continue
		}
		pk := profileKey{principal, k}
		var e *profile
		if el, ok := p.entries[pk]; ok {
			e = el.Value.(*profile)
			p.lru.MoveToFront(el)
		} else {
			e = &profile{k: pk}
			p.entries[pk] = p.lru.PushFront(e)
			p.histOf(principal)[0]++
		}
		e.last = max(e.last, last)
		for c := range NumCategories {
			e.seen[c] = max(e.seen[c], int32(binary.BigEndian.Uint32(data[40+4*c:])))
		}
		p.setBreadth(e, p.breadthAt(e, today))
	}
	for len(p.entries) > p.capacity() {
		p.remove(p.lru.Back())
		p.evicted++
	}
	return nil
}
