package exposure

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/brightline/brightline"
)

// testAuth authenticates "Bearer <role>" as a principal with that role;
// "Bearer none" has no role and anything else is unauthenticated.
func testAuth(r *http.Request) (brightline.Principal, error) {
	switch r.Header.Get("Authorization") {
	case "Bearer admin":
		return brightline.Principal{ID: "key_admin", Roles: []string{"admin"}}, nil
	case "Bearer auditor":
		return brightline.Principal{ID: "key_auditor", Roles: []string{"approver", "auditor"}}, nil
	case "Bearer none":
		return brightline.Principal{ID: "key_none"}, nil
	}
	return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "missing or unknown API key")
}

func TestHandler(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	srv := httptest.NewServer(Handler(db, testRoutes, testAuth, nil))
	defer srv.Close()

	tests := []struct {
		name, method, key, query string
		status                   int
		errType                  string
		rows                     int
	}{
		{"admin", "GET", "admin", "", 200, "", 5},
		{"auditor with vendor", "GET", "auditor", "vendor=anthropic", 200, "", 4},
		{"principal and since", "GET", "admin", "principal=key_a&since=" + url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)), 200, "", 2},
		{"since in days", "GET", "admin", "since=36500d", 200, "", 5},
		{"no role", "GET", "none", "", 403, "permission_denied", 0},
		{"no key", "GET", "", "", 401, "unauthenticated", 0},
		{"bad since", "GET", "admin", "since=yesterday", 400, "invalid_request", 0},
		{"post", "POST", "admin", "", 405, "invalid_request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/brightline/v1/exposure?"+tt.query, nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got content type %q, want application/json", ct)
			}
			var body struct {
				Rows  []Row `json:"rows"`
				Error *struct {
					Type, Message string
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if tt.errType != "" {
				if body.Error == nil || body.Error.Type != tt.errType || body.Error.Message == "" {
					t.Errorf("got error %+v, want type %s with a message", body.Error, tt.errType)
				}
				if body.Rows != nil {
					t.Errorf("an error response carries rows: %+v", body.Rows)
				}
				return
			}
			if len(body.Rows) != tt.rows {
				t.Errorf("got %d rows, want %d", len(body.Rows), tt.rows)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"30d", now.AddDate(0, 0, -30), true},
		{"12h", now.Add(-12 * time.Hour), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), true},
		{"2026-01-31T10:00:00+02:00", time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC), true},
		{"-5d", time.Time{}, false},
		{"-1h", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
