package subjects

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

var testKeyer = NewKeyer([]byte("test secret, 32 bytes long......"))

// people returns n distinct subjects, numbered from first.
func people(first, n int, usPerson bool) []Subject {
	out := make([]Subject, n)
	for i := range out {
		out[i] = Subject{Key: testKeyer.Key("EMAIL", "person"+strconv.Itoa(first+i)+"@example.com"), USPerson: usPerson}
	}
	return out
}

// clock is a settable clock for Counter.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
}

// within reports whether got is within 2% of want, or within 2 for small
// counts.
func within(got, want int) bool {
	return math.Abs(float64(got-want)) <= math.Max(0.02*float64(want), 2)
}

func TestDistinctCountError(t *testing.T) {
	tests := []struct {
		n     int
		batch int
	}{
		{n: 10, batch: 10},
		{n: 1_000, batch: 7},
		{n: 10_000, batch: 50},
		{n: 100_000, batch: 500},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			clk := newClock()
			c := &Counter{Now: clk.Now}
			all := people(0, tt.n, true)
			for i := 0; i < len(all); i += tt.batch {
				c.Observe("p", all[i:min(i+tt.batch, len(all))])
			}
			got := c.Counts("p")
			for _, v := range []struct {
				name string
				got  int
			}{
				{"1h", got.Subjects1h}, {"24h", got.Subjects24h}, {"30d", got.Subjects30d},
				{"us 1h", got.USPersonSubjects1h}, {"us 24h", got.USPersonSubjects24h}, {"us 30d", got.USPersonSubjects30d},
			} {
				if !within(v.got, tt.n) {
					t.Errorf("%s: got %d, want %d ± 2%%", v.name, v.got, tt.n)
				}
			}
			t.Logf("n=%d estimate=%d error=%+.3f%%", tt.n, got.Subjects24h, 100*float64(got.Subjects24h-tt.n)/float64(tt.n))
		})
	}
}

// TestRepeatedSubjectsCountOnce is the help-desk client: the same few
// customers, request after request, for a month.
func TestRepeatedSubjectsCountOnce(t *testing.T) {
	tests := []struct {
		name      string
		customers int
		requests  int
		every     time.Duration
	}{
		{"one customer per request", 5, 10_000, 4 * time.Minute},
		{"all customers every request", 12, 3_000, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := &Counter{Now: clk.Now}
			customers := people(0, tt.customers, true)
			for i := range tt.requests {
				if tt.name == "one customer per request" {
					c.Observe("helpdesk", customers[i%len(customers):i%len(customers)+1])
				} else {
					c.Observe("helpdesk", customers)
				}
				clk.Add(tt.every)
				if got := c.Counts("helpdesk"); got.Subjects30d > tt.customers || got.USPersonSubjects24h > tt.customers {
					t.Fatalf("after request %d: got %+v, want at most %d subjects in any window", i, got, tt.customers)
				}
			}
			if got := c.Counts("helpdesk"); got.Subjects30d != tt.customers {
				t.Errorf("got %d subjects in 30d, want %d", got.Subjects30d, tt.customers)
			}
		})
	}
}

// TestDripFeed is a client that drips a few new people into every request:
// no single request is large, but the 24h count grows steadily.
func TestDripFeed(t *testing.T) {
	const perRequest, requests = 3, 4_000
	every := 20 * time.Second // 4000 requests in about 22 hours, all inside 24h
	clk := newClock()
	c := &Counter{Now: clk.Now}
	prev := 0
	for i := range requests {
		c.Observe("drip", people(i*perRequest, perRequest, true))
		clk.Add(every)
		if (i+1)%250 != 0 {
			continue
		}
		want := (i + 1) * perRequest
		got := c.Counts("drip")
		if !within(got.USPersonSubjects24h, want) {
			t.Errorf("after %d requests: got %d US-person subjects in 24h, want %d ± 2%%", i+1, got.USPersonSubjects24h, want)
		}
		if got.Subjects24h < prev {
			t.Errorf("after %d requests: 24h count fell from %d to %d", i+1, prev, got.Subjects24h)
		}
		prev = got.Subjects24h
		// The 1h window holds about 180 requests' worth.
		if got.Subjects1h > 2*180*perRequest+10 {
			t.Errorf("after %d requests: got %d subjects in 1h, want at most %d", i+1, got.Subjects1h, 2*180*perRequest)
		}
	}
}

func TestWindowsRollOff(t *testing.T) {
	clk := newClock() // 09:30, half way through an hourly bucket
	c := &Counter{Now: clk.Now}
	c.Observe("p", people(0, 100, false))
	c.Observe("p", people(100, 50, true))

	tests := []struct {
		after time.Duration // since the observation
		want  Counts
	}{
		{0, Counts{150, 150, 150, 50, 50, 50}},
		{89 * time.Minute, Counts{150, 150, 150, 50, 50, 50}},           // 10:59: previous bucket still in 1h
		{91 * time.Minute, Counts{0, 150, 150, 0, 50, 50}},              // 11:01
		{24*time.Hour + 29*time.Minute, Counts{0, 150, 150, 0, 50, 50}}, // the 24h window reaches back to 09:00
		{24*time.Hour + 31*time.Minute, Counts{0, 0, 150, 0, 0, 50}},    // 10:01 next day
		{30*24*time.Hour + 14*time.Hour, Counts{0, 0, 150, 0, 0, 50}},   // 30 days later, within the extra day
		{31*24*time.Hour + 15*time.Hour, Counts{0, 0, 0, 0, 0, 0}},
	}
	start := clk.Now()
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			clk.mu.Lock()
			clk.t = start.Add(tt.after)
			clk.mu.Unlock()
			if got := c.Counts("p"); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if n := c.Sweep(); n != 1 {
		t.Errorf("Sweep: got %d principals forgotten, want 1", n)
	}
	if got := c.Snapshot("p"); got != nil {
		t.Errorf("Snapshot after Sweep: got %d buckets, want none", len(got))
	}
}

