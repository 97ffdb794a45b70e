package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
)

const equivalencePolicy = `metadata_headers: [X-Mission-Id]
tools:
  - {name: get_weather, effect: informational}
safeguards:
  - id: no-mass-domestic-surveillance
    title: No mass domestic surveillance
    rules:
      - id: ssn-lists
        stage: request
        when: findings.counts["SSN"] > 2
        action: deny
        message: Lists of SSNs are refused.
      - id: org-reach
        stage: request
        when: findings.subjects > 0 && counters.org_subjects_24h > 2
        action: annotate
        message: The organisation has reached more than two people.
      - id: busy-key
        stage: request
        when: counters.requests_1h > 2
        action: annotate
        message: Busy key.
  - id: human-control-of-force
    title: Human control of force
    rules:
      - id: force-requires-approval
        stage: tool_call
        when: tool_call.effect == "force"
        action: require_approval
        message: Use of force requires approval.
        approvers: {role: weapons-release-authority, count: 1}
      - id: no-mail-to-mil
        stage: tool_call
        when: tool_call.name == "send_email" && has(tool_call.arguments.to) && tool_call.arguments.to.endsWith(".mil")
        action: deny
        message: No mail to .mil addresses.
      - id: mission-tools
        stage: request
        when: request.tools.exists(t, t == "fire_interceptor") && request.metadata["x-mission-id"] == ""
        action: annotate
        message: Force tools offered without a mission id.
  - id: answers
    title: Answers
    rules:
      - id: long-answers
        stage: response
        when: response.text_bytes > 100000
        action: deny
        message: Too long.
`

// equivalenceLine is one request of the equivalence traffic.
type equivalenceLine struct {
	key     string // which API key sends it
	dialect string
	body    string
	mission string // X-Mission-Id, if any
	at      time.Duration
	calls   []trafficToolCall // the tool calls of the model's answer
}

func equivalenceTraffic() []equivalenceLine {
	const openaiTools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Returns the forecast for a city.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
		`{"type":"function","function":{"name":"fire_interceptor","description":"Fires an interceptor at a hostile track.","parameters":{"type":"object","properties":{"track":{"type":"string"}}}}}]`
	const anthropicTools = `"tools":[{"name":"send_email","description":"Sends an email.","input_schema":{"type":"object","properties":{"to":{"type":"string"}}}}]`
	chat := func(text string) string {
		return fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":%q}],%s}`, text, openaiTools)
	}
	msg := func(text string) string {
		return fmt.Sprintf(`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":%q}],%s}`, text, anthropicTools)
	}
	call := func(name, args string) trafficToolCall {
		return trafficToolCall{Name: name, Arguments: json.RawMessage(args)}
	}
	return []equivalenceLine{
		{"alice", "openai", chat("Where is Maria Garcia, (212) 555-0147, today?"), "42", 0,
			[]trafficToolCall{call("fire_interceptor", `{"track":"T-17"}`), call("get_weather", `{"city":"Austin"}`)}},
		{"bob", "anthropic", msg("Write to James Chen, james.chen@example.com, about Linda Haddad, (617) 555-0199."), "", 5 * time.Minute,
			[]trafficToolCall{call("send_email", `{"to":"ops@army.mil"}`), call("send_email", `{"to":"james.chen@example.com"}`)}},
		{"alice", "openai", chat("And the weather in Austin?"), "", 10 * time.Minute,
			[]trafficToolCall{call("launch_missile", `{"target":"grid 7"}`), call("Get_Weather", `{}`)}},
		{"carol", "openai", chat("Robert Novak, (312) 555-0110, called."), "7", 20 * time.Minute, nil},
		{"alice", "openai", chat("Check SSNs 536-22-1874, 412-71-3388 and 601-48-2295."), "", 30 * time.Minute,
			[]trafficToolCall{call("fire_interceptor", `{"track":"T-18"}`)}},
		{"alice", "openai", chat("Status of Maria Garcia, (212) 555-0147?"), "", 40 * time.Minute,
			[]trafficToolCall{call("get_weather", `{"city":"Boston"}`)}},
		{"bob", "anthropic", msg("Nothing about people."), "", 3 * time.Hour, nil},
	}
}

// decided is one decision and its input, as JSON, for comparison.
type decided struct {
	Stage    brightline.Stage
	Decision string
	Input    string
}

func decidedOf(t *testing.T, d brightline.Decision, in *policy.Input) decided {
	t.Helper()
	db, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return decided{Stage: d.Stage, Decision: string(db), Input: string(ib)}
}

// scriptRouter answers every request with the tool calls it is given.
type scriptRouter struct {
	mu    sync.Mutex
	calls []trafficToolCall
}

