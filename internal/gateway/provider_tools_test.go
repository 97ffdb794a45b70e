package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
)

// Provider-side execution is a tool path too (issue 11): request fields
// the gateway does not model, anthropic-beta values, server-executed tools
// and response blocks it does not know are refused unless the signed
// policy allows them; server tool calls it allows are decided like any
// tool call.

// providerToolsPolicy allows the MCP connector (its beta and the mcp
// server tool kind), web search, and OpenAI's prediction field, and
// carries the human-control rule and the bulk-records rule of the default
// policy.
const providerToolsPolicy = `
allow:
  request_fields:
    openai: [prediction]
  anthropic_beta: [mcp-client-2025-04-04]
  server_tools: [mcp, web_search]
safeguards:
  - id: human-control-of-force
    title: Human control of force
    rules:
      - id: force-requires-approval
        stage: tool_call
        when: tool_call.effect == "force"
        action: require_approval
        message: Use of force requires approval by an authorised human.
  - id: no-mass-domestic-surveillance
    title: No mass domestic surveillance
    rules:
      - id: bulk-us-person-records
        stage: request
        when: findings.us_person_subjects > 25
        action: deny
        message: The request holds records about more than 25 US persons.
`

func providerToolsHarness(t *testing.T, a *fakeAuditor) *harness {
	t.Helper()
	p, err := policy.Load("provider-tools.yaml", []byte(providerToolsPolicy))
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{Policy: gateway.StaticPolicy{Policy: p, Source: "provider-tools.yaml"}}
	if a != nil {
		cfg.Audit = a
	}
	return newHarness(t, cfg)
}

const mcpBeta = "mcp-client-2025-04-04"

func mcpRequest(stream bool) string {
	return fmt.Sprintf(`{"model":"via-anthropic","max_tokens":100,"stream":%v,"messages":[{"role":"user","content":"Engage track T-17."}],`+
		`"mcp_servers":[{"type":"url","name":"battery","url":"https://battery.example/mcp"}]}`, stream)
}

func withBeta(hdr map[string]string, beta string) map[string]string {
	hdr["anthropic-beta"] = beta
	return hdr
}

