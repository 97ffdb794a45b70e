package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

var auditor = brightline.Principal{ID: "key_auditor", Name: "the auditor", Roles: []string{"auditor"}}

// exposureAuth knows the approvals test keys and an auditor.
func exposureAuth(r *http.Request) (brightline.Principal, error) {
	if r.Header.Get("Authorization") == "Bearer bl_auditor" {
		return auditor, nil
	}
	return testAuth(r)
}

func newExposureServer(t *testing.T) *httptest.Server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	u := func(p, provider, typ, model string, n int64) store.ExposureUsage {
		return store.ExposureUsage{PrincipalID: p, PrincipalName: "name of " + p, Route: model, Provider: provider, ProviderType: typ,
			Model: model, Hour: hour, Requests: n, InputTokens: 10 * n, OutputTokens: n, Features: map[string]int64{"tools": n},
			LastUsed: hour.Add(time.Minute)}
	}
	if err := db.AddExposure(context.Background(), []store.ExposureUsage{
		u("key_agent", "anthropic", "anthropic", "claude-sonnet", 7),
		u("key_agent", "openai", "openai", "gpt-5", 2),
		u("key_other", "anthropic", "anthropic", "claude-haiku", 1),
	}); err != nil {
		t.Fatal(err)
	}
	routes := []exposure.RouteInfo{
		{Model: "claude-haiku", Targets: []exposure.TargetInfo{{Provider: "anthropic", ProviderType: "anthropic"}}},
		{Model: "claude-*", Targets: []exposure.TargetInfo{{Provider: "anthropic", ProviderType: "anthropic"}, {Provider: "openai", ProviderType: "openai", Model: "gpt-5"}}},
		{Model: "gpt-5", Targets: []exposure.TargetInfo{{Provider: "openai", ProviderType: "openai"}}},
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler(nil, exposureAuth, nil)) // sign-in only: the approvals page is not visited
	ex := ExposureHandler(db, routes, exposureAuth, nil)
	mux.Handle("GET /ui/exposure", ex)
	mux.Handle("GET /ui/exposure.css", ex)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func signIn(t *testing.T, c *http.Client, base, key string) {
	t.Helper()
	p := do(t, c, "POST", base+"/ui/login", url.Values{"key": {key}, "next": {"/ui/exposure"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/exposure" {
		t.Fatalf("login: got %d to %q, want 303 to /ui/exposure", p.status, p.header.Get("Location"))
	}
}

func TestExposurePage(t *testing.T) {
	srv := newExposureServer(t)

	t.Run("signed out", func(t *testing.T) {
		p := do(t, browser(t), "GET", srv.URL+"/ui/exposure", nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/login?next="+url.QueryEscape("/ui/exposure") {
			t.Errorf("got %d to %q, want a redirect to the login page", p.status, p.header.Get("Location"))
		}
	})

	t.Run("no role", func(t *testing.T) {
		c := browser(t)
		signIn(t, c, srv.URL, "bl_clerk")
		p := do(t, c, "GET", srv.URL+"/ui/exposure", nil)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "needs the admin or auditor role") {
			t.Errorf("got %d:\n%s\nwant 403 explaining the role", p.status, p.body)
		}
		if strings.Contains(p.body, "key_agent") {
			t.Error("a forbidden page shows traffic")
		}
	})

	c := browser(t)
	signIn(t, c, srv.URL, "bl_auditor")
	tests := []struct {
		name, query string
		status      int
		want, not   []string
	}{
		{"everything", "", 200, []string{
			"All traffic: 2 principals, 10 requests; 0 of 2 principals have an alternative route for all of it.",
			"<code>anthropic/claude-sonnet</code>", "openai/gpt-5 (openai)", "<code>openai/gpt-5</code>", "tools 7", "the auditor",
			`<option value="anthropic">`,
		}, nil},
		{"vendor", "?vendor=openai", 200, []string{
			"Traffic served by openai: 1 principals, 2 requests", `<option value="openai" selected>`,
		}, []string{"claude-sonnet</code>"}},
		{"vendor not configured", "?vendor=xai", 200, []string{"Traffic served by xai: 0 principals", `<option value="xai" selected>`}, []string{`id="rows"`}},
		{"principal", "?principal=key_other", 200, []string{"1 principals, 1 requests", "claude-haiku"}, []string{"claude-sonnet</code>"}},
		{"bad since", "?since=soon", 400, []string{`id="error"`, "is not a duration"}, []string{`id="rows"`}},
		{"escaped input", "?principal=%3Cscript%3E", 200, []string{"&lt;script&gt;"}, []string{"<script>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := do(t, c, "GET", srv.URL+"/ui/exposure"+tt.query, nil)
			if p.status != tt.status {
				t.Errorf("got status %d, want %d", p.status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("page lacks %q:\n%s", w, p.body)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(p.body, w) {
					t.Errorf("page has %q:\n%s", w, p.body)
				}
			}
			if p.header.Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy header")
			}
		})
	}

	t.Run("stylesheet", func(t *testing.T) {
		p := do(t, browser(t), "GET", srv.URL+"/ui/exposure.css", nil)
		if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") || !strings.Contains(p.body, "table.exposure") {
			t.Errorf("got %d %q", p.status, p.header.Get("Content-Type"))
		}
	})
}
