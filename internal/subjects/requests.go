package subjects

import (
	"sync"
	"time"
)

// OrgID is the id under which a [Counter] keeps the windows of an
// organisation: the windows of every key of the organisation, merged, so
// that spreading work over several keys does not spread the count. API key
// ids start with "key_", so an "org:" id never names a key.
func OrgID(org string) string { return "org:" + org }

// RequestWindow is the window of [Requests]: counters.requests_1h.
const RequestWindow = time.Hour

// Requests counts each principal's requests in the hour up to a request,
// that request included: counters.requests_1h. Times are the requests' own
// (the time the policy sees), so a dry run over recorded traffic counts as
// the gateway did. Its zero value is ready to use and it is safe for
// concurrent use.
//
// Requests in the same second are kept as one run, so a principal costs
// at most one run per second of its last hour (about 90 KiB at worst) and
// a run counts whole while any part of it is in the window: the count may
// include requests up to a second older than an hour, never fewer.
type Requests struct {
	mu         sync.RWMutex // guards principals (the map, not the values)
	principals map[string]*requestLog
}

// requestLog is one principal's runs of requests.
type requestLog struct {
	mu     sync.Mutex // guards everything below
	latest int64      // newest request time seen, Unix nanoseconds
	runs   []requestRun
}

// requestRun is n requests at times from first to last, within one second.
type requestRun struct {
	first, last int64
	n           int
}

// Observe records a request by principal at time at and returns the
// principal's requests in the hour up to at, this one included. A request
// recorded at a time later than at is not counted; requests more than an
// hour older than the latest one recorded are forgotten, so record in time
// order.
func (r *Requests) Observe(principal string, at time.Time) int {
	l := r.get(principal, true)
	t := at.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latest = max(l.latest, t)
	l.forget()
	if k := len(l.runs) - 1; k >= 0 && t >= l.runs[k].last && t/int64(time.Second) == l.runs[k].first/int64(time.Second) {
		l.runs[k].last = t
		l.runs[k].n++
	} else {
		l.runs = append(l.runs, requestRun{first: t, last: t, n: 1})
	}
	return l.count(t)
}

// Count returns principal's requests in the hour up to at without
// recording one.
func (r *Requests) Count(principal string, at time.Time) int {
	l := r.get(principal, false)
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count(at.UnixNano())
}

// count counts the runs that are in (t-1h, t]. The caller holds l.mu.
func (l *requestLog) count(t int64) int {
	from := t - int64(RequestWindow)
	n := 0
	for _, run := range l.runs {
		if run.last > from && run.first <= t {
			n += run.n
		}
	}
	return n
}

// forget drops the runs no request can count any more. The caller holds
// l.mu.
func (l *requestLog) forget() {
	from := l.latest - int64(RequestWindow)
	kept := l.runs[:0]
	for _, run := range l.runs {
		if run.last > from {
			kept = append(kept, run)
		}
	}
	clear(l.runs[len(kept):])
	l.runs = kept
}

func (r *Requests) get(principal string, create bool) *requestLog {
	r.mu.RLock()
	l := r.principals[principal]
	r.mu.RUnlock()
	if l != nil || !create {
		return l
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.principals == nil {
		r.principals = make(map[string]*requestLog)
	}
	if l = r.principals[principal]; l == nil {
		l = &requestLog{}
		r.principals[principal] = l
	}
	return l
}

// Sweep forgets principals with no request in the hour up to now, and
// returns how many it forgot.
func (r *Requests) Sweep(now time.Time) int {
	from := now.UnixNano() - int64(RequestWindow)
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, l := range r.principals {
		l.mu.Lock()
		gone := l.latest <= from
		l.mu.Unlock()
		if gone {
			delete(r.principals, id)
			n++
		}
	}
	return n
}
