package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// SetTopLevelString returns body with the top-level string field key set to
// value. Every other byte of body is kept, so fields the gateway does not
// model survive passthrough. If key is absent it is added at the front.
// body must be a JSON object.
func SetTopLevelString(body []byte, key, value string) ([]byte, error) {
	start, end, err := findTopLevel(body, key)
	if err != nil {
		return nil, err
	}
	enc, _ := json.Marshal(value)
	if start < 0 {
		// Insert right after the opening brace.
		open := bytes.IndexByte(body, '{')
		out := make([]byte, 0, len(body)+len(key)+len(enc)+4)
		out = append(out, body[:open+1]...)
		out = strconv.AppendQuote(out, key)
		out = append(out, ':')
		out = append(out, enc...)
		rest := bytes.TrimLeft(body[open+1:], " \t\r\n")
		if len(rest) > 0 && rest[0] != '}' {
			out = append(out, ',')
		}
		return append(out, body[open+1:]...), nil
	}
	out := make([]byte, 0, len(body)-(end-start)+len(enc))
	out = append(out, body[:start]...)
	out = append(out, enc...)
	return append(out, body[end:]...), nil
}

// findTopLevel returns the byte range of the value of the top-level key in
// the JSON object body, or start -1 if the key is absent.
func findTopLevel(body []byte, key string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, 0, errors.New("body is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		before := dec.InputOffset()
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, fmt.Errorf("couldn't read JSON value of %q: %w", name, err)
		}
		if name == key {
			after := int(dec.InputOffset())
			// InputOffset before Decode points just past the key's closing
			// quote; the value starts after the colon and any space.
			s := int(before)
			for s < after && (body[s] == ':' || body[s] == ' ' || body[s] == '\t' || body[s] == '\r' || body[s] == '\n') {
				s++
			}
			return s, after, nil
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return 0, 0, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	return -1, -1, nil
}
