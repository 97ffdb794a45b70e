package anthropic

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// parseDelta decodes the data of a content_block_delta event of the usual
// shape, {"type":..., "index":N, "delta":{"type":..., "text"|"partial_json"|
// "thinking":...}}, without reflection. Delta frames carry every token of a
// stream, so they are worth a fast path. ok is false for anything else (other
// keys, other value types, invalid JSON); the caller then decodes with
// encoding/json, which gives the same result or a descriptive error.
// FuzzParseDelta checks the two agree.
func parseDelta(data []byte) (typ string, index int, d wireDelta, ok bool) {
	p := parser{b: data}
	if !p.consume('{') {
		return "", 0, d, false
	}
	sawDelta := false
	for first := true; ; first = false {
		p.space()
		if p.consume('}') {
			break
		}
		if !first && !p.consume(',') {
			return "", 0, d, false
		}
		key, good := p.key()
		if !good {
			return "", 0, d, false
		}
		switch key {
		case "type":
			typ, good = p.typeStr()
		case "index":
			index, good = p.int()
		case "delta":
			// Like encoding/json, a repeated key updates the same delta.
			good = p.delta(&d)
			sawDelta = true
		default:
			good = false
		}
		if !good {
			return "", 0, d, false
		}
	}
	p.space()
	return typ, index, d, sawDelta && p.i == len(p.b)
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) consume(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads an object key and its colon. Only keys without escapes are
// accepted; the caller rejects unknown ones.
func (p *parser) key() (string, bool) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			// string(...) in a switch comparison does not allocate.
			k := p.b[start:j]
			return knownKey(k), p.consume(':')
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// knownKey returns k as one of the keys parseDelta knows, or "" without
// allocating.
func knownKey(k []byte) string {
	switch string(k) {
	case "type":
		return "type"
	case "index":
		return "index"
	case "delta":
		return "delta"
	case "text":
		return "text"
	case "partial_json":
		return "partial_json"
	case "thinking":
		return "thinking"
	}
	return ""
}

func (p *parser) delta(d *wireDelta) bool {
	if !p.consume('{') {
		return false
	}
	for first := true; ; first = false {
		p.space()
		if p.consume('}') {
			return true
		}
		if !first && !p.consume(',') {
			return false
		}
		key, ok := p.key()
		if !ok {
			return false
		}
		var v string
		switch key {
		case "type":
			v, ok = p.typeStr()
			d.Type = v
		case "text":
			v, ok = p.str()
			d.Text = v
		case "partial_json":
			v, ok = p.str()
			d.PartialJSON = v
		case "thinking":
			v, ok = p.str()
			d.Thinking = v
		default:
			return false
		}
		if !ok {
			return false
		}
	}
}

// typeStr reads a string, returning the common type names without
// allocating.
func (p *parser) typeStr() (string, bool) {
	save := p.i
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '"' {
		if end := indexQuote(p.b[p.i+1:]); end >= 0 && p.b[p.i+1+end] == '"' {
			switch v := p.b[p.i+1 : p.i+1+end]; string(v) {
			case "content_block_delta":
				p.i += end + 2
				return "content_block_delta", true
			case "text_delta":
				p.i += end + 2
				return "text_delta", true
			case "input_json_delta":
				p.i += end + 2
				return "input_json_delta", true
			case "thinking_delta":
				p.i += end + 2
				return "thinking_delta", true
			}
		}
	}
	p.i = save
	return p.str()
}

// indexQuote returns the index of the first '"' or '\\' in b, or -1.
func indexQuote(b []byte) int {
	for i, c := range b {
		if c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// int reads a non-negative JSON integer that fits an int32.
func (p *parser) int() (int, bool) {
	p.space()
	start, n := p.i, 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int(p.b[p.i]-'0')
		p.i++
		if p.i-start > 9 {
			return 0, false
		}
	}
	switch {
	case p.i == start, p.b[start] == '0' && p.i-start > 1:
		return 0, false
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return 0, false
	}
	return n, true
}

// str reads a JSON string the way encoding/json decodes it: invalid UTF-8
// and unpaired surrogates become U+FFFD.
func (p *parser) str() (string, bool) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	simple := true
	j := start
	for ; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", false
		}
		if c == '\\' {
			simple = false
			j++ // skip the escaped byte; validated below
		} else if c >= utf8.RuneSelf {
			simple = false
		}
	}
	if j >= len(p.b) {
		return "", false
	}
	p.i = j + 1
	raw := p.b[start:j]
	if simple {
		return string(raw), true
	}
	return unquote(raw)
}

func unquote(raw []byte) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return "", false
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := hex4(raw[i+2:])
				if !ok {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if len(raw) >= i+6 && raw[i] == '\\' && raw[i+1] == 'u' {
						if r2, ok := hex4(raw[i+2:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								sb.WriteRune(dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				sb.WriteRune(r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			sb.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			sb.WriteRune(r) // RuneError for invalid bytes, as encoding/json does
			i += size
		}
	}
	return sb.String(), true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