// TestMCPServersRefusedByDefault: with the default policy an MCP
// connector request never reaches the provider: the beta is refused, and
// so is mcp_servers when only the beta is allowed.
func TestMCPServersRefusedByDefault(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	status, _, body := h.post(t, "/v1/messages", mcpRequest(false), withBeta(anthropicHdr(testKey), mcpBeta))
	typ, msg := errorShape(t, "/v1/messages", body)
	if status != 400 || typ != "invalid_request_error" || !strings.Contains(msg, mcpBeta) || !strings.Contains(msg, "signed policy") {
		t.Errorf("default policy: got %d %s %q, want 400 invalid_request_error naming the beta and the signed policy", status, typ, msg)
	}

	p, err := policy.Load("beta-only.yaml", []byte("allow:\n  anthropic_beta: ["+mcpBeta+"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}})
	for _, stream := range []bool{false, true} {
		status, _, body = h2.post(t, "/v1/messages", mcpRequest(stream), withBeta(anthropicHdr(testKey), mcpBeta))
		typ, msg = errorShape(t, "/v1/messages", body)
		if status != 400 || typ != "invalid_request_error" || !strings.Contains(msg, "mcp_servers") || !strings.Contains(msg, `"mcp"`) ||
			!strings.Contains(msg, "signed policy must allow") {
			t.Errorf("beta allowed, kind not (stream %v): got %d %s %q, want 400 naming mcp_servers, the kind and the signed policy", stream, status, typ, msg)
		}
	}
	if n := h.anthropic.Count() + h2.anthropic.Count(); n != 0 {
		t.Errorf("the provider got %d MCP connector requests, want none", n)
	}
}

// TestMCPToolUseWithheld: with the connector allowed, an mcp_tool_use of
// fire_interceptor in the answer (which the provider has already run) is
// decided as a force tool call: withheld with its result, replaced by a
// notice that says so, and logged; streamed and not.
func TestMCPToolUseWithheld(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			a := &fakeAuditor{}
			h := providerToolsHarness(t, a)
			h.anthropic.ServerTool = &fakeupstream.ServerToolCall{Kind: "mcp", Server: "battery", Name: "fire_interceptor",
				Arguments: `{"track":"T-17"}`, Result: "interceptor away"}
			status, _, body := h.post(t, "/v1/messages", mcpRequest(stream), withBeta(anthropicHdr(testKey), mcpBeta))
			if status != 200 {
				t.Fatalf("got %d %s", status, body)
			}
			reqs := h.anthropic.Requests()
			if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"mcp_servers"`) {
				t.Fatalf("the allowed connector request did not reach the provider as sent")
			}
			// (The model's own text may mention the result; the result
			// block itself is withheld.)
			for _, leak := range []string{"mcp_tool_use", "mcp_tool_result", `"text":"interceptor away"`, "T-17"} {
				if strings.Contains(body, leak) {
					t.Errorf("the client received %q: %s", leak, body)
				}
			}
			for _, want := range []string{"[brightline]", "fire_interceptor", "force-requires-approval", "already", "withheld", "logged"} {
				if !strings.Contains(body, want) {
					t.Errorf("the notice lacks %q: %s", want, body)
				}
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			found := false
			for _, e := range a.entries {
				if e.Stage == "tool_call" && e.Detail["tool"] == "fire_interceptor" {
					found = true
					if e.Action != "require_approval" || e.Detail["effect"] != "force" {
						t.Errorf("got tool_call entry %s %v, want require_approval of a force call", e.Action, e.Detail)
					}
				}
			}
			if !found {
				t.Errorf("no tool_call entry for fire_interceptor in the audit log: %+v", a.entries)
			}
		})
	}
}

// TestAllowedServerToolReleased: an informational server tool the policy
// allows (web search) reaches the client with its result, in passthrough.
func TestAllowedServerToolReleased(t *testing.T) {
	h := providerToolsHarness(t, nil)
	h.anthropic.ServerTool = &fakeupstream.ServerToolCall{Kind: "web_search", Arguments: `{"query":"weather in Boston"}`, Result: "Sunny in Boston"}
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"via-anthropic","max_tokens":100,"stream":%v,"messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":1}]}`, stream)
		status, _, out := h.post(t, "/v1/messages", body, anthropicHdr(testKey))
		if status != 200 || !strings.Contains(out, "server_tool_use") || !strings.Contains(out, "web_search_tool_result") || !strings.Contains(out, "Sunny in Boston") {
			t.Errorf("stream %v: got %d %s, want the search and its result", stream, status, out)
		}
	}
	// Not allowed by the default policy.
	d := newHarness(t, gateway.Config{})
	status, _, out := d.post(t, "/v1/messages", `{"model":"via-anthropic","max_tokens":10,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, anthropicHdr(testKey))
	if _, msg := errorShape(t, "/v1/messages", out); status != 400 || !strings.Contains(msg, `"web_search"`) || !strings.Contains(msg, "signed policy") {
		t.Errorf("default policy: got %d %s, want 400 naming the web_search kind", status, out)
	}
}

// roster is 40 people with US phone numbers.
func roster() string {
	first := []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
		"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen"}
	last := []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee"}
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "%s %s, (212) 555-%04d\n", first[i%20], last[(i*7)%20], 1000+i)
	}
	return b.String()
}

// TestPredictionRosterCounted: text in an unmodelled field the policy
// allows is inspected like the rest: a 40-person roster in
// prediction.content is a bulk record of US persons.
func TestPredictionRosterCounted(t *testing.T) {
	h := providerToolsHarness(t, nil)
	body := fmt.Sprintf(`{"model":"via-openai","messages":[{"role":"user","content":"Tidy up this file."}],"prediction":{"type":"content","content":%q}}`, roster())
	status, _, out := h.post(t, "/v1/chat/completions", body, bearer(testKey))
	if _, msg := errorShape(t, "/v1/chat/completions", out); status != 403 || !strings.Contains(msg, "bulk-us-person-records") {
		t.Errorf("got %d %s, want 403 by bulk-us-person-records", status, out)
	}
	if n := h.openai.Count(); n != 0 {
		t.Errorf("the roster reached the provider %d times", n)
	}
	// A short prediction is allowed and forwarded as sent.
	status, _, out = h.post(t, "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}],"prediction":{"type":"content","content":"hello"}}`, bearer(testKey))
	if status != 200 || h.openai.Count() != 1 || !strings.Contains(string(h.openai.Requests()[0].Body), `"prediction"`) {
		t.Errorf("allowed prediction: got %d %s, want it forwarded", status, out)
	}
}

