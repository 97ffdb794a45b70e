package storetest

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
)

// TestShadowResults checks an implementation of store.ShadowResults against
// the contract documented on the interface. open must return a new, empty
// store for each call.
func TestShadowResults(t *testing.T, open OpenFunc[store.ShadowResults]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.ShadowResults, c *clock)
	}{
		{"RecordThenList", testShadowRecordList},
		{"RecordInvalid", testShadowInvalid},
		{"ListFilters", testShadowListFilters},
		{"Batch", testShadowBatch},
		{"Summaries", testShadowSummaries},
		{"Empty", testShadowEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			tt.fn(t, open(t, c.Now), c)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sampleShadow(route string) store.ShadowResult {
	return store.ShadowResult{
		Route:            route,
		Candidate:        "openai/gpt-5",
		PrimaryOK:        true,
		CandidateOK:      true,
		PrimaryLatency:   120 * time.Millisecond,
		CandidateLatency: 340*time.Millisecond + 7*time.Microsecond,
		ToolAgreement:    ptr(false),
		RefusalAgreement: ptr(true),
		Similarity:       ptr(0.375),
		Detail: store.ShadowDetail{
			PrimaryStop:      "tool_use",
			CandidateStop:    "tool_use",
			PrimaryTools:     []string{"lookup_weather"},
			CandidateTools:   []string{"lookup_weather", "search"},
			InvalidArguments: 1,
		},
		// Set by the store, whatever the caller says:
		ID: 99,
		At: time.Unix(1, 0),
	}
}

func mustRecordShadow(t *testing.T, s store.ShadowResults, r store.ShadowResult) {
	t.Helper()
	if err := s.RecordShadowResults(context.Background(), []store.ShadowResult{r}); err != nil {
		t.Fatalf("RecordShadowResults(%q): %v", r.Route, err)
	}
}

func listShadow(t *testing.T, s store.ShadowResults, route string, since time.Time, limit int) []store.ShadowResult {
	t.Helper()
	got, err := s.ShadowResults(context.Background(), route, since, limit)
	if err != nil {
		t.Fatalf("ShadowResults(%q, %v, %d): %v", route, since, limit, err)
	}
	return got
}

func testShadowRecordList(t *testing.T, s store.ShadowResults, c *clock) {
	full := sampleShadow("claude-opus")
	failed := store.ShadowResult{
		Route:            "claude-opus",
		Candidate:        "openai/gpt-5",
		PrimaryOK:        true,
		PrimaryLatency:   1500 * time.Nanosecond, // kept in whole microseconds
		CandidateLatency: 2 * time.Second,
		Detail:           store.ShadowDetail{PrimaryStop: "end_turn", CandidateError: "timeout"},
	}
	mustRecordShadow(t, s, full)
	at1 := c.Now()
	c.Advance(time.Second)
	mustRecordShadow(t, s, failed)
	at2 := c.Now()

	got := listShadow(t, s, "claude-opus", time.Time{}, 0)
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2", len(got))
	}
	if got[0].ID <= got[1].ID {
		t.Errorf("got IDs %d then %d, want newest (largest) first", got[0].ID, got[1].ID)
	}
	for i, tc := range []struct {
		in store.ShadowResult
		at time.Time
	}{{failed, at2}, {full, at1}} {
		g := got[i]
		if !g.At.Equal(tc.at) || g.At.Location() != time.UTC {
			t.Errorf("result %d: At: got %v, want the store's time %v in UTC", i, g.At, tc.at)
		}
		want := tc.in
		want.ID, want.At = g.ID, g.At
		want.PrimaryLatency = want.PrimaryLatency.Truncate(time.Microsecond)
		want.CandidateLatency = want.CandidateLatency.Truncate(time.Microsecond)
		if !reflect.DeepEqual(g, want) {
			t.Errorf("result %d: got\n%+v\nwant\n%+v", i, g, want)
		}
	}
	if got[1].ToolAgreement == nil || *got[1].ToolAgreement || got[0].ToolAgreement != nil || got[0].Similarity != nil {
		t.Errorf("agreement pointers did not round-trip: got tool %v and %v, similarity %v", got[1].ToolAgreement, got[0].ToolAgreement, got[0].Similarity)
	}
}

func testShadowInvalid(t *testing.T, s store.ShadowResults, _ *clock) {
	mod := func(f func(r *store.ShadowResult)) store.ShadowResult {
		r := sampleShadow("claude-opus")
		f(&r)
		return r
	}
	tests := []struct {
		name string
		r    store.ShadowResult
	}{
		{"empty route", mod(func(r *store.ShadowResult) { r.Route = "" })},
		{"empty candidate", mod(func(r *store.ShadowResult) { r.Candidate = "" })},
		{"negative latency", mod(func(r *store.ShadowResult) { r.CandidateLatency = -time.Millisecond })},
		{"similarity above 1", mod(func(r *store.ShadowResult) { r.Similarity = ptr(1.5) })},
		{"similarity NaN", mod(func(r *store.ShadowResult) { r.Similarity = ptr(math.NaN()) })},
		{"invalid UTF-8 tool", mod(func(r *store.ShadowResult) { r.Detail.CandidateTools = []string{"a\xff"} })},
		{"NUL in route", mod(func(r *store.ShadowResult) { r.Route = "a\x00b" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.RecordShadowResults(context.Background(), []store.ShadowResult{tt.r}); err == nil {
				t.Errorf("RecordShadowResults: got nil error, want one")
			}
			// All or none: a valid result beside it is not stored either.
			batch := []store.ShadowResult{sampleShadow("claude-opus"), tt.r}
			if err := s.RecordShadowResults(context.Background(), batch); err == nil {
				t.Errorf("RecordShadowResults of a batch holding it: got nil error, want one")
			}
		})
	}
	if got := listShadow(t, s, "", time.Time{}, 0); len(got) != 0 {
		t.Errorf("got %d results after invalid records, want 0", len(got))
	}
}

func testShadowBatch(t *testing.T, s store.ShadowResults, c *clock) {
	ctx := context.Background()
	if err := s.RecordShadowResults(ctx, nil); err != nil {
		t.Errorf("RecordShadowResults(nil): %v", err)
	}
	var batch []store.ShadowResult
	for _, route := range []string{"a", "b", "c"} {
		batch = append(batch, sampleShadow(route))
	}
	if err := s.RecordShadowResults(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got := listShadow(t, s, "", time.Time{}, 0)
	var routes []string
	for _, r := range got {
		routes = append(routes, r.Route)
		if !r.At.Equal(c.Now()) {
			t.Errorf("route %s: At: got %v, want the store's time %v", r.Route, r.At, c.Now())
		}
	}
	if want := []string{"c", "b", "a"}; !reflect.DeepEqual(routes, want) {
		t.Errorf("got routes %q newest first, want %q: a batch is recorded in order", routes, want)
	}
}

func testShadowListFilters(t *testing.T, s store.ShadowResults, c *clock) {
	// a at t0, b at t0+1s, a at t0+2s, a at t0+3s
	routes := []string{"a", "b", "a", "a"}
	var times []time.Time
	for i, r := range routes {
		if i > 0 {
			c.Advance(time.Second)
		}
		times = append(times, c.Now())
		mustRecordShadow(t, s, sampleShadow(r))
	}
	tests := []struct {
		route string
		since time.Time
		limit int
		want  []int // indexes into routes, newest first
	}{
		{"", time.Time{}, 0, []int{3, 2, 1, 0}},
		{"a", time.Time{}, 0, []int{3, 2, 0}},
		{"b", time.Time{}, 0, []int{1}},
		{"c", time.Time{}, 0, nil},
		{"a", times[2], 0, []int{3, 2}}, // since is inclusive
		{"a", times[2].Add(time.Microsecond), 0, []int{3}},
		{"", time.Time{}, 2, []int{3, 2}},
		{"a", times[0], -1, []int{3, 2, 0}},
	}
	for _, tt := range tests {
		got := listShadow(t, s, tt.route, tt.since, tt.limit)
		var gotIdx []int
		for _, r := range got {
			i := -1
			for j, at := range times {
				if at.Equal(r.At) {
					i = j
				}
			}
			gotIdx = append(gotIdx, i)
		}
		if !reflect.DeepEqual(gotIdx, tt.want) {
			t.Errorf("ShadowResults(%q, since %v, limit %d): got results recorded at steps %v, want %v", tt.route, tt.since.Sub(times[0]), tt.limit, gotIdx, tt.want)
		}
	}
}

func testShadowSummaries(t *testing.T, s store.ShadowResults, c *clock) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	t0 := c.Now()
	rs := []store.ShadowResult{
		// route r, candidate x: four samples.
		{Route: "r", Candidate: "x", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(100), CandidateLatency: ms(200),
			ToolAgreement: ptr(true), RefusalAgreement: ptr(true), Similarity: ptr(1.0)},
		{Route: "r", Candidate: "x", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(300), CandidateLatency: ms(50),
			RefusalAgreement: ptr(false), Similarity: ptr(0.5)},
		{Route: "r", Candidate: "x", PrimaryOK: true, CandidateOK: false, PrimaryLatency: ms(200), CandidateLatency: ms(5000)},
		{Route: "r", Candidate: "x", PrimaryOK: false, CandidateOK: true, PrimaryLatency: ms(7000), CandidateLatency: ms(400)},
		// route r, candidate y: one sample; route q: one sample.
		{Route: "r", Candidate: "y", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(10), CandidateLatency: ms(20),
			ToolAgreement: ptr(false), RefusalAgreement: ptr(true), Similarity: ptr(0.25)},
		{Route: "q", Candidate: "x", PrimaryOK: false, CandidateOK: false, PrimaryLatency: ms(1), CandidateLatency: ms(2)},
	}
	for _, r := range rs {
		mustRecordShadow(t, s, r)
		c.Advance(time.Second)
	}
	last := t0.Add(5 * time.Second)
	wantRX := shadow.Summary{
		Route: "r", Candidate: "x", Samples: 4,
		PrimarySuccessRate: 0.75, CandidateSuccessRate: 0.75,
		Compared: 2, ToolSamples: 1, ToolAgreement: 1, RefusalAgreement: 0.5, MeanSimilarity: 0.75,
		LatencyP50Primary:   ms(200), // of 100, 200, 300
		LatencyP50Candidate: ms(200), // lower middle of 50, 200, 400
		First:               t0, Last: t0.Add(3 * time.Second),
	}
	wantRY := shadow.Summary{
		Route: "r", Candidate: "y", Samples: 1,
		PrimarySuccessRate: 1, CandidateSuccessRate: 1,
		Compared: 1, ToolSamples: 1, ToolAgreement: 0, RefusalAgreement: 1, MeanSimilarity: 0.25,
		LatencyP50Primary: ms(10), LatencyP50Candidate: ms(20),
		First: t0.Add(4 * time.Second), Last: t0.Add(4 * time.Second),
	}
	wantQX := shadow.Summary{Route: "q", Candidate: "x", Samples: 1, First: last, Last: last}

	tests := []struct {
		route string
		since time.Time
		want  []shadow.Summary
	}{
		{"", time.Time{}, []shadow.Summary{wantQX, wantRX, wantRY}},
		{"r", time.Time{}, []shadow.Summary{wantRX, wantRY}},
		{"q", t0, []shadow.Summary{wantQX}},
		{"r", t0.Add(4 * time.Second), []shadow.Summary{wantRY}},
		{"nope", time.Time{}, []shadow.Summary{}},
	}
	for _, tt := range tests {
		got, err := shadow.Stats{Store: s}.ShadowSummaries(context.Background(), tt.route, tt.since)
		if err != nil {
			t.Fatalf("ShadowSummaries(%q): %v", tt.route, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("ShadowSummaries(%q, %v): got %d summaries, want %d: %+v", tt.route, tt.since, len(got), len(tt.want), got)
			continue
		}
		for i := range got {
			g, w := got[i], tt.want[i]
			if !g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
				t.Errorf("ShadowSummaries(%q)[%d]: got first %v last %v, want %v and %v", tt.route, i, g.First, g.Last, w.First, w.Last)
			}
			g.First, g.Last, w.First, w.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("ShadowSummaries(%q)[%d]: got\n%+v\nwant\n%+v", tt.route, i, g, w)
			}
		}
	}
}

func testShadowEmpty(t *testing.T, s store.ShadowResults, _ *clock) {
	got := listShadow(t, s, "", time.Time{}, 0)
	if got == nil || len(got) != 0 {
		t.Errorf("ShadowResults on an empty store: got %#v, want an empty, non-nil slice", got)
	}
	calls := 0
	if err := s.ScanShadowResults(context.Background(), "", time.Time{}, func(store.ShadowResult) { calls++ }); err != nil || calls != 0 {
		t.Errorf("ScanShadowResults on an empty store: got %d calls, %v; want none and no error", calls, err)
	}
	sum, err := shadow.Stats{Store: s}.ShadowSummaries(context.Background(), "", time.Time{})
	if err != nil || sum == nil || len(sum) != 0 {
		t.Errorf("ShadowSummaries on an empty store: got %#v, %v; want an empty, non-nil slice", sum, err)
	}
}
