package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

const approverKey = "bl_approver_key_0123456789"

// approvalHarness is a gateway with the default policy, a real approval
// service on SQLite mounted at /brightline/v1/approvals, and an approver
// holding the weapons-release-authority role.
type approvalHarness struct {
	*harness
	svc *approval.Service

	clockMu sync.Mutex
	offset  time.Duration // added to the store's clock, to reach expiry

	mu     sync.Mutex
	events []string // approval event types, in order
}

// activeKeys says every key is active: the harness's principals are not in
// the store.
type activeKeys struct{}

func (activeKeys) GetKey(_ context.Context, id string) (store.Key, error) {
	return store.Key{ID: id}, nil
}

// heldRequester is the principal of testKey, whose calls are held.
var heldRequester = brightline.Principal{ID: "key_test", Name: "test"}

func newApprovalHarness(t *testing.T) *approvalHarness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ah := &approvalHarness{}
	db.Now = func() time.Time {
		ah.clockMu.Lock()
		defer ah.clockMu.Unlock()
		return time.Now().Add(ah.offset)
	}
	key, _, err := approval.LoadOrCreateKey(filepath.Join(t.TempDir(), "approval.key"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := approval.New(approval.Config{Store: db, Keys: activeKeys{}, Signer: key, Now: db.Now, Record: func(_ context.Context, e approval.Event) error {
		ah.mu.Lock()
		defer ah.mu.Unlock()
		ah.events = append(ah.events, e.Type)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ah.svc = svc
	ah.harness = newHarness(t, gateway.Config{Approvals: svc})
	ah.auth.mu.Lock()
	ah.auth.keys[approverKey] = brightline.Principal{ID: "key_duty_officer", Name: "duty officer", Roles: []string{"weapons-release-authority"}}
	ah.auth.keys["bl_requester_with_role"] = brightline.Principal{ID: "key_test", Name: "test", Roles: []string{"weapons-release-authority"}}
	ah.auth.mu.Unlock()
	ah.gw.Handle("/brightline/v1/approvals", svc.Handler(ah.gw.Principal))
	ah.gw.Handle("/brightline/v1/approvals/", svc.Handler(ah.gw.Principal))
	return ah
}

// api calls the approvals API with key and decodes the JSON answer.
func (h *approvalHarness) api(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

var approvalIDRe = regexp.MustCompile(`approval_id: (\S+)\nstatus_url: (\S+)\nexpires_at: (\S+)`)

var agentTools = []openai.ChatCompletionToolUnionParam{
	openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "fire_interceptor",
		Description: openai.String("Launch an interceptor missile at a tracked target."),
		Parameters:  openai.FunctionParameters{"type": "object", "properties": map[string]any{"track": map[string]any{"type": "string"}}}}),
	openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather",
		Description: openai.String("Current weather for a city."),
		Parameters:  openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}),
}

// TestHeldForceCallLoop is the human-control safeguard end to end with
// the OpenAI SDK: weather flows freely; fire_interceptor is held, the
// requester cannot approve it, a duty officer with the role does, the
// requester retrieves the approved call and its token, and the token runs
// that exact call once.
func TestHeldForceCallLoop(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			h := newApprovalHarness(t)
			c := h.openaiClient(testKey)
			ask := func(prompt string) (openai.ChatCompletionMessage, string) {
				msg, finish, _ := openaiChat(t, c, stream, openai.ChatCompletionNewParams{
					Model: "simulated", Tools: agentTools,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
				})
				return msg, finish
			}

			msg, finish := ask(`/tool get_weather {"city":"Kyiv"}`)
			if finish != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
				t.Fatalf("weather: got %s %+v, want the call released", finish, msg.ToolCalls)
			}

			msg, finish = ask(`/tool fire_interceptor {"track":"T-17"}`)
			if finish == "tool_calls" || len(msg.ToolCalls) != 0 {
				t.Fatalf("fire: got %s %+v, want no executable call", finish, msg.ToolCalls)
			}
			m := approvalIDRe.FindStringSubmatch(msg.Content)
			if m == nil || !strings.Contains(msg.Content, "held for human approval") || !strings.Contains(msg.Content, "role weapons-release-authority") {
				t.Fatalf("fire: notice %q lacks the approval facts", msg.Content)
			}
			id := m[1]

			// The requester holds the role too, but may not decide its own call.
			if code, body := h.api(t, "POST", "/brightline/v1/approvals/"+id+"/approve", "bl_requester_with_role", ""); code != http.StatusForbidden {
				t.Errorf("self-approval: got %d %v, want 403", code, body)
			}
			if code, body := h.api(t, "GET", "/brightline/v1/approvals/"+id, testKey, ""); code != 200 || body["status"] != "pending" || body["token"] != nil {
				t.Errorf("before approval: got %d %v, want pending without a token", code, body)
			}
			if code, body := h.api(t, "POST", "/brightline/v1/approvals/"+id+"/approve", approverKey, ""); code != 200 || body["status"] != "approved" {
				t.Fatalf("approve: got %d %v", code, body)
			}
			code, body := h.api(t, "GET", "/brightline/v1/approvals/"+id, testKey, "")
			token, _ := body["token"].(string)
			if code != 200 || token == "" || body["tool"] != "fire_interceptor" {
				t.Fatalf("after approval: got %d %v, want the approved call and a token", code, body)
			}
			// The approval is bound to the route that proposed the call,
			// and can't be spent anywhere else.
			up, _ := body["upstream"].(string)
			if want := approval.GatewayUpstream("simulated/simulated"); up != want {
				t.Fatalf("approval upstream: got %q, want %q", up, want)
			}
			ctx := context.Background()
			if _, err := h.svc.Consume(ctx, token, approval.Call{Presenter: heldRequester, Upstream: approval.UpstreamGateway, Tool: "fire_interceptor", Arguments: json.RawMessage(`{"track":"T-17"}`)}); !errors.Is(err, approval.ErrWrongUpstream) {
				t.Errorf("executing at another upstream: got %v, want ErrWrongUpstream", err)
			}
			if _, err := h.svc.Consume(ctx, token, approval.Call{Presenter: heldRequester, Upstream: up, Tool: "fire_interceptor", Arguments: json.RawMessage(`{"track":"T-18"}`)}); err == nil {
				t.Error("changed arguments: the token was accepted")
			}
			if _, err := h.svc.Consume(ctx, token, approval.Call{Presenter: heldRequester, Upstream: up, Tool: "fire_interceptor", Arguments: json.RawMessage(`{"track": "T-17"}`)}); err != nil {
				t.Fatalf("executing the approved call: %v", err)
			}
			if _, err := h.svc.Consume(ctx, token, approval.Call{Presenter: heldRequester, Upstream: up, Tool: "fire_interceptor", Arguments: json.RawMessage(`{"track":"T-17"}`)}); err == nil {
				t.Error("replayed token: accepted")
			}
			h.mu.Lock()
			got := strings.Join(h.events, ",")
			h.mu.Unlock()
			if got != "created,approved,consumed" {
				t.Errorf("approval events: got %s, want created,approved,consumed", got)
			}
		})
	}
}

