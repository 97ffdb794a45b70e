package web

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

var (
	agent   = brightline.Principal{ID: "key_agent", Name: "targeting agent", Org: "acme", Purpose: "air defence", Roles: []string{"user"}}
	officer = brightline.Principal{ID: "key_officer", Name: "duty officer", Roles: []string{"weapons-release-authority"}}
	clerk   = brightline.Principal{ID: "key_clerk", Name: "clerk", Roles: []string{"approver"}}
	keys    = map[string]brightline.Principal{"bl_agent": agent, "bl_officer": officer, "bl_clerk": clerk}
)

// testAuth authenticates bearer keys from keys, as the gateway would.
func testAuth(r *http.Request) (brightline.Principal, error) {
	k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	p, ok := keys[k]
	if !ok {
		return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "invalid API key")
	}
	return p, nil
}

type events struct {
	mu   sync.Mutex
	list []approval.Event
}

func (e *events) record(_ context.Context, ev approval.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	return nil
}

// newService returns an approval service on a fresh SQLite store, and a
// server with the console at /ui/ and the API at /brightline/v1/approvals.
func newService(t *testing.T) (*approval.Service, *httptest.Server, *events) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	ev := &events{}
	for _, p := range []brightline.Principal{agent, officer, clerk} {
		_, hash, err := brightline.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateKey(context.Background(), store.Key{ID: p.ID, Principal: p}, hash); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := approval.New(approval.Config{Store: db, Keys: db, Signer: key, Record: ev.record})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler(svc, testAuth, nil))
	api := svc.Handler(testAuth)
	mux.Handle("/brightline/v1/approvals", api)
	mux.Handle("/brightline/v1/approvals/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return svc, srv, ev
}

const fireArgs = `{"target":"track-7","salvo":2}`

