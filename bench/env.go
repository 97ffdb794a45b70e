package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brightline/brightline/internal/fakeupstream"
)

// env is the real brightline binary serving in front of a fake upstream,
// with API keys created by the binary itself.
type env struct {
	dir    string
	upAddr string
	gwAddr string
	keys   map[string]string // key name → API key
	gw     *exec.Cmd
	closes []func()
}

// envConfig says how to start an env. The zero value of each field but
// upstream works.
type envConfig struct {
	// bin is the brightline binary; "" builds ./cmd/brightline into the
	// env's directory.
	bin string
	// upstream serves the fake upstream on addr and returns a function
	// that stops it.
	upstream func(addr string) (stop func(), err error)
	// extra is YAML appended to the gateway's configuration; "" runs it
	// with every default.
	extra string
	// keys are the names of the API keys to create; default "bench".
	keys []string
	// stderr receives the children's standard error; default os.Stderr.
	stderr io.Writer
}

// startEnv builds (if asked) and starts the gateway in front of the
// upstream, and waits until both answer. Call close when done, even after
// an error.
func startEnv(ec envConfig) (*env, error) {
	if ec.stderr == nil {
		ec.stderr = os.Stderr
	}
	if len(ec.keys) == 0 {
		ec.keys = []string{"bench"}
	}
	dir, err := os.MkdirTemp("", "brightline-bench")
	if err != nil {
		return &env{}, err
	}
	e := &env{dir: dir, keys: map[string]string{}}
	e.closes = append(e.closes, func() { os.RemoveAll(dir) })
	if ec.bin == "" {
		ec.bin = filepath.Join(dir, "brightline")
		fmt.Fprintln(ec.stderr, "building ./cmd/brightline …")
		cmd := exec.Command("go", "build", "-o", ec.bin, "github.com/brightline/brightline/cmd/brightline")
		cmd.Stderr = ec.stderr
		if err := cmd.Run(); err != nil {
			return e, fmt.Errorf("couldn't build brightline: %w", err)
		}
	}

	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return e, err
	}
	e.upAddr = upLn.Addr().String()
	upLn.Close() // the upstream may be another process
	stopUp, err := ec.upstream(e.upAddr)
	if err != nil {
		return e, fmt.Errorf("couldn't start the fake upstream: %w", err)
	}
	e.closes = append(e.closes, stopUp)

	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return e, err
	}
	e.gwAddr = gwLn.Addr().String()
	gwLn.Close() // the gateway opens its own listener from the config

	cfgPath := filepath.Join(dir, "bench.yaml")
	cfg := fmt.Sprintf(`listen: %s
data_dir: %s
log: {level: error}
providers:
  - {name: fake, type: openai-compatible, base_url: "http://%s/v1"}
routes:
  - model: bench-model
    targets: [{provider: fake, model: upstream-model}]
%s`, e.gwAddr, filepath.Join(dir, "data"), e.upAddr, ec.extra)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return e, err
	}
	for _, name := range ec.keys {
		cmd := exec.Command(ec.bin, "keys", "create", "-config", cfgPath, "-name", name)
		cmd.Stderr = ec.stderr
		out, err := cmd.Output()
		if err != nil {
			return e, fmt.Errorf("couldn't create key %s: %w", name, err)
		}
		e.keys[name] = strings.TrimSpace(string(out))
	}
	e.gw = exec.Command(ec.bin, "serve", "-config", cfgPath)
	e.gw.Stderr = ec.stderr
	if err := e.gw.Start(); err != nil {
		return e, err
	}
	gw := e.gw
	exited := make(chan struct{})
	go func() { gw.Wait(); close(exited) }()
	e.closes = append(e.closes, func() {
		gw.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			gw.Process.Kill()
			<-exited
		}
	})
	if err := waitHealthy(exited, "http://"+e.gwAddr+"/healthz", "http://"+e.upAddr+"/v1/chat/completions"); err != nil {
		return e, err
	}
	return e, nil
}

// close stops the gateway and the upstream and removes the directory.
func (e *env) close() {
	for i := len(e.closes) - 1; i >= 0; i-- {
		e.closes[i]()
	}
}

// upstreamProcess serves the fake upstream from a child process of this
// command (bench -upstream), so that its work is not counted as the load
// generator's.
func upstreamProcess(latency time.Duration, stderr io.Writer) func(string) (func(), error) {
	return func(addr string) (func(), error) {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		up := exec.Command(self, "-upstream", addr, "-upstream-latency", latency.String())
		up.Stderr = stderr
		if err := up.Start(); err != nil {
			return nil, err
		}
		return func() { up.Process.Kill(); up.Wait() }, nil
	}
}

// upstreamBuilt builds this command into dir and serves the fake upstream
// from it (bench -upstream), for callers that are not this command, such
// as its tests.
func upstreamBuilt(dir string, latency time.Duration, stderr io.Writer) func(string) (func(), error) {
	return func(addr string) (func(), error) {
		bin := filepath.Join(dir, "bench")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/brightline/brightline/bench")
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("couldn't build bench: %w", err)
		}
		up := exec.Command(bin, "-upstream", addr, "-upstream-latency", latency.String())
		up.Stderr = stderr
		if err := up.Start(); err != nil {
			return nil, err
		}
		return func() { up.Process.Kill(); up.Wait() }, nil
	}
}

