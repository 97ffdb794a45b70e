package wire

import (
	"bytes"
	"encoding/json"
)

// Members calls fn with the key (unescaped, as a provider reads it) and the
// raw value of each member of the JSON object body, in order, and stops at
// the first error fn returns. body must be a valid JSON object, as a
// successful json.Unmarshal into a struct has checked.
func Members(body []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil
	}
	for i = skipSpace(body, i+1); i < len(body) && body[i] != '}'; {
		end := skipString(body, i)
		key := string(body[i+1 : end-1])
		if bytes.IndexByte(body[i:end], '\\') >= 0 {
			var s string
			if err := json.Unmarshal(body[i:end], &s); err == nil {
				key = s
			}
		}
		i = skipSpace(body, skipSpace(body, end)+1) // past the colon
		vend := skipValue(body, i)
		if err := fn(key, body[i:vend]); err != nil {
			return err
		}
		if i = skipSpace(body, vend); i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return nil
}

// Strings appends every non-empty string value inside the JSON value v
// (object keys excluded) to out, in order, and returns out. v must be
// valid JSON.
func Strings(out []string, v []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(v))
	// Per open container: whether it is an object, and whether its next
	// token is a key.
	var object, wantKey []bool
	valueDone := func() {
		if n := len(object); n > 0 && object[n-1] {
			wantKey[n-1] = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return out // io.EOF at the end; v was checked before
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				object = append(object, d == '{')
				wantKey = append(wantKey, d == '{')
			default:
				object, wantKey = object[:len(object)-1], wantKey[:len(wantKey)-1]
				valueDone()
			}
			continue
		}
		if n := len(object); n > 0 && wantKey[n-1] {
			wantKey[n-1] = false // a key
			continue
		}
		if s, ok := tok.(string); ok && s != "" {
			out = append(out, s)
		}
		valueDone()
	}
}