// TestUnknownRequestField: a field the gateway does not model is a 400 in
// the client's dialect naming it, unless the policy allows it.
func TestUnknownRequestField(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	for _, c := range []struct{ path, body, field string }{
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}],"future_field":1}`, "future_field"},
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}],"prediction":{"type":"content","content":"x"}}`, "prediction"},
		{"/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"user","content":"hi"}],"web_search_options":{}}`, "web_search_options"},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"future_field":1}`, "future_field"},
		{"/v1/messages", `{"model":"via-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"container":"cntr_1"}`, "container"},
	} {
		hdr := bearer(testKey)
		wantType := "invalid_request_error"
		if c.path == "/v1/messages" {
			hdr = anthropicHdr(testKey)
		}
		status, _, body := h.post(t, c.path, c.body, hdr)
		typ, msg := errorShape(t, c.path, body)
		if status != 400 || typ != wantType || !strings.Contains(msg, c.field) || !strings.Contains(msg, "signed policy") {
			t.Errorf("%s %s: got %d %s %q, want 400 %s naming %s", c.path, c.field, status, typ, msg, wantType, c.field)
		}
	}
	if n := h.openai.Count() + h.anthropic.Count(); n != 0 {
		t.Errorf("%d refused requests reached a provider", n)
	}
	// Known harmless parameters pass.
	if status, _, body := h.post(t, "/v1/messages", `{"model":"via-anthropic","max_tokens":5,"top_k":3,"service_tier":"auto","messages":[{"role":"user","content":"hi"}]}`, anthropicHdr(testKey)); status != 200 {
		t.Errorf("top_k, service_tier: got %d %s", status, body)
	}
	if status, _, body := h.post(t, "/v1/chat/completions", `{"model":"via-openai","seed":7,"response_format":{"type":"text"},"messages":[{"role":"user","content":"hi"}]}`, bearer(testKey)); status != 200 {
		t.Errorf("seed, response_format: got %d %s", status, body)
	}
}

// TestUnknownAnthropicBeta: an anthropic-beta value outside the built-in
// list and the policy is a 400 naming it.
func TestUnknownAnthropicBeta(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	const body = `{"model":"via-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	status, _, out := h.post(t, "/v1/messages", body, withBeta(anthropicHdr(testKey), "prompt-caching-2024-07-31, files-api-2025-04-14"))
	typ, msg := errorShape(t, "/v1/messages", out)
	if status != 400 || typ != "invalid_request_error" || !strings.Contains(msg, "files-api-2025-04-14") || strings.Contains(msg, "prompt-caching") {
		t.Errorf("got %d %s %q, want 400 naming files-api-2025-04-14 only", status, typ, msg)
	}
	if h.anthropic.Count() != 0 {
		t.Error("the request reached the provider")
	}
	if status, _, out := h.post(t, "/v1/messages", body, withBeta(anthropicHdr(testKey), "interleaved-thinking-2025-05-14")); status != 200 {
		t.Errorf("a harmless beta: got %d %s", status, out)
	}
}

// TestUnknownResponseBlockRefused: a content block of a type the gateway
// does not know never reaches the client, not even in passthrough: the
// answer fails with an error naming the type, and a stream ends with an
// error event.
func TestUnknownResponseBlockRefused(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.anthropic.ExtraBlock = `{"type":"hologram","payload":"coordinates of every protester"}`
	for _, c := range []struct {
		path   string
		stream bool
	}{
		{"/v1/messages", false}, {"/v1/messages", true},
		{"/v1/chat/completions", false}, {"/v1/chat/completions", true},
	} {
		hdr := anthropicHdr(testKey)
		body := fmt.Sprintf(`{"model":"via-anthropic","max_tokens":50,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, c.stream)
		if c.path == "/v1/chat/completions" {
			hdr = bearer(testKey)
			body = fmt.Sprintf(`{"model":"via-anthropic","stream":%v,"messages":[{"role":"user","content":"hi"}]}`, c.stream)
		}
		status, _, out := h.post(t, c.path, body, hdr)
		if strings.Contains(out, "protester") {
			t.Errorf("%s stream %v: the unknown block reached the client: %s", c.path, c.stream, out)
		}
		if !c.stream {
			if _, msg := errorShape(t, c.path, out); status != 502 || !strings.Contains(msg, `"hologram"`) {
				t.Errorf("%s: got %d %s, want 502 naming the block type", c.path, status, out)
			}
			continue
		}
		wantErr := "event: error"
		if c.path == "/v1/chat/completions" {
			wantErr = `"error"`
		}
		if status != 200 || !strings.Contains(out, wantErr) || !strings.Contains(out, "hologram") {
			t.Errorf("%s stream: got %d %s, want an error event naming the block type", c.path, status, out)
		}
	}
}

