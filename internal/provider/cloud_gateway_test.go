package provider_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/provider"
)

const cloudKey = "bl_cloud_test_key_0123456789"

type oneKey struct{}

func (oneKey) Authenticate(_ context.Context, key string) (brightline.Principal, error) {
	if key != cloudKey {
		return brightline.Principal{}, brightline.ErrNotFound
	}
	return brightline.Principal{ID: "key_cloud", Name: "cloud test", Roles: []string{"user"}}, nil
}

// cloudGateway is a gateway with the default policy in front of a Bedrock
// and a Vertex fake, serving:
//
//	claude-bedrock → Bedrock InvokeModel (us.anthropic.claude-…)
//	nova           → Bedrock Converse (amazon.nova-pro-v1:0)
//	claude-vertex  → Vertex rawPredict (claude-sonnet-4-5@20250929)
type cloudGateway struct {
	srv     *httptest.Server
	bedrock *fakeupstream.Bedrock
	vertex  *fakeupstream.Vertex
}

func newCloudGateway(t *testing.T) *cloudGateway {
	t.Helper()
	cg := &cloudGateway{
		bedrock: &fakeupstream.Bedrock{Region: "us-gov-west-1", AccessKeyID: "AKIDGW", SecretAccessKey: "gw-secret"},
		vertex:  &fakeupstream.Vertex{Project: "gw-project"},
	}
	bs := httptest.NewServer(cg.bedrock)
	vs := httptest.NewServer(cg.vertex)
	t.Cleanup(bs.Close)
	t.Cleanup(vs.Close)
	ctx := context.Background()
	b, err := provider.NewBedrock(ctx, provider.BedrockConfig{Name: "bedrock", Region: "us-gov-west-1", BaseURL: bs.URL,
		AccessKeyID: "AKIDGW", SecretAccessKey: "gw-secret", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sa := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(sa, cg.vertex.ServiceAccountJSON(vs.URL+"/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := provider.NewVertex(ctx, provider.VertexConfig{Name: "vertex", Project: "gw-project", Region: "us-east5", BaseURL: vs.URL,
		CredentialsFile: sa, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	router := &provider.Router{Routes: []provider.Route{
		{Model: "claude-bedrock", Targets: []provider.Target{{Provider: b, Model: "us.anthropic.claude-3-5-sonnet-20241022-v2:0"}}},
		{Model: "nova", Targets: []provider.Target{{Provider: b, Model: "amazon.nova-pro-v1:0"}}},
		{Model: "claude-vertex", Targets: []provider.Target{{Provider: v, Model: "claude-sonnet-4-5@20250929"}}},
	}}
	cg.srv = httptest.NewServer(gateway.New(gateway.Config{}, oneKey{}, router))
	t.Cleanup(cg.srv.Close)
	return cg
}

func (cg *cloudGateway) post(t *testing.T, path, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", cg.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if path == "/v1/messages" {
		req.Header.Set("x-api-key", cloudKey)
		req.Header.Set("anthropic-version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+cloudKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Both client dialects reach each cloud route, streamed and not.
func TestCloudProvidersThroughGateway(t *testing.T) {
	cg := newCloudGateway(t)
	for _, model := range []string{"claude-bedrock", "nova", "claude-vertex"} {
		for _, stream := range []bool{false, true} {
			s := "false"
			if stream {
				s = "true"
			}
			t.Run(model+"/openai/stream="+s, func(t *testing.T) {
				status, _, body := cg.post(t, "/v1/chat/completions",
					`{"model":"`+model+`","stream":`+s+`,"messages":[{"role":"user","content":"ping from openai"}]}`)
				if status != 200 || !strings.Contains(body, "echo: ") || !strings.Contains(strings.ReplaceAll(body, `","`, ""), "ping") {
					t.Errorf("got %d %s, want 200 and the echo", status, body)
				}
				if stream && !strings.Contains(body, "data: [DONE]") {
					t.Errorf("stream %s does not end with [DONE]", body)
				}
			})
			t.Run(model+"/anthropic/stream="+s, func(t *testing.T) {
				status, _, body := cg.post(t, "/v1/messages",
					`{"model":"`+model+`","max_tokens":64,"stream":`+s+`,"messages":[{"role":"user","content":"ping from anthropic"}]}`)
				if status != 200 || !strings.Contains(body, "echo: ") {
					t.Errorf("got %d %s, want 200 and the echo", status, body)
				}
				if stream && !strings.Contains(body, "event: message_stop") {
					t.Errorf("stream %s does not end with message_stop", body)
				}
				if !stream && !strings.Contains(body, `"model":"`+model+`"`) && !strings.Contains(body, `"type":"message"`) {
					t.Errorf("answer %s is not an Anthropic message", body)
				}
			})
		}
	}
	if cg.bedrock.Count() != 8 || cg.vertex.Count() != 4 {
		t.Errorf("fakes saw %d and %d requests, want 8 and 4", cg.bedrock.Count(), cg.vertex.Count())
	}
}

// The safeguards sit in the gateway, so a force tool call proposed by a
// model on Bedrock is held like any other: the client gets the notice,
// never the call.
func TestBedrockForceCallHeld(t *testing.T) {
	cg := newCloudGateway(t)
	cg.bedrock.Tool = &fakeupstream.ToolCall{Name: "fire_interceptor", Arguments: `{"track":"T-3"}`}
	tools := `"tools":[{"name":"fire_interceptor","description":"Launch an interceptor missile at a tracked target.","input_schema":{"type":"object","properties":{"track":{"type":"string"}}}}]`
	for _, model := range []string{"claude-bedrock", "nova"} {
		for _, stream := range []string{"false", "true"} {
			status, _, body := cg.post(t, "/v1/messages",
				`{"model":"`+model+`","max_tokens":64,"stream":`+stream+`,`+tools+`,"messages":[{"role":"user","content":"engage track T-3"}]}`)
			if status != 200 || !strings.Contains(body, "[brightline]") || !strings.Contains(body, "fire_interceptor") || strings.Contains(body, `"tool_use"`) {
				t.Errorf("%s stream=%s: got %d %s, want the held-call notice and no tool_use", model, stream, status, body)
			}
		}
	}
}