func serveUpstream(addr string, latency time.Duration) error {
	srv := &http.Server{Addr: addr, Handler: &fakeupstream.Server{Latency: latency}, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// waitHealthy waits until each URL answers, or the gateway exits.
func waitHealthy(exited <-chan struct{}, urls ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			select {
			case <-exited:
				return errors.New("the gateway exited at start")
			default:
			}
			if time.Now().After(deadline) {
				return errors.New("gateway or upstream did not start: " + u)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// rss returns the gateway's resident set size now and its peak (VmRSS and
// VmHWM of /proc/PID/status), in bytes.
func (e *env) rss() (cur, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", e.gw.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't read the gateway's memory use: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("couldn't parse %s in /proc/PID/status: %w", k, err)
		}
		if k == "VmRSS" {
			cur = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return cur, peak, sc.Err()
}

// auditLag returns the age of the oldest journal entry not yet integrated
// into the log, from /healthz: an entry's merge delay is at most the lag
// seen just before it is integrated, so its samples bound the MMD from
// above.
func (e *env) auditLag(c *http.Client) (time.Duration, error) {
	resp, err := c.Get("http://" + e.gwAddr + "/healthz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var h struct {
		Audit struct {
			LagSeconds float64 `json:"lag_seconds"`
		} `json:"audit"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return 0, fmt.Errorf("couldn't decode /healthz: %w", err)
	}
	return time.Duration(h.Audit.LagSeconds * float64(time.Second)), nil
}

// appends reads the gateway's count of audit entries made durable from
// its /metrics.
func (e *env) appends(c *http.Client) (int64, error) {
	f, err := e.metric(c, `brightline_audit_appends_total{result="ok"}`)
	return int64(f), err
}

// cpu reads the gateway's CPU time so far (user and system), from its
// /metrics.
func (e *env) cpu(c *http.Client) (time.Duration, error) {
	f, err := e.metric(c, "process_cpu_seconds_total")
	return time.Duration(f * float64(time.Second)), err
}

// metric reads one series of the gateway's /metrics: 0 if it has none
// yet.
func (e *env) metric(c *http.Client, series string) (float64, error) {
	resp, err := c.Get("http://" + e.gwAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	b = append([]byte("\n"), b...)
	i := bytes.Index(b, []byte("\n"+series+" "))
	if i < 0 {
		return 0, nil // none yet
	}
	line, _, _ := bytes.Cut(b[i+len(series)+2:], []byte("\n"))
	f, err := strconv.ParseFloat(string(line), 64)
	if err != nil {
		return 0, fmt.Errorf("couldn't parse %s: %w", series, err)
	}
	return f, nil
}

// lineCap passes the first max lines written to it on to w and counts
// the rest, so that a gateway refusing thousands of requests does not
// bury the report in its log lines. Lines other than the gateway's
// per-request lines (its errors about the audit log, say) have a cap of
// their own, ten times larger. It is safe for concurrent use.
type lineCap struct {
	mu      sync.Mutex
	w       io.Writer
	max     int
	lines   int // per-request lines seen
	other   int // other lines seen
	dropped int
	partial []byte // a line not yet ended
}

// requestLine marks the gateway's log line for one request.
var requestLine = []byte(`"msg":"request"`)

func (c *lineCap) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		line, rest, found := bytes.Cut(c.partial, []byte("\n"))
		if !found {
			break
		}
		seen, max := &c.lines, c.max
		if !bytes.Contains(line, requestLine) {
			seen, max = &c.other, 10*c.max
		}
		if *seen < max {
			c.w.Write(line)
			c.w.Write([]byte("\n"))
		} else {
			c.dropped++
		}
		*seen++
		c.partial = rest
	}
	c.partial = append(c.partial[:0:0], c.partial...) // drop what was passed on
	return len(p), nil
}

// summary says how many lines were not passed on.
func (c *lineCap) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped == 0 {
		return ""
	}
	return fmt.Sprintf("(%d more lines of the gateway's log not shown)", c.dropped)
}

// histogram reads the cumulative buckets of one histogram of the
// gateway's /metrics (upper bound → count of observations at most it,
// +Inf included).
func (e *env) histogram(c *http.Client, name string) (map[float64]float64, error) {
	resp, err := c.Get("http://" + e.gwAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	buckets := map[float64]float64{}
	prefix := name + `_bucket{le="`
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(rest, `"} `)
		if !ok {
			return nil, fmt.Errorf("couldn't parse %q", line)
		}
		bound, err1 := strconv.ParseFloat(le, 64) // ParseFloat reads "+Inf"
		n, err2 := strconv.ParseFloat(count, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("couldn't parse %q: %w", line, err)
		}
		buckets[bound] = n
	}
	return buckets, nil
}

// histogramQuantile estimates the q-quantile (0 < q ≤ 1) of the
// observations counted in after but not in before, two readings of one
// histogram, as Prometheus's histogram_quantile does: linearly within the
// bucket it falls in, the first bucket starting at 0. It is 0 with no
// observations, and the highest finite bound if the quantile is past it.
func histogramQuantile(before, after map[float64]float64, q float64) float64 {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	count := func(b float64) float64 { return after[b] - before[b] }
	if len(bounds) == 0 || count(bounds[len(bounds)-1]) <= 0 {
		return 0
	}
	rank := q * count(bounds[len(bounds)-1])
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		n := count(b)
		if n >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			// below < rank <= n: the bucket holds the rank.
			return lower + (b-lower)*(rank-below)/(n-below)
		}
		lower, below = b, n
	}
	return lower
}
