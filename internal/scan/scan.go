// Package scan finds where an AI vendor's technology is embedded in a code
// tree: SDK and framework dependencies in manifests and lockfiles, imports,
// API hosts, model IDs, environment variables, API keys, CI actions and IaC
// resources, each with its file and line.
//
// What counts as the vendor is data: a [Profile] per vendor ships embedded
// under profiles/. [Scan] walks a tree once, honouring .gitignore and
// skipping vendored, generated, binary and huge files; each file is read once
// and run through a literal-anchor prefilter (an Aho-Corasick automaton)
// before any regexp. The results render as a table, JSON, SARIF 2.1.0 or
// CycloneDX 1.6, and a clean scan can be attested with a signed note
// ([SignAttestation], [VerifyAttestation]). The "brightline scan" command
// line is in cmd/brightline.
package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/sync/errgroup"
)

// Options tune a scan. The zero value is ready to use.
type Options struct {
	// IncludeVendored scans vendor/, node_modules/, third_party/, build
	// outputs and generated files too.
	IncludeVendored bool
	// Workers is the number of files scanned at once; 0 means GOMAXPROCS.
	Workers int
	// MaxFileSize skips larger files; 0 means 32 MiB.
	MaxFileSize int64
}

// Result is what a scan found.
type Result struct {
	Vendor   string
	Root     string
	Findings []Finding // sorted by file, line, kind, component
	Files    []string  // the files scanned (slash-separated, relative to Root), sorted
	Bytes    int64     // bytes scanned
	Skipped  int       // files skipped: binary, too large or generated
}

// binarySniff is how much of a file is checked for a NUL byte.
const binarySniff = 8 << 10

// skipDirs are directories of other people's or generated code, skipped
// unless Options.IncludeVendored.
var skipDirs = map[string]bool{
	"node_modules": true, "vendor": true, "third_party": true, "bower_components": true,
	"__pycache__": true, ".venv": true, "venv": true, "site-packages": true, ".tox": true,
	".terraform": true, "Pods": true, ".gradle": true, ".next": true, ".nuxt": true,
}

// outputDirs are build outputs, skipped (unless Options.IncludeVendored) only
// next to the project file that makes them: a Go package or a Java package
// called "build" is source.
var outputDirs = map[string][]string{
	"build":  {"package.json", "pyproject.toml", "setup.py", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "CMakeLists.txt"},
	"dist":   {"package.json", "pyproject.toml", "setup.py"},
	"target": {"Cargo.toml", "pom.xml"},
	"bin":    {"pom.xml"},
	"obj":    {},
}

// alwaysSkipDirs are never scanned.
var alwaysSkipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

var generatedRe = regexp.MustCompile(`(?m)^.{0,8}Code generated .* DO NOT EDIT\.`)

