package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The soak (issue 13): normal keys send requests at a steady rate while
// one abusive key sends large bodies, many at a time, for the whole run.
// The gateway runs with its defaults and every safeguard on. The goal:
// no 5xx (and no failed connection) for the other keys, and the gateway's
// RSS under the global body budget plus 200 MB.

// defaultBodyBudget is limits.body_bytes_in_flight's default in
// cmd/brightline, the configured budget the soak runs under.
const defaultBodyBudget = 512 << 20

// rssHeadroom is what the gateway may hold beyond the body budget.
const rssHeadroom = 200 << 20

type soakConfig struct {
	duration   time.Duration
	rate       int // normal requests/s over all normal keys, open loop
	keys       int // normal keys
	abusers    int // the abusive key's concurrent requests
	abuseBytes int // the size of each of its bodies
}

const abusiveKey = "abusive"

func (c soakConfig) keyNames() []string {
	names := []string{abusiveKey}
	for i := range c.keys {
		names = append(names, fmt.Sprintf("normal-%02d", i))
	}
	return names
}

// keyStats counts one key's answers by status; status 0 is a request
// that got no answer (connection refused, reset or timed out).
type keyStats struct {
	status   map[int]int
	firstErr map[int]string // the first error or body for each non-200 status
}

type soakResult struct {
	cfg      soakConfig
	wall     time.Duration
	mu       sync.Mutex
	keys     map[string]*keyStats
	lat      []time.Duration // normal keys' answered requests
	rss      []int64         // sampled VmRSS
	peakRSS  int64           // VmHWM at the end
	lag      []time.Duration // sampled integration lag
	appended int64           // decisions appended in the run
	bound    int64
}

func (r *soakResult) add(key string, status int, detail string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.keys[key]
	if ks == nil {
		ks = &keyStats{status: map[int]int{}, firstErr: map[int]string{}}
		r.keys[key] = ks
	}
	ks.status[status]++
	if status != http.StatusOK {
		if _, ok := ks.firstErr[status]; !ok {
			ks.firstErr[status] = detail
		}
	} else if key != abusiveKey {
		r.lat = append(r.lat, d)
	}
}

// soak runs cfg against e and returns what it saw. An error means the run
// itself could not be made, not that the goal failed; see failures.
func soak(ctx context.Context, e *env, cfg soakConfig) (*soakResult, error) {
	r := &soakResult{cfg: cfg, keys: map[string]*keyStats{}, bound: defaultBodyBudget + rssHeadroom}
	names := cfg.keyNames()
	normal := names[1:]

	ctl := &http.Client{Timeout: 10 * time.Second}
	before, err := e.appends(ctl)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var samplers sync.WaitGroup
	var sampleErr error
	samplers.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur, _, err := e.rss()
			if err != nil {
				sampleErr = err
				cancel()
				return
			}
			r.mu.Lock()
			r.rss = append(r.rss, cur)
			r.mu.Unlock()
		}
	})
	samplers.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A /healthz that does not answer is seen by the normal keys'
			// requests; the lag sample is skipped.
			if lag, err := e.auditLag(ctl); err == nil {
				r.mu.Lock()
				r.lag = append(r.lag, lag)
				r.mu.Unlock()
			}
		}
	})

	// The abusive key: abusers loops, each sending the next large body as
	// soon as the previous one is answered or refused.
	big := abusiveBody(cfg.abuseBytes)
	abuseClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.abusers}, Timeout: 5 * time.Minute}
	normalClient := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute},
		Timeout: time.Minute}
	url := "http://" + e.gwAddr + "/v1/chat/completions"
	start := time.Now()
	end := start.Add(cfg.duration)
	var load sync.WaitGroup
	for range cfg.abusers {
		load.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				status, detail, d := post(ctx, abuseClient, url, e.keys[abusiveKey], bytes.NewReader(big))
				r.add(abusiveKey, status, detail, d)
				if status != http.StatusOK {
					// A refused client backs off as Retry-After asks
					// (a second), so that the run measures the budget,
					// not a loop of connection setups.
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			}
		})
	}

	// The normal keys: rate requests/s in total, open loop (on schedule
	// whatever the latency), round robin over the keys.
	interval := time.Second / time.Duration(cfg.rate)
	small := []byte(`{"model":"bench-model","messages":[{"role":"system","content":"You are a logistics assistant."},{"role":"user","content":"Summarise the readiness of the motor pool in one sentence."}]}`)
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(end) {
			break
		}
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		key := normal[i%len(normal)]
		load.Go(func() {
			status, detail, d := post(ctx, normalClient, url, e.keys[key], bytes.NewReader(small))
			r.add(key, status, detail, d)
		})
	}
	load.Wait()
	r.wall = time.Since(start)
	cancel()
	samplers.Wait()
	if sampleErr != nil {
		return nil, sampleErr
	}
	if _, r.peakRSS, err = e.rss(); err != nil {
		return nil, err
	}
	after, err := e.appends(ctl)
	if err != nil {
		return nil, err
	}
	r.appended = after - before
	return r, nil
}

