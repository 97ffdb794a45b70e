package fakeupstream

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"
)

// TestServerToolWireFormat reads the fake's server tool answers with the
// Anthropic SDK's own types, streamed and not, so that the fake speaks the
// real format.
func TestServerToolWireFormat(t *testing.T) {
	for _, st := range []ServerToolCall{
		{Kind: "mcp", Server: "battery", Name: "fire_interceptor", Arguments: `{"track":"T-17"}`, Result: "launched"},
		{Kind: "web_search", Arguments: `{"query":"weather"}`, Result: "Sunny"},
		{Kind: "web_fetch", Arguments: `{"url":"https://example.com/page"}`, Result: "page text"},
		{Kind: "code_execution", Arguments: `{"code":"print(1)"}`, Result: "1"},
	} {
		s := &Server{ServerTool: &st}
		srv := httptest.NewServer(s)
		defer srv.Close()
		body := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"go"}],`
		if st.Kind == "mcp" {
			body += `"mcp_servers":[{"type":"url","name":"battery","url":"https://mcp.example/sse"}]`
		} else {
			body += `"tools":[{"type":"` + st.Kind + `_20250305","name":"` + st.Kind + `"}]`
		}
		wantUse := "server_tool_use"
		if st.Kind == "mcp" {
			wantUse = "mcp_tool_use"
		}
		for _, stream := range []bool{false, true} {
			b := body + `,"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
			req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(b))
			req.Header.Set("anthropic-beta", "mcp-client-2025-04-04")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var msg anthropic.BetaMessage
			if !stream {
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := json.Unmarshal(data, &msg); err != nil {
					t.Fatalf("%s: %v: %s", st.Kind, err, data)
				}
			} else {
				dec := ssestream.NewDecoder(resp)
				str := ssestream.NewStream[anthropic.BetaRawMessageStreamEventUnion](dec, nil)
				for str.Next() {
					if err := msg.Accumulate(str.Current()); err != nil {
						t.Fatalf("%s stream: %v", st.Kind, err)
					}
				}
				if err := str.Err(); err != nil {
					t.Fatalf("%s stream: %v", st.Kind, err)
				}
			}
			if len(msg.Content) != 3 {
				t.Fatalf("%s (stream %v): got %d blocks, want use, result, text", st.Kind, stream, len(msg.Content))
			}
			use := msg.Content[0]
			if use.Type != wantUse || use.ID == "" || use.Name == "" {
				t.Errorf("%s (stream %v): got first block %s, want a complete %s", st.Kind, stream, use.RawJSON(), wantUse)
			}
			if st.Kind == "mcp" && use.ServerName != "battery" {
				t.Errorf("mcp (stream %v): server_name %q, want battery", stream, use.ServerName)
			}
			in, _ := json.Marshal(use.Input)
			var got, want any
			json.Unmarshal(in, &got)
			json.Unmarshal([]byte(st.Arguments), &want)
			if !bytes.Equal(mustJSON(got), mustJSON(want)) {
				t.Errorf("%s (stream %v): input %s, want %s", st.Kind, stream, in, st.Arguments)
			}
			if res := msg.Content[1]; res.ToolUseID != use.ID || !strings.HasSuffix(res.Type, "_tool_result") {
				t.Errorf("%s (stream %v): got second block %s, want the result of %s", st.Kind, stream, res.RawJSON(), use.ID)
			}
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestMCPNeedsBeta: like the API, the fake refuses mcp_servers without
// the mcp-client beta.
func TestMCPNeedsBeta(t *testing.T) {
	srv := httptest.NewServer(&Server{})
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(
		`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"go"}],"mcp_servers":[{"type":"url","name":"b","url":"https://x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("got %d, want 400", resp.StatusCode)
	}
}
