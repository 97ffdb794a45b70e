package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSortFields checks the run merge of sortFields against
// slices.SortFunc, which it replaces when no two fields start together.
func TestSortFields(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for k := range 5000 {
		var fs []field
		for range 1 + r.IntN(6) { // ascending runs, sometimes with ties
			at := r.IntN(50)
			for range r.IntN(8) {
				at += r.IntN(4)
				fs = append(fs, field{start: at, end: at + 1 + r.IntN(5), hint: fieldHint(r.IntN(20))})
			}
		}
		want := slices.Clone(fs)
		slices.SortFunc(want, func(a, b field) int { return a.start - b.start })
		got := slices.Clone(fs)
		sortFields(got)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: sortFields(%v)\n got %v\nwant %v", k, fs, got, want)
		}
	}
}

// mergeFindingsRef is the plain form of mergeFindings: a forward merge into
// a new slice.
func mergeFindingsRef(out, add []Finding) []Finding {
	if len(add) == 0 {
		return out
	}
	slices.SortFunc(add, func(a, b Finding) int { return a.Start - b.Start })
	merged := make([]Finding, 0, len(out)+len(add))
	k := 0
	for _, a := range add {
		for k < len(out) && out[k].Start < a.Start {
			merged = append(merged, out[k])
			k++
		}
		if n := len(merged); n > 0 && merged[n-1].End > a.Start || k < len(out) && out[k].Start < a.End {
			continue
		}
		merged = append(merged, a)
	}
	return append(merged, out[k:]...)
}

// TestMergeFindings checks the in-place merge against mergeFindingsRef.
func TestMergeFindings(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	spans := func(n int, typ string) []Finding {
		var fs []Finding
		at := 0
		for range n {
			at += r.IntN(6)
			end := at + 1 + r.IntN(6)
			fs = append(fs, Finding{Type: typ, Start: at, End: end})
			at = end
		}
		return fs
	}
	for k := range 5000 {
		out := spans(r.IntN(8), TypePhone)
		var add []Finding // in any order, overlapping each other too
		for range r.IntN(8) {
			at := r.IntN(40)
			add = append(add, Finding{Type: TypePerson, Start: at, End: at + 1 + r.IntN(8)})
		}
		want := mergeFindingsRef(slices.Clone(out), slices.Clone(add))
		got := mergeFindings(slices.Clip(slices.Clone(out)), slices.Clone(add))
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: mergeFindings(%v, %v)\n got %v\nwant %v", k, out, add, got, want)
		}
	}
}

// TestLineFinder checks lineFinder.bounds against the plain searches, on
// spans in order (as findings come) and out of order.
func TestLineFinder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for k := range 2000 {
		b := make([]byte, r.IntN(200))
		for j := range b {
			b[j] = "ab \n"[r.IntN(4)]
		}
		text := string(b)
		var l lineFinder
		at := 0
		for range 20 {
			if k%4 == 0 {
				at = r.IntN(len(text) + 1) // out of order
			}
			s := min(len(text), at+r.IntN(10))
			e := min(len(text), s+1+r.IntN(10))
			at = e
			gs, ge := l.bounds(text, s, e)
			ws := strings.LastIndexByte(text[:s], '\n') + 1
			we := strings.IndexByte(text[e:], '\n')
			if we < 0 {
				we = len(text)
			} else {
				we += e
			}
			if gs != ws || ge != we {
				t.Fatalf("bounds(%q, %d, %d) got %d, %d, want %d, %d", text, s, e, gs, ge, ws, we)
			}
		}
	}
}
