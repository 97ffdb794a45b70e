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
// Through the gateway it also reports the audit log's integration lag
// (sampled from /healthz every 100 ms; the age of the oldest entry not yet
// in the log bounds every entry's merge delay from above), the median
// journal flush during the run (from /metrics, interpolated in its
// histogram's bucket: issue 13's instant-upstream goal is an added p50 of
// at most one flush plus 0.3 ms) and, in the
// throughput runs, the audit entries made durable per second (from
// /metrics).
//
// With -peer it measures another gateway too, in front of the same fake
// upstream and in the same minutes (see peer.go), so that its figures
// stand beside Brightline's from one run:
//
//	go run ./bench -peer 'bench/peers/gomodel.sh {upstream} {port}' -peer-name GoModel
//
// With -soak it runs issue 13's soak instead (see soak.go):
//
//	go run ./bench -soak -duration 10m   # 500 requests/s, 30 MiB bodies ×20
//
// and exits non-zero if the goal is missed.
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
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
		soakMode    = flag.Bool("soak", false, "run the soak instead: normal keys at -soak-rate plus one abusive key, for -duration")
		soakRate    = flag.Int("soak-rate", 500, "soak: requests/s over all normal keys")
		soakKeys    = flag.Int("soak-keys", 10, "soak: normal keys")
		abusers     = flag.Int("abusers", 20, "soak: the abusive key's concurrent requests")
		abuseBytes  = flag.Int("abuse-bytes", 30<<20, "soak: the abusive key's body size")
		profile     = flag.String("cpuprofile", "", "write a CPU profile of the gateway during the passthrough throughput run to this file")
		traceFile   = flag.String("trace", "", "write a runtime trace of the gateway during the passthrough latency run to this file (go tool trace)")
		latProfile  = flag.String("latency-cpuprofile", "", "write a CPU profile of the gateway during the passthrough latency run to this file")
		databaseURL = flag.String("database-url", "", "run the gateway on this PostgreSQL database (store.driver postgres) instead of SQLite")
		peerCmd     = flag.String("peer", "", "also measure another gateway: this command (run with sh -c) serves it, {upstream} replaced by the fake upstream's base URL and {port} by its port")
		peerName    = flag.String("peer-name", "peer", "the -peer gateway's name in the tables")
		peerModel   = flag.String("peer-model", "upstream-model", "the model clients ask the -peer gateway for")
		peerKey     = flag.String("peer-key", "", "the -peer gateway's API key, sent as a bearer token")
	)
	flag.Parse()
	if *upstream != "" {
		return serveUpstream(*upstream, *latency)
	}

	if *soakMode {
		cfg := soakConfig{duration: *duration, rate: *soakRate, keys: *soakKeys, abusers: *abusers, abuseBytes: *abuseBytes}
		logs := &lineCap{w: os.Stderr, max: 20}
		e, err := startEnv(envConfig{bin: *bin, upstream: upstreamProcess(*latency, os.Stderr), keys: cfg.keyNames(), stderr: logs})
		defer e.close()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		r, err := soak(ctx, e, cfg)
		if err != nil {
			return err
		}
		r.report(os.Stdout)
		if s := logs.summary(); s != "" {
			fmt.Fprintln(os.Stderr, s)
		}
		if f := r.failures(); len(f) > 0 {
			return fmt.Errorf("soak goal not met: %s", strings.Join(f, "; "))
		}
		return nil
	}

	// One key carries the whole load here; the per-key budget (64 in
	// flight by default) would refuse some of it, and this run measures
	// overhead, not the budget.
	logs := &lineCap{w: os.Stderr, max: 5}
	extra := "limits: {key_requests_in_flight: 100000}\n"
	if *databaseURL != "" {
		extra += fmt.Sprintf("store: {driver: postgres, url: %q}\n", *databaseURL)
	}
	debugAddr := ""
	if *profile != "" || *traceFile != "" || *latProfile != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		debugAddr = ln.Addr().String()
		ln.Close()
		extra += fmt.Sprintf("debug: {listen: %q}\n", debugAddr)
	}
	e, err := startEnv(envConfig{bin: *bin, upstream: upstreamProcess(*latency, os.Stderr), extra: extra, stderr: logs})
	defer e.close()
	defer func() {
		if s := logs.summary(); s != "" {
			fmt.Fprintln(os.Stderr, s)
		}
	}()
	if err != nil {
		return err
	}
	upAddr, gwAddr, key := e.upAddr, e.gwAddr, e.keys["bench"]
	var pe *peer
	if *peerCmd != "" {
		if pe, err = startPeer(*peerName, *peerCmd, upAddr, *peerModel, *peerKey, e.dir, logs); err != nil {
			return err
		}
		defer pe.close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	const (
		system   = `You are a logistics assistant.`
		question = `Summarise the readiness of the motor pool in one sentence.`
		oaBody   = `"messages":[{"role":"system","content":"` + system + `"},{"role":"user","content":"` + question + `"}]}`
		antBody  = `"max_tokens":256,"system":"` + system + `","messages":[{"role":"user","content":"` + question + `"}]}`
	)
	type target struct {
		name  string // direct, peer, passthrough or translate
		url   string
		body  string
		hdr   http.Header
		label string
	}
	targets := []target{
		{"direct", "http://" + upAddr + "/v1/chat/completions", `{"model":"upstream-model",` + oaBody, nil, "upstream directly"},
		{"passthrough", "http://" + gwAddr + "/v1/chat/completions", `{"model":"bench-model",` + oaBody,
			http.Header{"Authorization": {"Bearer " + key}}, "gateway, OpenAI client → OpenAI upstream"},
		{"translate", "http://" + gwAddr + "/v1/messages", `{"model":"bench-model",` + antBody,
			http.Header{"X-Api-Key": {key}, "Anthropic-Version": {"2023-06-01"}}, "gateway, Anthropic client → OpenAI upstream"},
	}
	if pe != nil {
		// Right after the upstream alone, before Brightline's runs.
		hdr := http.Header{}
		if *peerKey != "" {
			hdr.Set("Authorization", "Bearer "+*peerKey)
		}
		tg := target{"peer", "http://" + pe.addr + "/v1/chat/completions", `{"model":"` + *peerModel + `",` + oaBody, hdr, pe.name + ", OpenAI client → OpenAI upstream"}
		targets = slices.Insert(targets, 1, tg)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}

	fmt.Printf("# Brightline overhead benchmark\n\n%d requests/s for %v per run; upstream (answering after %v), gateway and load generator on this machine (%d CPUs).\n\n", *rate, *duration, *latency, numCPU())
	fmt.Println("| run | requests | errors | p50 | p99 | max | added p50 | added p99 | merge lag p99 / max | journal flush p50 | gateway CPU per request |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
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
			traced := func() error { return nil }
			if *traceFile != "" && tg.name == "passthrough" && !stream {
				traced = fetchProfile(client, debugAddr, "trace", *duration, *traceFile)
			}
			profiled := func() error { return nil }
			if *latProfile != "" && tg.name == "passthrough" && !stream {
				profiled = fetchProfile(client, debugAddr, "profile", *duration, *latProfile)
			}
			cpu := func() (time.Duration, error) { return e.cpu(client) }
			if tg.name == "peer" {
				cpu = pe.cpu
			}
			cpuBefore, err := cpu()
			if err != nil {
				return err
			}
			flushes, err := e.histogram(client, flushHistogram)
			if err != nil {
				return err
			}
			lags := sampleLag(ctx, e, client)
			r, err := openLoop(ctx, client, tg.url, body, tg.hdr, *rate, *duration)
			lag := lags()
			if err != nil {
				return err
			}
			flushesAfter, err := e.histogram(client, flushHistogram)
			if err != nil {
				return err
			}
			cpuAfter, err := cpu()
			if err != nil {
				return err
			}
			if err := errors.Join(traced(), profiled()); err != nil {
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
			lagCol, flushCol := "", ""
			if tg.name == "passthrough" || tg.name == "translate" {
				lagCol = fmtDur(pct(lag, 99)) + " / " + fmtDur(pct(lag, 100))
				if f := histogramQuantile(flushes, flushesAfter, 0.5); f > 0 { // none from a build without the metric
					flushCol = fmtDur(time.Duration(f * float64(time.Second)))
				}
			}
			perReq := ""
			if tg.name != "direct" && len(r.lat) > 0 {
				perReq = fmt.Sprintf("%.0f µs", float64((cpuAfter-cpuBefore).Microseconds())/float64(len(r.lat)))
			}
			fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, len(r.lat), r.errors, fmtDur(r.p(50)), fmtDur(r.p(99)), fmtDur(r.p(100)), added50, added99, lagCol, flushCol, perReq)
			if r.errors > 0 {
				fmt.Fprintf(os.Stderr, "  first error: %v\n", r.firstErr)
			}
		}
	}

	if *skipMax {
		return nil
	}
	fmt.Printf("\nMaximum throughput, %d closed-loop workers for %v:\n\n", *concurrency, *maxDuration)
	fmt.Println("| run | requests/s | errors | p50 | p99 | audit entries/s | gateway CPU per request |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, stream := range streamModes {
		for _, tg := range targets {
			body := tg.body
			if stream {
				body = strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
			}
			cpu := func() (time.Duration, error) { return e.cpu(client) }
			if tg.name == "peer" {
				cpu = pe.cpu
			}
			before, err := e.appends(client)
			if err != nil {
				return err
			}
			cpuBefore, err := cpu()
			if err != nil {
				return err
			}
			profiled := func() error { return nil }
			if *profile != "" && tg.name == "passthrough" && !stream {
				profiled = fetchProfile(client, debugAddr, "profile", *maxDuration, *profile)
			}
			r, err := closedLoop(ctx, client, tg.url, body, tg.hdr, *concurrency, *maxDuration)
			if err != nil {
				return err
			}
			if err := profiled(); err != nil {
				return err
			}
			after, err := e.appends(client)
			if err != nil {
				return err
			}
			cpuAfter, err := cpu()
			if err != nil {
				return err
			}
			journaled, perReq := "", ""
			if tg.name == "passthrough" || tg.name == "translate" {
				journaled = fmt.Sprintf("%.0f", float64(after-before)/maxDuration.Seconds())
			}
			if tg.name != "direct" {
				if len(r.lat) > 0 {
					perReq = fmt.Sprintf("%.0f µs", float64((cpuAfter-cpuBefore).Microseconds())/float64(len(r.lat)))
				}
			}
			name := tg.label
			if stream {
				name += ", streamed"
			}
			fmt.Printf("| %s | %.0f | %d | %s | %s | %s | %s |\n", name, float64(len(r.lat))/maxDuration.Seconds(), r.errors, fmtDur(r.p(50)), fmtDur(r.p(99)), journaled, perReq)
		}
	}
	return nil
}

