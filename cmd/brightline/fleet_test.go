package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/mcpproxy"
	"github.com/brightline/brightline/internal/store/pgtest"
)

// The tests of issue 14's "How it must be tested": three replicas, each a
// real `brightline serve` process (the test binary re-executed, see
// execMainEnv), sharing one data_dir and one fresh PostgreSQL database,
// with the same config but for listen.

// fleetMergeInterval is store.merge_interval in the tests' config: how
// often each replica merges its surveillance counters with the others'.
const fleetMergeInterval = 25 * time.Millisecond

// fleetCacheTTL is auth.cache_ttl in the tests' config.
const fleetCacheTTL = 2 * time.Second

// replica is one gateway process of a fleet.
type replica struct {
	name       string        // A, B, C
	cfg        string        // its config file
	log        *lockedBuffer // its stderr: the JSON log
	*serveProc               // once started
}

// lockedBuffer is a bytes.Buffer safe for a child's stderr and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fleet is replicas sharing one config (but for listen), data_dir and
// database.
type fleet struct {
	dir      string
	dataDir  string
	replicas []*replica
}

// fleetOptions configure newFleet.
type fleetOptions struct {
	replicas int
	// storeURL is the database's URL in the config; empty: a fresh
	// database from pgtest.URL.
	storeURL string
	// subjectKey, if set, is copied into the data_dir before `brightline
	// init`, which then adopts it: the deployment counts subjects under
	// that secret.
	subjectKey string
	// extra is appended to the config.
	extra string
}

