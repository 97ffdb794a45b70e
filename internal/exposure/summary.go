package exposure

import "time"

// Summary totals the rows of a [Report]: the line under the CLI's table and
// above the console's.
type Summary struct {
	Principals int   // distinct principals
	Requests   int64 // requests, all rows
	// FirstSeen is the earliest of the rows' FirstSeen; zero if there are
	// no rows.
	FirstSeen time.Time
	// Movable counts the principals whose every row has an Alternative:
	// those whose traffic could all move to another vendor.
	Movable int
}

// Summarize totals rows.
func Summarize(rows []Row) Summary {
	var s Summary
	movable := make(map[string]bool) // by principal: an alternative on every row so far
	for i, r := range rows {
		s.Requests += r.Requests
		if i == 0 || r.FirstSeen.Before(s.FirstSeen) {
			s.FirstSeen = r.FirstSeen
		}
		if ok, seen := movable[r.PrincipalID]; !seen || ok {
			movable[r.PrincipalID] = r.Alternative
		}
	}
	s.Principals = len(movable)
	for _, ok := range movable {
		if ok {
			s.Movable++
		}
	}
	return s
}
