package auditlog

import (
	"cmp"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// canonicalDepth is how deeply canonicalJSON nests objects and arrays
// before it leaves a body to jcs.Transform. An object whose members are
// not in order is rewritten once at its own level, so the bytes moved are
// at most the body's size times this.
const canonicalDepth = 32

// canonicalJSON returns the RFC 8785 form of the JSON text b, in one pass
// and without a tree: the bytes jcs.Transform returns for it. It handles
// what request bodies hold; ok is false for anything else (text that is
// not valid JSON, invalid UTF-8, a lone surrogate escape, a duplicate
// key, a number beyond float64, nesting deeper than canonicalDepth), and
// the caller then decides with jcs.Transform, whose answer stands.
func canonicalJSON(b []byte) (_ []byte, ok bool) {
	c := canonicalizer{in: b, out: make([]byte, 0, len(b))}
	c.skipSpace()
	if !c.value(0) {
		return nil, false
	}
	c.skipSpace()
	if c.i != len(c.in) {
		return nil, false
	}
	return c.out, true
}

type canonicalizer struct {
	in  []byte
	i   int
	out []byte
	// keys holds the decoded names of the objects being written, which
	// members refers to; both are stacks shared by the nesting levels.
	keys    []byte
	members []member
	scratch []byte
}

// member is one object member written to out: out[start:end] is its
// canonical `"name":value`, keys[key:keyEnd] its decoded name.
type member struct {
	key, keyEnd int
	start, end  int
}

func (c *canonicalizer) skipSpace() {
	for c.i < len(c.in) {
		switch c.in[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(depth int) bool {
	if c.i >= len(c.in) {
		return false
	}
	switch ch := c.in[c.i]; {
	case ch == '{':
		return depth < canonicalDepth && c.object(depth+1)
	case ch == '[':
		return depth < canonicalDepth && c.array(depth+1)
	case ch == '"':
		c.i++
		var ok bool
		c.out, ok = c.str(c.out, true)
		return ok
	case ch == '-' || ch >= '0' && ch <= '9':
		return c.number()
	default:
		return c.literal("true") || c.literal("false") || c.literal("null")
	}
}

func (c *canonicalizer) literal(lit string) bool {
	if len(c.in)-c.i < len(lit) || string(c.in[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.i += len(lit)
	c.out = append(c.out, lit...)
	return true
}

func (c *canonicalizer) array(depth int) bool {
	c.i++ // [
	c.out = append(c.out, '[')
	c.skipSpace()
	if c.i < len(c.in) && c.in[c.i] == ']' {
		c.i++
		c.out = append(c.out, ']')
		return true
	}
	for {
		c.skipSpace()
		if !c.value(depth) {
			return false
		}
		c.skipSpace()
		if c.i >= len(c.in) {
			return false
		}
		switch c.in[c.i] {
		case ',':
			c.i++
			c.out = append(c.out, ',')
		case ']':
			c.i++
			c.out = append(c.out, ']')
			return true
		default:
			return false
		}
	}
}

func (c *canonicalizer) object(depth int) bool {
	c.i++ // {
	start, base, keysBase := len(c.out), len(c.members), len(c.keys)
	defer func() { c.members, c.keys = c.members[:base], c.keys[:keysBase] }()
	c.out = append(c.out, '{')
	c.skipSpace()
	if c.i < len(c.in) && c.in[c.i] == '}' {
		c.i++
		c.out = append(c.out, '}')
		return true
	}
	for {
		c.skipSpace()
		if c.i >= len(c.in) || c.in[c.i] != '"' {
			return false
		}
		c.i++
		m := member{key: len(c.keys), start: len(c.out)}
		var ok bool
		if c.keys, ok = c.str(c.keys, false); !ok {
			return false
		}
		m.keyEnd = len(c.keys)
		c.out = appendJCSString(c.out, c.keys[m.key:m.keyEnd])
		c.skipSpace()
		if c.i >= len(c.in) || c.in[c.i] != ':' {
			return false
		}
		c.i++
		c.out = append(c.out, ':')
		c.skipSpace()
		if !c.value(depth) {
			return false
		}
		m.end = len(c.out)
		c.members = append(c.members, m)
		c.skipSpace()
		if c.i >= len(c.in) {
			return false
		}
		if c.in[c.i] == ',' {
			c.i++
			c.out = append(c.out, ',')
			continue
		}
		if c.in[c.i] != '}' {
			return false
		}
		c.i++
		break
	}
	ms := c.members[base:]
	order := func(a, b member) int { return compareUTF16Bytes(c.keys[a.key:a.keyEnd], c.keys[b.key:b.keyEnd]) }
	if !slices.IsSortedFunc(ms, order) {
		slices.SortFunc(ms, order)
		// Rewrite the members in order: each is written out already.
		c.scratch = append(c.scratch[:0], c.out[start:]...)
		c.out = append(c.out[:start], '{')
		for k, m := range ms {
			if k > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(c.out, c.scratch[m.start-start:m.end-start]...)
		}
	}
	for k := 1; k < len(ms); k++ {
		if order(ms[k-1], ms[k]) == 0 {
			return false // jcs refuses duplicate names
		}
	}
	c.out = append(c.out, '}')
	return true
}

// str reads a string's contents after its opening quote, through its
// closing one, and appends them to dst: in RFC 8785 form, quoted, if
// quoted is set, else decoded.
func (c *canonicalizer) str(dst []byte, quoted bool) (_ []byte, ok bool) {
	if quoted {
		dst = append(dst, '"')
	}
	for {
		run := c.i
		for c.i < len(c.in) {
			ch := c.in[c.i]
			if ch == '"' || ch == '\\' || ch < 0x20 {
				break
			}
			c.i++
		}
		if !utf8.Valid(c.in[run:c.i]) {
			return dst, false
		}
		dst = append(dst, c.in[run:c.i]...)
		if c.i >= len(c.in) || c.in[c.i] < 0x20 {
			return dst, false
		}
		if c.in[c.i] == '"' {
			c.i++
			if quoted {
				dst = append(dst, '"')
			}
			return dst, true
		}
		// An escape.
		if c.i+1 >= len(c.in) {
			return dst, false
		}
		e := c.in[c.i+1]
		c.i += 2
		var r rune
		switch e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var ok bool
			if r, ok = c.hex4(); !ok {
				return dst, false
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one.
				if r >= 0xdc00 || c.i+1 >= len(c.in) || c.in[c.i] != '\\' || c.in[c.i+1] != 'u' {
					return dst, false
				}
				c.i += 2
				lo, ok := c.hex4()
				if !ok || lo < 0xdc00 || lo > 0xdfff {
					return dst, false
				}
				r = utf16.DecodeRune(r, lo)
			}
		default:
			return dst, false
		}
		if quoted && (r < 0x20 || r == '"' || r == '\\') {
			dst = appendJCSEscape(dst, byte(r))
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
}

// compareUTF16Bytes is compareUTF16 of valid UTF-8 byte strings.
func compareUTF16Bytes(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	// The bytes before i are the same in both, so the rune that differs
	// starts at the same place in each.
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRune(a[i:])
	rb, _ := utf8.DecodeRune(b[i:])
	return cmp.Compare(utf16Unit(ra), utf16Unit(rb))
}

func (c *canonicalizer) hex4() (rune, bool) {
	if len(c.in)-c.i < 4 {
		return 0, false
	}
	var r rune
	for _, h := range c.in[c.i : c.i+4] {
		switch {
		case h >= '0' && h <= '9':
			r = r<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			r = r<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	c.i += 4
	return r, true
}

// number copies an integer of up to 15 digits as it is (its ES6 form), and
// writes any other number as jcs does: parsed as a float64, then in the
// ES6 form of that.
func (c *canonicalizer) number() bool {
	start := c.i
	if c.in[c.i] == '-' {
		c.i++
	}
	digits := c.digits()
	if digits == 0 || digits > 1 && c.in[c.i-digits] == '0' {
		return false
	}
	simple := true
	if c.i < len(c.in) && c.in[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			return false
		}
		simple = false
	}
	if c.i < len(c.in) && (c.in[c.i] == 'e' || c.in[c.i] == 'E') {
		c.i++
		if c.i < len(c.in) && (c.in[c.i] == '+' || c.in[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			return false
		}
		simple = false
	}
	tok := c.in[start:c.i]
	if simple && digits <= 15 && string(tok) != "-0" {
		c.out = append(c.out, tok...)
		return true
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return false
	}
	s, err := jcs.NumberToJSON(f)
	if err != nil {
		return false
	}
	c.out = append(c.out, s...)
	return true
}

func (c *canonicalizer) digits() int {
	n := 0
	for c.i < len(c.in) && c.in[c.i] >= '0' && c.in[c.i] <= '9' {
		c.i++
		n++
	}
	return n
}
