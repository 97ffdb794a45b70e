package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// DescribeJSONError turns an encoding/json syntax or type error into a
// message for the client, saying where and what was expected. It reports
// false for any other error.
func DescribeJSONError(err error) (string, bool) {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error()), true
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		got := te.Value
		if got == "bool" {
			got = "boolean"
		}
		if te.Field == "" {
			return fmt.Sprintf("must be %s, got %s", TypeName(te.Type), got), true
		}
		return fmt.Sprintf("%s: must be %s, got %s", te.Field, TypeName(te.Type), got), true
	}
	return "", false
}

// TypeName names the JSON type a Go type decodes from, with its article:
// "a string", "an integer", "an array", "an object"…
func TypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// JSONKind names the kind of JSON value that starts with the byte c.
func JSONKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
