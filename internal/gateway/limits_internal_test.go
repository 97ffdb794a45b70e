package gateway

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func isRateLimited(err error) bool {
	e, ok := errors.AsType[*brightline.Error](err)
	return ok && e.Code == brightline.CodeRateLimited && e.RetryAfter > 0
}

// TestBodyBytesInFlight checks the global budget: it counts bodies until
// they are inspected, over all keys, declared or read.
func TestBodyBytesInFlight(t *testing.T) {
	l := newLimiter(Limits{BodyBytesInFlight: 1000}.withDefaults())
	a, err := l.admit("a", 700)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admit("b", 400); !isRateLimited(err) {
		t.Fatalf("declared body over the global budget: got %v, want a 429 error", err)
	}
	// A body of unknown length is refused as it is read.
	b, err := l.admit("b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b.body(strings.NewReader(strings.Repeat("x", 400)))); !isRateLimited(err) {
		t.Fatalf("read body over the global budget: got %v, want a 429 error", err)
	}
	b.release()
	// Once inspected, a body leaves the global budget but not its key's.
	a.doneInspecting()
	c, err := l.admit("b", 900)
	if err != nil {
		t.Fatalf("after inspection: %v", err)
	}
	c.release()
	a.release()
	if len(l.keys) != 0 || l.bodyBytes != 0 {
		t.Errorf("after release: got keys %v and %d body bytes, want none", l.keys, l.bodyBytes)
	}
}

// excerptCopy is excerpt as it was before it was bounded: it copies the
// whole text. The bounded one must give the same excerpt.
func excerptCopy(req *llm.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != llm.RoleUser {
			continue
		}
		var b strings.Builder
		for _, bl := range m.Content {
			if bl.Type == llm.BlockText {
				b.WriteString(bl.Text)
				b.WriteByte(' ')
			}
		}
		if s := strings.TrimSpace(b.String()); s != "" {
			if r := []rune(s); len(r) > 400 {
				s = string(r[:400]) + "…"
			}
			return s
		}
	}
	return ""
}

func textRequest(texts ...string) *llm.Request {
	var bs []llm.Block
	for _, t := range texts {
		bs = append(bs, llm.Block{Type: llm.BlockText, Text: t})
	}
	return &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "earlier"}}},
		{Role: llm.RoleUser, Content: bs},
		{Role: llm.RoleAssistant, Content: []llm.Block{{Type: llm.BlockText, Text: "answer"}}},
	}}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é word ", 300)
	for _, tc := range []struct {
		name  string
		texts []string
	}{
		{"short", []string{"  hello there  "}},
		{"blocks", []string{"a", "", "b"}},
		{"blank last message", []string{"   ", "\n"}},
		{"leading space", []string{"   ", strings.Repeat(" ", 5000) + "hi"}},
		{"exactly 400", []string{strings.Repeat("ü", 400)}},
		{"401", []string{strings.Repeat("ü", 401)}},
		{"long", []string{long}},
		{"long over blocks", []string{long[:700], long[700:], long}},
		{"4-byte runes", []string{strings.Repeat("𝄞", 1000)}},
		{"long then space", []string{strings.Repeat("x", 399) + strings.Repeat(" ", 5000) + "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := textRequest(tc.texts...)
			if got, want := excerpt(req), excerptCopy(req); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestExcerptCopiesLittle checks that a 30 MB prompt costs an excerpt
// kilobytes, not a copy of the prompt (120 MB as runes, before).
func TestExcerptCopiesLittle(t *testing.T) {
	req := textRequest(strings.Repeat("The convoy left at dawn. ", 30<<20/25))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	if got := excerpt(req); !strings.HasSuffix(got, "…") {
		t.Fatalf("got %q, want a shortened excerpt", got)
	}
	runtime.ReadMemStats(&ms)
	if n := ms.TotalAlloc - before; n > 64<<10 {
		t.Errorf("excerpt of 30 MB allocated %d bytes, want under 64 KiB", n)
	}
}

// TestLeaseReadAll reads bodies whose declared length is right, too
// short, too long or absent, and checks that a body of the declared
// length costs one buffer.
func TestLeaseReadAll(t *testing.T) {
	body := strings.Repeat("0123456789", 100_000) // 1 MB
	for _, tc := range []struct {
		name     string
		declared int64
	}{
		{"declared", int64(len(body))},
		{"unknown", 0},
		{"declared short", 1000},
		{"declared long", int64(len(body)) + 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(Limits{}.withDefaults())
			s, err := l.admit("k", tc.declared)
			if err != nil {
				t.Fatal(err)
			}
			defer s.release()
			// Small reads, as a network body gives.
			got, err := s.readAll(s.body(&smallReader{r: strings.NewReader(body), n: 1 << 14}))
			if err != nil || string(got) != body {
				t.Fatalf("got %d bytes, %v; want the %d-byte body", len(got), err, len(body))
			}
		})
	}

	l := newLimiter(Limits{}.withDefaults())
	s, err := l.admit("k", int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.release()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	if _, err := s.readAll(s.body(strings.NewReader(body))); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	if n := ms.TotalAlloc - before; n > uint64(len(body))+64<<10 {
		t.Errorf("reading a declared %d-byte body allocated %d bytes, want one buffer", len(body), n)
	}
}

// smallReader returns at most n bytes a Read.
type smallReader struct {
	r io.Reader
	n int
}

func (s *smallReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// BenchmarkReadBody reads a 30 MiB body of declared length, as the
// gateway does, and with io.ReadAll, as it did.
func BenchmarkReadBody(b *testing.B) {
	body := []byte(strings.Repeat("x", 30<<20))
	l := newLimiter(Limits{}.withDefaults())
	b.Run("lease", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := l.admit("k", int64(len(body)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.readAll(s.body(bytes.NewReader(body))); err != nil {
				b.Fatal(err)
			}
			s.release()
		}
	})
	b.Run("io.ReadAll", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := l.admit("k", int64(len(body)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(s.body(bytes.NewReader(body))); err != nil {
				b.Fatal(err)
			}
			s.release()
		}
	})
}
