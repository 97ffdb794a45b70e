package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// encoding/json matches object keys case-insensitively, with Unicode
// folding ("meſſages" is "messages", "\u212Aey" is "key"), and lets the
// last of duplicate keys win. The providers read keys exactly. A gateway
// that inspects the decoded request but forwards the raw body would, for a
// body like {"messages":[A],"Messages":[B]}, inspect B while the provider
// executes A. CheckKeys closes that gap: wherever a decoder reads fields, a
// key that names one must be spelled exactly and appear once. Values the
// decoder keeps as raw bytes and fields it ignores are not checked: the
// gateway does not read inside them.

// Keys describes the keys a decoder reads from a JSON value: field names if
// the value is an object, the elements' Keys if it is an array. A nil *Keys
// is a value whose keys are not read.
type Keys struct {
	names []string
	kids  []*Keys // kids[i] describes the value of names[i]; nil: not read
	elem  *Keys
}

// Object returns the Keys of an object whose fields are the keys of fields;
// each maps to the Keys of its value, or nil if the decoder does not read
// inside it. It panics if there are more than 64 fields.
func Object(fields map[string]*Keys) *Keys {
	if len(fields) > 64 {
		panic("wire: object with more than 64 fields") // checkObject keeps a bit per field
	}
	k := &Keys{names: make([]string, 0, len(fields))}
	for name := range fields {
		k.names = append(k.names, name)
	}
	sort.Strings(k.names) // so that errors do not depend on map order
	k.kids = make([]*Keys, len(k.names))
	for i, name := range k.names {
		k.kids[i] = fields[name]
	}
	return k
}

// ArrayOf returns the Keys of an array whose elements are described by elem.
func ArrayOf(elem *Keys) *Keys { return &Keys{elem: elem} }

// Names returns the field names of an object's Keys in sorted order, or nil
// if k does not describe an object.
func (k *Keys) Names() []string {
	if k == nil {
		return nil
	}
	return k.names
}

// Field returns the Keys of the value of field name, or nil if k does not
// describe an object, has no such field or does not read inside it.
func (k *Keys) Field(name string) *Keys {
	if k == nil {
		return nil
	}
	for i, n := range k.names {
		if n == name {
			return k.kids[i]
		}
	}
	return nil
}

// Elem returns the Keys of an array's elements, or nil if k does not
// describe an array.
func (k *Keys) Elem() *Keys {
	if k == nil {
		return nil
	}
	return k.elem
}

// keyError is a misspelt or repeated key.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// CheckKeys checks the keys of body against k. body must be valid JSON. The
// error's message is fit for a client: it names the key and the path to the
// object holding it, such as
//
//	messages: at index 0: got field "Role", want "role": field names are case-sensitive
//	tools: at index 1: duplicate field "name"
func CheckKeys(body []byte, k *Keys) error {
	_, err := checkValue(body, skipSpace(body, 0), k)
	return err
}

// checkValue checks the value at b[i] and returns the index just past it.
func checkValue(b []byte, i int, k *Keys) (int, error) {
	switch {
	case k == nil:
		return skipValue(b, i), nil
	case b[i] == '{' && k.names != nil:
		return checkObject(b, i, k)
	case b[i] == '[' && k.elem != nil:
		i = skipSpace(b, i+1)
		for n := 0; b[i] != ']'; n++ {
			var err error
			if i, err = checkValue(b, i, k.elem); err != nil {
				return 0, fmt.Errorf("at index %d: %w", n, err)
			}
			if i = skipSpace(b, i); b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		return i + 1, nil
	}
	return skipValue(b, i), nil
}

func checkObject(b []byte, i int, k *Keys) (int, error) {
	var seen uint64 // bit f is set once names[f] has been read
	for i = skipSpace(b, i+1); b[i] != '}'; {
		end := skipString(b, i)
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			// Compare keys as the provider reads them: unescaped.
			var s string
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return 0, err // unreachable: b is valid JSON
			}
			key = []byte(s)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		f := -1
		for j, name := range k.names {
			if string(key) == name {
				f = j
				break
			}
		}
		if f >= 0 {
			if seen&(1<<f) != 0 {
				return 0, &keyError{fmt.Sprintf("duplicate field %q", key)}
			}
			seen |= 1 << f
			var err error
			if i, err = checkValue(b, i, k.kids[f]); err != nil {
				return 0, fmt.Errorf("%s: %w", key, err)
			}
		} else {
			for _, name := range k.names {
				// strings.EqualFold folds as encoding/json matches keys.
				if strings.EqualFold(string(key), name) {
					return 0, &keyError{fmt.Sprintf("got field %q, want %q: field names are case-sensitive", key, name)}
				}
			}
			i = skipValue(b, i)
		}
		if i = skipSpace(b, i); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return i + 1, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
// Strings can be long (base64 image data), so it searches for quotes with
// bytes.IndexByte: a quote ends the string unless an odd number of
// backslashes precedes it.
func skipString(b []byte, i int) int {
	start := i + 1
	for i = start; ; {
		q := i + bytes.IndexByte(b[i:], '"')
		k := q
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}
