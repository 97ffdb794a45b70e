package mcpproxy

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// upstreamEnv makes the test binary an MCP stdio server (see TestMain).
const upstreamEnv = "BRIGHTLINE_MCPPROXY_TEST_UPSTREAM"

func TestMain(m *testing.M) {
	if os.Getenv(upstreamEnv) == "stdio" {
		var shots atomic.Int64
		if err := newUpstream(&shots).Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type weatherIn struct {
	City string `json:"city" jsonschema:"the city"`
}

type fireIn struct {
	Track string `json:"track" jsonschema:"the hostile radar track to engage"`
	Salvo int    `json:"salvo,omitempty" jsonschema:"interceptors to fire"`
}

// newUpstream is the MCP server behind the proxy. shots counts the times
// fire_interceptor ran; each result says which shot it was.
func newUpstream(shots *atomic.Int64) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "battery", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "get_weather", Description: "Get the current weather for a city."},
		func(_ context.Context, _ *mcp.CallToolRequest, in weatherIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sunny in " + in.City}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "fire_interceptor", Description: "Fire an interceptor missile at a hostile track."},
		func(_ context.Context, _ *mcp.CallToolRequest, in fireIn) (*mcp.CallToolResult, any, error) {
			n := shots.Add(1)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("shot %d at %s", n, in.Track)}}}, nil, nil
		})
	return s
}

// clock is the approval store's and service's clock, set by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	agent    = brightline.Principal{ID: "key_agent", Name: "agent", Person: "ada", Roles: []string{"user"}}
	other    = brightline.Principal{ID: "key_other", Name: "other agent", Roles: []string{"user"}}
	approver = brightline.Principal{ID: "key_officer", Name: "officer", Roles: []string{DefaultApproverRole}}
	// agentLaptop is another key of the agent's person.
	agentLaptop = brightline.Principal{ID: "key_agent_laptop", Name: "agent laptop", Person: "ada", Roles: []string{"user"}}
	// approver2 is a second approver, for two-person rules.
	approver2 = brightline.Principal{ID: "key_officer2", Name: "officer two", Roles: []string{DefaultApproverRole}}
	keys      = map[string]brightline.Principal{"agent-key": agent, "other-key": other, "laptop-key": agentLaptop}
)

func authenticate(r *http.Request) (brightline.Principal, error) {
	k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if p, found := keys[k]; ok && found {
		return p, nil
	}
	return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "missing or unknown API key")
}

// auditLog is the audit log: it keeps entries and fails while fail is set.
type auditLog struct {
	mu       sync.Mutex
	entries  []auditlog.Entry
	fail     error
	onAppend func() // called on each successful append, if set
}

func (l *auditLog) Append(_ context.Context, e auditlog.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if l.onAppend != nil {
		l.onAppend()
	}
	l.entries = append(l.entries, e)
	return nil
}

func (l *auditLog) Entries() []auditlog.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

func (l *auditLog) Fail(err error) {
	l.mu.Lock()
	l.fail = err
	l.mu.Unlock()
}

type fixture struct {
	audit  *auditLog
	db     *sqlite.DB
	up     *mcp.Server // the HTTP upstream
	upURL  string
	svc    *approval.Service
	clock  *clock
	proxy  *Proxy
	server *httptest.Server
	shots  atomic.Int64 // the HTTP upstream's
	// created receives each approval the service creates (up to 64 not
	// yet read; more are dropped).
	created chan approval.Approval
}

// nextCreated returns the next approval the service creates.
func (f *fixture) nextCreated(t *testing.T) approval.Approval {
	t.Helper()
	select {
	case a := <-f.created:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no approval was created within 20s")
		return approval.Approval{}
	}
}

const ttl = 10 * time.Minute

func newFixture(t testing.TB, wait time.Duration) *fixture {
	return newFixtureWith(t, wait, nil)
}

