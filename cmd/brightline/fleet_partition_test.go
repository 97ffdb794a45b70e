package main

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store/pgtest"
)

// blackhole is a TCP proxy to PostgreSQL that can stop answering without
// closing anything, as a network partition does: bytes sent through it
// are dropped, connections stay open, and new ones are accepted but never
// answered.
type blackhole struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	on     bool       // guarded by mu
	conns  []net.Conn // guarded by mu
}

func newBlackhole(t *testing.T, target string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

func (b *blackhole) swallowing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on
}

func (b *blackhole) serve(c net.Conn) {
	b.mu.Lock()
	b.conns = append(b.conns, c)
	on := b.on
	b.mu.Unlock()
	if on {
		return // accepted, never answered
	}
	up, err := net.Dial("tcp", b.target)
	if err != nil {
		c.Close()
		return
	}
	b.mu.Lock()
	b.conns = append(b.conns, up)
	b.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			if !b.swallowing() {
				dst.Write(buf[:n])
			}
		}
	}
	go pipe(up, c)
	pipe(c, up)
}

// TestFleetDatabaseUnreachable: PostgreSQL becomes unreachable without
// refusing anything (a network partition). Requests must still be
// answered, with 503 in their dialect, and not hang: here within 15 s
// (the gateway's audit append gives up after 10 s).
func TestFleetDatabaseUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	hole := newBlackhole(t, u.Host)
	u.Host = hole.ln.Addr().String()
	fl := newFleet(t, fleetOptions{replicas: 1, storeURL: u.String()})
	key, _ := fl.key(t, "load")
	r := fl.replicas[0]
	if a := r.ask(key, openaiDialect, "status report"); a.status != http.StatusOK {
		t.Fatalf("before the partition: got %d %s (%v), want 200", a.status, a.body, a.err)
	}
	hole.mu.Lock()
	hole.on = true
	hole.mu.Unlock()
	partitioned := time.Now()
	// Past auth.cache_ttl the key must be looked up again, too.
	for {
		sent := time.Now()
		a := r.ask(key, anthropicDialect, "status report")
		took := time.Since(sent)
		if a.err != nil || a.status != http.StatusServiceUnavailable || !unavailableIn(anthropicDialect, a.body) || took > 15*time.Second {
			t.Fatalf("%s into the partition: got %d %s (%v) after %s, want 503 overloaded_error within 15s",
				sent.Sub(partitioned).Round(time.Millisecond), a.status, a.body, a.err, took.Round(time.Millisecond))
		}
		t.Logf("%s into the partition: 503 after %s", sent.Sub(partitioned).Round(time.Millisecond), took.Round(time.Millisecond))
		if sent.Sub(partitioned) > fleetCacheTTL {
			break
		}
	}
}
