package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIncludeVendored(t *testing.T) {
	p, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), "testdata/monorepo/tree", p, Options{IncludeVendored: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s:%d", f.File, f.Line))
	}
	// Vendored and generated code is scanned now...
	for _, want := range []string{"gen/client.go:5", "vendor/github.com/anthropics/anthropic-sdk-go/client.go:3", "web/node_modules/@anthropic-ai/sdk/index.js:1", "web/dist/app.js:1"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s in %v", want, got)
		}
	}
	// ...but .gitignore and binary files still apply.
	for _, not := range []string{"secrets/.env:1", "app.log:1", "tools/tmp/scratch.py:1", "services/api/local_debug.py:1", "assets/blob.bin:1"} {
		if slices.Contains(got, not) {
			t.Errorf("got %s, want it skipped", not)
		}
	}
}

func TestDepthByContext(t *testing.T) {
	tests := []struct {
		fixture, vendor string
		want            Depth
	}{
		{"terraform", "anthropic", DepthIaC},
		{"terraform", "openai", DepthIaC},
		{"workflows", "anthropic", DepthCI},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.vendor, func(t *testing.T) {
			res, _ := scanFixture(t, tt.fixture, tt.vendor)
			if len(res.Findings) == 0 {
				t.Fatal("no findings")
			}
			for _, f := range res.Findings {
				if f.Depth != tt.want {
					t.Errorf("%s:%d %s: got depth %s, want %s", f.File, f.Line, f.Component, f.Depth, tt.want)
				}
			}
		})
	}
}

func TestDepthOfPackages(t *testing.T) {
	res, _ := scanFixture(t, "npm", "anthropic")
	for _, f := range res.Findings {
		want := DepthDirect
		switch {
		case strings.Contains(f.Component, "@ai-sdk/") || strings.Contains(f.Component, "@langchain/"):
			want = DepthFramework
		case f.Kind == KindHost:
			want = DepthRawAPI
		case f.Kind == KindEnv || f.Kind == KindModel:
			want = DepthConfig
		}
		if f.Depth != want {
			t.Errorf("%s:%d %s: got depth %s, want %s", f.File, f.Line, f.Component, f.Depth, want)
		}
	}
}

func TestScanErrors(t *testing.T) {
	p, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(context.Background(), "testdata/no/such/dir", p, Options{}); err == nil {
		t.Errorf("got no error for a missing directory")
	}
	if _, err := Scan(context.Background(), "testdata/go/want.anthropic.txt", p, Options{}); err == nil {
		t.Errorf("got no error for a file")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, "testdata/monorepo/tree", p, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestSkipsHugeFiles(t *testing.T) {
	dir := t.TempDir()
	big := append(bytes.Repeat([]byte("x\n"), 600), []byte("import anthropic\n")...)
	if err := os.WriteFile(filepath.Join(dir, "big.py"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfile("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), dir, p, Options{MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Skipped != 1 {
		t.Errorf("got %d findings, %d skipped; want 0 and 1", len(res.Findings), res.Skipped)
	}
	res, err = Scan(context.Background(), dir, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Line != 601 {
		t.Errorf("got %+v, want one finding on line 601", res.Findings)
	}
}

func TestTreeHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "one")
	write("d/b.txt", "two")
	files := []string{"a.txt", "d/b.txt"}
	h1, err := TreeHash(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := TreeHash(dir, []string{"d/b.txt", "a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 || !strings.HasPrefix(h1, "h1:") {
		t.Errorf("got %q and %q, want the same h1: hash whatever the order", h1, h2)
	}
	write("a.txt", "One")
	h3, err := TreeHash(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if h3 == h1 {
		t.Errorf("got the same hash after a content change")
	}
	if err := os.Rename(filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	h4, err := TreeHash(dir, []string{"c.txt", "d/b.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if h4 == h3 {
		t.Errorf("got the same hash after a rename")
	}
}

func TestGitignore(t *testing.T) {
	root := parseGitignore("", []byte("# comment\n\n*.log\n!keep.log\nbuild/\n/top.txt\ndocs/**/*.md\n**/tmp\nfoo/**\na?c\n[ab]x.txt\n\\#hash\ntrailing \n"))
	sub := parseGitignore("svc", []byte("local_*\n!local_keep.py\n/only-here\n"))
	st := ignoreStack{root, sub}
	tests := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"x.log", false, true},
		{"deep/dir/x.log", false, true},
		{"keep.log", false, false},
		{"deep/keep.log", false, false},
		{"build", true, true},
		{"src/build", true, true},
		{"build", false, false}, // a file named build: dir-only pattern
		{"top.txt", false, true},
		{"sub/top.txt", false, false}, // anchored
		{"docs/a.md", false, true},
		{"docs/x/y/a.md", false, true},
		{"other/docs/a.md", false, false},
		{"tmp", true, true},
		{"a/b/tmp", true, true},
		{"foo/x/y", false, true},
		{"foo", true, false},
		{"abc", false, true},
		{"abbc", false, false},
		{"ax.txt", false, true},
		{"cx.txt", false, false},
		{"#hash", false, true},
		{"trailing", false, true},
		{"svc/local_x.py", false, true},
		{"svc/local_keep.py", false, false},
		{"local_x.py", false, false}, // svc's rules don't apply outside svc
		{"svc/only-here", false, true},
		{"svc/deeper/only-here", false, false},
		{"main.go", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := st.ignored(tt.path, tt.isDir); got != tt.want {
				t.Errorf("ignored(%q, dir=%v): got %v, want %v", tt.path, tt.isDir, got, tt.want)
			}
		})
	}
}

// TestACMatcher compares the automaton with a naive search on random text
// over a small alphabet, where overlaps and shared prefixes are common. The
// first anchor set has a one-byte anchor, so the automaton runs alone; the
// second goes through the skip filter too.
func TestACMatcher(t *testing.T) {
	for _, tc := range []struct {
		name     string
		anchors  []string
		alphabet string
		skip     bool
	}{
		{"automaton", []string{"ab", "abc", "bca", "c", "aab", "Claude-", "sk-ant-"}, "abcABC-lude sknt\n", false},
		{"skip filter", []string{"claude-", "Claude_", "anthropic", "sk-ant-", "api.anthropic.com", "aude-x", "cla"}, "claudeCLAUDE-_ anthropicsk\n.x", true},
		{"skip filter, long", []string{"anthropic", "ANTHROPIC_", "anthropic.claude"}, "anthropicANTHROPIC_.claude \n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newACMatcher(tc.anchors)
			if (m.skip != nil) != tc.skip {
				t.Fatalf("got skip filter %v, want %v", m.skip != nil, tc.skip)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for iter := range 500 {
				b := make([]byte, r.IntN(300))
				for i := range b {
					b[i] = tc.alphabet[r.IntN(len(tc.alphabet))]
				}
				type hit struct{ a, end int }
				var got, want []hit
				m.find(b, func(a, end int) { got = append(got, hit{a, end}) })
				lb := bytes.ToLower(b)
				for end := 1; end <= len(b); end++ {
					for ai, a := range tc.anchors {
						if end >= len(a) && string(lb[end-len(a):end]) == strings.ToLower(a) {
							want = append(want, hit{ai, end})
						}
					}
				}
				sortHits := func(h []hit) {
					slices.SortFunc(h, func(x, y hit) int {
						if x.end != y.end {
							return x.end - y.end
						}
						return x.a - y.a
					})
				}
				sortHits(got)
				sortHits(want)
				if !slices.Equal(got, want) {
					t.Fatalf("iteration %d, text %q: got %v, want %v", iter, b, got, want)
				}
			}
		})
	}
}
