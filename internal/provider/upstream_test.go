package provider

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// upstream is a fake provider API: an httptest server that answers each
// request with the next scripted reply (the last one repeats) and records
// what it received. Replies are wire-format fixtures from testdata.
type upstream struct {
	*httptest.Server

	mu      sync.Mutex
	replies []reply
	got     []received

	// ended receives a value whenever a stalled request's context ended,
	// that is when the client went away.
	ended chan struct{}
}

// reply is how the fake answers one request.
type reply struct {
	Status int               // 0 means 200
	Header map[string]string // extra response headers
	Body   string            // JSON body, or SSE frames if SSE
	SSE    bool
	// Stall: wait for the client to go away instead of answering.
	Stall bool
	// StallAfter > 0 (SSE): send this many frames, then wait for the client
	// to go away.
	StallAfter int
	// BreakAfter > 0 (SSE): send this many frames, then drop the connection.
	BreakAfter int
	// Linger (SSE): wait this long after the last frame before ending the
	// response, as a server may.
	Linger time.Duration
}

type received struct {
	Path   string
	Header http.Header
	Body   []byte
}

func newUpstream(t testing.TB, replies ...reply) *upstream {
	u := &upstream{replies: replies, ended: make(chan struct{}, 64)}
	u.Server = httptest.NewServer(u)
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	n := len(u.got)
	u.got = append(u.got, received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	rep := u.replies[min(n, len(u.replies)-1)]
	u.mu.Unlock()

	if rep.Stall {
		u.waitForClient(r)
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !rep.SSE {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, rep.Body)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.(http.Flusher).Flush()
	for i, frame := range splitFrames(rep.Body) {
		if rep.BreakAfter > 0 && i == rep.BreakAfter {
			panic(http.ErrAbortHandler) // drops the connection mid-stream
		}
		if rep.StallAfter > 0 && i == rep.StallAfter {
			u.waitForClient(r)
			return
		}
		io.WriteString(w, frame)
		w.(http.Flusher).Flush()
	}
	// A slow peer: the upstream keeps the response open after its last
	// frame (Linger), as real ones do before they end the body.
	time.Sleep(rep.Linger)
}

func (u *upstream) waitForClient(r *http.Request) {
	select {
	case <-r.Context().Done():
		u.ended <- struct{}{}
	case <-time.After(30 * time.Second):
	}
}

// requests returns what the fake has received so far.
func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.got...)
}

// sawClientLeave waits for a stalled request's context to end.
func (u *upstream) sawClientLeave(t *testing.T) {
	t.Helper()
	select {
	case <-u.ended:
	case <-time.After(5 * time.Second):
		t.Errorf("the upstream request's context did not end, want it cancelled")
	}
}

// splitFrames cuts SSE text into frames, each with its blank line.
func splitFrames(s string) []string {
	var frames []string
	for s != "" {
		i := bytes.Index([]byte(s), []byte("\n\n"))
		if i < 0 {
			frames = append(frames, s)
			break
		}
		frames = append(frames, s[:i+2])
		s = s[i+2:]
	}
	return frames
}

// fixture returns a file from testdata.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