// newFixtureWith is newFixture with decide as Config.Decide.
func newFixtureWith(t testing.TB, wait time.Duration, decide func(context.Context, brightline.Principal, ToolCall) (Verdict, error)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{clock: &clock{t: time.Now().UTC()}, audit: &auditLog{}}

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = f.clock.Now
	f.db = db
	for _, p := range []brightline.Principal{agent, other, approver, agentLaptop, approver2} {
		_, hash, err := brightline.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateKey(ctx, store.Key{ID: p.ID, Principal: p}, hash); err != nil {
			t.Fatal(err)
		}
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.created = make(chan approval.Approval, 64)
	f.svc, err = approval.New(approval.Config{Store: db, Keys: db, Signer: key, Now: f.clock.Now, BaseURL: "http://gw.test",
		PollInterval: 10 * time.Millisecond, Record: func(_ context.Context, e approval.Event) error {
			if e.Type == approval.EventCreated {
				select {
				case f.created <- e.Approval:
				default: // a test that does not read them
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}

	f.up = newUpstream(&f.shots)
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return f.up }, nil))
	t.Cleanup(up.Close)
	f.upURL = up.URL

	f.proxy, err = New(ctx, Config{
		Upstreams: []Upstream{
			{Name: "http", URL: up.URL},
			{Name: "stdio", Command: []string{os.Args[0], "-test.run=^$"}, Env: []string{upstreamEnv + "=stdio"}},
		},
		Approvals:   f.svc,
		Decide:      decide,
		Audit:       f.audit.Append,
		ApprovalTTL: ttl,
		WaitLimit:   wait,
		Auth:        authenticate,
		Logger:      testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.proxy.Close() })
	mux := http.NewServeMux()
	mux.Handle("/mcp/{upstream}", f.proxy.Handler())
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// bearer adds an API key to every request.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// upstreamID is the identity approvals at the fixture's upstream name are
// bound to.
func (f *fixture) upstreamID(name string) string {
	return f.proxy.upstreams[name].id
}

// connect returns an SDK client session through the proxy to upstream.
func (f *fixture) connect(t testing.TB, upstream, key string) *mcp.ClientSession {
	t.Helper()
	return dial(t, f.server.URL+"/mcp/"+upstream, key)
}

func dial(t testing.TB, endpoint, key string) *mcp.ClientSession {
	t.Helper()
	return dialWith(t, endpoint, key, nil)
}

// dialWith is dial with the client's options.
func dialWith(t testing.TB, endpoint, key string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   endpoint,
		HTTPClient: &http.Client{Transport: bearer{key}},
	}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t testing.TB, cs *mcp.ClientSession, name string, args map[string]any, meta mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
	if err != nil {
		t.Fatalf("call %s(%v): %v", name, args, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// heldApproval returns the approval metadata of a held or refused result.
func heldApproval(t testing.TB, res *mcp.CallToolResult) (id, status string) {
	t.Helper()
	m, ok := res.Meta[MetaApproval].(map[string]any)
	if !ok {
		t.Fatalf("result has no %s in _meta: %+v, %q", MetaApproval, res.Meta, text(res))
	}
	for _, k := range []string{"id", "status", "status_url", "expires_at"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("approval meta %v has no %q", m, k)
		}
	}
	id, _ = m["id"].(string)
	status, _ = m["status"].(string)
	if want := "http://gw.test/brightline/v1/approvals/" + id; m["status_url"] != want {
		t.Errorf("got status_url %v, want %s", m["status_url"], want)
	}
	return id, status
}

// wantHeld checks that res is a held call and returns its approval id.
func wantHeld(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.IsError || !strings.Contains(text(res), "Held for human approval") {
		t.Fatalf("got %q (isError %v), want a held call", text(res), res.IsError)
	}
	id, status := heldApproval(t, res)
	if status != "pending" {
		t.Errorf("got approval status %q, want pending", status)
	}
	return id
}

// wantShot checks that res is the upstream's answer to shot n.
func wantShot(t testing.TB, res *mcp.CallToolResult, n int, track string) {
	t.Helper()
	if want := fmt.Sprintf("shot %d at %s", n, track); res.IsError || text(res) != want {
		t.Fatalf("got %q (isError %v), want %q", text(res), res.IsError, want)
	}
}

func TestProxy(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	for _, upstream := range []string{"http", "stdio"} {
		t.Run(upstream, func(t *testing.T) {
			cs := f.connect(t, upstream, "agent-key")
			shot := 0 // shots this subtest expects the upstream to have fired

			t.Run("tools/list is annotated", func(t *testing.T) {
				res, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"get_weather": "informational", "fire_interceptor": "force"}
				if len(res.Tools) != len(want) {
					t.Fatalf("got %d tools, want %d", len(res.Tools), len(want))
				}
				for _, tool := range res.Tools {
					if got := tool.Meta[MetaEffect]; got != want[tool.Name] {
						t.Errorf("%s: got %s %v, want %s", tool.Name, MetaEffect, got, want[tool.Name])
					}
					if got := tool.Meta[MetaEffectDeclared]; got != false {
						t.Errorf("%s: got %s %v, want false", tool.Name, MetaEffectDeclared, got)
					}
					if r, _ := tool.Meta[MetaEffectReason].(string); r == "" {
						t.Errorf("%s: no %s", tool.Name, MetaEffectReason)
					}
					if tool.Description == "" || tool.InputSchema == nil {
						t.Errorf("%s: description or schema lost: %+v", tool.Name, tool)
					}
				}
			})

			t.Run("weather is free", func(t *testing.T) {
				res := call(t, cs, "get_weather", map[string]any{"city": "Oslo"}, nil)
				if res.IsError || text(res) != "sunny in Oslo" {
					t.Errorf("got %q (isError %v), want %q", text(res), res.IsError, "sunny in Oslo")
				}
			})

			t1 := map[string]any{"track": "T1", "salvo": 2}
			t.Run("fire is held, approved, runs once, replay is held", func(t *testing.T) {
				id := wantHeld(t, call(t, cs, "fire_interceptor", t1, nil))
				a, err := f.svc.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if a.Principal.ID != agent.ID || a.Tool != "fire_interceptor" || a.Require.Role != DefaultApproverRole || a.Rule != "human-control-of-force" {
					t.Errorf("got approval %+v, want one by %s for fire_interceptor needing %s", a, agent.ID, DefaultApproverRole)
				}
				// Asking again while pending returns the same approval.
				if again := wantHeld(t, call(t, cs, "fire_interceptor", t1, nil)); again != id {
					t.Errorf("got approval %s on retry, want the pending %s", again, id)
				}
				if _, err := f.svc.Approve(ctx, id, approver); err != nil {
					t.Fatal(err)
				}
				// Another principal's identical call is not covered.
				otherCS := f.connect(t, upstream, "other-key")
				wantHeld(t, call(t, otherCS, "fire_interceptor", t1, nil))
				// Key order and spacing do not matter: the digest is canonical.
				shot++
				wantShot(t, call(t, cs, "fire_interceptor", map[string]any{"salvo": 2, "track": "T1"}, nil), shot, "T1")
				if a, _ := f.svc.Get(ctx, id); a.Status != approval.StatusConsumed {
					t.Errorf("got status %s after the call, want consumed", a.Status)
				}
				replay := wantHeld(t, call(t, cs, "fire_interceptor", t1, nil))
				if replay == id {
					t.Errorf("replay got the consumed approval %s, want a new one", id)
				}
				if upstream == "http" && f.shots.Load() != int64(shot) {
					t.Errorf("upstream fired %d times, want %d", f.shots.Load(), shot)
				}
			})

			t.Run("changed arguments are not covered", func(t *testing.T) {
				id := wantHeld(t, call(t, cs, "fire_interceptor", map[string]any{"track": "T2"}, nil))
				if _, err := f.svc.Approve(ctx, id, approver); err != nil {
					t.Fatal(err)
				}
				for _, args := range []map[string]any{{"track": "T3"}, {"track": "T2", "salvo": 1}} {
					wantHeld(t, call(t, cs, "fire_interceptor", args, nil))
				}
				shot++
				wantShot(t, call(t, cs, "fire_interceptor", map[string]any{"track": "T2"}, nil), shot, "T2")
			})

			t.Run("approval token", func(t *testing.T) {
				args := map[string]any{"track": "T4"}
				id := wantHeld(t, call(t, cs, "fire_interceptor", args, nil))
				if _, err := f.svc.Approve(ctx, id, approver); err != nil {
					t.Fatal(err)
				}
				tok, err := f.svc.Token(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				meta := mcp.Meta{MetaApprovalToken: tok}
				tests := []struct {
					name string
					args map[string]any
					meta mcp.Meta
					want string
				}{
					{"other arguments", map[string]any{"track": "T5"}, meta, "approves a different call"},
					{"forged", args, mcp.Meta{MetaApprovalToken: tok[:len(tok)-4] + "AAAA"}, "not a valid approval token"},
				}
				for _, tt := range tests {
					res := call(t, cs, "fire_interceptor", tt.args, tt.meta)
					if !res.IsError || !strings.Contains(text(res), tt.want) {
						t.Errorf("%s: got %q, want an error containing %q", tt.name, text(res), tt.want)
					}
				}
				shot++
				wantShot(t, call(t, cs, "fire_interceptor", args, meta), shot, "T4")
				res := call(t, cs, "fire_interceptor", args, meta)
				if !res.IsError || !strings.Contains(text(res), "already been used") {
					t.Errorf("replayed token: got %q, want an error saying it was used", text(res))
				}
			})

			t.Run("denial", func(t *testing.T) {
				args := map[string]any{"track": "T6"}
				id := wantHeld(t, call(t, cs, "fire_interceptor", args, nil))
				if _, err := f.svc.Deny(ctx, id, approver, "friendly aircraft in the area"); err != nil {
					t.Fatal(err)
				}
				res := call(t, cs, "fire_interceptor", args, nil)
				if got, status := heldApproval(t, res); !res.IsError || got != id || status != "denied" || !strings.Contains(text(res), "friendly aircraft in the area") {
					t.Errorf("got %q (approval %s %s), want denial of %s with its reason", text(res), got, status, id)
				}
				// Calling again asks anew; it does not run.
				if again := wantHeld(t, call(t, cs, "fire_interceptor", args, nil)); again == id {
					t.Errorf("got the denied approval %s again, want a new one", id)
				}
			})

			t.Run("expiry", func(t *testing.T) {
				args := map[string]any{"track": "T7"}
				id := wantHeld(t, call(t, cs, "fire_interceptor", args, nil))
				f.clock.Advance(ttl + time.Second)
				res := call(t, cs, "fire_interceptor", args, nil)
				if got, status := heldApproval(t, res); !res.IsError || got != id || status != "expired" || !strings.Contains(text(res), "expired") {
					t.Errorf("got %q (approval %s %s), want expiry of %s", text(res), got, status, id)
				}
				// An approval that expires after approval does not run either.
				id = wantHeld(t, call(t, cs, "fire_interceptor", args, nil))
				if _, err := f.svc.Approve(ctx, id, approver); err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(ttl + time.Second)
				if again := wantHeld(t, call(t, cs, "fire_interceptor", args, nil)); again == id {
					t.Errorf("got the expired approval %s again, want a new one", id)
				}
			})

			if upstream == "http" && f.shots.Load() != int64(shot) {
				t.Errorf("upstream fired %d times, want %d", f.shots.Load(), shot)
			}
		})
	}
}

// TestProxyRace runs one approved call from several agents' sessions at
// once: it runs exactly once.
func TestProxyRace(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	args := map[string]any{"track": "R1"}
	id := wantHeld(t, call(t, f.connect(t, "http", "agent-key"), "fire_interceptor", args, nil))
	if _, err := f.svc.Approve(ctx, id, approver); err != nil {
		t.Fatal(err)
	}
	const n = 6
	sessions := make([]*mcp.ClientSession, n)
	for i := range sessions {
		sessions[i] = f.connect(t, "http", "agent-key")
	}
	results := make([]*mcp.CallToolResult, n)
	var wg sync.WaitGroup
	for i, cs := range sessions {
		wg.Go(func() {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fire_interceptor", Arguments: args})
			if err != nil {
				res = toolError("call failed: "+err.Error(), nil)
			}
			results[i] = res
		})
	}
	wg.Wait()
	ran := 0
	for _, res := range results {
		switch {
		case !res.IsError:
			ran++
		case !strings.Contains(text(res), "Held for human approval"):
			t.Errorf("got %q, want the call run or held", text(res))
		}
	}
	if ran != 1 || f.shots.Load() != 1 {
		t.Errorf("got %d calls run and %d shots, want 1 and 1", ran, f.shots.Load())
	}
}

func TestProxyWaits(t *testing.T) {
	f := newFixture(t, time.Minute)
	ctx := context.Background()
	cs := f.connect(t, "http", "agent-key")
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fire_interceptor", Arguments: map[string]any{"track": "W1"}})
		if err != nil {
			res = toolError("call failed: "+err.Error(), nil)
		}
		done <- res
	}()
	// Approve the held call as soon as it is created.
	if _, err := f.svc.Approve(ctx, f.nextCreated(t).ID, approver); err != nil {
		t.Fatal(err)
	}
	wantShot(t, <-done, 1, "W1")

	// A denial ends the wait too.
	go func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fire_interceptor", Arguments: map[string]any{"track": "W2"}})
		if err != nil {
			res = toolError("call failed: "+err.Error(), nil)
		}
		done <- res
	}()
	if _, err := f.svc.Deny(ctx, f.nextCreated(t).ID, approver, "no"); err != nil {
		t.Fatal(err)
	}
	if res := <-done; !res.IsError || !strings.Contains(text(res), "denied") {
		t.Errorf("got %q, want a denial", text(res))
	}
	if f.shots.Load() != 1 {
		t.Errorf("upstream fired %d times, want 1", f.shots.Load())
	}
}

func TestToolListChanged(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	changed := make(chan struct{}, 1)
	cs := dialWith(t, f.server.URL+"/mcp/http", "agent-key", &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default: // one pending wake-up is enough
			}
		},
	})
	mcp.AddTool(f.up, &mcp.Tool{Name: "launch_missile", Description: "Launch a missile at the coordinates."},
		func(context.Context, *mcp.CallToolRequest, struct {
			Lat float64 `json:"lat"`
		}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "launched"}}}, nil, nil
		})
	f.up.RemoveTools("get_weather")
	// The proxy re-reads the upstream's tools when told they changed, and
	// tells its clients in turn: check the list on each notice.
	deadline := time.After(20 * time.Second)
	for {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, tool := range res.Tools {
			got[tool.Name] = tool.Meta[MetaEffect]
		}
		if len(got) == 2 && got["launch_missile"] == "force" && got["get_weather"] == nil {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got tools %v, want fire_interceptor and launch_missile, both force", got)
		}
	}
	wantHeld(t, call(t, cs, "launch_missile", map[string]any{"lat": 1.5}, nil))
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Oslo"}}); err == nil {
		t.Error("removed tool get_weather: got no error")
	}
}