// Scan walks root and reports where the vendor of p shows up. It stops early
// and returns ctx.Err() if ctx is cancelled.
func Scan(ctx context.Context, root string, p *Profile, opts Options) (*Result, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 32 << 20
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("couldn't scan %s: %w", root, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("couldn't scan %s: not a directory", root)
	}
	s := &scanner{profile: p, source: newSourceScanner(p), opts: opts, root: root}
	if pa := packageAnchors(p); len(pa) > 0 {
		s.packages = newACMatcher(pa)
	}

	jobs := make(chan string, 256)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		return s.walk(gctx, jobs)
	})
	workers := make([]*worker, opts.Workers)
	for i := range workers {
		w := &worker{s: s}
		workers[i] = w
		g.Go(func() error {
			for rel := range jobs {
				if err := gctx.Err(); err != nil {
					return err
				}
				w.file(rel)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := &Result{Vendor: p.Name, Root: root}
	for _, w := range workers {
		res.Findings = append(res.Findings, w.findings...)
		res.Files = append(res.Files, w.files...)
		res.Bytes += w.bytes
		res.Skipped += w.skipped
	}
	res.Findings = markPossibleRoutes(p, sortFindings(res.Findings))
	slices.Sort(res.Files)
	return res, nil
}

type scanner struct {
	profile  *Profile
	source   *sourceScanner
	packages *acMatcher // package-name prefilter for manifests; nil if the profile lists none
	opts     Options
	root     string
}

// walk sends the relative paths of the files to scan.
func (s *scanner) walk(ctx context.Context, jobs chan<- string) error {
	var stack ignoreStack
	return filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.root {
				return err
			}
			return nil // unreadable entry: skip it, as grep does
		}
		rel, _ := filepath.Rel(s.root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		// Pop the .gitignore files of directories we have left.
		for len(stack) > 0 {
			top := stack[len(stack)-1].dir
			if top == "" || rel == top || strings.HasPrefix(rel, top+"/") {
				break
			}
			stack = stack[:len(stack)-1]
		}
		if d.IsDir() {
			if rel != "" {
				name := d.Name()
				if alwaysSkipDirs[name] || (!s.opts.IncludeVendored && s.skipDir(p, name)) || stack.ignored(rel, true) {
					return filepath.SkipDir
				}
			}
			if b, err := os.ReadFile(filepath.Join(p, ".gitignore")); err == nil {
				stack = append(stack, parseGitignore(rel, b))
			}
			return nil
		}
		if !d.Type().IsRegular() || stack.ignored(rel, false) {
			return nil
		}
		select {
		case jobs <- rel:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// skipDir reports whether a directory holds vendored code or build output.
func (s *scanner) skipDir(p, name string) bool {
	if skipDirs[name] {
		return true
	}
	parent := filepath.Dir(p)
	for _, m := range outputDirs[name] {
		if _, err := os.Stat(filepath.Join(parent, m)); err == nil {
			return true
		}
	}
	if name == "bin" || name == "obj" { // .NET: next to any project file
		if ms, _ := filepath.Glob(filepath.Join(parent, "*.*proj")); len(ms) > 0 {
			return true
		}
	}
	return false
}

// worker scans files; each has its own buffer and results, merged at the
// end, so the hot path shares nothing.
type worker struct {
	s        *scanner
	buf      []byte
	findings []Finding
	files    []string
	bytes    int64
	skipped  int
}

func (w *worker) file(rel string) {
	data, ok := w.read(rel)
	if !ok {
		w.skipped++
		return
	}
	s := w.s
	mk, isManifest := manifestFor(rel)
	if !s.opts.IncludeVendored && !isManifest && isGenerated(data, rel) {
		w.skipped++
		return
	}
	w.files = append(w.files, rel)
	w.bytes += int64(len(data))

	if isManifest && mk.parse != nil && s.packages != nil && s.packages.contains(data) {
		for _, d := range mk.parse(data) {
			if d.local {
				continue
			}
			if pk, ok := s.profile.matchPackage(d.eco, d.name); ok {
				w.findings = append(w.findings, Finding{
					Component: d.name, Kind: KindPackage, Depth: pk.Depth, Ecosystem: d.eco,
					File: rel, Line: d.line, Evidence: evidence(lineAt(data, d.line), 0, 0),
				})
			}
		}
	}
	if isManifest && !mk.source {
		return
	}
	var depth Depth
	switch {
	case isTerraform(rel):
		depth = DepthIaC
		w.findings = scanTerraform(s.profile, rel, data, w.findings)
	case isWorkflow(rel):
		depth = DepthCI
		w.findings = scanWorkflow(s.profile, rel, data, w.findings)
	}
	w.findings = s.source.scan(rel, data, depth, w.findings)
}

// read returns the file's contents in the worker's buffer, or false for a
// file to skip (unreadable, too large, or binary).
func (w *worker) read(rel string) ([]byte, bool) {
	data, buf, ok := readFile(w.s.root, rel, w.buf, w.s.opts.MaxFileSize)
	w.buf = buf
	if !ok {
		return nil, false
	}
	if bytes.IndexByte(data[:min(len(data), binarySniff)], 0) >= 0 {
		return nil, false
	}
	return data, true
}

// isGenerated reports a "Code generated ... DO NOT EDIT." header near the
// top of the file, or a minified bundle.
func isGenerated(data []byte, rel string) bool {
	if strings.HasSuffix(rel, ".min.js") || strings.HasSuffix(rel, ".min.css") {
		return true
	}
	head := data[:min(len(data), 4096)]
	return bytes.Contains(head, []byte("DO NOT EDIT")) && generatedRe.Match(head)
}

// lineAt returns line n (1-based) of data.
func lineAt(data []byte, n int) []byte {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return nil
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return bytes.TrimSuffix(data, []byte{'\r'})
}

// TreeHash returns a deterministic hash over the paths and contents of
// files (relative to root, as in [Result.Files]): the "h1:" directory hash
// that Go uses for modules, a SHA-256 over the sorted list of each file's
// SHA-256 and path.
func TreeHash(root string, files []string) (string, error) {
	for _, f := range files {
		if strings.ContainsAny(f, "\n") {
			return "", fmt.Errorf("couldn't hash tree: file name %q holds a newline", f)
		}
	}
	h, err := dirhash.Hash1(files, func(name string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(root, filepath.FromSlash(name)))
	})
	if err != nil {
		return "", fmt.Errorf("couldn't hash tree: %w", err)
	}
	return h, nil
}
