package detect

import "strings"

// unitKind is the kind of text unit findings are linked within.
type unitKind uint8

const (
	unitSentence unitKind = iota // prose: up to a sentence end or a line break
	unitRow                      // a CSV, TSV or pipe-table line
	unitObject                   // the innermost JSON object
)

type unitInfo struct {
	kind       unitKind
	start, end int // text[start:end] is the unit
}

// unitSet assigns each finding to a unit.
type unitSet struct {
	of   []int // of[i] is the index in info of finding i's unit
	info []unitInfo
}

// maxSentence bounds how far a sentence unit extends either side of a
// finding.
const maxSentence = 400

// unitsOf finds the unit of every finding: the innermost JSON object that
// encloses it, else its line if the line is a table row, else its
// sentence.
func unitsOf(text string, fs []Finding) *unitSet {
	u := &unitSet{of: make([]int, len(fs))}
	index := map[unitInfo]int{}
	add := func(ui unitInfo) int {
		if k, ok := index[ui]; ok {
			return k
		}
		index[ui] = len(u.info)
		u.info = append(u.info, ui)
		return len(u.info) - 1
	}
	objs := enclosingObjects(text, fs)
	var last unitInfo // the latest sentence unit
	var lines lineFinder
	rowStart, rowEnd, row := -1, -1, false // isRow of the line last tested
	for i, f := range fs {
		if objs != nil && objs[i].end > 0 {
			u.of[i] = add(objs[i])
			continue
		}
		ls, le := lines.bounds(text, f.Start, f.End)
		if ls != rowStart || le != rowEnd {
			rowStart, rowEnd, row = ls, le, isRow(text[ls:le])
		}
		if row {
			u.of[i] = add(unitInfo{unitRow, ls, le})
			continue
		}
		// Consecutive findings in one sentence share its bounds: don't
		// scan for them again.
		if last.kind == unitSentence && last.end > 0 && f.Start >= last.start && f.End <= last.end {
			u.of[i] = add(last)
			continue
		}
		last = unitInfo{unitSentence, sentenceFrom(text, f.Start, ls), sentenceTo(text, f.End, le)}
		u.of[i] = add(last)
	}
	return u
}

// enclosingObjects returns, for each finding, the innermost {...} around
// it (end 0 if none), or nil if the text has no '{'. Braces inside JSON
// strings are ignored.
func enclosingObjects(text string, fs []Finding) []unitInfo {
	if strings.IndexByte(text, '{') < 0 {
		return nil
	}
	out := make([]unitInfo, len(fs))
	var stack []int
	ends := map[int]int{}
	inStr := false
	next := 0 // the next finding to place
	// place records the enclosing object of every finding that starts
	// before k.
	place := func(k int) {
		for next < len(fs) && fs[next].Start < k {
			if len(stack) > 0 {
				out[next] = unitInfo{kind: unitObject, start: stack[len(stack)-1]}
			}
			next++
		}
	}
	// Jump from one byte that matters to the next: braces outside
	// strings, quotes, and backslashes inside strings.
	for k := 0; k < len(text); {
		specials := `{}"`
		if inStr {
			specials = `"\`
		} else if len(stack) == 0 {
			specials = `{`
		}
		j := strings.IndexAny(text[k:], specials)
		if j < 0 {
			break
		}
		k += j
		place(k + 1)
		switch c := text[k]; {
		case inStr && c == '\\':
			k++
		case inStr:
			inStr = false
		case c == '"':
			inStr = true
		case c == '{':
			stack = append(stack, k)
		case c == '}':
			ends[stack[len(stack)-1]] = k + 1
			stack = stack[:len(stack)-1]
		}
		k++
	}
	place(len(text) + 1)
	for i := range out {
		if out[i].kind != unitObject {
			continue
		}
		if e, ok := ends[out[i].start]; ok {
			out[i].end = e
		} else {
			out[i].end = len(text)
		}
	}
	return out
}

// lineFinder finds the line around each of a series of spans. Findings
// come sorted and apart, so each search goes on from the last one instead
// of from the span: on a long line (a one-line JSON body) searching from
// the span every time would cost the line's length per finding.
type lineFinder struct {
	from, start int // the line holding text[from-1] starts at start
	to, end     int // the first '\n' at or after to is at end (len(text) if none)
	used        bool
}

// bounds returns the start of the line holding text[s] and the offset of
// the first '\n' at or after e (len(text) if none), as
// strings.LastIndexByte(text[:s], '\n')+1 and strings.IndexByte(text[e:],
// '\n')+e would.
func (l *lineFinder) bounds(text string, s, e int) (int, int) {
	if !l.used || s < l.from || e < l.to {
		*l = lineFinder{used: true, end: -1}
	}
	if k := strings.LastIndexByte(text[l.from:s], '\n'); k >= 0 {
		l.start = l.from + k + 1
	}
	l.from = s
	if e > l.end {
		if k := strings.IndexByte(text[e:], '\n'); k >= 0 {
			l.end = e + k
		} else {
			l.end = len(text)
		}
	}
	l.to = e
	return l.start, l.end
}

// isRow reports whether line looks like a table row: two or more commas,
// tabs or pipes.
func isRow(line string) bool {
	return strings.Count(line, ",") >= 2 || strings.Count(line, "\t") >= 2 || strings.Count(line, "|") >= 2
}

// abbreviations end in a period that does not end a sentence.
var abbreviations = set("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Sgt", "Lt", "Col", "Gen", "Capt", "Maj",
	"Cpl", "Pvt", "Adm", "Cmdr", "Ave", "Rd", "Blvd", "No", "Inc", "Co", "Corp", "Prof", "Rev", "Hon", "vs", "etc", "Apt", "Ste")

// sentenceEndAt reports whether text[k] ends a sentence.
func sentenceEndAt(text string, k int) bool {
	switch text[k] {
	case '\n':
		return true
	case '!', '?':
	case '.':
		j := k
		for j > 0 && isAlpha(text[j-1]) {
			j--
		}
		if w := text[j:k]; len(w) == 1 && isUpper(w[0]) || abbreviations[w] {
			return false
		}
	default:
		return false
	}
	return k+1 == len(text) || text[k+1] == ' ' || text[k+1] == '\n' || text[k+1] == '\t'
}

// sentenceFrom returns where the sentence holding text[i] starts, no
// earlier than floor or maxSentence bytes back.
func sentenceFrom(text string, i, floor int) int {
	lo := max(floor, i-maxSentence)
	for k := i - 1; k >= lo; k-- {
		if sentenceEndAt(text, k) {
			return k + 1
		}
	}
	return lo
}

// sentenceTo returns where the sentence holding text[j-1] ends, no later
// than ceil or maxSentence bytes on.
func sentenceTo(text string, j, ceil int) int {
	hi := min(ceil, j+maxSentence)
	for k := j; k < hi; k++ {
		if sentenceEndAt(text, k) {
			return k + 1
		}
	}
	return hi
}
