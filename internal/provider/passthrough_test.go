package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
)

func TestAskForUsage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // "" means unchanged
	}{
		{
			name: "absent",
			body: `{"model":"m","stream":true,"messages":[]}`,
			want: `{"stream_options":{"include_usage":true},"model":"m","stream":true,"messages":[]}`,
		},
		{
			name: "absent, with spaces and newlines kept",
			body: "{\n  \"model\": \"m\",\n  \"stream\": true\n}",
			want: "{\"stream_options\":{\"include_usage\":true},\n  \"model\": \"m\",\n  \"stream\": true\n}",
		},
		{
			name: "null",
			body: `{"stream":true,"stream_options": null}`,
			want: `{"stream":true,"stream_options": {"include_usage":true}}`,
		},
		{
			name: "empty object",
			body: `{"stream":true,"stream_options":{ }}`,
			want: `{"stream":true,"stream_options":{"include_usage":true }}`,
		},
		{
			name: "other members kept",
			body: `{"stream":true,"stream_options":{"continuous_usage_stats":true},"x":1}`,
			want: `{"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},"x":1}`,
		},
		{
			name: "false",
			body: `{"stream_options":{"continuous_usage_stats":true, "include_usage" : false},"stream":true}`,
			want: `{"stream_options":{"continuous_usage_stats":true, "include_usage" : true},"stream":true}`,
		},
		{
			name: "include_usage null",
			body: `{"stream_options":{"include_usage":null},"stream":true}`,
			want: `{"stream_options":{"include_usage":true},"stream":true}`,
		},
		{
			name: "already true",
			body: `{"stream_options":{"include_usage":true},"stream":true}`,
		},
		{
			name: "nested member of the same name is not the top-level one",
			body: `{"metadata":{"stream_options":{"include_usage":false}},"stream":true}`,
			want: `{"stream_options":{"include_usage":true},"metadata":{"stream_options":{"include_usage":false}},"stream":true}`,
		},
		{
			name: "include_usage in a nested object of stream_options is not the member",
			body: `{"stream_options":{"extra":{"include_usage":false}},"stream":true}`,
			want: `{"stream_options":{"include_usage":true,"extra":{"include_usage":false}},"stream":true}`,
		},
		{
			name: "not an object is left for the provider",
			body: `{"stream_options":"yes","stream":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := askForUsage([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if string(got) != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if !json.Valid(got) {
				t.Errorf("got invalid JSON %s", got)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"stream_options":{"include_usage":}}`, `{"stream_options":`} {
		if got, err := askForUsage([]byte(bad)); err == nil {
			t.Errorf("askForUsage(%q) = %q, want an error", bad, got)
		}
	}
}

// TestOpenAIPassthroughStreamUsage checks that an OpenAI passthrough stream
// asks the provider for usage, that the stream's events carry it, and that
// the client gets a usage chunk exactly when it asked for one.
func TestOpenAIPassthroughStreamUsage(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantBody  string // what the provider must receive
		wantUsage int    // usage chunks the client must get
	}{
		{
			name:      "client did not ask",
			body:      `{"model":"client-model","stream":true,"messages":[{"role":"user","content":"hi"}],"future_field":1}`,
			wantBody:  `{"stream_options":{"include_usage":true},"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}],"future_field":1}`,
			wantUsage: 0,
		},
		{
			name:      "client said false",
			body:      `{"model":"client-model","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}`,
			wantBody:  `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantUsage: 0,
		},
		{
			name:      "client asked",
			body:      `{"model":"client-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantBody:  `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantUsage: 1,
		},
	}
	for _, kind := range []string{KindOpenAI, KindOpenAICompatible} {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				up := newUpstream(t, reply{SSE: true, Body: fixture(t, "openai_stream.sse")})
				h := newHTTP(t, HTTPConfig{Name: "p", Kind: kind, APIKey: "k", BaseURL: up.URL})
				req, err := openai.DecodeRequest([]byte(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				c := *req
				c.Model = "gpt-4o-mini"
				s, err := h.Stream(context.Background(), &Call{Request: &c})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if got := up.requests()[0].Body; string(got) != tt.wantBody {
					t.Errorf("got upstream body\n%s\nwant\n%s", got, tt.wantBody)
				}
				if string(req.Raw) != tt.body {
					t.Errorf("the caller's Raw was modified")
				}

				var out bytes.Buffer
				sw := openai.NewStreamWriter(&out, req)
				_, evs, err := collect(s)
				if err != nil {
					t.Fatal(err)
				}
				var usage llm.Usage
				for _, ev := range evs {
					if ev.Usage != nil {
						usage.Add(*ev.Usage)
					}
					if err := sw.WriteEvent(ev); err != nil {
						t.Fatal(err)
					}
				}
				if want := (llm.Usage{InputTokens: 9, OutputTokens: 4}); usage != want {
					t.Errorf("got usage %+v from the stream's events, want %+v", usage, want)
				}
				if got := strings.Count(out.String(), `"usage":{`); got != tt.wantUsage {
					t.Errorf("got %d usage chunks for the client, want %d:\n%s", got, tt.wantUsage, out.String())
				}
				if !strings.HasSuffix(out.String(), "data: [DONE]\n\n") {
					t.Errorf("got client stream ending %q, want data: [DONE]", out.String()[max(0, out.Len()-40):])
				}
			})
		}
	}
}
