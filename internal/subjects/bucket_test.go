package subjects

import (
	"strings"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		all, us int // spread over 60 hourly requests
	}{
		{"sparse, no US persons", 600, 0},
		{"sparse with US persons", 600, 240},
		{"dense", 120_000, 60_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			src := &Counter{Now: clk.Now}
			const hours = 60
			for h := range hours {
				per, perUS := tt.all/hours, tt.us/hours
				src.Observe("p", people(h*per, per-perUS, false))
				src.Observe("p", people(h*per+per-perUS, perUS, true))
				clk.Add(time.Hour)
			}
			snap := src.Snapshot("p")
			widths := map[time.Duration]int{}
			for _, b := range snap {
				widths[b.Width]++
			}
			if widths[time.Hour] != 25 || widths[24*time.Hour] == 0 {
				t.Fatalf("got buckets by width %v, want 25 hourly and some daily", widths)
			}
			dst := &Counter{Now: clk.Now}
			for _, b := range snap {
				data, err := b.MarshalBinary()
				if err != nil {
					t.Fatalf("MarshalBinary: %v", err)
				}
				var got Bucket
				if err := got.UnmarshalBinary(data); err != nil {
					t.Fatalf("UnmarshalBinary: %v", err)
				}
				if !got.Start.Equal(b.Start) || got.Width != b.Width {
					t.Errorf("got bucket %v/%v, want %v/%v", got.Start, got.Width, b.Start, b.Width)
				}
				gs, gu := got.Estimate()
				ws, wu := b.Estimate()
				if gs != ws || gu != wu {
					t.Errorf("got estimates %d/%d, want %d/%d", gs, gu, ws, wu)
				}
				if err := dst.Merge("p", got); err != nil {
					t.Fatalf("Merge: %v", err)
				}
			}
			// Compare now, and later as buckets fold and roll off.
			for _, later := range []time.Duration{0, 12 * time.Hour, 3 * 24 * time.Hour, 29 * 24 * time.Hour} {
				clk.Add(later)
				got, want := dst.Counts("p"), src.Counts("p")
				if got != want {
					t.Errorf("%v later: got %+v after the round trip, want %+v", later, got, want)
				}
				if later == 0 && !within(want.Subjects30d, tt.all) {
					t.Errorf("got %d subjects in 30d, want %d ± 2%%", want.Subjects30d, tt.all)
				}
				src.Observe("p", people(tt.all, 1, false))
				dst.Observe("p", people(tt.all, 1, false))
			}
		})
	}
}

// TestMergeReplicas merges two replicas' buckets for one principal: the
// subjects they share count once.
func TestMergeReplicas(t *testing.T) {
	clk := newClock()
	a := &Counter{Now: clk.Now}
	b := &Counter{Now: clk.Now}
	a.Observe("p", people(0, 3000, true))
	b.Observe("p", people(2000, 3000, false))
	clk.Add(2 * time.Hour)
	b.Observe("p", people(9000, 100, false))
	if err := a.Merge("p", b.Snapshot("p")...); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	got := a.Counts("p")
	if !within(got.Subjects24h, 5100) || !within(got.Subjects30d, 5100) || got.Subjects1h != 100 || !within(got.USPersonSubjects24h, 3000) {
		t.Errorf("got %+v, want 100 in 1h, 5100 in 24h and 30d, 3000 US persons", got)
	}
	// Merging the same buckets again changes nothing.
	if err := a.Merge("p", b.Snapshot("p")...); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if again := a.Counts("p"); again != got {
		t.Errorf("got %+v after merging twice, want %+v", again, got)
	}
}

func TestMergeRejects(t *testing.T) {
	clk := newClock()
	src := &Counter{Now: clk.Now}
	src.Observe("p", people(0, 10, true))
	good := src.Snapshot("p")[0]

	p16 := &Counter{Now: clk.Now, Precision: 16}
	p16.Observe("p", people(0, 10, true))

	future := good
	future.Start = good.Start.Add(3 * time.Hour)
	unaligned := good
	unaligned.Start = good.Start.Add(time.Minute)
	odd := good
	odd.Width = 2 * time.Hour

	tests := []struct {
		name string
		b    Bucket
		want string
	}{
		{"empty", Bucket{}, "empty"},
		{"other width", odd, "width"},
		{"unaligned", unaligned, "multiple"},
		{"future", future, "future"},
		{"other precision", p16.Snapshot("p")[0], "precision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Counter{Now: clk.Now}
			err := c.Merge("p", tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tt.want)
			}
			if got := c.Counts("p"); got != (Counts{}) {
				t.Errorf("got %+v after a rejected merge, want zero counts", got)
			}
		})
	}

	// An expired bucket is ignored without error.
	clk.Add(40 * 24 * time.Hour)
	c := &Counter{Now: clk.Now}
	if err := c.Merge("p", good); err != nil {
		t.Errorf("merging an expired bucket: got %v, want nil", err)
	}
	if got := c.Counts("p"); got != (Counts{}) {
		t.Errorf("got %+v after merging an expired bucket, want zero counts", got)
	}
}

func TestBucketUnmarshalErrors(t *testing.T) {
	clk := newClock()
	src := &Counter{Now: clk.Now}
	src.Observe("p", people(0, 10, true))
	good, err := src.Snapshot("p")[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"short", good[:10]},
		{"version", append([]byte{9}, good[1:]...)},
		{"zero width", append(append(append([]byte(nil), good[:9]...), make([]byte, 8)...), good[17:]...)},
		{"truncated sketch", good[:len(good)-3]},
		{"trailing", append(append([]byte(nil), good...), 0)},
		{"no subject sketch", append(append([]byte(nil), good[:17]...), 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Bucket
			if err := b.UnmarshalBinary(tt.data); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func FuzzBucketUnmarshal(f *testing.F) {
	clk := newClock()
	src := &Counter{Now: clk.Now}
	src.Observe("p", people(0, 10, true))
	for _, b := range src.Snapshot("p") {
		data, _ := b.MarshalBinary()
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Bucket
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary after a successful UnmarshalBinary: %v", err)
		}
		var b2 Bucket
		if err := b2.UnmarshalBinary(again); err != nil {
			t.Fatalf("UnmarshalBinary of re-encoded bucket: %v", err)
		}
		s1, u1 := b.Estimate()
		s2, u2 := b2.Estimate()
		if s1 != s2 || u1 != u2 {
			t.Errorf("got estimates %d/%d after re-encoding, want %d/%d", s2, u2, s1, u1)
		}
	})
}