// TestHeldCallHeaders: a non-streamed answer also carries the held call in
// headers, and an Anthropic client gets the same notice shape.
func TestHeldCallHeaders(t *testing.T) {
	h := newApprovalHarness(t)
	status, hdr, body := h.post(t, "/v1/chat/completions",
		`{"model":"simulated","messages":[{"role":"user","content":"/tool fire_interceptor {\"track\":\"T-9\"}"}]}`, bearer(testKey))
	if status != 200 || hdr.Get(gateway.HeaderHeldApproval) == "" || !strings.Contains(hdr.Get(gateway.HeaderHeldStatusURL), hdr.Get(gateway.HeaderHeldApproval)) {
		t.Errorf("got %d %v, want the held call's headers", status, hdr)
	}
	if !strings.Contains(body, "approval_id: "+hdr.Get(gateway.HeaderHeldApproval)) {
		t.Errorf("body %s lacks the approval id", body)
	}
	m := anthropicChat(t, h.anthropicClient(testKey), true, anthropic.MessageNewParams{
		Model: "simulated", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(`/tool fire_interceptor {"track":"T-10"}`))},
	})
	if m.StopReason != anthropic.StopReasonEndTurn || approvalIDRe.FindString(anthropicText(m)) == "" {
		t.Errorf("anthropic: got %s %q, want end_turn with the notice", m.StopReason, anthropicText(m))
	}
	list, err := h.svc.List(context.Background(), approval.StatusPending)
	if err != nil || len(list) != 2 {
		t.Fatalf("pending approvals: got %d (%v), want 2", len(list), err)
	}
	for _, a := range list {
		if a.Principal.ID != "key_test" || a.Tool != "fire_interceptor" || a.Require.Role != "weapons-release-authority" || a.Class != "force" {
			t.Errorf("approval %+v: want requester key_test, fire_interceptor, weapons-release-authority, force", a)
		}
	}
}

// TestHeldCallDeniedAndExpired: the same loop ending in a denial (with its
// reason, and no token), and in expiry (recorded as expiry, not denial).
func TestHeldCallDeniedAndExpired(t *testing.T) {
	h := newApprovalHarness(t)
	hold := func(track string) string {
		msg, _, _ := openaiChat(t, h.openaiClient(testKey), false, openai.ChatCompletionNewParams{
			Model: "simulated", Tools: agentTools,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(`/tool fire_interceptor {"track":"` + track + `"}`)},
		})
		m := approvalIDRe.FindStringSubmatch(msg.Content)
		if m == nil {
			t.Fatalf("no approval in %q", msg.Content)
		}
		return m[1]
	}

	denied := hold("T-1")
	if code, body := h.api(t, "POST", "/brightline/v1/approvals/"+denied+"/deny", approverKey, `{}`); code != 400 {
		t.Errorf("deny without a reason: got %d %v, want 400", code, body)
	}
	if code, body := h.api(t, "POST", "/brightline/v1/approvals/"+denied+"/deny", approverKey, `{"reason":"track T-1 is a civilian airliner"}`); code != 200 || body["status"] != "denied" {
		t.Fatalf("deny: got %d %v", code, body)
	}
	code, body := h.api(t, "GET", "/brightline/v1/approvals/"+denied, testKey, "")
	if code != 200 || body["status"] != "denied" || body["token"] != nil || !strings.Contains(fmt.Sprint(body["votes"]), "civilian airliner") {
		t.Errorf("after denial: got %d %v, want denied with the reason and no token", code, body)
	}

	expired := hold("T-2")
	h.clockMu.Lock()
	h.offset = 16 * time.Minute // the default policy's approval_ttl is 15m
	h.clockMu.Unlock()
	if code, body := h.api(t, "POST", "/brightline/v1/approvals/"+expired+"/approve", approverKey, ""); code == 200 {
		t.Errorf("approving after expiry: got %d %v, want a refusal", code, body)
	}
	if code, body := h.api(t, "GET", "/brightline/v1/approvals/"+expired, testKey, ""); code != 200 || body["status"] != "expired" || body["token"] != nil {
		t.Errorf("after expiry: got %d %v, want expired without a token", code, body)
	}
	h.mu.Lock()
	got := strings.Join(h.events, ",")
	h.mu.Unlock()
	if got != "created,denied,created,expired" {
		t.Errorf("approval events: got %s, want created,denied,created,expired", got)
	}
}