// TestServerBlockOfDisallowedKindRefused: a server tool block of a kind
// the policy does not allow is refused even if the provider sends it
// unasked.
func TestServerBlockOfDisallowedKindRefused(t *testing.T) {
	h := newHarness(t, gateway.Config{})
	h.anthropic.ExtraBlock = `{"type":"server_tool_use","id":"srvtoolu_9","name":"code_execution","input":{"code":"import os"}}`
	for _, stream := range []bool{false, true} {
		status, _, out := h.post(t, "/v1/messages", fmt.Sprintf(`{"model":"via-anthropic","max_tokens":50,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream), anthropicHdr(testKey))
		if strings.Contains(out, "import os") || !strings.Contains(out, "code_execution") || (!stream && status != 502) {
			t.Errorf("stream %v: got %d %s, want the answer refused naming the kind", stream, status, out)
		}
	}
}

// TestRedactionDropsExtraFields: a redacted request is sent re-encoded,
// so the unredacted text of an allowed unmodelled field never reaches the
// provider; the client is told which fields were dropped.
func TestRedactionDropsExtraFields(t *testing.T) {
	p, err := policy.Load("p.yaml", []byte(`
allow:
  request_fields:
    openai: [prediction]
rules:
  - id: mask-grids
    stage: request
    when: request.text_bytes > 0
    action: redact
    redact: ['\b\d{2}[A-Z]{3}\d{8}\b']
    message: Grid references are masked.
`))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}})
	status, rh, body := h.post(t, "/v1/chat/completions",
		`{"model":"via-openai","messages":[{"role":"user","content":"move to 38SMB44881234"}],"prediction":{"type":"content","content":"grid 38SMB44881234"}}`, bearer(testKey))
	if status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	sent := string(h.openai.Requests()[0].Body)
	if strings.Contains(sent, "38SMB44881234") || strings.Contains(sent, "prediction") {
		t.Errorf("the provider got %s, want the redacted request without prediction", sent)
	}
	if got := rh.Get("x-brightline-dropped-fields"); got != "prediction" {
		t.Errorf("x-brightline-dropped-fields: got %q, want prediction", got)
	}
}

// TestAnthropicClientToolDecided: tools Anthropic defines but the client
// runs (bash, computer, text_editor) pass the allow-list, reach the
// provider as defined, and their calls are decided like any tool call.
func TestAnthropicClientToolDecided(t *testing.T) {
	p, err := policy.Load("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := policy.NewToolEffects([]policy.ToolDecl{{Name: "bash", Effect: "force"}}, policy.NormalizeToolName)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}, Tools: tools})
	h.anthropic.Tool = &fakeupstream.ToolCall{Name: "bash", Arguments: `{"command":"systemctl start launcher"}`}
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"via-anthropic","max_tokens":50,"stream":%v,"messages":[{"role":"user","content":"go"}],"tools":[{"type":"bash_20250124","name":"bash"}]}`, stream)
		status, _, out := h.post(t, "/v1/messages", body, withBeta(anthropicHdr(testKey), "computer-use-2025-01-24"))
		if status != 200 || strings.Contains(out, "systemctl") || !strings.Contains(out, "Tool call bash held for human approval") {
			t.Errorf("stream %v: got %d %s, want the bash call held", stream, status, out)
		}
		reqs := h.anthropic.Requests()
		if sent := string(reqs[len(reqs)-1].Body); !strings.Contains(sent, `{"type":"bash_20250124","name":"bash"}`) {
			t.Errorf("stream %v: the provider got %s, want the tool as defined", stream, sent)
		}
	}
}