func TestSweepKeepsActive(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now}
	c.Observe("old", people(0, 3, false))
	clk.Add(10 * 24 * time.Hour)
	c.Observe("new", people(0, 3, false))
	clk.Add(25 * 24 * time.Hour)
	if n := c.Sweep(); n != 1 {
		t.Errorf("got %d principals forgotten, want 1", n)
	}
	if got := c.Counts("new").Subjects30d; got != 3 {
		t.Errorf("got %d subjects for the active principal, want 3", got)
	}
}

func TestClockBackwards(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now}
	c.Observe("p", people(0, 10, false))
	clk.Add(-3 * time.Hour)
	c.Observe("p", people(10, 10, false))
	if got := c.Counts("p"); got.Subjects1h != 20 {
		t.Errorf("got %d subjects in 1h, want 20: a clock stepping back counts into the newest bucket", got.Subjects1h)
	}
}

func TestPrincipalsIndependent(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now}
	c.Observe("a", people(0, 40, true))
	c.Observe("b", people(20, 40, false)) // half the same people
	c.Observe("b", people(20, 5, false))
	tests := []struct {
		principal string
		want      Counts
	}{
		{"a", Counts{40, 40, 40, 40, 40, 40}},
		{"b", Counts{40, 40, 40, 0, 0, 0}},
		{"nobody", Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.principal, func(t *testing.T) {
			if got := c.Counts(tt.principal); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now}
	const workers, per = 8, 2_000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			principal := fmt.Sprintf("p%d", w%2)
			for i := 0; i < per; i += 20 {
				c.Observe(principal, people(w*per+i, 20, i%40 == 0))
				if i%200 == 0 {
					c.Counts(principal)
					c.Snapshot(principal)
				}
				if i%500 == 0 {
					clk.Add(time.Minute)
					c.Sweep()
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range []string{"p0", "p1"} {
		want := workers / 2 * per
		if got := c.Counts(p).Subjects24h; !within(got, want) {
			t.Errorf("%s: got %d, want %d ± 2%%", p, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    *Counter
		ok   bool
	}{
		{"zero", &Counter{}, true},
		{"custom", &Counter{Bucket: 10 * time.Minute, LongBucket: 6 * time.Hour, Precision: 16}, true},
		{"negative bucket", &Counter{Bucket: -time.Hour}, false},
		{"negative long bucket", &Counter{LongBucket: -time.Hour}, false},
		{"precision too low", &Counter{Precision: 3}, false},
		{"precision too high", &Counter{Precision: 19}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.Validate(); (err == nil) != tt.ok {
				t.Errorf("got error %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestCustomBuckets(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now, Bucket: 10 * time.Minute, LongBucket: time.Hour, Precision: 12}
	c.Observe("p", people(0, 30, false))
	clk.Add(75 * time.Minute) // 10:45; the 1h window reaches back to 09:40
	c.Observe("p", people(30, 30, false))
	if got := c.Counts("p"); got.Subjects1h != 30 || got.Subjects24h != 60 || got.Subjects30d != 60 {
		t.Errorf("got %+v, want 30 in 1h and 60 in 24h and 30d", got)
	}
}

// TestFolding checks that fine buckets evicted from the 24h ring still count
// in the 30d window, via the coarse bucket they fold into.
func TestFolding(t *testing.T) {
	tests := []struct {
		name   string
		c      *Counter
		hours  int
		perReq int
	}{
		{"defaults", &Counter{}, 10 * 24, 10},
		{"15-minute buckets, 6-hour long buckets", &Counter{Bucket: 15 * time.Minute, LongBucket: 6 * time.Hour}, 20 * 24, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			tt.c.Now = clk.Now
			for h := range tt.hours {
				tt.c.Observe("p", people(h*tt.perReq, tt.perReq, h%2 == 0))
				clk.Add(time.Hour)
			}
			clk.Add(-time.Minute) // still in the hour of the last request
			got := tt.c.Counts("p")
			if want := tt.hours * tt.perReq; !within(got.Subjects30d, want) {
				t.Errorf("got %d subjects in 30d, want %d ± 2%%", got.Subjects30d, want)
			}
			if want := tt.hours * tt.perReq / 2; !within(got.USPersonSubjects30d, want) {
				t.Errorf("got %d US-person subjects in 30d, want %d ± 2%%", got.USPersonSubjects30d, want)
			}
			// The 24h window reaches back between 24 hours and one bucket more.
			if min, max := 24*tt.perReq, 25*tt.perReq; got.Subjects24h < min || got.Subjects24h > max {
				t.Errorf("got %d subjects in 24h, want %d to %d", got.Subjects24h, min, max)
			}
		})
	}
}
