package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// encoding/json matches object keys case-insensitively, with Unicode
// folding ("meſſages" is "messages", "\u212Aey" is "key"), and lets the
// last of duplicate keys win. Anthropic reads keys exactly. The gateway
// inspects the decoded request but may forward the raw body, so a body like
// {"messages":[A],"Messages":[B]} would have B inspected and A executed.
// checkKeys closes that gap: wherever DecodeRequest reads fields, a key that
// names one must be spelled exactly and appear once. Values the decoder keeps
// as raw bytes (tool input, input_schema) and fields it ignores are not
// checked: the gateway does not read inside them.

// keySchema describes the keys DecodeRequest reads from a JSON value: names
// if the value is an object, elem for the elements if it is an array.
type keySchema struct {
	names []string
	kids  []*keySchema // kids[i] describes the value of names[i]; nil: not read
	elem  *keySchema
}

// fields is one entry of an object schema.
type field struct {
	name string
	kid  *keySchema
}

func object(fields ...field) *keySchema {
	if len(fields) > 64 {
		panic("anthropic: key schema with more than 64 fields") // checkObject keeps a bit per field
	}
	s := &keySchema{}
	for _, f := range fields {
		s.names = append(s.names, f.name)
		s.kids = append(s.kids, f.kid)
	}
	return s
}

func arrayOf(elem *keySchema) *keySchema { return &keySchema{elem: elem} }

// requestKeys mirrors wireRequest and the types it holds;
// TestRequestKeysCoverWireTypes checks that it lists every decoded field.
var requestKeys = func() *keySchema {
	source := object(field{"type", nil}, field{"media_type", nil}, field{"data", nil}, field{"url", nil})
	leafFields := []field{
		{"type", nil}, {"text", nil}, {"source", source}, {"id", nil}, {"name", nil}, {"input", nil},
		{"tool_use_id", nil}, {"is_error", nil}, {"thinking", nil}, {"signature", nil},
	}
	leaf := object(leafFields...)
	block := object(append(leafFields, field{"content", arrayOf(leaf)})...)
	message := object(field{"role", nil}, field{"content", arrayOf(block)})
	tool := object(field{"type", nil}, field{"name", nil}, field{"description", nil}, field{"input_schema", nil})
	toolChoice := object(field{"type", nil}, field{"name", nil}, field{"disable_parallel_tool_use", nil})
	return object(
		field{"model", nil}, field{"max_tokens", nil}, field{"system", arrayOf(block)},
		field{"messages", arrayOf(message)}, field{"tools", arrayOf(tool)}, field{"tool_choice", toolChoice},
		field{"stop_sequences", nil}, field{"temperature", nil}, field{"top_p", nil},
		field{"metadata", object(field{"user_id", nil})}, field{"stream", nil},
	)
}()

// keyError is a misspelt or repeated key. Its message names the key and
// the path to the object holding it.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// checkKeys checks the keys of body against s. body must be valid JSON.
func checkKeys(body []byte, s *keySchema) error {
	_, err := checkValue(body, skipSpace(body, 0), s)
	return err
}

// checkValue checks the value at b[i] and returns the index just past it.
func checkValue(b []byte, i int, s *keySchema) (int, error) {
	switch {
	case s == nil:
		return skipValue(b, i), nil
	case b[i] == '{' && s.names != nil:
		return checkObject(b, i, s)
	case b[i] == '[' && s.elem != nil:
		i = skipSpace(b, i+1)
		for n := 0; b[i] != ']'; n++ {
			var err error
			if i, err = checkValue(b, i, s.elem); err != nil {
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

func checkObject(b []byte, i int, s *keySchema) (int, error) {
	var seen uint64 // bit f is set once names[f] has been read
	for i = skipSpace(b, i+1); b[i] != '}'; {
		end := skipString(b, i)
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			// Compare keys as the provider reads them: unescaped.
			var k string
			if err := json.Unmarshal(b[i:end], &k); err != nil {
				return 0, err // unreachable: b is valid JSON
			}
			key = []byte(k)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		f := -1
		for j, name := range s.names {
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
			if i, err = checkValue(b, i, s.kids[f]); err != nil {
				return 0, fmt.Errorf("%s: %w", key, err)
			}
		} else {
			for _, name := range s.names {
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
