package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
)

// pipeListener serves net.Pipe connections, whose deadlines run on the
// synctest clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// TestBodyReadDeadlineLifted checks that the body read deadline ends with
// the body: an answer streamed for longer than the timeout after the body
// was read is not cut off. Time is synctest's, so the minute passes at
// once.
func TestBodyReadDeadlineLifted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		auth := &fakeAuth{keys: map[string]brightline.Principal{testKey: {ID: "key_test", Name: "test"}}}
		gw := gateway.New(gateway.Config{Limits: gateway.Limits{BodyReadTimeout: time.Second}}, auth, newHoldingRouter())
		gw.Handle("POST /stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			io.WriteString(w, "first\n")
			http.NewResponseController(w).Flush()
			select {
			case <-r.Context().Done():
				// The connection's read failed: its deadline was left.
				io.WriteString(w, "cut off\n")
			case <-time.After(time.Minute):
				io.WriteString(w, "second\n")
			}
		}))
		ln := newPipeListener()
		srv := &http.Server{Handler: gw}
		go srv.Serve(ln)
		tr := &http.Transport{DialContext: ln.dial}
		defer tr.CloseIdleConnections()
		defer srv.Close()

		resp, err := (&http.Client{Transport: tr}).Post("http://pipe/stream", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), "first\nsecond\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
