package approval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
)

// keys maps test API keys to principals.
var keys = map[string]brightline.Principal{
	"k-agent": agent, "k-off1": officer1, "k-off2": officer2, "k-clerk": clerk,
}

// testAuth authenticates bearer keys from keys, as the gateway would.
func testAuth(r *http.Request) (brightline.Principal, error) {
	k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if k == "" {
		return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "missing API key")
	}
	p, ok := keys[k]
	if !ok {
		return brightline.Principal{}, brightline.Errorf(brightline.CodeUnauthenticated, "invalid API key")
	}
	return p, nil
}

func (f *fixture) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(f.svc.Handler(testAuth))
	t.Cleanup(srv.Close)
	return srv
}

type apiResult struct {
	status int
	body   []byte
}

func (r apiResult) errType() string {
	var e struct {
		Error struct{ Type, Message string } `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Type
}

func call(t *testing.T, srv *httptest.Server, method, path, key, body string) apiResult {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return apiResult{resp.StatusCode, b}
}

func TestHTTPAPI(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t)
	a := f.create(t, 2, time.Hour)
	other := f.create(t, 1, time.Hour)
	base := "/brightline/v1/approvals"

	errorCases := []struct {
		name, method, path, key, body string
		status                        int
		typ                           string
	}{
		{"no key", "GET", base, "", "", 401, "unauthenticated"},
		{"bad key", "GET", base + "/" + a.ID, "k-nope", "", 401, "unauthenticated"},
		{"bad status", "GET", base + "?status=maybe", "k-off1", "", 400, "invalid_request"},
		{"unknown id", "GET", base + "/apr_none", "k-off1", "", 404, "not_found"},
		{"not allowed to see", "GET", base + "/" + a.ID, "k-clerk", "", 403, "permission_denied"},
		{"requester approves", "POST", base + "/" + a.ID + "/approve", "k-agent", "", 403, "permission_denied"},
		{"no role approves", "POST", base + "/" + a.ID + "/approve", "k-clerk", "", 403, "permission_denied"},
		{"deny without reason", "POST", base + "/" + a.ID + "/deny", "k-off1", `{}`, 400, "invalid_request"},
		{"deny with bad body", "POST", base + "/" + a.ID + "/deny", "k-off1", `reason`, 400, "invalid_request"},
		{"approve unknown", "POST", base + "/apr_none/approve", "k-off1", "", 404, "not_found"},
		{"unknown endpoint", "POST", base + "/" + a.ID + "/explode", "k-off1", "", 404, "not_found"},
		{"wrong method", "DELETE", base + "/" + a.ID, "k-off1", "", 405, "invalid_request"},
		{"wrong method on list", "POST", base, "k-off1", "", 405, "invalid_request"},
		{"GET approve", "GET", base + "/" + a.ID + "/approve", "k-off1", "", 405, "invalid_request"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.key, tc.body)
			if r.status != tc.status || r.errType() != tc.typ {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.typ)
			}
		})
	}

	listIDs := func(key, query string) []string {
		r := call(t, srv, "GET", base+query, key, "")
		var l approval.ListView
		if err := json.Unmarshal(r.body, &l); err != nil || r.status != 200 {
			t.Fatalf("list: got %d %s", r.status, r.body)
		}
		ids := []string{}
		for _, v := range l.Approvals {
			ids = append(ids, v.ID)
		}
		return ids
	}
	if got := listIDs("k-off1", "?status=pending"); fmt.Sprint(got) != fmt.Sprint([]string{a.ID, other.ID}) {
		t.Errorf("officer's pending list: got %v, want both", got)
	}
	if got := listIDs("k-clerk", ""); len(got) != 0 {
		t.Errorf("clerk's list: got %v, want none (no role)", got)
	}

	// decided_by in the body is ignored: the vote is the caller's.
	r := call(t, srv, "POST", base+"/"+a.ID+"/approve", "k-off1", `{"decided_by":"key_off2","by":"key_off2"}`)
	var v approval.View
	json.Unmarshal(r.body, &v)
	if r.status != 200 || v.Status != approval.StatusPending || len(v.Votes) != 1 || v.Votes[0].By.ID != officer1.ID {
		t.Fatalf("first approval: got %d %s, want pending with officer one's vote", r.status, r.body)
	}
	r = call(t, srv, "GET", base+"/"+a.ID, "k-agent", "")
	if !bytes.Contains(r.body, []byte(`"status":"pending"`)) || bytes.Contains(r.body, []byte(`"token"`)) {
		t.Errorf("pending, as requester: got %s, want no token", r.body)
	}
	r = call(t, srv, "POST", base+"/"+a.ID+"/approve", "k-off2", "")
	if json.Unmarshal(r.body, &v); r.status != 200 || v.Status != approval.StatusApproved {
		t.Fatalf("second approval: got %d %s, want approved", r.status, r.body)
	}
	if got := listIDs("k-off1", ""); fmt.Sprint(got) != fmt.Sprint([]string{other.ID}) {
		t.Errorf("pending after approval: got %v, want only %s", got, other.ID)
	}
	if got := listIDs("k-off1", "?status=approved"); fmt.Sprint(got) != fmt.Sprint([]string{a.ID}) {
		t.Errorf("approved list: got %v, want %s", got, a.ID)
	}
	for _, p := range []string{"/approve", "/deny"} {
		r := call(t, srv, "POST", base+"/"+a.ID+p, "k-off1", `{"reason":"late"}`)
		if r.status != 409 || r.errType() != "conflict" {
			t.Errorf("%s after approval: got %d %s, want 409 conflict", p, r.status, r.body)
		}
	}

	r = call(t, srv, "GET", base+"/"+a.ID, "k-off1", "")
	var seen approval.View
	if json.Unmarshal(r.body, &seen); r.status != 200 || seen.Call == nil || seen.Token != "" {
		t.Errorf("GET approved, as approver: got %d %s, want the call without a token", r.status, r.body)
	}
	r = call(t, srv, "GET", base+"/"+a.ID, "k-agent", "")
	var got approval.View
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
		t.Fatalf("GET approved: %d %s", r.status, r.body)
	}
	if got.Token == "" || got.Call == nil || got.Call.Name != "fire_interceptor" {
		t.Fatalf("GET approved: got call %+v token %q, want the approved call and a token", got.Call, got.Token)
	}
	if d, _ := approval.Digest(got.Call.Name, got.Call.Arguments); d != a.ArgsDigest {
		t.Errorf("GET approved: the call's digest is %s, want the approved %s", d, a.ArgsDigest)
	}
	if got.StatusURL != f.svc.StatusURL(a.ID) || got.Requester.ID != agent.ID || got.Require.Count != 2 {
		t.Errorf("GET approved: got %+v", got)
	}
	if _, err := f.svc.Consume(context.Background(), got.Token, agentCall(got.Call.Name, got.Call.Arguments)); err != nil {
		t.Fatalf("consuming the API's token: %v", err)
	}
	r = call(t, srv, "GET", base+"/"+a.ID, "k-agent", "")
	if !bytes.Contains(r.body, []byte(`"status":"consumed"`)) || bytes.Contains(r.body, []byte(`"token"`)) {
		t.Errorf("after use: got %s, want consumed and no token", r.body)
	}

	// Deny with a reason; the log down gives 503 and changes nothing.
	f.rec.fail = func(e approval.Event) error {
		if e.Type == approval.EventDenied {
			return errors.New("log down")
		}
		return nil
	}
	r = call(t, srv, "POST", base+"/"+other.ID+"/deny", "k-off1", `{"reason":"not hostile"}`)
	if r.status != 503 || r.errType() != "unavailable" {
		t.Errorf("deny with the log down: got %d %s, want 503", r.status, r.body)
	}
	f.rec.fail = nil
	r = call(t, srv, "POST", base+"/"+other.ID+"/deny", "k-off1", `{"reason":"not hostile"}`)
	if json.Unmarshal(r.body, &v); r.status != 200 || v.Status != approval.StatusDenied || v.Votes[0].Reason != "not hostile" {
		t.Errorf("deny: got %d %s", r.status, r.body)
	}
}
