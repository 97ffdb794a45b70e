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
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
)

const replayUsage = `usage: brightline replay [-config FILE] TRAFFIC.jsonl

Each line of TRAFFIC.jsonl (- for standard input) is one recorded request:
  {"principal": {"id": "...", "name": "...", "person": "...", "org": "...", "purpose": "...", "roles": [...]},
   "dialect": "openai" | "anthropic", "body": {...request body...},
   "headers": {"Name": "value"}, "time": "2026-11-23T12:00:00Z",
   "tool_calls": [{"name": "...", "arguments": {...}}]}
Only body is required; dialect defaults to openai and time to now.
Lines are decided in order with the policy serve would load, by the same
decider as the gateway, keeping per-principal and per-organisation
counters as the gateway does, on the recorded times: counters.requests_1h
counts the principal's requests in the hour up to and including the
line's own, and the detectors fill findings and the subject counters
(subjects_1h|24h|30d, us_person_subjects_*, their org_ windows, profile
breadth). A line without principal.id is counted under "name:" + name.
Record lines in time order: requests more than an hour older than a line
are forgotten, so a later line with an earlier time doesn't see them.
tool_calls are the calls the model's answer made; they are decided at stage
tool_call if the request would be forwarded.
Prints one {"line": N, "decision": {...}, "tool_calls": [...]} per line, or
{"line": N, "error": "..."} for a line that can't be decided; the exit
status is then 1.
`

// trafficLine is one line of recorded traffic.
type trafficLine struct {
	Principal brightline.Principal `json:"principal"`
	Dialect   string               `json:"dialect"`
	Body      json.RawMessage      `json:"body"`
	Headers   map[string]string    `json:"headers"`
	Time      *time.Time           `json:"time"`
	ToolCalls []trafficToolCall    `json:"tool_calls"`
}

// trafficToolCall is a tool call the model's answer made.
type trafficToolCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// replayResult is one line of replay output.
type replayResult struct {
	Line      int                  `json:"line"`
	Decision  *brightline.Decision `json:"decision,omitempty"`
	ToolCalls []replayToolCall     `json:"tool_calls,omitempty"`
	Error     string               `json:"error,omitempty"`
}

// replayToolCall is the decision of one tool call of a line.
type replayToolCall struct {
	Name     string              `json:"name"`
	Effect   string              `json:"effect"`
	Decision brightline.Decision `json:"decision"`
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
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
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

	r := newReplayer(lp.Policy, tools, time.Now)
	out := json.NewEncoder(e.stdout)
	br := bufio.NewReader(in)
	lines, failed := 0, 0
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			lines++
			res := replayResult{Line: n}
			if rl, err := r.decide(line); err != nil {
				res.Error = err.Error()
				failed++
			} else {
				res.Decision = &rl.request.Decision
				for _, o := range rl.tools {
					res.ToolCalls = append(res.ToolCalls, replayToolCall{Name: o.Input.ToolCall.Name, Effect: o.Effect.Class, Decision: o.Decision})
				}
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

// replayer decides recorded requests in order with the gateway's decider,
// keeping the counters a gateway would keep.
type replayer struct {
	policy  *policy.Policy
	now     func() time.Time // for lines without a time
	decider *safeguard.Decider
	// at is the time of the line being decided: the subject windows'
	// clock, so that they count on the recorded times.
	at time.Time
}

// replayed is one line's outcomes: the request's and its tool calls'.
type replayed struct {
	request safeguard.Outcome
	tools   []safeguard.ToolOutcome
}

// decide decodes one line of traffic and decides it at stage request,
// then its tool calls if the request would be forwarded.
func (r *replayer) decide(line []byte) (replayed, error) {
	var tl trafficLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tl); err != nil {
		return replayed{}, fmt.Errorf("couldn't parse line: %v", err)
	}
	if len(tl.Body) == 0 || string(tl.Body) == "null" {
		return replayed{}, errors.New("line has no body")
	}
	if tl.Dialect == "" {
		tl.Dialect = string(brightline.DialectOpenAI)
	}
	hdr := make(http.Header)
	for k, v := range tl.Headers {
		hdr.Set(k, v)
	}
	req, err := decodeRequest(tl.Dialect, tl.Body, hdr, r.policy)
	if err != nil {
		return replayed{}, err
	}
	at := r.now()
	if tl.Time != nil {
		at = *tl.Time
	}
	if tl.Principal.ID == "" && tl.Principal.Name != "" {
		// Counters are kept per principal id, as the gateway keeps them.
		tl.Principal.ID = "name:" + tl.Principal.Name
	}
	r.at = at
	x, err := r.decider.Request(r.policy, tl.Principal, req, hdr, at)
	if err != nil {
		return replayed{}, fmt.Errorf("the policy couldn't decide the request, so the gateway would refuse it (policy_error): %v", err)
	}
	out := replayed{request: safeguard.Outcome{Decision: x.Decision, Input: x.Input}}
	if !forwarded(x.Decision) {
		return out, nil
	}
	for _, tc := range tl.ToolCalls {
		o, err := x.ToolCall(tc.Name, tc.Arguments, "")
		if err != nil {
			return replayed{}, fmt.Errorf("tool call %s: the gateway would withhold the answer: %v", tc.Name, err)
		}
		out.tools = append(out.tools, o)
	}
	return out, nil
}

// newReplayer returns a replayer with empty counters.
func newReplayer(p *policy.Policy, tools *policy.ToolEffects, now func() time.Time) *replayer {
	r := &replayer{policy: p, now: now}
	r.decider = safeguard.New(safeguard.Config{Tools: tools, Surveillance: dryRunSurveillance(func() time.Time { return r.at })})
	return r
}

// dryRunSurveillance returns empty counters for a dry run, on clock (nil
// for the real one). Subject keys are HMACs under a secret made for this
// run: a dry run shares nothing with the gateway's state.
func dryRunSurveillance(clock func() time.Time) *safeguard.Surveillance {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer(secret),
		Counter:  &subjects.Counter{Now: clock},
		Profiles: &subjects.Profiles{Now: clock},
		Requests: &subjects.Requests{},
	}
}
