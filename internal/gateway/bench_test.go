package gateway_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/store/sqlite"
	"github.com/brightline/brightline/internal/subjects"
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

// BenchmarkInspect is the surveillance safeguard's work on one request:
// detection and linking over the request's text, HMAC subject keys, and
// the per-principal windows and profile breadths, read back for the rules.
// The prompt is 2.3 KB of casework text naming three people. It runs
// through the decider (package safeguard) with a policy without rules, so
// that it measures the inspection and the counters, not rule evaluation.
func BenchmarkInspect(b *testing.B) {
	s := &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer([]byte("bench secret")),
		Counter:  &subjects.Counter{},
		Profiles: &subjects.Profiles{},
		Requests: &subjects.Requests{},
	}
	d := safeguard.New(safeguard.Config{Surveillance: s})
	pol, err := policy.Load("empty.yaml", []byte("rules: []\n"))
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The committee reviewed the maintenance schedule for the motor pool and agreed on the inspection order. ", 15) +
		"Contact Maria Garcia on (212) 555-0147 or maria.garcia@example.com; her colleague James Chen (617-555-0199) " +
		"handles the Austin office at 42 Oak Street, Austin, TX 78701. Robert Novak is cc'd."
	req := &llm.Request{Model: "m", System: "You are a helpful assistant.", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		x, err := d.Request(pol, brightline.Principal{ID: "key_bench"}, req, nil, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if in := x.Input; in.Findings.Subjects != 3 {
			b.Fatalf("got %d subjects, want 3", in.Findings.Subjects)
		}
	}
}

// BenchmarkAuditOverhead measures the request latency the audit log adds
// when the upstream takes as long as a model: the same gateway, in
// process, with the log off and on (Tessera on a temporary directory,
// index in SQLite), releasing on the journal (with a receipt) or only
// once sequenced, 50 requests in flight against a fake that answers after
// 50 ms (as a model would) or at once (so that the log's own latency
// shows). It reports the p50 and p99 request latency and requests/s.
func BenchmarkAuditOverhead(b *testing.B) {
	for _, bc := range []struct {
		upstream time.Duration
		release  string
	}{
		{50 * time.Millisecond, "off"}, {50 * time.Millisecond, auditlog.ReleaseJournal}, {50 * time.Millisecond, auditlog.ReleaseSequenced},
		{0, "off"}, {0, auditlog.ReleaseJournal}, {0, auditlog.ReleaseSequenced},
	} {
		release := bc.release
		b.Run("upstream="+bc.upstream.String()+"/audit="+release, func(b *testing.B) {
			cfg := gateway.Config{}
			if release != "off" {
				dir := b.TempDir()
				db, err := sqlite.Open(context.Background(), filepath.Join(dir, "brightline.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				signer, _, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "bench.example/audit")
				if err != nil {
					b.Fatal(err)
				}
				l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: filepath.Join(dir, "log"), Signer: signer, Index: db, Release: release})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				cfg.Audit = l
			}
			h := newHarness(b, cfg)
			h.openai.Record, h.anthropic.Record = false, false
			h.openai.Latency = bc.upstream
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
			body := `{"model":"via-openai","messages":[{"role":"user","content":"Summarise the readiness of the motor pool."}]}`
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(25) // 50 in flight on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testKey)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(len(lat))/time.Since(start).Seconds(), "req/s")
			}
		})
	}
}
