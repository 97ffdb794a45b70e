package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/brightline/brightline"
)

// Limits bound what requests may hold while they are in flight, so that
// one key, or many slow clients, cannot take the gateway's memory or its
// connections. The zero value of each field means its default.
type Limits struct {
	// BodyReadTimeout bounds how long a client may take to send a request
	// body, on every endpoint. The deadline is lifted once the body has
	// been read, so streamed answers are not affected. 0 means 30s.
	BodyReadTimeout time.Duration
	// KeyRequestsInFlight caps the model API requests one API key may
	// have in flight. 0 means 64.
	KeyRequestsInFlight int
	// KeyBytesInFlight caps the request body bytes one API key's
	// requests in flight may hold. 0 means 64 MiB.
	KeyBytesInFlight int64
	// BodyBytesInFlight caps, over all keys, the request body bytes being
	// read and inspected (until the request decision is made). 0 means
	// 512 MiB.
	BodyBytesInFlight int64
}

func (l Limits) withDefaults() Limits {
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = 30 * time.Second
	}
	if l.KeyRequestsInFlight <= 0 {
		l.KeyRequestsInFlight = 64
	}
	if l.KeyBytesInFlight <= 0 {
		l.KeyBytesInFlight = 64 << 20
	}
	if l.BodyBytesInFlight <= 0 {
		l.BodyBytesInFlight = 512 << 20
	}
	return l
}

// limitBodyRead sets a read deadline for r's body on the connection and
// lifts it once the body has been read to its end. Requests without a
// body get none: on them the server's background read would take an
// expired deadline for a client that went away. A deadline that cannot be
// set (a ResponseWriter without a connection, in tests) is skipped.
func (g *Gateway) limitBodyRead(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	d := g.limits.BodyReadTimeout
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return r
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: d}
	return r
}

// deadlineBody lifts the read deadline when the body reaches EOF. (On
// HTTP/1 net/http lifts it too, as it starts its background read there;
// HTTP/2 keeps a per-stream deadline, which only this lifts.) After any
// other error the deadline stays: the server then discards the rest of the
// body, and must not wait for it without one.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		err = &brightline.Error{Code: brightline.CodeInvalidRequest, Err: err,
			Message: fmt.Sprintf("the request body did not arrive within %s", b.timeout)}
	}
	return n, err
}

// limiter keeps the in-flight budgets of [Limits]. It is safe for
// concurrent use.
type limiter struct {
	lim Limits

	mu        sync.Mutex
	keys      map[string]*keyUse // guarded by mu; entries with nothing in flight are deleted
	bodyBytes int64              // guarded by mu: bytes of bodies being read or inspected
}

type keyUse struct {
	requests int
	bytes    int64
}

func newLimiter(lim Limits) *limiter {
	return &limiter{lim: lim, keys: make(map[string]*keyUse)}
}

// errKeyRequests, errKeyBytes and errBodyBytes are the refusals: 429 with
// Retry-After in the client's dialect.
func (l *limiter) errKeyRequests() error {
	return &brightline.Error{Code: brightline.CodeRateLimited, RetryAfter: time.Second,
		Message: fmt.Sprintf("this API key has %d requests in flight, its limit; retry when one has finished", l.lim.KeyRequestsInFlight)}
}

func (l *limiter) errKeyBytes() error {
	return &brightline.Error{Code: brightline.CodeRateLimited, RetryAfter: time.Second,
		Message: fmt.Sprintf("this API key's requests in flight hold more than its limit of %d bytes; retry when one has finished", l.lim.KeyBytesInFlight)}
}

func (l *limiter) errBodyBytes() error {
	return &brightline.Error{Code: brightline.CodeRateLimited, RetryAfter: time.Second,
		Message: "the gateway is reading too many request bodies at once; retry shortly"}
}

// lease is one request's share of the budgets. Its methods are called
// from the request's goroutine only.
type lease struct {
	l         *limiter
	key       string
	bytes     int64 // counted against the key
	bodyBytes int64 // counted against the global body budget
	inspected bool
}

// admit takes a request slot and size bytes (the declared Content-Length,
// or 0 when unknown) for key, or returns a 429 error.
func (l *limiter) admit(key string, size int64) (*lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.keys[key]
	if u == nil {
		u = &keyUse{}
	}
	switch {
	case u.requests >= l.lim.KeyRequestsInFlight:
		return nil, l.errKeyRequests()
	case u.bytes+size > l.lim.KeyBytesInFlight:
		return nil, l.errKeyBytes()
	case l.bodyBytes+size > l.lim.BodyBytesInFlight:
		return nil, l.errBodyBytes()
	}
	u.requests++
	u.bytes += size
	l.keys[key] = u
	l.bodyBytes += size
	return &lease{l: l, key: key, bytes: size, bodyBytes: size}, nil
}

// grow counts n more body bytes, or returns a 429 error and counts none.
func (s *lease) grow(n int64) error {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.keys[s.key]
	if u.bytes+n > l.lim.KeyBytesInFlight {
		return l.errKeyBytes()
	}
	if !s.inspected && l.bodyBytes+n > l.lim.BodyBytesInFlight {
		return l.errBodyBytes()
	}
	u.bytes += n
	s.bytes += n
	if !s.inspected {
		l.bodyBytes += n
		s.bodyBytes += n
	}
	return nil
}

// body returns r counting what is read from it beyond the bytes already
// reserved, refusing with a 429 error past a budget.
func (s *lease) body(r io.Reader) io.Reader {
	return &countingBody{r: r, s: s, reserved: s.bytes}
}

// readAll reads r, the lease's body, to its end. With a declared length
// (counted at admission) it reads into one buffer of that size, where
// io.ReadAll grows one step by step: for a 30 MiB body that allocates
// about five times its size, which the GC then lets the heap grow into.
// A body longer than declared is read on, growing the buffer.
func (s *lease) readAll(r io.Reader) ([]byte, error) {
	if s.bytes <= 0 {
		return io.ReadAll(r)
	}
	// One byte more than declared, so that EOF is seen without growing.
	b := make([]byte, 0, s.bytes+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// doneInspecting returns the body's bytes to the global budget: the
// request has been decided. They stay counted against the key until
// release.
func (s *lease) doneInspecting() {
	if s == nil || s.inspected {
		return
	}
	s.l.mu.Lock()
	s.l.bodyBytes -= s.bodyBytes
	s.l.mu.Unlock()
	s.bodyBytes = 0
	s.inspected = true
}

// release returns everything the lease holds.
func (s *lease) release() {
	if s == nil {
		return
	}
	s.doneInspecting()
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.keys[s.key]
	u.requests--
	u.bytes -= s.bytes
	if u.requests == 0 {
		delete(l.keys, s.key)
	}
}

type countingBody struct {
	r        io.Reader
	s        *lease
	reserved int64 // bytes counted at admission (Content-Length)
	read     int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if over := c.read - c.reserved; over > 0 {
		if gerr := c.s.grow(over); gerr != nil {
			return n, gerr
		}
		c.reserved = c.read
	}
	return n, err
}