func hold(t *testing.T, svc *approval.Service, excerpt string) approval.Approval {
	t.Helper()
	a, err := svc.Create(context.Background(), approval.Request{
		RequestID: "req_1", Principal: agent, Tool: "fire_interceptor", Class: "force",
		Arguments: json.RawMessage(fireArgs), PolicyVersion: 2, Rule: "human-control-of-force",
		Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, TTL: time.Hour,
		Excerpt: excerpt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr ...string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func login(t *testing.T, c *http.Client, base, key string) string {
	t.Helper()
	p := do(t, c, "POST", base+"/ui/login", url.Values{"key": {key}, "next": {"/ui/approvals"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/approvals" {
		t.Fatalf("login: got %d to %q, want 303 to /ui/approvals", p.status, p.header.Get("Location"))
	}
	p = do(t, c, "GET", base+"/ui/approvals", nil)
	m := csrfRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("approvals page after login: got %d without a csrf token:\n%s", p.status, p.body)
	}
	return m[1]
}

func TestLoginAndSession(t *testing.T) {
	_, srv, _ := newService(t)
	c := browser(t)
	p := do(t, c, "GET", srv.URL+"/ui/approvals", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/login?next=") {
		t.Errorf("signed out: got %d to %q, want a redirect to the login page", p.status, p.header.Get("Location"))
	}
	if p := do(t, c, "GET", srv.URL+"/ui/", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/approvals" {
		t.Errorf("/ui/: got %d to %q", p.status, p.header.Get("Location"))
	}
	p = do(t, c, "GET", srv.URL+"/ui/login", nil)
	if p.status != 200 || !strings.Contains(p.body, `name="key"`) {
		t.Errorf("login form: got %d", p.status)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if p.header.Get(h) == "" {
			t.Errorf("login form: no %s header", h)
		}
	}
	p = do(t, c, "POST", srv.URL+"/ui/login", url.Values{"key": {"bl_wrong"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "invalid API key") {
		t.Errorf("wrong key: got %d, want 401 with the reason", p.status)
	}
	p = do(t, c, "POST", srv.URL+"/ui/login", url.Values{"key": {"bl_officer"}, "next": {"//evil.example/x"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/approvals" {
		t.Errorf("login with a foreign next: got %d to %q, want /ui/approvals", p.status, p.header.Get("Location"))
	}
	ck := p.header.Get("Set-Cookie")
	for _, want := range []string{"brightline_session=bl_officer", "Path=/ui/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Errorf("Set-Cookie %q lacks %q", ck, want)
		}
	}
	p = do(t, c, "GET", srv.URL+"/ui/approvals", nil)
	if p.status != 200 || !strings.Contains(p.body, "duty officer") || !strings.Contains(p.body, "Nothing is waiting") {
		t.Errorf("signed in: got %d\n%s", p.status, p.body)
	}
	tok := csrfRE.FindStringSubmatch(p.body)[1]
	p = do(t, c, "POST", srv.URL+"/ui/logout", url.Values{"csrf": {tok}})
	if p.status != http.StatusSeeOther {
		t.Errorf("logout: got %d", p.status)
	}
	if p := do(t, c, "GET", srv.URL+"/ui/approvals", nil); p.status != http.StatusSeeOther {
		t.Errorf("after logout: got %d, want a redirect to login", p.status)
	}
}

func TestDecideForms(t *testing.T) {
	svc, srv, ev := newService(t)
	a := hold(t, svc, `user: <script>alert(1)</script> intercept track 7`)
	b := hold(t, svc, "")

	// The requester sees its call but cannot decide it.
	req := browser(t)
	login(t, req, srv.URL, "bl_agent")
	p := do(t, req, "GET", srv.URL+"/ui/approvals", nil)
	if !strings.Contains(p.body, a.ID) || strings.Contains(p.body, "approve-"+a.ID) || !strings.Contains(p.body, "You requested this call") {
		t.Errorf("requester's page: want the call without an approve button\n%s", p.body)
	}
	// So does a clerk without the role: nothing to see.
	cl := browser(t)
	login(t, cl, srv.URL, "bl_clerk")
	if p := do(t, cl, "GET", srv.URL+"/ui/approvals", nil); strings.Contains(p.body, a.ID) {
		t.Errorf("clerk's page shows %s", a.ID)
	}

	c := browser(t)
	tok := login(t, c, srv.URL, "bl_officer")
	p = do(t, c, "GET", srv.URL+"/ui/approvals", nil)
	for _, want := range []string{a.ID, "fire_interceptor", "&#34;target&#34;: &#34;track-7&#34;", "targeting agent", "key_agent",
		"air defence", "human-control-of-force", "&lt;script&gt;alert(1)&lt;/script&gt;", "approve-" + a.ID, "deny-" + a.ID} {
		if !strings.Contains(p.body, want) {
			t.Errorf("officer's page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`class="left">(1h0m0s|59m[0-9]+s) `).MatchString(p.body) {
		t.Error("officer's page does not show about an hour left")
	}
	if strings.Contains(p.body, "<script>") {
		t.Error("officer's page holds an unescaped <script>")
	}

	approveURL := srv.URL + "/ui/approvals/" + a.ID + "/approve"
	refused := []struct {
		name   string
		form   url.Values
		hdr    []string
		status int
	}{
		{"no token", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"x" + tok}}, nil, http.StatusForbidden},
		{"cross-site", url.Values{"csrf": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"foreign origin", url.Values{"csrf": {tok}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p := do(t, c, "POST", approveURL, tt.form, tt.hdr...)
			if p.status != tt.status {
				t.Errorf("got %d, want %d", p.status, tt.status)
			}
			if got, _ := svc.Get(context.Background(), a.ID); got.Status != approval.StatusPending {
				t.Errorf("after a refused POST: got %q, want pending", got.Status)
			}
		})
	}
	if p := do(t, browser(t), "POST", approveURL, url.Values{"csrf": {tok}}); p.status != http.StatusUnauthorized {
		t.Errorf("POST without a session: got %d, want 401", p.status)
	}

	p = do(t, c, "POST", srv.URL+"/ui/approvals/"+b.ID+"/deny", url.Values{"csrf": {tok}, "reason": {"  "}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "a denial needs a reason") {
		t.Errorf("deny without a reason: got %d\n%s", p.status, p.body)
	}
	p = do(t, c, "POST", srv.URL+"/ui/approvals/"+b.ID+"/deny", url.Values{"csrf": {tok}, "reason": {"track is friendly"}})
	if p.status != http.StatusSeeOther {
		t.Errorf("deny: got %d", p.status)
	}
	p = do(t, c, "POST", approveURL, url.Values{"csrf": {tok}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=approved") {
		t.Fatalf("approve: got %d to %q", p.status, p.header.Get("Location"))
	}
	p = do(t, c, "GET", srv.URL+p.header.Get("Location"), nil)
	if !strings.Contains(p.body, "Approved "+a.ID) || !strings.Contains(p.body, "Nothing is waiting") {
		t.Errorf("after approving: want the notice and an empty queue\n%s", p.body)
	}
	if p := do(t, c, "POST", approveURL, url.Values{"csrf": {tok}}); p.status != http.StatusConflict {
		t.Errorf("approving again: got %d, want 409", p.status)
	}
	ga, _ := svc.Get(context.Background(), a.ID)
	gb, _ := svc.Get(context.Background(), b.ID)
	if ga.Status != approval.StatusApproved || ga.Votes[0].By.ID != officer.ID {
		t.Errorf("%s: got %q by %+v, want approved by the officer", a.ID, ga.Status, ga.Votes)
	}
	if gb.Status != approval.StatusDenied || gb.Votes[0].Reason != "track is friendly" {
		t.Errorf("%s: got %q %+v, want denied with the reason", b.ID, gb.Status, gb.Votes)
	}
	ev.mu.Lock()
	n := len(ev.list)
	ev.mu.Unlock()
	if n != 4 { // two created, one approved, one denied
		t.Errorf("got %d audit events, want 4", n)
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/ui/approvals?x=1", "/ui/approvals?x=1"},
		{"", "/ui/approvals"},
		{"//evil.example/ui/", "/ui/approvals"},
		{"https://evil.example/ui/", "/ui/approvals"},
		{"/ui/\\evil", "/ui/approvals"},
		{"/brightline/v1/approvals", "/ui/approvals"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
