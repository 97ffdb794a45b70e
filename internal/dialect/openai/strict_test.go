package openai

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func (s *keySchema) kid(name string) *keySchema { return s.kids[s.fields[name]] }

// TestRequestKeysCoverWireTypes checks that checkKeys looks at every key
// the request decoder reads, so that a field added to a wire type cannot
// silently reopen the case-folding gap.
func TestRequestKeysCoverWireTypes(t *testing.T) {
	message := requestKeys.kid("messages").elem
	tests := []struct {
		typ    reflect.Type
		schema *keySchema
	}{
		{reflect.TypeFor[wireRequest](), requestKeys},
		{reflect.TypeFor[wireMessage](), message},
		{reflect.TypeFor[wirePart](), message.kid("content").elem},
		{reflect.TypeFor[wireToolCall](), message.kid("tool_calls").elem},
		{reflect.TypeFor[wireTool](), requestKeys.kid("tools").elem},
	}
	for _, tt := range tests {
		t.Run(tt.typ.Name(), func(t *testing.T) {
			checkCovers(t, tt.typ.Name(), tt.typ, tt.schema)
		})
	}
}

func checkCovers(t *testing.T, path string, typ reflect.Type, s *keySchema) {
	t.Helper()
	if s == nil || s.fields == nil {
		t.Errorf("%s: got no object schema, want one listing %s's fields", path, typ)
		return
	}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !slices.Contains(s.names, name) {
			t.Errorf("%s: field %q is decoded but not in the key schema", path, name)
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.Name() == "" { // an inline object
			checkCovers(t, path+"."+name, ft, s.kid(name))
		}
	}
}
