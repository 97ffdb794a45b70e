package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// askForUsage returns the OpenAI request body with
// stream_options.include_usage set to true, keeping every other byte, so
// that a passthrough stream reports token usage whether or not the client
// asked for it. (The OpenAI stream writer drops the usage chunk again for a
// client that did not.) A missing stream_options is added at the front,
// null becomes {"include_usage":true}, and an object gets include_usage
// set or added with its other members kept. A stream_options of another
// type is left for the provider to reject.
func askForUsage(body []byte) ([]byte, error) {
	start, end, err := memberValue(body, "stream_options")
	if err != nil {
		return nil, err
	}
	if start < 0 {
		return insertMember(body, `"stream_options":{"include_usage":true}`), nil
	}
	switch body[start] {
	case 'n': // null
		return splice(body, start, end, []byte(`{"include_usage":true}`)), nil
	case '{':
	default:
		return body, nil
	}
	opts := body[start:end]
	s, e, err := memberValue(opts, "include_usage")
	if err != nil {
		return nil, err
	}
	if s < 0 {
		opts = insertMember(opts, `"include_usage":true`)
		return splice(body, start, end, opts), nil
	}
	if string(opts[s:e]) == "true" {
		return body, nil
	}
	return splice(body, start+s, start+e, []byte("true")), nil
}

// memberValue returns the byte range of the value of member key of the JSON
// object obj, or start -1 if obj has no such member. Only obj's own members
// are looked at, not those of nested objects.
func memberValue(obj []byte, key string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, 0, errors.New("couldn't read JSON object: not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
		}
		name, _ := tok.(string)
		// After the key, InputOffset points just past its closing quote;
		// the value starts after the colon and any space.
		s := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, fmt.Errorf("couldn't read JSON value of %q: %w", name, err)
		}
		if name == key {
			e := int(dec.InputOffset())
			for s < e && (obj[s] == ':' || obj[s] == ' ' || obj[s] == '\t' || obj[s] == '\r' || obj[s] == '\n') {
				s++
			}
			return s, e, nil
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	return -1, -1, nil
}

// insertMember adds member ("key":value) at the front of the JSON object
// obj, which memberValue has checked.
func insertMember(obj []byte, member string) []byte {
	open := bytes.IndexByte(obj, '{') + 1
	out := make([]byte, 0, len(obj)+len(member)+1)
	out = append(out, obj[:open]...)
	out = append(out, member...)
	if rest := bytes.TrimLeft(obj[open:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, obj[open:]...)
}

// splice returns b with b[start:end] replaced by v, in a new slice.
func splice(b []byte, start, end int, v []byte) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(v))
	out = append(out, b[:start]...)
	out = append(out, v...)
	return append(out, b[end:]...)
}
