package subjects

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// countsDirect is Counts without the cache: every bucket inside each
// window merged afresh, as Counts did before it cached.
func (c *Counter) countsDirect(principal string) Counts {
	l := c.init()
	now := c.now()
	p := c.get(principal, false)
	if p == nil {
		return Counts{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now = max(now, p.latest)
	var out Counts
	var all, us hyperloglog.Sketch
	cur := now / l.fine
	for k := int64(0); k <= l.n24h; k++ {
		if s := find(p.fine, cur-k); s != nil {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
		if k == l.n1h {
			out.Subjects1h, out.USPersonSubjects1h = int(all.Estimate()), int(us.Estimate())
		}
	}
	out.Subjects24h, out.USPersonSubjects24h = int(all.Estimate()), int(us.Estimate())
	oldest := now/l.coarse - l.n30d
	for i := range p.fine {
		s := &p.fine[i]
		if s.all != nil && s.idx < cur-l.n24h && s.idx*l.fine/l.coarse >= oldest {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
	}
	for k, cc := int64(0), now/l.coarse; k <= l.n30d; k++ {
		if s := find(p.coarse, cc-k); s != nil {
			_ = all.Merge(s.all)
			_ = us.Merge(s.us)
		}
	}
	out.Subjects30d, out.USPersonSubjects30d = int(all.Estimate()), int(us.Estimate())
	return out
}

// TestCountsCacheMatchesDirect drives a counter through random
// observations, clock steps (within a bucket and across days), merges from
// another replica and sweeps, and checks after every step that the cached
// Counts equals a fresh merge of every bucket.
func TestCountsCacheMatchesDirect(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		clk := newClock()
		c := &Counter{Now: clk.Now}
		// Replicas whose clocks are hours and days behind: what they merge
		// in lands in fine and coarse buckets the cache already holds.
		lag := 2 * time.Hour
		other := &Counter{Now: func() time.Time { return clk.Now().Add(-lag) }}
		next := 0
		subject := func() Subject {
			next++
			if r.IntN(4) == 0 && next > 10 {
				return Subject{Key: testKey(r.IntN(next)), USPerson: r.IntN(3) == 0} // a repeat
			}
			return Subject{Key: testKey(next), USPerson: r.IntN(3) == 0}
		}
		for step := range 300 {
			switch op := r.IntN(10); {
			case op < 5:
				batch := make([]Subject, 1+r.IntN(20))
				for i := range batch {
					batch[i] = subject()
				}
				c.Observe("p", batch)
			case op < 8:
				steps := []time.Duration{time.Minute, 17 * time.Minute, time.Hour, 5 * time.Hour, 26 * time.Hour, 9 * 24 * time.Hour}
				clk.Add(steps[r.IntN(len(steps))])
			case op == 8:
				lag = []time.Duration{2 * time.Hour, 3 * 24 * time.Hour}[r.IntN(2)]
				other.Observe("p", []Subject{subject(), subject()})
				if err := c.Merge("p", other.Snapshot("p")...); err != nil {
					t.Fatal(err)
				}
			default:
				c.Sweep()
			}
			if got, want := c.Counts("p"), c.countsDirect("p"); got != want {
				t.Fatalf("seed %d step %d: cached %+v, direct %+v", seed, step, got, want)
			}
		}
	}
}
