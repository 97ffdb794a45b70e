package gateway_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/gateway"
)

// BenchmarkReceiptedRequest is one request at a time through the gateway
// with the audit log on (journal or sequenced release), against a fake upstream that
// answers at once: the latency the log adds shows, including, since issue
// 17, the forward entry appended before each attempt upstream. Run it on
// the commit before and after a change to see the difference.
func BenchmarkReceiptedRequest(b *testing.B) {
	for _, release := range []string{auditlog.ReleaseJournal, auditlog.ReleaseSequenced} {
		b.Run("audit="+release, func(b *testing.B) { benchmarkReceipted(b, release) })
	}
}

func benchmarkReceipted(b *testing.B, release string) {
	dir := b.TempDir()
	signer, _, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "bench.example/audit")
	if err != nil {
		b.Fatal(err)
	}
	l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: filepath.Join(dir, "log"), Signer: signer, Release: release})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h := newHarness(b, gateway.Config{Audit: l})
	h.openai.Record = false
	client := &http.Client{}
	body := `{"model":"via-openai","messages":[{"role":"user","content":"Summarise the readiness of the motor pool."}]}`
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
