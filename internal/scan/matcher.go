package scan

import (
	"bytes"
	"slices"
	"strings"
)

// acMatcher finds many literal anchors at once, ASCII case-insensitively,
// with an Aho-Corasick automaton compiled to a dense DFA over byte classes.
// It is the prefilter in front of the patterns' regexps: almost every byte of
// a tree is rejected here at one table lookup per byte.
type acMatcher struct {
	cls    [256]uint8 // byte → class; bytes in no anchor share class 0
	ncls   int
	trans  []int32 // trans[state*ncls+class]
	accept int32   // states >= accept have outputs
	out    [][]int // out[state-accept]: anchor indices that end at this state
	skip   *skipFilter
}

// skipFilter finds the lines worth running the automaton over, with the
// Wu-Manber shift idea: it looks at the 2-byte block at the end of an m-byte
// window (m the shortest anchor) and, if no anchor's chosen m-byte window
// ends in that block, jumps ahead by as much as the block allows, up to m-1
// bytes.
// Ordinary code rarely holds a block that ends a prefix, so most of a file
// is passed over a few bytes at a time rather than byte by byte.
type skipFilter struct {
	m        int
	shift    [1 << 16]uint8  // block → how far the window may move
	prefixes [1 << 16]uint16 // block → 1 + index into lists, for shift-0 blocks
	lists    [][]string      // folded m-byte windows ending in the block
}

var foldTable = func() (t [256]byte) {
	for i := range t {
		t[i] = lower(byte(i))
	}
	return t
}()

func newSkipFilter(anchors []string) *skipFilter {
	m := len(anchors[0])
	for _, a := range anchors {
		m = min(m, len(a))
	}
	if m < 3 {
		return nil // too short to skip usefully; the automaton alone is as fast
	}
	f := &skipFilter{m: m}
	for i := range f.shift {
		f.shift[i] = uint8(min(m-1, 255))
	}
	for _, a := range anchors {
		p := bestWindow(strings.ToLower(a), m)
		for j := 1; j < m; j++ {
			b := uint16(p[j-1])<<8 | uint16(p[j])
			f.shift[b] = min(f.shift[b], uint8(m-1-j))
		}
		b := uint16(p[m-2])<<8 | uint16(p[m-1])
		if f.prefixes[b] == 0 {
			f.lists = append(f.lists, nil)
			f.prefixes[b] = uint16(len(f.lists))
		}
		l := &f.lists[f.prefixes[b]-1]
		if !slices.Contains(*l, p) {
			*l = append(*l, p)
		}
	}
	return f
}

// commonBigrams are frequent letter pairs in English and in identifiers.
// A window ending in one would stop the skip loop all the time.
const commonBigrams = "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur et ut ol ct nc"

// bestWindow picks the m-byte window of anchor a whose blocks are least
// common in ordinary text, the last block above all: the filter stops on a
// window's last block, and skips less across the others. Any window works
// for correctness, since a hit makes the automaton run over the whole line.
func bestWindow(a string, m int) string {
	cost := func(x, y byte) int {
		letter := func(c byte) bool { return 'a' <= c && c <= 'z' }
		switch {
		case letter(x) && letter(y) && strings.Contains(commonBigrams, string([]byte{x, y})):
			return 8
		case letter(x) && letter(y):
			return 4
		case letter(x) || letter(y):
			return 2
		}
		return 1
	}
	best, bestCost := a[:m], -1
	for k := 0; k+m <= len(a); k++ {
		w := a[k : k+m]
		c := 4 * cost(w[m-2], w[m-1])
		for j := 1; j < m-1; j++ {
			c += cost(w[j-1], w[j])
		}
		if bestCost < 0 || c < bestCost {
			best, bestCost = w, c
		}
	}
	return best
}

