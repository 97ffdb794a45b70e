package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// encoding/json matches object keys case-insensitively (with Unicode
// folding: "meſſages" is "messages") and lets the last of duplicate keys
// win. OpenAI reads keys exactly. Since the gateway inspects the decoded
// request but may forward the raw body, a body like
// {"messages":[A],"Messages":[B]} would have B inspected and A executed.
// checkKeys closes that gap: at every position the decoder models, a key
// must be spelled exactly and appear once. Keys the decoder ignores (and
// everything inside them, such as tool parameter schemas) are not checked.

// keySchema describes the keys the decoder reads from a JSON value: fields
// if the value is an object, elem for the elements if it is an array.
type keySchema struct {
	names  []string
	fields map[string]int // name -> index in names and children
	kids   []*keySchema
	elem   *keySchema
}

func object(fields map[string]*keySchema) *keySchema {
	s := &keySchema{fields: make(map[string]int, len(fields))}
	for name, kid := range fields {
		s.fields[name] = len(s.names)
		s.names = append(s.names, name)
		s.kids = append(s.kids, kid)
	}
	return s
}

func arrayOf(elem *keySchema) *keySchema { return &keySchema{elem: elem} }

// requestKeys mirrors wireRequest and the types it holds.
var requestKeys = func() *keySchema {
	function := object(map[string]*keySchema{"name": nil, "arguments": nil, "description": nil, "parameters": nil})
	part := object(map[string]*keySchema{"type": nil, "text": nil, "refusal": nil,
		"image_url": object(map[string]*keySchema{"url": nil})})
	toolCall := object(map[string]*keySchema{"index": nil, "id": nil, "type": nil, "function": function})
	message := object(map[string]*keySchema{"role": nil, "content": arrayOf(part), "refusal": nil,
		"tool_calls": arrayOf(toolCall), "tool_call_id": nil})
	tool := object(map[string]*keySchema{"type": nil, "function": function})
	return object(map[string]*keySchema{
		"model": nil, "messages": arrayOf(message), "tools": arrayOf(tool),
		"tool_choice":         object(map[string]*keySchema{"type": nil, "function": function}),
		"parallel_tool_calls": nil, "max_tokens": nil, "max_completion_tokens": nil,
		"temperature": nil, "top_p": nil, "stop": nil, "stream": nil,
		"stream_options": object(map[string]*keySchema{"include_usage": nil}),
		"user":           nil, "n": nil, "functions": nil,
	})
}()

// checkKeys checks the keys of body, which must be valid JSON, against s.
func checkKeys(body []byte, s *keySchema) error {
	_, err := checkValue(body, skipSpace(body, 0), s)
	return err
}

func checkValue(b []byte, i int, s *keySchema) (int, error) {
	switch {
	case b[i] == '{' && s != nil && s.fields != nil:
		return checkObject(b, i, s)
	case b[i] == '[' && s != nil && s.elem != nil:
		i = skipSpace(b, i+1)
		for n := 0; b[i] != ']'; n++ {
			var err error
			if i, err = checkValue(b, i, s.elem); err != nil {
				return 0, fmt.Errorf("at index %d: %w", n, err)
			}
			i = skipSpace(b, i)
			if b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		return i + 1, nil
	}
	return skipValue(b, i), nil
}

func checkObject(b []byte, i int, s *keySchema) (int, error) {
	var seen uint64 // bit per field; schemas have fewer than 64
	i = skipSpace(b, i+1)
	for b[i] != '}' {
		end := skipString(b, i)
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			json.Unmarshal(b[i:end], &k) // valid JSON, so this can't fail
			key = []byte(k)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		if f, ok := s.fields[string(key)]; ok {
			if seen&(1<<f) != 0 {
				return 0, &decodeError{fmt.Sprintf("duplicate field %q", key)}
			}
			seen |= 1 << f
			var err error
			if i, err = checkValue(b, i, s.kids[f]); err != nil {
				return 0, fmt.Errorf("%s: %w", key, err)
			}
		} else {
			for _, name := range s.names {
				if strings.EqualFold(string(key), name) {
					return 0, &decodeError{fmt.Sprintf("got field %q, want %q: field names are case-sensitive", key, name)}
				}
			}
			i = skipValue(b, i)
		}
		i = skipSpace(b, i)
		if b[i] == ',' {
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
func skipString(b []byte, i int) int {
	start := i + 1
	for i = start; ; {
		q := i + bytes.IndexByte(b[i:], '"')
		k := q
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 { // not escaped
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
				depth--
				if depth == 0 {
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
