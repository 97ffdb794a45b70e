package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/subjects"
)

const replayUsage = `usage: brightline replay [-config FILE] TRAFFIC.jsonl

Each line of TRAFFIC.jsonl (- for standard input) is one recorded request:
  {"principal": {"id": "...", "name": "...", "org": "...", "purpose": "...", "roles": [...]},
   "dialect": "openai" | "anthropic", "body": {...request body...},
   "headers": {"Name": "value"}, "time": "2026-11-23T12:00:00Z"}
Only body is required; dialect defaults to openai and time to now.
Lines are decided in order at stage request with the policy serve would
load, keeping per-principal counters as the gateway does, on the recorded
times: counters.requests_1h counts the principal's requests in the hour up
to and including the line's own, and the detectors fill findings and the
subject counters (subjects_1h|24h|30d, us_person_subjects_*, profile
breadth). A line without principal.id is counted under "name:" + name.
Record lines in time order: requests more than an hour older than a line
are forgotten, so a later line with an earlier time doesn't see them.
Prints one {"line": N, "decision": {...}} per line, or {"line": N, "error": "..."}
for a line that can't be decided; the exit status is then 1.
`

// trafficLine is one line of recorded traffic.
type trafficLine struct {
	Principal brightline.Principal `json:"principal"`
	Dialect   string               `json:"dialect"`
	Body      json.RawMessage      `json:"body"`
	Headers   map[string]string    `json:"headers"`
	Time      *time.Time           `json:"time"`
}

// replayResult is one line of replay output.
type replayResult struct {
	Line     int                  `json:"line"`
	Decision *brightline.Decision `json:"decision,omitempty"`
	Error    string               `json:"error,omitempty"`
}

func runReplay(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("replay", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, replayUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("serve would refuse the configured policy: %w", err)
	}
	var in io.Reader = e.stdin
	if path := fs.Arg(0); path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("couldn't read traffic: %w", err)
		}
		defer f.Close()
		in = f
	}

	r := newReplayer(lp.policy, time.Now)
	out := json.NewEncoder(e.stdout)
	br := bufio.NewReader(in)
	lines, failed := 0, 0
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			lines++
			res := replayResult{Line: n}
			if d, err := r.decide(line); err != nil {
				res.Error = err.Error()
				failed++
			} else {
				res.Decision = &d
			}
			if err := out.Encode(res); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("couldn't read traffic at line %d: %w", n, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines could not be decided", failed, lines)
	}
	return nil
}

// replayer decides recorded requests in order, keeping the per-principal
// counters a gateway would keep.
type replayer struct {
	policy *policy.Policy
	now    func() time.Time // for lines without a time
	// surv counts people per principal as the gateway does, on the
	// recorded times: at is the time of the line being decided.
	surv *gateway.Surveillance
	at   time.Time
	// windows holds, per principal, the times of its requests in the last
	// hour of the latest line's time.
	windows map[string][]time.Time
}

// decide decodes one line of traffic and decides it at stage request.
func (r *replayer) decide(line []byte) (brightline.Decision, error) {
	var tl trafficLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tl); err != nil {
		return brightline.Decision{}, fmt.Errorf("couldn't parse line: %v", err)
	}
	if len(tl.Body) == 0 || string(tl.Body) == "null" {
		return brightline.Decision{}, errors.New("line has no body")
	}
	if tl.Dialect == "" {
		tl.Dialect = string(brightline.DialectOpenAI)
	}
	req, err := decodeRequest(tl.Dialect, tl.Body)
	if err != nil {
		return brightline.Decision{}, err
	}
	at := r.now()
	if tl.Time != nil {
		at = *tl.Time
	}
	hdr := make(http.Header)
	for k, v := range tl.Headers {
		hdr.Set(k, v)
	}
	if tl.Principal.ID == "" && tl.Principal.Name != "" {
		// Counters are kept per principal id, as the gateway keeps them.
		tl.Principal.ID = "name:" + tl.Principal.Name
	}
	in := gateway.RequestInput(r.policy, tl.Principal, req, hdr, at)
	r.at = at
	r.surv.Inspect(in, req)
	in.Counters.Requests1h = r.count(tl.Principal, at)
	d, err := r.policy.Evaluate(brightline.StageRequest, in)
	if err != nil {
		return brightline.Decision{}, fmt.Errorf("the policy couldn't decide the request, so the gateway would refuse it (policy_error): %v", err)
	}
	return d, nil
}

// newReplayer returns a replayer with empty counters. Subject keys are
// HMACs under a secret made for this run: a dry run shares nothing with
// the gateway's state.
func newReplayer(p *policy.Policy, now func() time.Time) *replayer {
	r := &replayer{policy: p, now: now, windows: map[string][]time.Time{}}
	secret := make([]byte, 32)
	rand.Read(secret)
	clock := func() time.Time { return r.at }
	r.surv = &gateway.Surveillance{
		Keyer:    subjects.NewKeyer(secret),
		Counter:  &subjects.Counter{Now: clock},
		Profiles: &subjects.Profiles{Now: clock},
	}
	return r
}

// count records a request by p at time at and returns the number of p's
// requests in the hour up to at, this one included.
func (r *replayer) count(p brightline.Principal, at time.Time) int {
	key := p.ID
	if key == "" {
		key = "name:" + p.Name
	}
	from := at.Add(-time.Hour)
	kept := r.windows[key][:0]
	n := 1
	for _, t := range r.windows[key] {
		// Drop what no later line can count. Lines out of time order
		// only lose requests more than an hour older than this one.
		if !t.After(from) {
			continue
		}
		kept = append(kept, t)
		if !t.After(at) {
			n++
		}
	}
	r.windows[key] = append(kept, at)
	return n
}