// candidate reports whether window (m bytes) is an anchor's chosen window.
func (f *skipFilter) candidate(window []byte, block uint16) bool {
	i := f.prefixes[block]
	if i == 0 {
		return false
	}
	for _, p := range f.lists[i-1] {
		ok := true
		for k := 0; k < len(p); k++ {
			if foldTable[window[k]] != p[k] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func newACMatcher(anchors []string) *acMatcher {
	m := &acMatcher{}
	// Byte classes: one per distinct (folded) byte used by an anchor.
	next := uint8(1)
	for _, a := range anchors {
		for i := 0; i < len(a); i++ {
			c := lower(a[i])
			if m.cls[c] == 0 {
				m.cls[c] = next
				next++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.cls[c] = m.cls[c+'a'-'A']
	}
	m.ncls = int(next)

	// Trie.
	type node struct {
		next []int32
		fail int32
		out  []int
	}
	nodes := []node{{next: make([]int32, m.ncls)}}
	for i := range nodes[0].next {
		nodes[0].next[i] = -1
	}
	for ai, a := range anchors {
		s := int32(0)
		for i := 0; i < len(a); i++ {
			c := m.cls[a[i]]
			if nodes[s].next[c] < 0 {
				n := node{next: make([]int32, m.ncls)}
				for j := range n.next {
					n.next[j] = -1
				}
				nodes = append(nodes, n)
				nodes[s].next[c] = int32(len(nodes) - 1)
			}
			s = nodes[s].next[c]
		}
		nodes[s].out = append(nodes[s].out, ai)
	}
	// Failure links and DFA completion, breadth first.
	var queue []int32
	for c := range m.ncls {
		if t := nodes[0].next[c]; t < 0 {
			nodes[0].next[c] = 0
		} else {
			nodes[t].fail = 0
			queue = append(queue, t)
		}
	}
	// Class 0 (bytes in no anchor) always returns to the root.
	nodes[0].next[0] = 0
	order := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		order = append(order, s)
		nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		for c := range m.ncls {
			t := nodes[s].next[c]
			if t < 0 {
				nodes[s].next[c] = nodes[nodes[s].fail].next[c]
				continue
			}
			nodes[t].fail = nodes[nodes[s].fail].next[c]
			queue = append(queue, t)
		}
	}
	// Renumber so that accepting states come last: the hot loop then tests
	// for a hit with one comparison.
	perm := make([]int32, len(nodes))
	var plain, acc []int32
	for _, s := range order {
		if len(nodes[s].out) == 0 {
			plain = append(plain, s)
		} else {
			acc = append(acc, s)
		}
	}
	for i, s := range slices.Concat(plain, acc) {
		perm[s] = int32(i)
	}
	m.accept = int32(len(plain))
	m.trans = make([]int32, len(nodes)*m.ncls)
	m.out = make([][]int, len(acc))
	for s, n := range nodes {
		ns := perm[s]
		for c := range m.ncls {
			m.trans[int(ns)*m.ncls+c] = perm[n.next[c]]
		}
		if ns >= m.accept {
			m.out[ns-m.accept] = n.out
		}
	}
	if len(anchors) > 0 {
		m.skip = newSkipFilter(anchors)
	}
	return m
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// find calls hit for every anchor occurrence, with the index just past its
// end. Matches are reported in order of their end.
func (m *acMatcher) find(data []byte, hit func(anchor, end int)) {
	f := m.skip
	if f == nil {
		m.run(data, 0, hit)
		return
	}
	mm, n := f.m, len(data)
	for i := mm - 1; i < n; {
		block := uint16(foldTable[data[i-1]])<<8 | uint16(foldTable[data[i]])
		if sh := f.shift[block]; sh != 0 {
			i += int(sh)
			continue
		}
		start := i - mm + 1
		if !f.candidate(data[start:i+1], block) {
			i++
			continue
		}
		// Run the automaton over the whole line (anchors hold no newline),
		// then carry on after it.
		ls := bytes.LastIndexByte(data[:start], '\n') + 1
		le := bytes.IndexByte(data[start:], '\n')
		if le < 0 {
			le = n
		} else {
			le += start
		}
		m.run(data[ls:le], ls, hit)
		i = le + mm
	}
}

// contains reports whether data holds any anchor.
func (m *acMatcher) contains(data []byte) bool {
	found := false
	m.find(data, func(int, int) { found = true })
	return found
}

// run is the automaton itself over data, which starts at offset base.
func (m *acMatcher) run(data []byte, base int, hit func(anchor, end int)) {
	trans, cls, ncls, accept := m.trans, &m.cls, m.ncls, m.accept
	s := int32(0)
	for i := 0; i < len(data); i++ {
		s = trans[int(s)*ncls+int(cls[data[i]])]
		if s >= accept {
			for _, a := range m.out[s-accept] {
				hit(a, base+i+1)
			}
		}
	}
}

// lang is the language of a source file, from its name. Patterns use it to
// keep, say, a Python import rule out of Ruby files.
func lang(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		ext = strings.ToLower(base[i:])
	}
	switch ext {
	case ".py", ".pyi", ".ipynb":
		return "python"
	case ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte":
		return "js"
	case ".go":
		return "go"
	case ".java":
		return "java"
	case ".kt", ".kts":
		return "kotlin"
	case ".rb":
		return "ruby"
	case ".cs":
		return "csharp"
	case ".php":
		return "php"
	case ".rs":
		return "rust"
	case ".tf", ".tfvars", ".hcl":
		return "terraform"
	case ".yaml", ".yml":
		return "yaml"
	case ".env":
		return "env"
	}
	if strings.HasPrefix(base, ".env") {
		return "env"
	}
	return ""
}

func langEcosystem(l string) Ecosystem {
	switch l {
	case "python":
		return EcoPyPI
	case "js":
		return EcoNPM
	case "go":
		return EcoGo
	case "java", "kotlin":
		return EcoMaven
	case "ruby":
		return EcoRubyGems
	case "csharp":
		return EcoNuGet
	case "php":
		return EcoComposer
	case "rust":
		return EcoCargo
	case "terraform":
		return EcoTerraform
	}
	return ""
}

// sourceScanner runs a profile's patterns over files.
type sourceScanner struct {
	ac       *acMatcher
	byAnchor [][]int // anchor index → pattern indices
	patterns []Pattern
}

func newSourceScanner(p *Profile) *sourceScanner {
	var anchors []string
	idx := map[string]int{}
	var byAnchor [][]int
	for pi, pt := range p.Patterns {
		for _, a := range pt.Anchors {
			k := strings.ToLower(a)
			i, ok := idx[k]
			if !ok {
				i = len(anchors)
				idx[k] = i
				anchors = append(anchors, k)
				byAnchor = append(byAnchor, nil)
			}
			if !slices.Contains(byAnchor[i], pi) {
				byAnchor[i] = append(byAnchor[i], pi)
			}
		}
	}
	return &sourceScanner{ac: newACMatcher(anchors), byAnchor: byAnchor, patterns: p.Patterns}
}

// packageAnchors returns, for each of the profile's package names, its
// longest alphanumeric run ("anthropic" for "@anthropic-ai/*"): a dependency
// can only match a package if the file holds that run, whatever the case or
// the PEP 503 separators. Manifests without any are not parsed at all.
func packageAnchors(p *Profile) []string {
	var out []string
	for _, pk := range p.Packages {
		best := ""
		for _, f := range strings.FieldsFunc(strings.ToLower(pk.Name), func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
		}) {
			if len(f) > len(best) {
				best = f
			}
		}
		if best != "" && !slices.Contains(out, best) {
			out = append(out, best)
		}
	}
	return out
}

// anchors returns the distinct lower-case anchors, for comparisons with grep.
func (s *sourceScanner) anchors() []string {
	var out []string
	for _, pt := range s.patterns {
		for _, a := range pt.Anchors {
			if k := strings.ToLower(a); !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// scan appends the findings in data, a file named name, to fs. depth, when
// set, overrides the patterns' depth (IaC and CI files).
func (s *sourceScanner) scan(name string, data []byte, depth Depth, fs []Finding) []Finding {
	l := lang(name)
	eco := langEcosystem(l)
	lineNo, counted := 1, 0 // line number of data[counted]
	lineStart, lineEnd := -1, -1
	var pending []int // pattern indices to try on the current line

	flush := func() {
		if len(pending) == 0 {
			return
		}
		lineNo += bytes.Count(data[counted:lineStart], []byte{'\n'})
		counted = lineStart
		fs = s.matchLine(name, l, eco, depth, data[lineStart:lineEnd], lineNo, pending, fs)
		pending = pending[:0]
	}
	s.ac.find(data, func(anchor, end int) {
		if end > lineEnd || lineStart < 0 {
			flush()
			lineStart = bytes.LastIndexByte(data[:end], '\n') + 1
			if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
				lineEnd = end + i
			} else {
				lineEnd = len(data)
			}
		}
		for _, pi := range s.byAnchor[anchor] {
			if !slices.Contains(pending, pi) {
				pending = append(pending, pi)
			}
		}
	})
	flush()
	return fs
}

type span struct {
	kind       Kind
	start, end int
}

func (s *sourceScanner) matchLine(name, l string, eco Ecosystem, depth Depth, line []byte, lineNo int, pending []int, fs []Finding) []Finding {
	first := len(fs)
	var spans []span
	slices.Sort(pending) // profile order, so results don't depend on anchor order
	for _, pi := range pending {
		pt := &s.patterns[pi]
		if len(pt.Langs) > 0 && !slices.Contains(pt.Langs, l) {
			continue
		}
		for _, m := range pt.re.FindAllSubmatchIndex(line, -1) {
			comp := pt.Component
			if pt.group > 0 && m[2*pt.group] >= 0 {
				comp = string(line[m[2*pt.group]:m[2*pt.group+1]])
			} else if comp == "" {
				comp = strings.TrimRight(string(line[m[0]:m[1]]), ".-")
			}
			d := pt.Depth
			if depth != "" {
				d = depth
			}
			spans = append(spans, span{pt.Kind, m[0], m[1]})
			// The language's ecosystem says something about an import or an
			// SDK constant; about a host or a model ID in a .py file it
			// doesn't, except for IaC and CI files.
			e := eco
			if pt.Kind != KindImport && pt.Kind != KindConstant && eco != EcoTerraform {
				e = ""
			}
			if depth == DepthCI {
				e = EcoActions
			}
			fs = append(fs, Finding{
				Component: comp, Kind: pt.Kind, Depth: d, Ecosystem: e,
				File: name, Line: lineNo, Evidence: evidence(line, m[0], m[1]), Rule: pt.ID,
			})
		}
	}
	// Within a line, a match inside a longer match of the same kind is the
	// same thing seen twice (a model ID inside its Bedrock ARN): keep the
	// longer one.
	if len(fs)-first > 1 {
		found := fs[first:]
		keep := found[:0]
		for i, f := range found {
			inner := false
			for j, o := range spans {
				if i != j && o.kind == spans[i].kind && o.start <= spans[i].start && spans[i].end <= o.end &&
					(o.end-o.start > spans[i].end-spans[i].start || j < i) {
					inner = true
					break
				}
			}
			if !inner {
				keep = append(keep, f)
			}
		}
		fs = fs[:first+len(keep)]
	}
	return fs
}
