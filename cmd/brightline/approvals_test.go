package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestApprovals works the queue through a gateway's approvals API, as an
// officer does from the command line.
func TestApprovals(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The CLI shows time left by the real clock: the service's runs five
	// minutes ahead, so that an hour's approval has over an hour left.
	now := func() time.Time { return time.Now().Add(5 * time.Minute) }
	db.Now = now
	_, signer, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := approval.New(approval.Config{Store: db, Keys: db, Signer: signer, Now: now,
		Record: func(context.Context, approval.Event) error { return nil }, BaseURL: "http://gw.test/"})
	if err != nil {
		t.Fatal(err)
	}
	agent := brightline.Principal{ID: "key_agent", Name: "agent", Person: "ada", Roles: []string{"user"}}
	officer1 := brightline.Principal{ID: "key_off1", Name: "officer one", Roles: []string{"weapons-release-authority"}}
	officer2 := brightline.Principal{ID: "key_off2", Name: "officer two", Roles: []string{"approver", "weapons-release-authority"}}
	clerk := brightline.Principal{ID: "key_clerk", Name: "clerk", Roles: []string{"approver"}}
	keys := map[string]brightline.Principal{"k-agent": agent, "k-off1": officer1, "k-off2": officer2, "k-clerk": clerk}
	for _, p := range keys {
		_, hash, err := brightline.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateKey(ctx, store.Key{ID: p.ID, Principal: p}, hash); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(svc.Handler(func(r *http.Request) (brightline.Principal, error) {
		p, ok := keys[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "invalid API key")
		}
		return p, nil
	}))
	t.Cleanup(srv.Close)
	hold := func() approval.Approval {
		t.Helper()
		a, err := svc.Create(ctx, approval.Request{
			RequestID: "req_1", Principal: agent, Upstream: approval.MCPUpstream("sim", "http://sim.test/mcp"),
			Tool: "fire_interceptor", Class: "force", Arguments: json.RawMessage(`{"target": "track-7", "salvo": 2}`),
			PolicyVersion: 3, Rule: "human-control-of-force", TTL: time.Hour,
			Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, Excerpt: "user: intercept track 7",
		})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		return a
	}
	a, b := hold(), hold()

	tests := []struct {
		name   string
		args   []string
		key    string
		code   int
		stdout []string // substrings
		stderr []string
	}{
		{name: "no command", args: nil, key: "k-off1", code: 2, stderr: []string{"usage:"}},
		{name: "unknown command", args: []string{"launch"}, key: "k-off1", code: 2, stderr: []string{`unknown command "launch"`}},
		{name: "no key", args: []string{"list"}, key: "", code: 2, stderr: []string{"BRIGHTLINE_API_KEY"}},
		{name: "missing id", args: []string{"approve"}, key: "k-off1", code: 2, stderr: []string{"want 1"}},
		{name: "deny without reason", args: []string{"deny", a.ID}, key: "k-off1", code: 2, stderr: []string{"-reason"}},
		{name: "list", args: []string{"list"}, key: "k-off1", code: 0, stdout: []string{"ID", a.ID, b.ID, "fire_interceptor", "agent (key_agent)", "0/1 weapons-release-authority", "  1h"}},
		{name: "list as clerk", args: []string{"list", "-status", "all"}, key: "k-clerk", code: 0, stdout: []string{"no approvals"}},
		{name: "show", args: []string{"show", a.ID}, key: "k-off1", code: 0, stdout: []string{`"id": "` + a.ID, `"status": "pending"`, `"target": "track-7"`}},
		{name: "requester approves", args: []string{"approve", a.ID}, key: "k-agent", code: 1, stderr: []string{"HTTP 403 permission_denied", "lacks role"}},
		{name: "approve", args: []string{"approve", a.ID}, key: "k-off1", code: 0, stdout: []string{"approved " + a.ID, "1 of 1"}},
		{name: "flag after id", args: []string{"deny", b.ID, "-reason", "wrong track"}, key: "k-off2", code: 0, stdout: []string{"denied " + b.ID}},
		{name: "deny decided", args: []string{"deny", "-reason", "x", a.ID}, key: "k-off2", code: 1, stderr: []string{"HTTP 409 conflict"}},
		{name: "flag url", args: []string{"list", "-url", "http://127.0.0.1:1"}, key: "k-off1", code: 1, stderr: []string{"couldn't reach the gateway"}},
		{name: "show approved", args: []string{"show", a.ID}, key: "k-agent", code: 0, stdout: []string{`"status": "approved"`, `"token": "`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand("", func(e *env) error {
				e.getenv = func(k string) string {
					switch k {
					case "BRIGHTLINE_API_KEY":
						return tt.key
					case "BRIGHTLINE_URL":
						return srv.URL
					}
					return ""
				}
				return run(ctx, append([]string{"approvals"}, tt.args...), e)
			})
			if code != tt.code {
				t.Errorf("exit code: got %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout: got %q, want it to contain %q", stdout, s)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr, s)
				}
			}
		})
	}
	if got, _ := svc.Get(ctx, b.ID); got.Status != approval.StatusDenied || got.Votes[0].Reason != "wrong track" || got.Votes[0].By.ID != officer2.ID {
		t.Errorf("after the CLI denial: got %+v", got)
	}
}
