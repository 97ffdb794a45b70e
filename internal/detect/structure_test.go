package detect

import (
	"math/rand/v2"
	"slices"
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