func (r *scriptRouter) Complete(_ context.Context, req *llm.Request, _ http.Header) (*llm.Response, provider.Served, error) {
	r.mu.Lock()
	calls := r.calls
	r.mu.Unlock()
	resp := &llm.Response{ID: "resp_1", Model: req.Model, StopReason: llm.StopEndTurn, Content: []llm.Block{{Type: llm.BlockText, Text: "ok"}}}
	for i, c := range calls {
		resp.Content = append(resp.Content, llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: fmt.Sprintf("call_%d", i), Name: c.Name, Arguments: c.Arguments}})
		resp.StopReason = llm.StopToolUse
	}
	return resp, provider.Served{Target: "script/m", Provider: "script", Model: req.Model, Attempts: 1}, nil
}

func (r *scriptRouter) CompleteAfter(ctx context.Context, req *llm.Request, hdr http.Header, _ string) (*llm.Response, provider.Served, error) {
	return nil, provider.Served{}, fmt.Errorf("no other target")
}

func (r *scriptRouter) Stream(context.Context, *llm.Request, http.Header) (llm.Stream, provider.Served, error) {
	return nil, provider.Served{}, fmt.Errorf("not streamed")
}

func (r *scriptRouter) Models() []llm.Model { return nil }

type keyAuth map[string]brightline.Principal

func (a keyAuth) Authenticate(_ context.Context, key string) (brightline.Principal, error) {
	p, ok := a[key]
	if !ok {
		return p, brightline.ErrNotFound
	}
	return p, nil
}

// equivalenceGateway is a gateway whose decisions are traced, on a clock
// the test sets.
type equivalenceGateway struct {
	srv    *httptest.Server
	router *scriptRouter
	mu     sync.Mutex
	now    time.Time
	traced []decided
}

func newEquivalenceGateway(t *testing.T, pol *policy.Policy, tools *policy.ToolEffects, auth keyAuth) *equivalenceGateway {
	eg := &equivalenceGateway{router: &scriptRouter{}}
	clock := func() time.Time {
		eg.mu.Lock()
		defer eg.mu.Unlock()
		return eg.now
	}
	s := &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer([]byte("gateway secret")),
		Counter:  &subjects.Counter{Now: clock},
		Profiles: &subjects.Profiles{Now: clock},
		Requests: &subjects.Requests{},
	}
	gw := gateway.New(gateway.Config{
		Policy: gateway.StaticPolicy{Policy: pol}, Tools: tools, Surveillance: s, Now: clock,
		Trace: func(o safeguard.Outcome) {
			d := decidedOf(t, o.Decision, o.Input)
			eg.mu.Lock()
			defer eg.mu.Unlock()
			if d.Stage != brightline.StageResponse { // check and replay see no answer
				eg.traced = append(eg.traced, d)
			}
		},
	}, auth, eg.router)
	eg.srv = httptest.NewServer(gw)
	t.Cleanup(eg.srv.Close)
	return eg
}

