package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// rawValue is a JSON value kept as bytes (tool input, input schema). Unlike
// json.RawMessage it records whether the field was present and treats null
// as absent.
type rawValue []byte

func (r *rawValue) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], data...)
	return nil
}

// isObject reports whether raw holds a JSON object. raw comes from a
// successful decode, so only the first byte needs checking.
func (r rawValue) isObject() bool {
	return len(r) > 0 && r[0] == '{'
}

// wireContentOf is message or tool_result content: a string or an array of
// blocks. Decoding errors are kept in err instead of being returned, so that
// the caller can report them with the index of the message they belong to.
type wireContentOf[B wireBlock | wireLeaf] struct {
	set      bool // present and not null
	isString bool
	text     string
	blocks   []B
	err      error
}

// wireContent is message and system content.
type wireContent = wireContentOf[wireBlock]

// wireToolResultContent is the content of a tool_result block. Its blocks
// are decoded as [wireLeaf], so their own content is skipped.
type wireToolResultContent = wireContentOf[wireLeaf]

var errNotContent = errors.New("must be a string or an array of content blocks")

func (c *wireContentOf[B]) UnmarshalJSON(data []byte) error {
	*c = wireContentOf[B]{}
	switch firstByte(data) {
	case 'n':
		return nil
	case '"':
		c.set, c.isString = true, true
		c.text, c.err = wire.Unquote(data)
	case '[':
		c.set = true
		c.err = json.Unmarshal(data, &c.blocks)
	default:
		c.set = true
		c.err = errNotContent
	}
	return nil
}

// block returns block i as a wireBlock.
func (c *wireContentOf[B]) block(i int) *wireBlock {
	switch b := any(&c.blocks[i]).(type) {
	case *wireLeaf:
		return (*wireBlock)(b) // same fields, so a leaf is a block
	case *wireBlock:
		return b
	}
	panic("unreachable")
}

func firstByte(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// describeJSONError turns an encoding/json error into a message for clients.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: expected %s, got %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	default:
		return err.Error()
	}
}

// jsonKind names the JSON type that decodes into a Go kind.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	default:
		return "another type"
	}
}

// appendKey appends ,"key": (or "key": right after an opening brace).
func appendKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, key, value string) []byte {
	return wire.AppendString(appendKey(b, key), value)
}

func appendIntField(b []byte, key string, v int) []byte {
	return strconv.AppendInt(appendKey(b, key), int64(v), 10)
}

// appendFloat appends f the way encoding/json does.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("unsupported number %v", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64), nil
}

// appendObject appends raw, which must be a JSON object, or def if raw is
// empty.
func appendObject(b []byte, raw []byte, def string) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return append(b, def...), nil
	}
	if raw[0] != '{' || !json.Valid(raw) {
		return b, errors.New("is not a JSON object")
	}
	return append(b, raw...), nil
}

// appendUsage appends an Anthropic usage object with every count, and the
// cache breakdown, server tool requests and service tier when known.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, '{')
	b = appendIntField(b, "input_tokens", u.InputTokens)
	b = appendIntField(b, "cache_creation_input_tokens", u.CacheCreationTokens)
	b = appendIntField(b, "cache_read_input_tokens", u.CacheReadTokens)
	if u.CacheCreation5m != 0 || u.CacheCreation1h != 0 {
		b = append(appendKey(b, "cache_creation"), '{')
		b = appendIntField(b, "ephemeral_5m_input_tokens", u.CacheCreation5m)
		b = appendIntField(b, "ephemeral_1h_input_tokens", u.CacheCreation1h)
		b = append(b, '}')
	}
	b = appendIntField(b, "output_tokens", u.OutputTokens)
	if u.WebSearchRequests != 0 || u.WebFetchRequests != 0 {
		b = append(appendKey(b, "server_tool_use"), '{')
		b = appendIntField(b, "web_search_requests", u.WebSearchRequests)
		b = appendIntField(b, "web_fetch_requests", u.WebFetchRequests)
		b = append(b, '}')
	}
	if u.ServiceTier != "" {
		b = appendStringField(b, "service_tier", u.ServiceTier)
	}
	return append(b, '}')
}
