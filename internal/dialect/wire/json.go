package wire

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to b as a JSON string and returns the extended
// buffer. See [AppendEscaped] for the escaping.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = AppendEscaped(b, s)
	return append(b, '"')
}

// AppendEscaped appends s to b escaped for use inside a JSON string, without
// the quotes, and returns the extended buffer. Invalid UTF-8 becomes U+FFFD,
// as with encoding/json. Control characters and U+2028/U+2029 are escaped,
// so the result never holds a raw line break and is safe in an SSE data
// line; unlike encoding/json, <, > and & are not.
func AppendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but line terminators to JavaScript parsers that
			// treat JSON as code; encoding/json escapes them too.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// AppendFloatField appends ,"name": and *f, or nothing when f is nil. NaN
// and infinities are not JSON numbers and are an error.
func AppendFloatField(b []byte, name string, f *float64) ([]byte, error) {
	if f == nil {
		return b, nil
	}
	if math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil, fmt.Errorf("couldn't encode %s: %v is not a JSON number", name, *f)
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendFloat(b, *f, 'g', -1, 64), nil
}