// BenchmarkCall measures a tools/call end to end over loopback HTTP:
// straight to the upstream, through the proxy for a free tool, and through
// the proxy for an approved force call (finding, token, consumption and
// forwarding; holding and approving are outside the timer).
func BenchmarkCall(b *testing.B) {
	f := newFixture(b, 0)
	ctx := context.Background()
	weather := map[string]any{"city": "Oslo"}
	b.Run("direct/get_weather", func(b *testing.B) {
		cs := dial(b, f.upURL, "agent-key")
		for b.Loop() {
			call(b, cs, "get_weather", weather, nil)
		}
	})
	b.Run("proxied/get_weather", func(b *testing.B) {
		cs := f.connect(b, "http", "agent-key")
		for b.Loop() {
			call(b, cs, "get_weather", weather, nil)
		}
	})
	b.Run("proxied/fire_interceptor_approved", func(b *testing.B) {
		cs := f.connect(b, "http", "agent-key")
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			args := map[string]any{"track": fmt.Sprintf("B%d", i)}
			id := wantHeld(b, call(b, cs, "fire_interceptor", args, nil))
			if _, err := f.svc.Approve(ctx, id, approver); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if res := call(b, cs, "fire_interceptor", args, nil); res.IsError {
				b.Fatalf("got %q", text(res))
			}
		}
	})
}

