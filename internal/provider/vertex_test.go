package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/llm"
)

// newVertexPair starts a Vertex fake and a provider that authenticates to
// it with a service account key file, through the fake's token endpoint.
func newVertexPair(t *testing.T, fake *fakeupstream.Vertex) *Vertex {
	t.Helper()
	fake.Record = true
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, fake.ServiceAccountJSON(srv.URL+"/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewVertex(context.Background(), VertexConfig{Name: "vertex-test", Project: "fake-project", Region: "us-east5",
		BaseURL: srv.URL, CredentialsFile: file, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVertex(t *testing.T) {
	fake := &fakeupstream.Vertex{}
	v := newVertexPair(t, fake)
	ctx := context.Background()
	const model = "claude-sonnet-4-5@20250929"

	resp, err := v.Complete(ctx, &Call{Request: cloudRequest(model, "hello vertex")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content[0].Text != "echo: hello vertex" || resp.Dialect != brightline.DialectAnthropic {
		t.Errorf("got %+v, want the Anthropic echo", resp)
	}
	fake.Tool = &fakeupstream.ToolCall{Name: "get_weather", Arguments: `{"city":"Lima"}`}
	req := cloudRequest(model, "weather?")
	req.Tools = []llm.Tool{weatherTool}
	s, err := v.Stream(ctx, &Call{Request: req, Header: http.Header{"Anthropic-Beta": {"x-beta"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, calls, stop, _ := drain(t, s)
	if len(calls) != 1 || calls[0] != `get_weather {"city":"Lima"}` || stop != llm.StopToolUse {
		t.Errorf("stream: got %q, %q; want the get_weather call", calls, stop)
	}

	reqs := fake.Requests()
	for i, method := range []string{"rawPredict", "streamRawPredict"} {
		want := "/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:" + method
		if reqs[i].Path != want {
			t.Errorf("request %d: path %s, want %s", i, reqs[i].Path, want)
		}
		if got := reqs[i].Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ya29.fake-issued-") {
			t.Errorf("request %d: Authorization %q, want a token from the token endpoint", i, got)
		}
		var body map[string]json.RawMessage
		json.Unmarshal(reqs[i].Body, &body)
		if string(body["anthropic_version"]) != `"vertex-2023-10-16"` || body["model"] != nil || (i == 1) != (string(body["stream"]) == "true") {
			t.Errorf("request %d: body %s, want anthropic_version, no model, stream only when streaming", i, reqs[i].Body)
		}
	}
	if reqs[1].Header.Get("Anthropic-Beta") != "" {
		t.Error("anthropic-beta forwarded for a request that did not come in the Anthropic dialect")
	}
}

// The fake checks the bearer token: a wrong one gets Vertex's 401, which
// the router does not retry.
func TestVertexBadToken(t *testing.T) {
	fake := &fakeupstream.Vertex{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	v, err := NewVertex(context.Background(), VertexConfig{Name: "v", Project: "fake-project", Region: "global", BaseURL: srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.stolen", Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		t.Fatal(err)
	}
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: v, Model: "claude-opus-4-1@20250805"}}}}}
	_, served, err := r.Complete(context.Background(), cloudRequest("m", "hi"), nil)
	we, _ := errors.AsType[*llm.WireError](err)
	if we == nil || we.Status != 401 || we.Type != "UNAUTHENTICATED" || served.Attempts != 1 {
		t.Errorf("got %v after %d attempts, want one 401 UNAUTHENTICATED", err, served.Attempts)
	}
	if e, ok := errors.AsType[*brightline.Error](err); !ok || !strings.Contains(e.Message, "rejected the gateway's credentials") {
		t.Errorf("got %v, want the credentials message", err)
	}
}

// Vertex's quota error is retried, then the route fails over; an
// overloaded stream before its first event is retried.
func TestVertexQuotaFailover(t *testing.T) {
	quota := &fakeupstream.Vertex{Server: fakeupstream.Server{Fail: func(int) *fakeupstream.Failure { return &fakeupstream.Failure{Status: 429} }}}
	v1 := newVertexPair(t, quota)
	ok := &fakeupstream.Bedrock{}
	b := newBedrockPair(t, ok, "")
	r := &Router{
		Routes: []Route{{Model: "claude", Targets: []Target{
			{Provider: v1, Model: "claude-3-5-haiku@20241022"},
			{Provider: b, Model: "anthropic.claude-3-5-haiku-20241022-v1:0"},
		}}},
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	s, served, err := r.Stream(context.Background(), cloudRequest("claude", "hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _, _ := drain(t, s); text != "echo: hi" || quota.Count() != 2 || served.Provider != "bedrock-test" {
		t.Errorf("got %q from %s after %d quota errors, want the Bedrock echo after 2", text, served.Provider, quota.Count())
	}

	overloaded := &fakeupstream.Vertex{Server: fakeupstream.Server{Fail: func(n int) *fakeupstream.Failure {
		if n == 1 {
			return &fakeupstream.Failure{ErrorEvent: true}
		}
		return nil
	}}}
	v2 := newVertexPair(t, overloaded)
	r = &Router{Routes: []Route{{Model: "claude", Targets: []Target{{Provider: v2, Model: "claude-3-5-haiku@20241022"}}}},
		Sleep: func(context.Context, time.Duration) error { return nil }}
	s, _, err = r.Stream(context.Background(), cloudRequest("claude", "again"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _, _ := drain(t, s); text != "echo: again" || overloaded.Count() != 2 {
		t.Errorf("got %q after %d requests, want the echo after a retry", text, overloaded.Count())
	}
}

func TestDecodeVertexError(t *testing.T) {
	for _, tt := range []struct{ body, typ, msg string }{
		{`{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, "RESOURCE_EXHAUSTED", "Quota exceeded"},
		{`[{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}]`, "NOT_FOUND", "not found"},
		{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "overloaded_error", "Overloaded"},
	} {
		we := decodeVertexError(500, []byte(tt.body))
		if we.Type != tt.typ || we.Message != tt.msg {
			t.Errorf("%s: got %q %q, want %q %q", tt.body, we.Type, we.Message, tt.typ, tt.msg)
		}
	}
}
