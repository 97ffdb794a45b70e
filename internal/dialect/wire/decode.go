package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/brightline/brightline/internal/llm"
)

// DecodeError is a decoding failure whose message is already fit for the
// client.
type DecodeError struct{ Msg string }

func (e *DecodeError) Error() string { return e.Msg }

// Describe turns a decoding error into a message for the client: where and
// what was expected for an encoding/json error (see [DescribeJSONError]),
// the message of a *DecodeError, and err.Error() for anything else.
func Describe(err error) string {
	if msg, ok := DescribeJSONError(err); ok {
		return msg
	}
	if de, ok := errors.AsType[*DecodeError](err); ok {
		return de.Msg
	}
	return err.Error()
}

// DecodeList decodes the JSON array data into out. If that fails it decodes
// element by element to say which one is wrong, so only errors pay for
// that; the error is a *DecodeError whose message starts with field.
func DecodeList[T any](data []byte, out *[]T, field string) error {
	err := json.Unmarshal(data, out)
	if err == nil {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(data, &elems) == nil {
		for i, e := range elems {
			var v T
			if err := json.Unmarshal(e, &v); err != nil {
				return &DecodeError{fmt.Sprintf("%s: at index %d: %s", field, i, Describe(err))}
			}
		}
	}
	return &DecodeError{field + ": " + Describe(err)}
}

// CheckObjectBody checks that a request body is a JSON object in valid
// UTF-8 before it is decoded, so that the client learns what is wrong with
// it as a whole: that it is empty, is not valid JSON, is JSON of another
// kind, or is not UTF-8. The error is a *DecodeError.
func CheckObjectBody(body []byte) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return &DecodeError{"request body is empty"}
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			var v any
			return &DecodeError{Describe(json.Unmarshal(body, &v))}
		}
		return &DecodeError{"request body must be a JSON object, got " + JSONKind(trimmed[0])}
	}
	if !utf8.Valid(body) {
		return &DecodeError{"request body is not valid UTF-8"}
	}
	return nil
}

// IsSet reports whether a raw field was present and not null.
func IsSet(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// ObjectArguments checks that s, a tool call's arguments as the OpenAI
// APIs send them (a string), holds a JSON object and returns it; empty
// arguments are {}.
func ObjectArguments(s string) (json.RawMessage, error) {
	if strings.TrimLeft(s, " \t\r\n") == "" {
		return json.RawMessage("{}"), nil
	}
	args := json.RawMessage(s)
	if !json.Valid(args) {
		return nil, errors.New("not valid JSON")
	}
	if bytes.TrimLeft(args, " \t\r\n")[0] != '{' {
		return nil, errors.New("must be a JSON object")
	}
	return args, nil
}

// Unquote decodes data, a JSON string value, typically one encoding/json
// has already checked (in an UnmarshalJSON method): a string with nothing
// to unescape or replace is sliced instead of decoded a second time.
func Unquote(data []byte) (string, error) {
	if len(data) >= 2 && data[0] == '"' && bytes.IndexByte(data, '\\') < 0 && utf8.Valid(data) {
		return string(data[1 : len(data)-1]), nil
	}
	var s string
	err := json.Unmarshal(data, &s)
	return s, err
}

// AppendParagraph appends text to sb, after a blank line if sb already
// holds text: how system prompts (into llm.Request.System) and reasoning
// summaries are joined.
func AppendParagraph(sb *strings.Builder, text string) {
	if sb.Len() > 0 {
		sb.WriteString("\n\n")
	}
	sb.WriteString(text)
}

// TextBlocks returns the content of a message given as a plain string:
// one text block, or none if s is empty.
func TextBlocks(s string) []llm.Block {
	if s == "" {
		return nil
	}
	return []llm.Block{{Type: llm.BlockText, Text: s}}
}