// newFleet initialises a deployment (`brightline init`) and starts its
// replicas at once, returning when every one answers /healthz.
func newFleet(t *testing.T, o fleetOptions) *fleet {
	t.Helper()
	if o.storeURL == "" {
		o.storeURL = pgtest.URL(t)
	}
	f := &fleet{dir: t.TempDir()}
	f.dataDir = filepath.Join(f.dir, "data")
	if o.subjectKey != "" {
		if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dataDir, subjectKeyFile), []byte(o.subjectKey), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range o.replicas {
		r := &replica{name: string(rune('A' + i)), log: &lockedBuffer{}}
		r.cfg = filepath.Join(f.dir, "brightline-"+r.name+".yaml")
		// Each replica listens on a port the kernel picks for it.
		cfg := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
store: {driver: postgres, url: %q, merge_interval: %s}
auth: {cache_ttl: %s}
providers: [{name: simulated, type: simulated}]
routes: [{model: simulated, targets: [{provider: simulated}]}]
tools: [{name: fire_interceptor, effect: force}]
%s`, f.dataDir, o.storeURL, fleetMergeInterval, fleetCacheTTL, o.extra)
		if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		f.replicas = append(f.replicas, r)
	}
	if _, err := f.cli(t, "init", "-config", f.cfg()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(f.replicas))
	for i, r := range f.replicas {
		wg.Go(func() { errs[i] = r.start(t) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// cli runs a brightline command in-process, returning its stdout. Its
// arguments name the config (f.cfg(), any replica's would do).
func (f *fleet) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if err := run(context.Background(), args, e); err != nil {
		return out.String(), fmt.Errorf("brightline %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), nil
}

// cfg is the config file the commands run with: the first replica's.
func (f *fleet) cfg() string { return f.replicas[0].cfg }

var createdKeyRe = regexp.MustCompile(`created (\S+) for`)

// key creates an API key (brightline keys create -name name flags...) and
// returns its plaintext and id.
func (f *fleet) key(t *testing.T, name string, flags ...string) (key, id string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	args := append([]string{"keys", "create", "-config", f.replicas[0].cfg, "-name", name}, flags...)
	if err := run(context.Background(), args, e); err != nil {
		t.Fatalf("keys create: %v\n%s", err, errOut.String())
	}
	m := createdKeyRe.FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("keys create: no key id in %q", errOut.String())
	}
	return strings.TrimSpace(out.String()), m[1]
}

// start starts the replica's process and waits until it serves.
func (r *replica) start(t *testing.T) error {
	t.Cleanup(func() { // after startServe's, which kills the process
		if t.Failed() {
			t.Logf("replica %s log, last lines:\n%s", r.name, lastLines(r.log.String(), 30))
		}
	})
	p, err := startServe(t, r.cfg, r.log)
	if err != nil {
		return fmt.Errorf("replica %s: %w:\n%s", r.name, err, r.log.String())
	}
	r.serveProc = p
	return nil
}

// stop shuts the replica down as an operator would (SIGINT) and waits.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.exited:
	case <-time.After(60 * time.Second):
		t.Errorf("replica %s did not stop within 60s of SIGINT", r.name)
		r.kill()
	}
}

// logs reports whether the replica's log has a line with message msg.
func (r *replica) logs(msg string) bool {
	return strings.Contains(r.log.String(), `"msg":"`+msg+`"`)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// poll calls cond every 20ms until it is true, failing the test with what
// if deadline passes first. It is for conditions only another process can
// answer (a replica's HTTP answers, its checkpoints), which send the test
// no event it could wait on.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
	}
}

// answer is a response to one model API request: its status, body, request
// id and audit receipt; err if no answer came.
type answer struct {
	status      int
	body        []byte
	id, receipt string
	err         error
}

var fleetClient = &http.Client{Timeout: 30 * time.Second}

// dialects of the model API requests the tests send.
const (
	openaiDialect    = "openai"
	anthropicDialect = "anthropic"
)

// ask sends text as one user message to the replica in dialect, with key.
func (r *replica) ask(key, dialect, text string) answer {
	var req *http.Request
	switch dialect {
	case anthropicDialect:
		b, _ := json.Marshal(map[string]any{"model": "simulated", "max_tokens": 64,
			"messages": []map[string]string{{"role": "user", "content": text}}})
		req, _ = http.NewRequest("POST", r.url("/v1/messages"), bytes.NewReader(b))
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
	default:
		b, _ := json.Marshal(map[string]any{"model": "simulated",
			"messages": []map[string]string{{"role": "user", "content": text}}})
		req, _ = http.NewRequest("POST", r.url("/v1/chat/completions"), bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := fleetClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: err}
	}
	return answer{status: resp.StatusCode, body: body, id: resp.Header.Get("x-request-id"), receipt: resp.Header.Get(auditverify.ReceiptHeader)}
}

// api calls the approvals API on the replica with key and decodes its JSON.
func (r *replica) api(t *testing.T, method, path, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := fleetClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s on %s: %d %s", method, path, r.name, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// dripPerson is the drip collector's text bringing new US person i.
func dripPerson(i int) string {
	firsts := []string{"Maria", "James", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Nancy", "Thomas",
		"Laura", "Daniel", "Sarah", "Paul", "Helen", "Mark", "Donna", "Steven", "Carol", "Kevin"}
	lasts := []string{"Garcia", "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson",
		"Thomas", "Jackson", "Harris", "Martin", "Thompson", "Robinson", "Clark", "Lewis", "Walker", "Hall",
		"Allen", "Wright", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts"}
	name := firsts[i%len(firsts)] + " " + lasts[i/len(firsts)%len(lasts)]
	return fmt.Sprintf("Add to the file: %s, cell (212) %03d-%04d, seen downtown.", name, 400+i/10000, i%10000)
}

// helpDeskCustomer is the help desk's text about one of five customers.
func helpDeskCustomer(i int) string {
	firsts := []string{"Maria", "James", "Linda", "Robert", "Susan"}
	lasts := []string{"Garcia", "Smith", "Johnson", "Brown", "Miller"}
	c := i % 5
	return fmt.Sprintf("Customer %s %s, (617) 555-01%02d, asks where order %d is.", firsts[c], lasts[c], 10+c, 1000+i)
}

// dripRefusedBy is the rule that refuses the drip collector.
const dripRefusedBy = "(rule us-persons-24h)"

// drip runs the collector and the help desk against reps in turn: drip
// request n (from 1) brings new US person n and goes to reps[(n-1) %
// len(reps)]; a help-desk request about one of five customers follows every
// fourth to the same replica (so the help desk's go to every replica). Each request waits for the answer to the one
// before, and drip requests are at least dripSpacing apart. It returns the
// number of the first drip request refused, once every replica refuses
// the collector; the help desk must never be refused.
func drip(t *testing.T, reps []*replica, dripKey, deskKey string) int {
	t.Helper()
	// The spacing bounds the collector's rate, and so how far it can
	// overshoot the limit on the other replicas within two merge
	// intervals: at 100 requests a second and 25ms, about 3.
	const dripSpacing = 10 * time.Millisecond
	tick := time.NewTicker(dripSpacing)
	defer tick.Stop()
	first := 0
	for n := 1; n <= 400 && first == 0; n++ {
		<-tick.C
		r := reps[(n-1)%len(reps)]
		a := r.ask(dripKey, openaiDialect, dripPerson(n))
		switch {
		case a.err != nil:
			t.Fatalf("drip request %d to %s: %v", n, r.name, a.err)
		case a.status == http.StatusForbidden && bytes.Contains(a.body, []byte(dripRefusedBy)):
			first = n
		case a.status != http.StatusOK:
			t.Fatalf("drip request %d to %s: got %d %s, want 200 or 403 %s", n, r.name, a.status, a.body, dripRefusedBy)
		}
		if n%4 != 0 {
			continue
		}
		d := r.ask(deskKey, openaiDialect, helpDeskCustomer(n))
		if d.err != nil || d.status != http.StatusOK {
			t.Fatalf("help-desk request %d to %s: got %d %s (%v), want 200: it only ever asks about five people", n, r.name, d.status, d.body, d.err)
		}
	}
	if first == 0 {
		t.Fatalf("the drip collector was not refused in 400 requests to %d replicas (each saw about %d new people: do they merge their counters?)", len(reps), 400/len(reps))
	}
	// Once one replica refuses the collector, every replica does within
	// a few merge intervals, and the help desk still goes through.
	n := first
	for _, r := range reps {
		poll(t, 5*time.Second, "replica "+r.name+" refuses the drip collector", func() bool {
			n++
			a := r.ask(dripKey, openaiDialect, dripPerson(n))
			return a.status == http.StatusForbidden && bytes.Contains(a.body, []byte(dripRefusedBy))
		})
		if d := r.ask(deskKey, openaiDialect, helpDeskCustomer(n)); d.status != http.StatusOK {
			t.Fatalf("help-desk request to %s after the collector's refusal: got %d %s, want 200", r.name, d.status, d.body)
		}
	}
	return first
}

// TestFleetDrip: a collector drip-feeding new US persons round-robin over
// three replicas is refused within 5% of the request count at which one
// node refuses it (measured here on one replica with its own database,
// counting under the same subject secret), and a help-desk client spread
// the same way is never refused.
func TestFleetDrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	// What is measured is the policy's refusal (403): a longer MMD keeps
	// an audit log integrating slowly on a loaded machine from refusing
	// requests (503) meanwhile.
	const mmd = "audit: {mmd: 10s}\n"
	fl := newFleet(t, fleetOptions{replicas: 3, extra: mmd})
	secret, err := os.ReadFile(filepath.Join(fl.dataDir, subjectKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	one := newFleet(t, fleetOptions{replicas: 1, subjectKey: string(secret), extra: mmd})

	oneDrip, _ := one.key(t, "collector")
	oneDesk, _ := one.key(t, "help desk")
	flDrip, _ := fl.key(t, "collector")
	flDesk, _ := fl.key(t, "help desk")
	// The two deployments are apart: they run at once.
	var single, spread int
	t.Run("drips", func(t *testing.T) {
		t.Run("one node", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			single = drip(t, one.replicas, oneDrip, oneDesk)
			t.Logf("one node refused the drip collector at request %d (%s)", single, time.Since(start).Round(time.Millisecond))
		})
		t.Run("three replicas", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			spread = drip(t, fl.replicas, flDrip, flDesk)
			t.Logf("three replicas refused the drip collector at request %d (merge interval %s; %s)", spread, fleetMergeInterval, time.Since(start).Round(time.Millisecond))
		})
	})
	if t.Failed() {
		return
	}
	// The default policy refuses past 200 distinct US persons in 24h.
	if single < 195 || single > 210 {
		t.Errorf("one node refused the collector at request %d, want about 201", single)
	}
	if diff := spread - single; float64(max(diff, -diff)) > 0.05*float64(single) {
		t.Errorf("three replicas refused the collector at request %d, one node at %d: want within 5%% (%.1f requests)", spread, single, 0.05*float64(single))
	}
}

// bearerTransport adds an API key to every request.
type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects to the replica's MCP proxy for upstream with key.
func (r *replica) mcpSession(t *testing.T, upstream, key string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   r.url("/mcp/" + upstream),
		HTTPClient: &http.Client{Transport: bearerTransport{key}},
	}, nil)
	if err != nil {
		t.Fatalf("connect to %s's MCP proxy: %v", r.name, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callTool calls a tool through cs and returns the result's text.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, meta mcp.Meta) (*mcp.CallToolResult, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
	if err != nil {
		t.Fatalf("call %s(%v): %v", name, args, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return res, b.String()
}

// heldID returns the id of the approval a held call's result names.
func heldID(t *testing.T, res *mcp.CallToolResult, text string) string {
	t.Helper()
	m, _ := res.Meta[mcpproxy.MetaApproval].(map[string]any)
	id, _ := m["id"].(string)
	if !res.IsError || id == "" || m["status"] != "pending" {
		t.Fatalf("got %q (meta %v), want the call held pending approval", text, res.Meta)
	}
	return id
}

// TestFleetApproval: a force tool call held through replica A is approved
// through B by an approver (another person, with the role), and its token
// runs the call once through C. The same token replayed through A is
// refused, and the tool does not run again.
func TestFleetApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	// The battery the tool calls reach: it counts its shots.
	var shots atomic.Int64
	battery := mcp.NewServer(&mcp.Implementation{Name: "battery", Version: "1"}, nil)
	type fireIn struct {
		Track string `json:"track" jsonschema:"the hostile radar track to engage"`
	}
	mcp.AddTool(battery, &mcp.Tool{Name: "fire_interceptor", Description: "Fire an interceptor missile at a hostile track."},
		func(_ context.Context, _ *mcp.CallToolRequest, in fireIn) (*mcp.CallToolResult, any, error) {
			n := shots.Add(1)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("shot %d at %s", n, in.Track)}}}, nil, nil
		})
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return battery }, nil))
	t.Cleanup(up.Close)

	fl := newFleet(t, fleetOptions{replicas: 3, extra: fmt.Sprintf("mcp: {servers: [{name: battery, url: %q}]}\n", up.URL)})
	a, b, c := fl.replicas[0], fl.replicas[1], fl.replicas[2]
	agent, _ := fl.key(t, "agent", "-person", "ada")
	officer, _ := fl.key(t, "duty officer", "-person", "officer", "-role", "weapons-release-authority")
	args := map[string]any{"track": "T-17"}

	// Held through A.
	res, text := callTool(t, a.mcpSession(t, "battery", agent), "fire_interceptor", args, nil)
	id := heldID(t, res, text)

	// Approved through B, by the officer; not by the requester.
	if code, body := b.api(t, "POST", "/brightline/v1/approvals/"+id+"/approve", agent); code != http.StatusForbidden {
		t.Errorf("the requester approving its own call through B: got %d %v, want 403", code, body)
	}
	if code, body := b.api(t, "POST", "/brightline/v1/approvals/"+id+"/approve", officer); code != http.StatusOK || body["status"] != "approved" {
		t.Fatalf("approve through B: got %d %v, want 200 approved", code, body)
	}

	// Its token, fetched and used through C, runs the call once.
	code, body := c.api(t, "GET", "/brightline/v1/approvals/"+id, agent)
	token, _ := body["token"].(string)
	if code != http.StatusOK || body["status"] != "approved" || token == "" {
		t.Fatalf("the approval through C: got %d %v, want approved with a token", code, body)
	}
	meta := mcp.Meta{mcpproxy.MetaApprovalToken: token}
	res, text = callTool(t, c.mcpSession(t, "battery", agent), "fire_interceptor", args, meta)
	if res.IsError || text != "shot 1 at T-17" || shots.Load() != 1 {
		t.Fatalf("the approved call through C: got %q (error %v, %d shots), want shot 1 at T-17", text, res.IsError, shots.Load())
	}
	if code, body := b.api(t, "GET", "/brightline/v1/approvals/"+id, officer); code != http.StatusOK || body["status"] != "consumed" {
		t.Errorf("the approval through B after its use: got %d %v, want consumed", code, body)
	}

	// Replayed through A, the token is refused; the same call without it
	// is held anew. The battery never fires again.
	as := a.mcpSession(t, "battery", agent)
	res, text = callTool(t, as, "fire_interceptor", args, meta)
	if !res.IsError || !strings.Contains(text, "already been used") {
		t.Errorf("the token replayed through A: got %q (error %v), want it refused as already used", text, res.IsError)
	}
	res, text = callTool(t, as, "fire_interceptor", args, nil)
	if again := heldID(t, res, text); again == id {
		t.Errorf("the call again through A: got the consumed approval %s, want a new one", id)
	}
	if n := shots.Load(); n != 1 {
		t.Errorf("the battery fired %d times, want once", n)
	}
}

// TestFleetRevocation: a key revoked through replica A (brightline keys
// revoke with the fleet's config, the way an operator at A revokes one)
// gets 401 from replica B within auth.cache_ttl, although B had just
// authenticated it and remembers it.
func TestFleetRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	fl := newFleet(t, fleetOptions{replicas: 3})
	a, b, c := fl.replicas[0], fl.replicas[1], fl.replicas[2]
	key, id := fl.key(t, "leaver")
	// Every replica authenticates the key and remembers it, B last.
	for _, r := range []*replica{a, c, b} {
		if ans := r.ask(key, openaiDialect, "status report"); ans.status != http.StatusOK {
			t.Fatalf("before the revocation, %s: got %d %s (%v), want 200", r.name, ans.status, ans.body, ans.err)
		}
	}
	// A replica remembers the key for at most cache_ttl from its last
	// lookup, which was before the revocation began. So every request
	// sent cache_ttl or more after that is refused.
	revoking := time.Now()
	if _, err := fl.cli(t, "keys", "revoke", "-config", a.cfg, id); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{b, c, a} {
		// The test fails in cond once cache_ttl has passed, well before
		// poll's deadline.
		poll(t, 10*fleetCacheTTL, r.name+" refusing the revoked key", func() bool {
			took := time.Since(revoking)
			ans := r.ask(key, openaiDialect, "status report")
			if ans.status == http.StatusUnauthorized {
				if !bytes.Contains(ans.body, []byte(`"code":"invalid_api_key"`)) {
					t.Errorf("%s's 401: got %s, want the OpenAI invalid_api_key error", r.name, ans.body)
				}
				t.Logf("%s refused the key revoked through A %s after the revocation began (cache_ttl %s)", r.name, took.Round(time.Millisecond), fleetCacheTTL)
				return true
			}
			if ans.status != http.StatusOK {
				t.Fatalf("%s, %s after the revocation: got %d %s (%v), want 200 (remembered) or 401", r.name, took, ans.status, ans.body, ans.err)
			}
			if took >= fleetCacheTTL {
				t.Fatalf("%s accepted the key %s after its revocation through A began, past auth.cache_ttl (%s)", r.name, took, fleetCacheTTL)
			}
			return false
		})
	}
	// Once refused, it stays refused, in every dialect.
	for _, r := range fl.replicas {
		if ans := r.ask(key, anthropicDialect, "status report"); ans.status != http.StatusUnauthorized || !bytes.Contains(ans.body, []byte(`"authentication_error"`)) {
			t.Errorf("after the revocation, %s: got %d %s, want 401 authentication_error", r.name, ans.status, ans.body)
		}
	}
}

// sent is one request of a load and its answer.
type sent struct {
	replica  *replica
	dialect  string
	at, done time.Time // sent, answered (or failed)
	answer
}

// load sends requests to replicas from several workers until finished.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	sent []sent            // guarded by mu
	dead map[*replica]bool // guarded by mu: replicas no longer sent to
}

// startLoad starts workers that send requests with key to reps in turn,
// alternating dialects; body(w, i) is worker w's i-th text.
func startLoad(reps []*replica, key string, workers int, body func(w, i int) string) *load {
	l := &load{stop: make(chan struct{}), dead: map[*replica]bool{}}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				r := reps[(w+i)%len(reps)]
				l.mu.Lock()
				dead := l.dead[r]
				l.mu.Unlock()
				if dead {
					continue
				}
				s := sent{replica: r, dialect: []string{openaiDialect, anthropicDialect}[(w+i/len(reps))%2], at: time.Now()}
				s.answer = r.ask(key, s.dialect, body(w, i))
				s.done = time.Now()
				l.mu.Lock()
				l.sent = append(l.sent, s)
				l.mu.Unlock()
			}
		})
	}
	return l
}

// count returns how many requests sent so far match f.
func (l *load) count(f func(s sent) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sent {
		if f(s) {
			n++
		}
	}
	return n
}

// forget stops sending to r.
func (l *load) forget(r *replica) {
	l.mu.Lock()
	l.dead[r] = true
	l.mu.Unlock()
}

// finish stops the load and returns every request sent.
func (l *load) finish() []sent {
	close(l.stop)
	l.wg.Wait()
	return l.sent
}

// logPolicy returns the checkpoint policy of the fleet's log.
func (f *fleet) logPolicy(t *testing.T) auditverify.Policy {
	t.Helper()
	vkey, err := auditlog.VerifierKey(strings.TrimSpace(readFile(t, filepath.Join(f.dataDir, auditlog.KeyFile))))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// checkLogHolds waits until the log, integrated by whichever replica
// leads, covers every receipt among answers; stops the fleet; then checks
// that `brightline audit verify` passes, that `audit verify -receipts`
// finds every receipt's entry at its index, and that every answered
// request's decision (each answer with a receipt) is in the log. Answers
// without a receipt must be 503s.
func (f *fleet) checkLogHolds(t *testing.T, answers []sent, live []*replica) {
	t.Helper()
	pol := f.logPolicy(t)
	var receipts strings.Builder
	var maxIndex uint64
	decided := map[string]int{} // request id → status
	for _, s := range answers {
		if s.err != nil {
			continue
		}
		if s.receipt == "" {
			if s.status != http.StatusServiceUnavailable || !unavailableIn(s.dialect, s.body) {
				t.Errorf("request %s to %s answered %d %s without a receipt, want only 503s in the %s dialect without", s.id, s.replica.name, s.status, s.body, s.dialect)
			}
			continue
		}
		rc, err := auditverify.ParseReceipt(s.receipt, pol.Log)
		if err != nil {
			t.Errorf("request %s to %s: receipt %q: %v", s.id, s.replica.name, s.receipt, err)
			continue
		}
		maxIndex = max(maxIndex, rc.Index)
		receipts.WriteString(s.receipt + "\n")
		decided[s.id] = s.status
	}
	if len(decided) == 0 {
		t.Fatal("no answer carried a receipt")
	}
	poll(t, 30*time.Second, fmt.Sprintf("a checkpoint past entry %d, the last receipted", maxIndex), func() bool {
		return checkpointSize(t, live[0].url("/log/checkpoint")) > maxIndex
	})
	for _, r := range live {
		r.stop(t)
	}
	if _, err := f.cli(t, "audit", "-config", f.cfg(), "verify", "-no-state"); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	file := filepath.Join(f.dir, "receipts.txt")
	if err := os.WriteFile(file, []byte(receipts.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := f.cli(t, "audit", "-config", f.cfg(), "verify", "-no-state", "-receipts", file)
	if err != nil {
		t.Fatalf("audit verify -receipts: %v", err)
	}
	if want := fmt.Sprintf("%d checked, %d included", len(decided), len(decided)); !strings.Contains(out, want) {
		t.Errorf("audit verify -receipts: got %s, want %q", out, want)
	}
	ctx := context.Background()
	src := auditverify.NewSource(filepath.Join(f.dataDir, auditlog.DirName), nil, nil)
	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	if err := auditverify.VerifyTree(ctx, src, cp, true, func(_ uint64, b []byte) error {
		e, err := auditlog.ParseEntry(b)
		if err != nil {
			return err
		}
		if e.Kind == "decision" && e.Stage == "request" {
			logged[e.RequestID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id, status := range decided {
		if !logged[id] {
			if missing++; missing <= 5 {
				t.Errorf("request %s was answered %d but its decision is not in the log", id, status)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered requests are missing from the log", missing, len(decided))
	}
	t.Logf("log of %d entries verified; it holds all %d answered decisions", cp.Size, len(decided))
}

// integratesMsg is the log message of a replica elected to integrate.
const integratesMsg = "this replica integrates the audit log"

// TestFleetIntegratorDies: the replica that integrates the audit log is
// SIGKILLed under load. Another replica takes over; every checkpoint
// fetched from /log/checkpoint meanwhile is consistent with the one
// before (the tree never forks); `brightline audit verify` passes; and
// every answered request, with its receipt, is in the log.
func TestFleetIntegratorDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	fl := newFleet(t, fleetOptions{replicas: 3})
	key, _ := fl.key(t, "load")
	leaders := func() []*replica {
		var ls []*replica
		for _, r := range fl.replicas {
			if r.logs(integratesMsg) {
				ls = append(ls, r)
			}
		}
		return ls
	}
	poll(t, 30*time.Second, "one replica integrates the audit log", func() bool { return len(leaders()) == 1 })
	leader := leaders()[0]
	var live []*replica
	for _, r := range fl.replicas {
		if r != leader {
			live = append(live, r)
		}
	}

	// Watch the checkpoints through a replica that stays up.
	pol := fl.logPolicy(t)
	ctx := context.Background()
	watchStop, watchDone := make(chan struct{}), make(chan struct{})
	var (
		watchMu     sync.Mutex
		checkpoints []uint64 // sizes seen, in order
		forks       []error
	)
	go func() {
		defer close(watchDone)
		src := auditverify.NewSource(live[0].url("/log"), nil, nil)
		var prev auditverify.Checkpoint
		for {
			select {
			case <-watchStop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			cur, err := auditverify.FetchCheckpoint(ctx, src, pol)
			if err != nil || cur.Size == prev.Size && cur.Hash == prev.Hash {
				continue // none yet, or no news
			}
			if prev.Origin != "" {
				err = auditverify.CheckConsistency(ctx, src, prev, cur)
			}
			watchMu.Lock()
			checkpoints = append(checkpoints, cur.Size)
			if err != nil {
				forks = append(forks, err)
			}
			watchMu.Unlock()
			prev = cur
		}
	}()
	lastCheckpoint := func() uint64 {
		watchMu.Lock()
		defer watchMu.Unlock()
		if len(checkpoints) == 0 {
			return 0
		}
		return checkpoints[len(checkpoints)-1]
	}

	bulk := "name,phone\n"
	for i := range 30 {
		bulk += fmt.Sprintf("%s Smith,(212) 555-01%02d\n", []string{"Maria", "James", "Linda", "Robert", "Susan"}[i%5], 10+i)
	}
	l := startLoad(fl.replicas, key, 6, func(w, i int) string {
		if i%4 == 3 { // denied: a bulk list of 30 US persons
			return fmt.Sprintf("Import these records (batch %d-%d):\n%s", w, i, bulk)
		}
		return fmt.Sprintf("status report %d-%d", w, i)
	})
	answered := func(s sent) bool { return s.err == nil && s.receipt != "" }
	poll(t, 30*time.Second, "100 answers and a checkpoint before the kill", func() bool {
		return l.count(answered) >= 100 && lastCheckpoint() > 0
	})
	l.forget(leader)
	leader.kill()
	killed := time.Now()
	before := lastCheckpoint()
	t.Logf("SIGKILLed the integrator %s; last checkpoint before: size %d", leader.name, before)

	poll(t, 30*time.Second, "another replica takes over the integration", func() bool { return len(leaders()) == 2 })
	tookOver := time.Since(killed)
	n := l.count(answered)
	poll(t, 30*time.Second, "100 more answers and a checkpoint from the new integrator", func() bool {
		return l.count(answered) >= n+100 && lastCheckpoint() > before
	})
	answers := l.finish()
	for _, r := range leaders() {
		if r != leader {
			t.Logf("%s took over within %s of the kill; 100 more answers and a new checkpoint %s after it", r.name, tookOver.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
		}
	}
	close(watchStop)
	<-watchDone

	statuses := map[int]int{}
	n = 0
	for _, s := range answers {
		if s.err == nil {
			statuses[s.status]++
			n++
		}
	}
	t.Logf("answers by status: %v; %d checkpoints seen, sizes %d to %d", statuses, len(checkpoints), checkpoints[0], checkpoints[len(checkpoints)-1])
	for _, err := range forks {
		t.Errorf("checkpoint not consistent with the one before: %v", err)
	}
	if statuses[200] == 0 || statuses[403] == 0 || statuses[200]+statuses[403]+statuses[503] != n {
		t.Errorf("answers by status: %v, want only 200 (allowed), 403 (denied) and 503 (the log behind its MMD), 200 and 403 both", statuses)
	}
	fl.checkLogHolds(t, answers, live)
}

// pgProxy is a TCP proxy between the replicas and PostgreSQL that the
// test can cut (close every connection and refuse new ones) and restore,
// without stopping the server other tests share.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool                  // guarded by mu
	conns  map[net.Conn]struct{} // guarded by mu: both ends of each
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.setCut(true)
	})
	return p
}

func (p *pgProxy) serve(c net.Conn) {
	// While cut, the server is not even dialled: as for a server that is
	// down, a connection attempt costs it nothing.
	p.mu.Lock()
	cut := p.cut
	p.mu.Unlock()
	if cut {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	p.mu.Lock()
	if err != nil || p.cut {
		p.mu.Unlock()
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}
	go pipe(up, c)
	pipe(c, up)
}

// setCut cuts the proxy (closing every connection through it; new ones
// are closed at once) or restores it.
func (p *pgProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// unavailableIn reports whether body is the gateway's "unavailable" error
// in dialect.
func unavailableIn(dialect string, body []byte) bool {
	var e struct {
		Type  string
		Error struct{ Type, Code, Message string }
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return false
	}
	if dialect == anthropicDialect {
		return e.Type == "error" && e.Error.Type == "overloaded_error"
	}
	return e.Error.Type == "server_error" && e.Error.Code == "unavailable"
}

// TestFleetLosesTheDatabase: PostgreSQL goes away under load (a proxy in
// front of it is cut). Every request sent while it is away gets 503 in its
// own dialect (OpenAI, Anthropic); nothing is released undecided (every
// answer that released something carries a receipt, and its decision is
// in the log once the database is back); and every replica serves again
// when the database returns.
func TestFleetLosesTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	fl := newFleet(t, fleetOptions{replicas: 3, storeURL: u.String()})
	key, _ := fl.key(t, "load")

	l := startLoad(fl.replicas, key, 6, func(w, i int) string { return fmt.Sprintf("status report %d-%d", w, i) })
	ok := func(s sent) bool { return s.err == nil && s.status == http.StatusOK }
	poll(t, 30*time.Second, "50 answers before the database goes", func() bool { return l.count(ok) >= 50 })

	proxy.setCut(true)
	cut := time.Now()
	// Each replica refuses in each dialect while the database is away,
	// also once it no longer remembers the key (auth.cache_ttl), so that
	// key lookups fail too.
	for _, r := range fl.replicas {
		for _, d := range []string{openaiDialect, anthropicDialect} {
			poll(t, 30*time.Second, fmt.Sprintf("%s answers 503 in the %s dialect without its database", r.name, d), func() bool {
				return l.count(func(s sent) bool {
					return s.replica == r && s.dialect == d && s.at.After(cut.Add(fleetCacheTTL)) && s.err == nil && s.status == http.StatusServiceUnavailable
				}) >= 3
			})
		}
	}
	proxy.setCut(false)
	restored := time.Now()
	t.Logf("database away for %s", restored.Sub(cut).Round(time.Millisecond))
	for _, r := range fl.replicas {
		for _, d := range []string{openaiDialect, anthropicDialect} {
			poll(t, 60*time.Second, fmt.Sprintf("%s serves in the %s dialect once the database is back", r.name, d), func() bool {
				return l.count(func(s sent) bool { return s.replica == r && s.dialect == d && s.at.After(restored) && ok(s) }) >= 3
			})
		}
	}
	back := time.Since(restored)
	answers := l.finish()
	t.Logf("every replica served again %s after the database returned", back.Round(time.Millisecond))

	statuses := map[int]int{}
	away := 0
	for _, s := range answers {
		if s.err != nil {
			t.Errorf("request to %s got no answer: %v", s.replica.name, s.err)
			continue
		}
		statuses[s.status]++
		switch {
		case s.status == http.StatusServiceUnavailable:
			if !unavailableIn(s.dialect, s.body) {
				t.Errorf("503 from %s: got %s, want the unavailable error in the %s dialect", s.replica.name, s.body, s.dialect)
			}
		case s.status != http.StatusOK:
			t.Errorf("%s answered %d %s, want 200, or 503 while the database was away", s.replica.name, s.status, s.body)
		}
		if s.at.After(cut) && s.done.Before(restored) {
			away++
			if s.status != http.StatusServiceUnavailable {
				t.Errorf("request sent to %s while the database was away: got %d %s, want 503", s.replica.name, s.status, s.body)
			}
		}
	}
	t.Logf("answers by status: %v; %d sent and answered while the database was away", statuses, away)
	fl.checkLogHolds(t, answers, fl.replicas)
}
