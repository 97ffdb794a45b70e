package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
)

// holdingRouter answers every request at once, except requests for the
// model "hold", which wait until release is closed. arrived gets one value
// per held request that has reached it.
type holdingRouter struct {
	arrived chan struct{}
	release chan struct{}
}

func newHoldingRouter() *holdingRouter {
	return &holdingRouter{arrived: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *holdingRouter) Complete(ctx context.Context, req *llm.Request, _ http.Header) (*llm.Response, provider.Served, error) {
	served := provider.Served{Target: "fake/" + req.Model, Provider: "fake", Model: req.Model, Attempts: 1}
	if req.Model == "hold" {
		h.arrived <- struct{}{}
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, served, ctx.Err()
		}
	}
	return &llm.Response{ID: "resp_1", Model: req.Model, StopReason: llm.StopEndTurn,
		Content: []llm.Block{{Type: llm.BlockText, Text: "ok"}}}, served, nil
}

func (h *holdingRouter) CompleteAfter(ctx context.Context, req *llm.Request, hdr http.Header, _ string) (*llm.Response, provider.Served, error) {
	return h.Complete(ctx, req, hdr)
}

func (h *holdingRouter) Stream(context.Context, *llm.Request, http.Header) (llm.Stream, provider.Served, error) {
	return nil, provider.Served{}, errors.New("holdingRouter does not stream")
}

func (h *holdingRouter) Models() []llm.Model { return nil }

const otherKey = "bl_other_key_0123456789"

func limitsGateway(t *testing.T, lim gateway.Limits) (*httptest.Server, *holdingRouter) {
	t.Helper()
	auth := &fakeAuth{keys: map[string]brightline.Principal{
		testKey:  {ID: "key_test", Name: "test", Roles: []string{"user"}},
		otherKey: {ID: "key_other", Name: "other", Roles: []string{"user"}},
	}}
	router := newHoldingRouter()
	gw := gateway.New(gateway.Config{Limits: lim}, auth, router)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-router.release:
		default:
			close(router.release)
		}
	})
	return srv, router
}

type dialectCase struct {
	name    string
	path    string
	hdr     func(key string) map[string]string
	body    func(model, pad string) string
	errType string // in the error body
}

var limitDialects = []dialectCase{
	{"openai", "/v1/chat/completions", bearer,
		func(model, pad string) string {
			return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi%s"}]}`, model, pad)
		}, `"rate_limit_exceeded"`},
	{"anthropic", "/v1/messages", anthropicHdr,
		func(model, pad string) string {
			return fmt.Sprintf(`{"model":%q,"max_tokens":10,"messages":[{"role":"user","content":"hi%s"}]}`, model, pad)
		}, `"rate_limit_error"`},
}

// send posts body (with a Content-Length unless chunked) and returns the
// status, the Retry-After header and the body.
func send(t *testing.T, url string, hdr map[string]string, body string, chunked bool) (int, string, string) {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length
	}
	req, err := http.NewRequest("POST", url, r)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// holdRequests starts n held requests for key and waits until all have
// reached the upstream; wait waits for their answers and checks them.
func holdRequests(t *testing.T, srv *httptest.Server, router *holdingRouter, d dialectCase, key string, n int, pad string) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if status, _, body := send(t, srv.URL+d.path, d.hdr(key), d.body("hold", pad), false); status != http.StatusOK {
				t.Errorf("held request: got %d %s, want 200", status, body)
			}
		})
	}
	for range n {
		<-router.arrived
	}
	return func() {
		close(router.release)
		wg.Wait()
	}
}

func checkRefused(t *testing.T, d dialectCase, status int, retryAfter, body string) {
	t.Helper()
	if status != http.StatusTooManyRequests {
		t.Errorf("got status %d (%s), want 429", status, body)
	}
	if retryAfter != "1" {
		t.Errorf("got Retry-After %q, want 1", retryAfter)
	}
	if !strings.Contains(body, d.errType) {
		t.Errorf("got body %s, want an error of type %s", body, d.errType)
	}
}

func TestKeyRequestsInFlight(t *testing.T) {
	for _, d := range limitDialects {
		t.Run(d.name, func(t *testing.T) {
			const n = 3
			srv, router := limitsGateway(t, gateway.Limits{KeyRequestsInFlight: n})
			wait := holdRequests(t, srv, router, d, testKey, n, "")

			status, ra, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", ""), false)
			checkRefused(t, d, status, ra, body)
			if status, _, body := send(t, srv.URL+d.path, d.hdr(otherKey), d.body("free", ""), false); status != http.StatusOK {
				t.Errorf("another key: got %d %s, want 200", status, body)
			}
			wait()
			// The slots are returned.
			if status, _, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", ""), false); status != http.StatusOK {
				t.Errorf("after release: got %d %s, want 200", status, body)
			}
		})
	}
}

func TestKeyBytesInFlight(t *testing.T) {
	pad := strings.Repeat("x", 600)
	for _, d := range limitDialects {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", d.name, chunked), func(t *testing.T) {
				srv, router := limitsGateway(t, gateway.Limits{KeyBytesInFlight: 1000})
				wait := holdRequests(t, srv, router, d, testKey, 1, pad)

				status, ra, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", pad), chunked)
				checkRefused(t, d, status, ra, body)
				if status, _, body := send(t, srv.URL+d.path, d.hdr(otherKey), d.body("free", pad), chunked); status != http.StatusOK {
					t.Errorf("another key: got %d %s, want 200", status, body)
				}
				// A small request of the same key still fits.
				if status, _, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", ""), chunked); status != http.StatusOK {
					t.Errorf("small request: got %d %s, want 200", status, body)
				}
				wait()
				if status, _, body := send(t, srv.URL+d.path, d.hdr(testKey), d.body("free", pad), chunked); status != http.StatusOK {
					t.Errorf("after release: got %d %s, want 200", status, body)
				}
			})
		}
	}
}

// TestBodyReadTimeout sends headers and part of a body, then stalls: the
// gateway must close the connection once the body read timeout passes,
// on an endpoint without authentication as on the model API.
func TestBodyReadTimeout(t *testing.T) {
	auth := &fakeAuth{keys: map[string]brightline.Principal{testKey: {ID: "key_test", Name: "test"}}}
	gw := gateway.New(gateway.Config{Limits: gateway.Limits{BodyReadTimeout: 200 * time.Millisecond}}, auth, newHoldingRouter())
	gw.Handle("POST /ui/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "welcome")
	}))
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, head string
	}{
		{"login", "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=a"},
		{"model API", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":"},
		{"count_tokens", "POST /v1/messages/count_tokens HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + testKey + "\r\nAnthropic-Version: 2023-06-01\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.head); err != nil {
				t.Fatal(err)
			}
			// A safety net far above the timeout, so that a failure
			// does not hang the test.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.ReadAll(bufio.NewReader(conn))
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				t.Fatal("the gateway kept the stalled connection open")
			}
		})
	}
	// A complete body is served as before.
	resp, err := http.Post(srv.URL+"/ui/login", "application/x-www-form-urlencoded", strings.NewReader("user=a"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "welcome" {
		t.Errorf("complete body: got %d %q, want 200 welcome", resp.StatusCode, b)
	}
}