// abusiveBody is a chat request of about n bytes of ordinary prose, which
// detection must read to its end.
func abusiveBody(n int) []byte {
	const head, tail = `{"model":"bench-model","messages":[{"role":"user","content":"`, `"}]}`
	const prose = "The convoy left the depot before dawn and reached the ridge by noon, where the crews checked the tyres and the radios. "
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(head)
	for b.Len()+len(prose)+len(tail) <= n {
		b.WriteString(prose)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// post sends body with key and reads the answer; status 0 means no answer.
func post(ctx context.Context, c *http.Client, url, key string, body *bytes.Reader) (status int, detail string, d time.Duration) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, body)
	if err != nil {
		return 0, err.Error(), 0
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error(), 0
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d = time.Since(start)
	if err != nil {
		return 0, "reading the answer: " + err.Error(), 0
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(b[:min(len(b), 300)]), d
	}
	return http.StatusOK, "", d
}

// othersFailed counts the normal keys' 5xx answers and requests without
// an answer.
func (r *soakResult) othersFailed() (fivexx, unanswered, total int) {
	for name, ks := range r.keys {
		if name == abusiveKey {
			continue
		}
		for st, n := range ks.status {
			total += n
			switch {
			case st == 0:
				unanswered += n
			case st >= 500:
				fivexx += n
			}
		}
	}
	return
}

func (r *soakResult) maxRSS() int64 {
	m := r.peakRSS
	for _, v := range r.rss {
		m = max(m, v)
	}
	return m
}

// failures says which parts of the goal were missed.
func (r *soakResult) failures() []string {
	var f []string
	fivexx, unanswered, total := r.othersFailed()
	if total == 0 {
		f = append(f, "the normal keys sent nothing")
	}
	if fivexx > 0 {
		f = append(f, fmt.Sprintf("%d 5xx answers to the normal keys", fivexx))
	}
	if unanswered > 0 {
		f = append(f, fmt.Sprintf("%d requests of the normal keys got no answer", unanswered))
	}
	if m := r.maxRSS(); m > r.bound {
		f = append(f, fmt.Sprintf("peak RSS %s over the bound of %s", mib(m), mib(r.bound)))
	}
	if ks := r.keys[abusiveKey]; ks == nil || ks.status[http.StatusOK]+ks.status[http.StatusTooManyRequests] == 0 {
		// Without this the run would not have tested the budgets.
		f = append(f, "the abusive key's bodies were neither served nor refused with 429")
	}
	return f
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func pct[T int64 | time.Duration](s []T, q float64) T {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	i := int(q/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (r *soakResult) report(w io.Writer) {
	c := r.cfg
	fmt.Fprintf(w, "# Brightline soak\n\n%v (wall %v): %d normal keys at %d requests/s in total (open loop), and key %q sending %d-byte bodies, %d at a time. The gateway runs with its defaults and every safeguard on.\n\n",
		c.duration, r.wall.Round(time.Second), c.keys, c.rate, abusiveKey, c.abuseBytes, c.abusers)
	var statuses []int
	for _, ks := range r.keys {
		for st := range ks.status {
			if !slices.Contains(statuses, st) {
				statuses = append(statuses, st)
			}
		}
	}
	slices.Sort(statuses)
	fmt.Fprint(w, "| key |")
	for _, st := range statuses {
		if st == 0 {
			fmt.Fprint(w, " no answer |")
		} else {
			fmt.Fprintf(w, " %d |", st)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "|---"+strings.Repeat("|---", len(statuses))+"|")
	names := c.keyNames()
	for _, name := range names {
		ks := r.keys[name]
		if ks == nil {
			continue
		}
		fmt.Fprintf(w, "| %s |", name)
		for _, st := range statuses {
			fmt.Fprintf(w, " %d |", ks.status[st])
		}
		fmt.Fprintln(w)
	}
	fivexx, unanswered, total := r.othersFailed()
	fmt.Fprintf(w, "\nNormal keys: %d requests, %d 5xx, %d without an answer; latency p50 %s, p99 %s, max %s.\n",
		total, fivexx, unanswered, fmtDur(pct(r.lat, 50)), fmtDur(pct(r.lat, 99)), fmtDur(pct(r.lat, 100)))
	fmt.Fprintf(w, "Gateway RSS: p50 %s, peak sampled %s, VmHWM %s; bound (body budget %s + 200 MiB) %s.\n",
		mib(pct(r.rss, 50)), mib(pct(r.rss, 100)), mib(r.peakRSS), mib(defaultBodyBudget), mib(r.bound))
	fmt.Fprintf(w, "Audit: %d entries appended (%.0f/s); integration lag (age of the oldest unintegrated entry, an upper bound on the merge delay) p99 %s, max %s.\n",
		r.appended, float64(r.appended)/r.wall.Seconds(), fmtDur(pct(r.lag, 99)), fmtDur(pct(r.lag, 100)))
	for _, name := range names {
		ks := r.keys[name]
		if ks == nil {
			continue
		}
		for _, st := range statuses {
			if d, ok := ks.firstErr[st]; ok && (name != abusiveKey || st != http.StatusTooManyRequests) {
				fmt.Fprintf(w, "  %s, first %d: %s\n", name, st, d)
			}
		}
	}
	if f := r.failures(); len(f) > 0 {
		fmt.Fprintf(w, "\nGOAL NOT MET: %s\n", strings.Join(f, "; "))
	} else {
		fmt.Fprintln(w, "\nGoal met: no 5xx and no failed request for the normal keys, RSS under the bound.")
	}
}
