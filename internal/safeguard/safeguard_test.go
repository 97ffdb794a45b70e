package safeguard_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
	"github.com/brightline/brightline/internal/toolclass"
)

func load(t testing.TB, yaml string) *policy.Policy {
	t.Helper()
	p, err := policy.Load("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const toolPolicy = `
tools:
  - {name: launch_drone_patrol, effect: informational}
  - {name: Send_Email, effect: consequential}
rules:
  - id: hold-force
    stage: tool_call
    when: tool_call.effect == "force"
    action: require_approval
    message: held
  - id: red-team
    stage: tool_call
    when: has(tool_call.arguments.team) && tool_call.arguments.team == "red" && tool_call.arguments.missing == 1
    action: deny
    message: denied
`

// TestEffect: the signed policy's declaration, else the classifier (force
// for undeclared non-informational tools under undeclared_tools: hold),
// then the operator's config, which only raises.
func TestEffect(t *testing.T) {
	classify := load(t, toolPolicy)
	hold := load(t, toolPolicy+"undeclared_tools: hold\n")
	config, err := policy.NewToolEffects([]policy.ToolDecl{
		{Name: "send_email", Effect: "force"},
		{Name: "get_*", Effect: "consequential"},
		{Name: "launch_drone_patrol", Effect: "consequential"},
	}, policy.NormalizeToolName)
	if err != nil {
		t.Fatal(err)
	}
	weather := &toolclass.Tool{Name: "get_weather", Description: "Returns the forecast for a city."}
	tests := []struct {
		name     string
		p        *policy.Policy
		tools    *policy.ToolEffects
		tool     string
		def      *toolclass.Tool
		want     string
		declared bool
		raised   bool
	}{
		{"declared in the policy", classify, nil, "launch_drone_patrol", nil, "informational", true, false},
		{"declared, look-alike spelling", classify, nil, "SEND_EMAIL", nil, "consequential", true, false},
		{"classified from the name", classify, nil, "fire_interceptor", nil, "force", false, false},
		{"classified from the definition", classify, nil, "get_weather", weather, "informational", false, false},
		{"hold: undeclared consequential is force", hold, nil, "delete_account", nil, "force", false, false},
		{"hold: undeclared informational stays", hold, nil, "get_weather", weather, "informational", false, false},
		{"config raises a declared class", classify, config, "send_email", nil, "force", true, true},
		{"config raises a classified class", classify, config, "get_weather", weather, "consequential", false, true},
		{"config raises the policy's informational", classify, config, "launch_drone_patrol", nil, "consequential", true, true},
		{"config never lowers", classify, config, "fire_interceptor", nil, "force", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := safeguard.New(safeguard.Config{Tools: tt.tools})
			got := d.Effect(tt.p, tt.tool, tt.def)
			if got.Class != tt.want || got.Declared != tt.declared || got.Raised != tt.raised {
				t.Errorf("got %+v, want class %s, declared %v, raised %v", got, tt.want, tt.declared, tt.raised)
			}
		})
	}
}

// TestToolCallFailsClosed: arguments that are not a JSON object, and a
// rule that cannot be evaluated, are errors, never an allow.
func TestToolCallFailsClosed(t *testing.T) {
	p := load(t, toolPolicy)
	d := safeguard.New(safeguard.Config{})
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	who := brightline.Principal{ID: "key_op", Org: "army"}
	for _, args := range []string{`[1]`, `"x"`, `{"a":`, `42`} {
		if o, err := d.ToolCall(p, safeguard.ToolCall{Principal: who, Name: "get_weather", Arguments: json.RawMessage(args), Time: at}); err == nil {
			t.Errorf("arguments %s: got %v, want an error", args, o.Decision)
		}
	}
	// tool_call.arguments.missing does not exist: the rule fails.
	o, err := d.ToolCall(p, safeguard.ToolCall{Principal: who, Name: "get_weather", Arguments: json.RawMessage(`{"team":"red"}`), Upstream: "mcp:weather", Time: at})
	if err == nil {
		t.Fatalf("a rule that cannot be evaluated: got %v, want an error", o.Decision)
	}
	if o.Input == nil || o.Input.ToolCall.Name != "get_weather" || o.Upstream != "mcp:weather" {
		t.Errorf("outcome of a failed decision: got %+v, want the input and upstream filled in", o)
	}
	o, err = d.ToolCall(p, safeguard.ToolCall{Principal: who, Name: "fire_interceptor", Arguments: json.RawMessage(`{"track":"T-17"}`), Time: at})
	if err != nil || o.Decision.Action != brightline.ActionRequireApproval || o.Effect.Class != "force" || o.Input.ToolCall.Arguments["track"] != "T-17" {
		t.Errorf("a force call with its real arguments: got %+v, %v; want require_approval of a force call", o, err)
	}
}

// TestExchange: the request's counters (requests_1h, the org windows),
// then a tool call classified from the request's definition, then the
// response, all with the request's input.
func TestExchange(t *testing.T) {
	p := load(t, toolPolicy+`
  - id: busy
    stage: request
    when: counters.requests_1h > 2
    action: deny
    message: denied
  - id: long-answer
    stage: response
    when: response.text_bytes > 10
    action: deny
    message: denied
`)
	s := &safeguard.Surveillance{Keyer: subjects.NewKeyer([]byte("k")), Counter: &subjects.Counter{}, Profiles: &subjects.Profiles{}, Requests: &subjects.Requests{}}
	var traced []brightline.Stage
	d := safeguard.New(safeguard.Config{Surveillance: s, Trace: func(o safeguard.Outcome) { traced = append(traced, o.Decision.Stage) }})
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	req := func(text string) *llm.Request {
		return &llm.Request{Model: "m", Dialect: brightline.DialectOpenAI,
			Tools:    []llm.Tool{{Name: "strike", Description: "Returns the list of labour strikes in the news."}},
			Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
	}
	texts := []string{"Maria Garcia, (212) 555-0147.", "James Chen, (617) 555-0199.", "hello"}
	orgmates := []brightline.Principal{{ID: "key_a", Org: "acme"}, {ID: "key_b", Org: "acme"}, {ID: "key_a", Org: "acme"}}
	var x *safeguard.Exchange
	for i, text := range texts {
		var err error
		x, err = d.Request(p, orgmates[i], req(text), nil, at.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
	}
	c := x.Input.Counters
	if c.Requests1h != 2 || c.Subjects24h != 1 || c.OrgSubjects24h != 2 || c.OrgUSPersonSubjects24h != 2 {
		t.Errorf("key_a's second request: got %+v, want requests_1h 2, 1 subject, 2 org subjects (both US persons)", c)
	}
	o, err := x.ToolCall("strike", nil, "openai")
	if err != nil || o.Input.ToolCall.Effect != o.Effect.Class || o.Input.Counters != c || o.Input.ToolCall.Arguments == nil {
		t.Errorf("tool call: got %+v, %v; want the request's input with the call's attributes", o, err)
	}
	r, err := x.Response(llm.StopEndTurn, 11, true)
	if err != nil || r.Decision.Action != brightline.ActionDeny || r.Input.ToolCall.Name != "" {
		t.Errorf("response: got %+v, %v; want deny, without the tool call's attributes", r.Decision, err)
	}
	if x.Input.ToolCall.Name != "" || x.Input.Response.TextBytes != 0 {
		t.Errorf("the request's input was changed: %+v", x.Input)
	}
	if got := strings.Trim(strings.Join(stages(traced), " "), " "); got != "request request request tool_call response" {
		t.Errorf("traced %q", got)
	}
}

func stages(ss []brightline.Stage) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
