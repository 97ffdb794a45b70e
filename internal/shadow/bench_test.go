package shadow

import (
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/llm"
)

// benchRequest is a realistic forwarded request: a system prompt, a few
// turns and two tools.
func benchRequest() *llm.Request {
	req := fullRequest()
	req.System = strings.Repeat("You are a careful assistant. ", 20)
	for range 4 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: []llm.Block{text(strings.Repeat("tell me more about it ", 10))}})
	}
	return req
}

// BenchmarkOffer measures Offer on the request path of the gateway.
func BenchmarkOffer(b *testing.B) {
	req, resp := benchRequest(), textResponse(strings.Repeat("an answer of some words ", 20))
	b.Run("no-candidate", func(b *testing.B) {
		m := benchMirror(b, 0, 1)
		for b.Loop() {
			m.Offer("unmirrored", req, resp, nil, time.Millisecond)
		}
	})
	b.Run("sampled-out", func(b *testing.B) {
		m := benchMirror(b, 0, 1)
		for b.Loop() {
			m.Offer("r", req, resp, nil, time.Millisecond)
		}
	})
	b.Run("sampled-out-parallel", func(b *testing.B) {
		m := benchMirror(b, 0, 1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Offer("r", req, resp, nil, time.Millisecond)
			}
		})
	})
	b.Run("sampled-in-queue-full", func(b *testing.B) {
		m := benchMirror(b, 1, 1)
		m.Offer("r", req, resp, nil, time.Millisecond) // taken by the stuck worker
		m.Offer("r", req, resp, nil, time.Millisecond) // fills the queue
		for b.Loop() {
			m.Offer("r", req, resp, nil, time.Millisecond)
		}
	})
	b.Run("sampled-in-queued", func(b *testing.B) {
		// The cost of a sample that is taken: the copies and the send.
		// The queue is emptied, off the clock, whenever it fills.
		m := benchMirror(b, 1, 4096)
		b.ResetTimer()
		for range b.N {
			m.Offer("r", req, resp, nil, time.Millisecond)
			if len(m.queue) == cap(m.queue) {
				b.StopTimer()
				for len(m.queue) > 0 {
					<-m.queue
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		if d := value(m.routes["r"].dropped); d > 0 {
			b.Fatalf("%v offers dropped, want none: the benchmark measures taken samples", d)
		}
	})
}

// benchMirror returns a mirror of route "r" whose one worker is stuck on a
// candidate that never answers.
func benchMirror(b *testing.B, rate float64, queue int) *Mirror {
	b.Helper()
	bl := newBlocker()
	m, err := New(Config{
		Candidates:   map[string]Candidate{"r": {Provider: bl, Sample: rate}},
		Store:        &memStore{},
		Concurrency:  1,
		Queue:        queue,
		DrainTimeout: time.Millisecond,
		Logger:       quietLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	if rate > 0 {
		m.Offer("r", benchRequest(), nil, nil, 0)
		<-bl.started
	}
	return m
}

// BenchmarkCompare measures the worker's comparison of two answers.
func BenchmarkCompare(b *testing.B) {
	p := answer(llm.StopEndTurn, text(strings.Repeat("the quick brown fox jumps over the lazy dog ", 40)))
	c := answer(llm.StopToolUse, text(strings.Repeat("a quick red fox walks past the sleepy dog ", 40)), call("lookup", `{"q":"fox"}`))
	for b.Loop() {
		Compare(p, c)
	}
}
