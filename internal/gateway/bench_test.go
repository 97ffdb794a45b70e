package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/gateway"
)

// BenchmarkGateway measures one request through the gateway's handler, in
// process, against a fake upstream over loopback HTTP. The upstream's own
// cost is included; bench/ measures the gateway's added latency alone.
func BenchmarkGateway(b *testing.B) {
	h := newHarness(b, gateway.Config{})
	h.openai.Record, h.anthropic.Record = false, false
	cases := []struct{ name, path, body string }{
		{"passthrough", "/v1/chat/completions", `{"model":"via-openai","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Summarise the readiness of the motor pool."}]}`},
		{"translate", "/v1/messages", `{"model":"via-openai","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Summarise the readiness of the motor pool."}]}`},
		{"passthrough-stream", "/v1/chat/completions", `{"model":"via-openai","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Summarise the readiness of the motor pool."}]}`},
		{"translate-stream", "/v1/messages", `{"model":"via-openai","max_tokens":100,"stream":true,"system":"Be brief.","messages":[{"role":"user","content":"Summarise the readiness of the motor pool."}]}`},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", h.srv.URL+c.path, strings.NewReader(c.body))
					req.Header.Set("x-api-key", testKey)
					req.Header.Set("anthropic-version", "2023-06-01")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
