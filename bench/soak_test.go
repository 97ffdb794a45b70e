package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak is a shorter run of the soak (go run ./bench -soak): the real
// binary with its defaults, normal keys at a steady rate, and one key
// sending 30 MiB bodies 20 at a time. It asserts what the gateway
// promises under that abuse, not how fast it is: no 5xx and no failed
// connection for the other keys, and RSS under the body budget plus
// 200 MiB.
// soakEnv, set to 1, runs TestSoak.
const soakEnv = "BRIGHTLINE_SOAK"

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak builds the gateway and loads it for about a minute")
	}
	// The soak measures the gateway under one abusive key, on the two
	// cores it has; run beside the other packages' tests (-race, several
	// gateways at once), their load would count against it. CI runs it as
	// a step of its own after them.
	if os.Getenv(soakEnv) != "1" {
		t.Skipf("the soak runs alone: %s=1 go test -run 'TestSoak$' ./bench (.ci/run does, after the other tests)", soakEnv)
	}
	cfg := soakConfig{duration: 45 * time.Second, rate: 100, keys: 10, abusers: 20, abuseBytes: 30 << 20}
	logs := &lineCap{w: t.Output(), max: 3}
	// The upstream is a process of its own, built without the race
	// detector, as the gateway is: this process is only the load.
	e, err := startEnv(envConfig{upstream: upstreamBuilt(t.TempDir(), 0, t.Output()), keys: cfg.keyNames(), stderr: logs})
	t.Cleanup(e.close)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	r, err := soak(ctx, e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.report(t.Output())
	if s := logs.summary(); s != "" {
		t.Log(s)
	}
	for _, f := range r.failures() {
		t.Error(f)
	}
}

// TestSoakFailures checks that the soak's verdict catches each way the
// goal can be missed.
func TestSoakFailures(t *testing.T) {
	ok := func() *soakResult {
		return &soakResult{bound: 100, peakRSS: 90, rss: []int64{50, 80}, keys: map[string]*keyStats{
			abusiveKey:  {status: map[int]int{200: 1, 429: 30}},
			"normal-00": {status: map[int]int{200: 500, 429: 3}},
		}}
	}
	for _, tc := range []struct {
		name   string
		change func(*soakResult)
		want   string // "" for a met goal
	}{
		{"met", func(*soakResult) {}, ""},
		{"5xx", func(r *soakResult) { r.keys["normal-00"].status[503] = 1 }, "1 5xx answers"},
		{"no answer", func(r *soakResult) { r.keys["normal-00"].status[0] = 2 }, "2 requests of the normal keys got no answer"},
		{"sampled RSS", func(r *soakResult) { r.rss = append(r.rss, 101) }, "over the bound"},
		{"peak RSS", func(r *soakResult) { r.peakRSS = 101 }, "over the bound"},
		{"abuse not tested", func(r *soakResult) { r.keys[abusiveKey].status = map[int]int{0: 30} }, "neither served nor refused"},
		{"abusive 5xx is not the goal", func(r *soakResult) { r.keys[abusiveKey].status[503] = 5 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok()
			tc.change(r)
			f := strings.Join(r.failures(), "; ")
			if tc.want == "" && f != "" || !strings.Contains(f, tc.want) {
				t.Errorf("got failures %q, want %q", f, tc.want)
			}
		})
	}
}

func TestLineCap(t *testing.T) {
	var b strings.Builder
	c := &lineCap{w: &b, max: 2}
	const req = `{"msg":"request"} `
	for _, s := range []string{req + "one\n" + req + "tw", "o\n" + req + "three\nintegration stopped\n", req + "four\n"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if got, want := b.String(), req+"one\n"+req+"two\nintegration stopped\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := c.summary(), "(2 more lines of the gateway's log not shown)"; got != want {
		t.Errorf("summary: got %q, want %q", got, want)
	}
}

// TestMetric: bench reads one series of the gateway's /metrics by its
// exact name and labels, as 0 before the gateway has it.
func TestMetric(t *testing.T) {
	var body atomic.Pointer[string]
	body.Store(new("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
		"process_cpu_seconds_total 12.5\n" +
		"brightline_audit_appends_total{result=\"error\"} 3\n" +
		"brightline_audit_appends_total{result=\"ok\"} 4.2e+06\n"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, *body.Load())
	}))
	defer srv.Close()
	e := &env{gwAddr: strings.TrimPrefix(srv.URL, "http://")}
	c := srv.Client()
	if got, err := e.cpu(c); err != nil || got != 12500*time.Millisecond {
		t.Errorf("cpu: got %v, %v; want 12.5s", got, err)
	}
	if got, err := e.appends(c); err != nil || got != 4_200_000 {
		t.Errorf("appends: got %d, %v; want 4200000 (the ok series, not the error one)", got, err)
	}
	if got, err := e.metric(c, "process_open_fds"); err != nil || got != 0 {
		t.Errorf("absent series: got %v, %v; want 0", got, err)
	}
	body.Store(new("process_cpu_seconds_total x\n"))
	if _, err := e.cpu(c); err == nil {
		t.Error("unparsable value: got nil, want an error")
	}
}
