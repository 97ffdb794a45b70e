package subjects

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func testKey(i int) Key {
	return NewKeyer([]byte("test secret")).Key("PHONE", fmt.Sprint(i))
}

const (
	catIdentity = 1 << iota
	catContact
	catLocation
	catFinancial
	catDevice
)

func TestProfilesBreadth(t *testing.T) {
	clk := newClock()
	p := &Profiles{Now: clk.Now}
	a, b := testKey(1), testKey(2)
	steps := []struct {
		principal  string
		key        Key
		cats       uint8
		advance    time.Duration
		wantBreath int
		want       ProfileStats
	}{
		{"analyst", a, catIdentity | catContact, 0, 2, ProfileStats{2, 0}},
		{"analyst", a, catContact, time.Hour, 2, ProfileStats{2, 0}},
		{"analyst", a, catLocation | catFinancial, 24 * time.Hour, 4, ProfileStats{4, 1}},
		{"analyst", b, catIdentity, 0, 1, ProfileStats{4, 1}},
		{"other", a, catIdentity | catContact | catLocation | catFinancial | catDevice, 0, 5, ProfileStats{4, 1}},
		// 29 days later, a's identity and contact (day 0) have aged out;
		// location and financial (day 1) are still in the window, and the
		// new device category makes three.
		{"analyst", a, catDevice, 29 * 24 * time.Hour, 3, ProfileStats{3, 0}},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		if got := p.Observe(s.principal, s.key, s.cats); got != s.wantBreath {
			t.Errorf("step %d: breadth %d, want %d", i, got, s.wantBreath)
		}
		if got := p.Stats("analyst"); got != s.want {
			t.Errorf("step %d: analyst stats %+v, want %+v", i, got, s.want)
		}
	}
	if got := p.Stats("other"); got != (ProfileStats{5, 1}) {
		t.Errorf("other: got %+v, want {5 1}", got)
	}
	// Thirty-one days on, nothing is left for anyone.
	clk.Add(31 * 24 * time.Hour)
	if n := p.Sweep(); n != 0 {
		t.Errorf("after the window, Sweep kept %d pairs, want 0", n)
	}
	if got := p.Stats("analyst"); got != (ProfileStats{}) {
		t.Errorf("after the window: got %+v, want zero", got)
	}
}

func TestProfilesCapacity(t *testing.T) {
	p := &Profiles{Capacity: 100}
	for i := range 1000 {
		p.Observe("bulk", testKey(i), catIdentity|catContact|catLocation|catFinancial)
	}
	held, evicted := p.Len()
	if held != 100 || evicted != 900 {
		t.Errorf("got %d held, %d evicted, want 100 and 900", held, evicted)
	}
	if got := p.Stats("bulk"); got != (ProfileStats{4, 100}) {
		t.Errorf("got %+v, want {4 100}", got)
	}
}

func TestProfilesPersist(t *testing.T) {
	clk := newClock()
	p := &Profiles{Now: clk.Now}
	for i := range 50 {
		p.Observe("analyst", testKey(i), catIdentity|catContact)
	}
	p.Observe("analyst", testKey(7), catLocation|catFinancial)
	p.Observe("someone-else", testKey(7), catLocation)
	data := p.MarshalPrincipal("analyst")

	q := &Profiles{Now: clk.Now}
	if err := q.UnmarshalPrincipal("analyst", data); err != nil {
		t.Fatal(err)
	}
	if got, want := q.Stats("analyst"), p.Stats("analyst"); got != want {
		t.Errorf("after reload: got %+v, want %+v", got, want)
	}
	if held, _ := q.Len(); held != 50 {
		t.Errorf("after reload: %d pairs, want 50", held)
	}
	for _, bad := range [][]byte{nil, {9}, append([]byte{profileVersion}, 1, 2, 3)} {
		if err := q.UnmarshalPrincipal("x", bad); err == nil {
			t.Errorf("UnmarshalPrincipal(%v): no error", bad)
		}
	}
}

func TestProfilesConcurrent(t *testing.T) {
	p := &Profiles{Capacity: 500}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				p.Observe(fmt.Sprint("p", g%2), testKey(i%700), uint8(1<<(i%NumCategories)))
				if i%100 == 0 {
					p.Stats("p0")
				}
			}
		})
	}
	wg.Wait()
	held, _ := p.Len()
	if held > 500 {
		t.Errorf("held %d pairs, capacity 500", held)
	}
	// The histogram must agree with the pairs: recounting changes nothing.
	before := p.Stats("p0")
	p.Sweep()
	if after := p.Stats("p0"); after != before {
		t.Errorf("stats drifted from the pairs: %+v before recount, %+v after", before, after)
	}
}

func BenchmarkProfilesObserve(b *testing.B) {
	p := &Profiles{}
	keys := make([]Key, 1<<16)
	for i := range keys {
		keys[i] = testKey(i)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p.Observe("bench", keys[i&(len(keys)-1)], uint8(1<<(i%NumCategories)))
		i++
	}
}

func TestCounterPersist(t *testing.T) {
	clk := newClock()
	c := &Counter{Now: clk.Now}
	keys := make([]Subject, 300)
	for i := range keys {
		keys[i] = Subject{Key: testKey(i), USPerson: i%3 == 0}
	}
	c.Observe("analyst", keys[:200])
	clk.Add(26 * time.Hour) // some buckets now serve the 30d window only
	c.Observe("analyst", keys[100:])
	data, err := c.MarshalPrincipal("analyst")
	if err != nil {
		t.Fatal(err)
	}
	d := &Counter{Now: clk.Now}
	if err := d.UnmarshalPrincipal("analyst", data); err != nil {
		t.Fatal(err)
	}
	if got, want := d.Counts("analyst"), c.Counts("analyst"); got != want {
		t.Errorf("after reload: got %+v, want %+v", got, want)
	}
	if got := d.Counts("analyst"); got.Subjects30d != 300 || got.Subjects24h != 200 {
		t.Errorf("after reload: got %+v, want 300 in 30d and 200 in 24h", got)
	}
	if err := d.UnmarshalPrincipal("x", data[:len(data)-3]); err == nil {
		t.Error("truncated data: no error")
	}
	if b, err := c.MarshalPrincipal("nobody"); b != nil || err != nil {
		t.Errorf("unknown principal: got %v, %v; want nil, nil", b, err)
	}
}
