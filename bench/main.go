// Command bench measures the latency Brightline adds and the throughput it
// sustains, with the real brightline binary between a load generator and a
// fast upstream fake, each in its own process on this machine.
//
//	go run ./bench                 # the figures in the README
//	go run ./bench -rate 1000 -duration 10s -max-duration 10s
//
// It builds ./cmd/brightline (or uses -bin), starts the fake upstream
// (internal/fakeupstream, OpenAI Chat Completions wire format) and the
// gateway as child processes, then for each of non-streamed and streamed
// requests:
//
//  1. sends -rate requests/s for -duration straight to the upstream,
//  2. sends the same load through the gateway (OpenAI client → OpenAI
//     upstream, the passthrough path; and Anthropic client → OpenAI
//     upstream, the translation path),
//  3. reports p50/p99 of each and the difference, which is the gateway's
//     added latency, and any errors;
//
// then finds the maximum requests/s with -concurrency closed-loop workers.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightline/brightline/internal/fakeupstream"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		bin         = flag.String("bin", "", "brightline binary (default: go build ./cmd/brightline)")
		rate        = flag.Int("rate", 1000, "requests per second for the latency runs")
		duration    = flag.Duration("duration", 10*time.Second, "length of each latency run")
		maxDuration = flag.Duration("max-duration", 10*time.Second, "length of each throughput run")
		concurrency = flag.Int("concurrency", 64, "workers for the throughput runs")
		upstream    = flag.String("upstream", "", "internal: serve the fake upstream on this address")
		modes       = flag.String("modes", "plain,stream", "which of plain and stream requests to run")
		skipMax     = flag.Bool("skip-max", false, "skip the throughput runs")
		latency     = flag.Duration("upstream-latency", 0, "the fake model's time to answer, as a real model's would be")
	)
	flag.Parse()
	if *upstream != "" {
		return serveUpstream(*upstream, *latency)
	}

	dir, err := os.MkdirTemp("", "brightline-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "brightline")
		fmt.Fprintln(os.Stderr, "building ./cmd/brightline …")
		cmd := exec.Command("go", "build", "-o", *bin, "./cmd/brightline")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("couldn't build brightline: %w", err)
		}
	}

	upAddr, gwAddr := freeAddr(), freeAddr()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	up := exec.Command(self, "-upstream", upAddr, "-upstream-latency", latency.String())
	up.Stderr = os.Stderr
	if err := up.Start(); err != nil {
		return err
	}
	defer up.Process.Kill()

	cfgPath := filepath.Join(dir, "bench.yaml")
	cfg := fmt.Sprintf(`listen: %s
data_dir: %s
log: {level: error}
# One key carries the whole load here; the per-key budget (64 in flight by
# default) would refuse some of it, and this run measures overhead, not
# the budget.
limits: {key_requests_in_flight: 100000}
providers:
  - {name: fake, type: openai-compatible, base_url: "http://%s/v1"}
routes:
  - model: bench-model
    targets: [{provider: fake, model: upstream-model}]
`, gwAddr, filepath.Join(dir, "data"), upAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	out, err := exec.Command(*bin, "keys", "create", "-config", cfgPath, "-name", "bench").Output()
	if err != nil {
		return fmt.Errorf("couldn't create a key: %w", err)
	}
	key := strings.TrimSpace(string(out))
	gw := exec.Command(*bin, "serve", "-config", cfgPath)
	gw.Stderr = os.Stderr
	if err := gw.Start(); err != nil {
		return err
	}
	defer func() {
		gw.Process.Signal(os.Interrupt)
		gw.Wait()
	}()
	if err := waitHealthy("http://"+gwAddr+"/healthz", "http://"+upAddr+"/v1/chat/completions"); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	const (
		system   = `You are a logistics assistant.`
		question = `Summarise the readiness of the motor pool in one sentence.`
		oaBody   = `"messages":[{"role":"system","content":"` + system + `"},{"role":"user","content":"` + question + `"}]}`
		antBody  = `"max_tokens":256,"system":"` + system + `","messages":[{"role":"user","content":"` + question + `"}]}`
	)
	targets := []struct {
		name  string
		url   string
		body  string
		hdr   http.Header
		label string
	}{
		{"direct", "http://" + upAddr + "/v1/chat/completions", `{"model":"upstream-model",` + oaBody, nil, "upstream directly"},
		{"passthrough", "http://" + gwAddr + "/v1/chat/completions", `{"model":"bench-model",` + oaBody,
			http.Header{"Authorization": {"Bearer " + key}}, "gateway, OpenAI client → OpenAI upstream"},
		{"translate", "http://" + gwAddr + "/v1/messages", `{"model":"bench-model",` + antBody,
			http.Header{"X-Api-Key": {key}, "Anthropic-Version": {"2023-06-01"}}, "gateway, Anthropic client → OpenAI upstream"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}

	fmt.Printf("# Brightline overhead benchmark\n\n%d requests/s for %v per run; upstream (answering after %v), gateway and load generator on this machine (%d CPUs).\n\n", *rate, *duration, *latency, numCPU())
	fmt.Println("| run | requests | errors | p50 | p99 | max | added p50 | added p99 |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	var streamModes []bool
	for _, m := range strings.Split(*modes, ",") {
		switch m {
		case "plain":
			streamModes = append(streamModes, false)
		case "stream":
			streamModes = append(streamModes, true)
		default:
			return fmt.Errorf("-modes: unknown mode %q", m)
		}
	}
	for _, stream := range streamModes {
		var base *result
		for _, tg := range targets {
			body := tg.body
			if stream {
				body = strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
			}
			// Warm up connections and caches.
			if _, err := openLoop(ctx, client, tg.url, body, tg.hdr, *rate, time.Second); err != nil {
				return err
			}
			r, err := openLoop(ctx, client, tg.url, body, tg.hdr, *rate, *duration)
			if err != nil {
				return err
			}
			name := tg.label
			if stream {
				name += ", streamed"
			}
			added50, added99 := "", ""
			if base == nil {
				base = r
			} else {
				added50 = fmtDur(r.p(50) - base.p(50))
				added99 = fmtDur(r.p(99) - base.p(99))
			}
			fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %s |\n", name, len(r.lat), r.errors, fmtDur(r.p(50)), fmtDur(r.p(99)), fmtDur(r.p(100)), added50, added99)
			if r.errors > 0 {
				fmt.Fprintf(os.Stderr, "  first error: %v\n", r.firstErr)
			}
		}
	}

	if *skipMax {
		return nil
	}
	fmt.Printf("\nMaximum throughput, %d closed-loop workers for %v:\n\n", *concurrency, *maxDuration)
	fmt.Println("| run | requests/s | errors | p50 | p99 |")
	fmt.Println("|---|---|---|---|---|")
	for _, stream := range streamModes {
		for _, tg := range targets {
			body := tg.body
			if stream {
				body = strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
			}
			r, err := closedLoop(ctx, client, tg.url, body, tg.hdr, *concurrency, *maxDuration)
			if err != nil {
				return err
			}
			name := tg.label
			if stream {
				name += ", streamed"
			}
			fmt.Printf("| %s | %.0f | %d | %s | %s |\n", name, float64(len(r.lat))/maxDuration.Seconds(), r.errors, fmtDur(r.p(50)), fmtDur(r.p(99)))
		}
	}
	return nil
}

type result struct {
	mu       sync.Mutex
	lat      []time.Duration
	errors   int
	firstErr error
}

func (r *result) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.lat = append(r.lat, d)
}

// p returns the q-th percentile latency.
func (r *result) p(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	i := int(q/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// one sends a request and reads the whole answer.
func one(ctx context.Context, c *http.Client, url, body string, hdr http.Header) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = hdr.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if bytes.Contains(b, []byte(`"error"`)) {
		return 0, fmt.Errorf("error in body: %s", b)
	}
	return d, nil
}

// openLoop sends rate requests per second for d, on schedule whatever the
// latency (no coordinated omission), and waits for all answers.
func openLoop(ctx context.Context, c *http.Client, url, body string, hdr http.Header, rate int, d time.Duration) (*result, error) {
	r := &result{}
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	n := int(d / interval)
	for i := range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Go(func() { r.add(one(ctx, c, url, body, hdr)) })
	}
	wg.Wait()
	return r, nil
}

// closedLoop runs workers that each send the next request as soon as the
// previous answer is complete.
func closedLoop(ctx context.Context, c *http.Client, url, body string, hdr http.Header, workers int, d time.Duration) (*result, error) {
	r := &result{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var stopped atomic.Bool
	for range workers {
		wg.Go(func() {
			for !stopped.Load() {
				lat, err := one(ctx, c, url, body, hdr)
				if ctx.Err() != nil {
					stopped.Store(true)
					return
				}
				r.add(lat, err)
			}
		})
	}
	wg.Wait()
	return r, nil
}

func serveUpstream(addr string, latency time.Duration) error {
	srv := &http.Server{Addr: addr, Handler: &fakeupstream.Server{Latency: latency}, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

func waitHealthy(urls ...string) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, u := range urls {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				return errors.New("gateway or upstream did not start: " + u)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

func numCPU() int { return runtime.NumCPU() }