func TestProxyAuth(t *testing.T) {
	f := newFixture(t, 0)
	tests := []struct {
		name, path, key string
		want            int
	}{
		{"no key", "/mcp/http", "", http.StatusUnauthorized},
		{"unknown key", "/mcp/http", "nope", http.StatusUnauthorized},
		{"unknown upstream", "/mcp/nope", "agent-key", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
			req, _ := http.NewRequest(http.MethodPost, f.server.URL+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	// An SDK client with a bad key cannot connect.
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	_, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: f.server.URL + "/mcp/http", HTTPClient: &http.Client{Transport: bearer{"nope"}}, MaxRetries: -1,
	}, nil)
	if err == nil {
		t.Error("connected with an unknown key")
	}
}

func TestNewErrors(t *testing.T) {
	ok := Config{Approvals: &approval.Service{}, Auth: authenticate, Audit: (&auditLog{}).Append}
	tests := []struct {
		name string
		cfg  func(Config) Config
		want string
	}{
		{"no approvals", func(c Config) Config { c.Approvals = nil; return c }, "no approval service"},
		{"no auth", func(c Config) Config { c.Auth = nil; return c }, "no authentication"},
		{"no audit log", func(c Config) Config { c.Audit = nil; return c }, "no audit log"},
		{"no upstreams", func(c Config) Config { return c }, "no upstreams"},
		{"no name", func(c Config) Config { c.Upstreams = []Upstream{{URL: "http://x"}}; return c }, "non-empty name"},
		{"both", func(c Config) Config {
			c.Upstreams = []Upstream{{Name: "a", URL: "http://x", Command: []string{"x"}}}
			return c
		}, "exactly one of a URL and a command"},
		{"unreachable", func(c Config) Config {
			c.Upstreams = []Upstream{{Name: "a", Command: []string{filepath.Join(t.TempDir(), "missing")}}}
			return c
		}, `upstream "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg(ok))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