// send sends line l at time at with API key key and returns the
// decisions the gateway made.
func (eg *equivalenceGateway) send(t *testing.T, l equivalenceLine, key string, at time.Time) []decided {
	t.Helper()
	eg.mu.Lock()
	eg.now, eg.traced = at, nil
	eg.mu.Unlock()
	eg.router.mu.Lock()
	eg.router.calls = l.calls
	eg.router.mu.Unlock()
	path := "/v1/chat/completions"
	if l.dialect == "anthropic" {
		path = "/v1/messages"
	}
	req, _ := http.NewRequest("POST", eg.srv.URL+path, strings.NewReader(l.body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	if l.mission != "" {
		req.Header.Set("X-Mission-Id", l.mission)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eg.mu.Lock()
	defer eg.mu.Unlock()
	return eg.traced
}

// TestEquivalence feeds the same traffic (people, orgs, both dialects,
// tool calls declared, classified and undefined) through the gateway's
// HTTP handler, brightline replay and brightline check, and requires the
// same policy inputs and decisions at stages request and tool_call.
// Replay is compared over the whole traffic, counters included; check,
// which sees one request and no history, with a fresh gateway per line.
func TestEquivalence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(equivalencePolicy), 0o600)
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("data_dir: %s\nproviders: [{name: simulated, type: simulated}]\nroutes: [{model: m, targets: [{provider: simulated}]}]\n"+
		"tools: [{name: send_email, effect: force}]\npolicy: {file: %s, unsigned: true}\n", filepath.Join(dir, "data"), filepath.Join(dir, "policy.yaml"))), 0o600)
	cli := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if err := run(ctx, args, e); err != nil {
			t.Fatalf("brightline %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	cfg, err := loadConfig(cfgPath, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	auth := keyAuth{}
	for _, k := range []struct{ name, person, org string }{{"alice", "alice@acme", "acme"}, {"bob", "bob@acme", "acme"}, {"carol", "", ""}} {
		args := []string{"keys", "create", "-config", cfgPath, "-name", k.name}
		if k.person != "" {
			args = append(args, "-person", k.person, "-org", k.org)
		}
		key := strings.TrimSpace(cli(args...))
		p, err := principalOfKey(ctx, cfg, key)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.name], auth[key] = key, p
	}
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	traffic := equivalenceTraffic()

	// What the traffic exercises: a force call held and a declared one
	// allowed; a call raised to force by the config and denied by a rule;
	// a call of an undefined tool classified by its name and a look-alike
	// spelling of a declared one; a denied request whose calls are never
	// decided; the request and org windows.
	wantActions := []string{
		"request:allow tool_call:require_approval:force-requires-approval tool_call:allow",
		"request:annotate:org-reach tool_call:deny:no-mail-to-mil tool_call:require_approval:force-requires-approval",
		"request:annotate:mission-tools tool_call:require_approval:force-requires-approval tool_call:allow",
		"request:allow",
		"request:deny:ssn-lists",
		"request:annotate:org-reach tool_call:allow",
		"request:allow",
	}
	// The gateway over the whole traffic, then replay over the same.
	eg := newEquivalenceGateway(t, lp.Policy, tools, auth)
	r := newReplayer(lp.Policy, tools, time.Now)
	toolCalls, denied := 0, 0
	for i, l := range traffic {
		at := t0.Add(l.at)
		got := eg.send(t, l, keys[l.key], at)
		line, _ := json.Marshal(map[string]any{"principal": auth[keys[l.key]], "dialect": l.dialect, "body": json.RawMessage(l.body),
			"headers": map[string]string{"X-Mission-Id": l.mission}, "time": at, "tool_calls": l.calls})
		if l.mission == "" {
			line, _ = json.Marshal(map[string]any{"principal": auth[keys[l.key]], "dialect": l.dialect, "body": json.RawMessage(l.body),
				"time": at, "tool_calls": l.calls})
		}
		rl, err := r.decide(line)
		if err != nil {
			t.Fatalf("replay line %d: %v", i+1, err)
		}
		want := []decided{decidedOf(t, rl.request.Decision, rl.request.Input)}
		for _, o := range rl.tools {
			want = append(want, decidedOf(t, o.Decision, o.Input))
		}
		compareDecided(t, fmt.Sprintf("line %d, gateway vs replay", i+1), got, want)
		if acts := actions(t, got); acts != wantActions[i] {
			t.Errorf("line %d: the gateway decided %s, want %s", i+1, acts, wantActions[i])
		}
		toolCalls += len(rl.tools)
		if rl.request.Decision.Action == brightline.ActionDeny {
			denied++
		}
	}
	if toolCalls < 6 || denied != 1 {
		t.Errorf("the traffic made %d tool-call decisions and %d denials, want at least 6 and 1", toolCalls, denied)
	}

	// check, one line at a time, against a gateway with no history.
	for i, l := range traffic {
		at := t0.Add(l.at)
		got := newEquivalenceGateway(t, lp.Policy, tools, auth).send(t, l, keys[l.key], at)
		body := filepath.Join(dir, fmt.Sprintf("line%d.json", i+1))
		os.WriteFile(body, []byte(l.body), 0o600)
		keyFile := filepath.Join(dir, l.key+".key")
		os.WriteFile(keyFile, []byte(keys[l.key]), 0o600)
		args := []string{"check", "-config", cfgPath, "-principal-key", "@" + keyFile, "-dialect", l.dialect, "-time", at.Format(time.RFC3339)}
		if l.mission != "" {
			args = append(args, "-header", "X-Mission-Id: "+l.mission)
		}
		for _, c := range l.calls {
			args = append(args, "-tool-call", c.Name+"="+string(c.Arguments))
		}
		var res checkResult
		if err := json.Unmarshal([]byte(cli(append(args, body)...)), &res); err != nil {
			t.Fatal(err)
		}
		want := []decided{decidedOf(t, res.Decision, res.Input)}
		for _, c := range res.ToolCalls {
			want = append(want, decidedOf(t, c.Decision, c.Input))
		}
		compareDecided(t, fmt.Sprintf("line %d, gateway vs check", i+1), got, want)
	}
}

func compareDecided(t *testing.T, what string, got, want []decided) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d decisions, want %d\ngot:  %v\nwant: %v", what, len(got), len(want), got, want)
		return
	}
	for k := range got {
		if got[k] != want[k] {
			t.Errorf("%s, decision %d:\ngot  %s\n     %s\nwant %s\n     %s", what, k+1, got[k].Decision, got[k].Input, want[k].Decision, want[k].Input)
		}
	}
}

// actions summarises decisions as "stage:action[:rule]".
func actions(t *testing.T, ds []decided) string {
	var out []string
	for _, d := range ds {
		var dec brightline.Decision
		if err := json.Unmarshal([]byte(d.Decision), &dec); err != nil {
			t.Fatal(err)
		}
		a := string(dec.Stage) + ":" + string(dec.Action)
		if dec.Rule != "" {
			a += ":" + dec.Rule
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