// flushHistogram is the gateway's histogram of journal flushes (write
// and fdatasync of one group): issue 13's instant-upstream goal is an
// added p50 of at most one flush plus 0.3 ms.
const flushHistogram = "brightline_audit_journal_flush_seconds"

// fetchProfile starts fetching a profile of the gateway (kind is
// "profile", CPU, or "trace", a runtime trace) from its debug listener at
// addr for about d, and returns a function that waits for it and writes
// it to file.
func fetchProfile(c *http.Client, addr, kind string, d time.Duration, file string) func() error {
	secs := max(int(d.Seconds())-1, 1)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("%s: %s", kind, resp.Status)
			return
		}
		f, err := os.Create(file)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return func() error { return <-done }
}

// sampleLag samples the audit log's integration lag every 100 ms until
// the returned function is called, which returns the samples. The lag (the
// age of the oldest entry not yet in the log) bounds each entry's merge
// delay from above.
func sampleLag(ctx context.Context, e *env, c *http.Client) func() []time.Duration {
	ctx, cancel := context.WithCancel(ctx)
	var lags []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if lag, err := e.auditLag(c); err == nil {
				lags = append(lags, lag)
			}
		}
	}()
	return func() []time.Duration {
		cancel()
		<-done
		return lags
	}
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

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

func numCPU() int { return runtime.NumCPU() }
