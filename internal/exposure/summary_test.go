package exposure

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		name string
		rows []Row
		want Summary
	}{
		{"no rows", nil, Summary{}},
		{"one movable row", []Row{{PrincipalID: "a", Requests: 3, FirstSeen: day(5), Alternative: true}},
			Summary{Principals: 1, Requests: 3, FirstSeen: day(5), Movable: 1}},
		{"a principal is movable only if all its rows are", []Row{
			{PrincipalID: "a", Requests: 1, FirstSeen: day(9), Alternative: true},
			{PrincipalID: "a", Requests: 2, FirstSeen: day(3), Alternative: false},
			{PrincipalID: "a", Requests: 4, FirstSeen: day(7), Alternative: true},
			{PrincipalID: "b", Requests: 8, FirstSeen: day(4), Alternative: true},
			{PrincipalID: "b", Requests: 16, FirstSeen: day(6), Alternative: true},
			{PrincipalID: "c", Requests: 32, FirstSeen: day(8), Alternative: false},
		}, Summary{Principals: 3, Requests: 63, FirstSeen: day(3), Movable: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Summarize(c.rows); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
