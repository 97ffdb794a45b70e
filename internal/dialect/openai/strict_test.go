package openai

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/dialect/wire"
)

// TestRequestKeysCoverWireTypes checks that requestKeys lists every key
// the request decoder reads, so that a field added to a wire type cannot
// silently reopen the case-folding gap.
func TestRequestKeysCoverWireTypes(t *testing.T) {
	message := requestKeys.Field("messages").Elem()
	tests := []struct {
		typ    reflect.Type
		schema *wire.Keys
	}{
		{reflect.TypeFor[wireRequest](), requestKeys},
		{reflect.TypeFor[wireMessage](), message},
		{reflect.TypeFor[wirePart](), message.Field("content").Elem()},
		{reflect.TypeFor[wireToolCall](), message.Field("tool_calls").Elem()},
		{reflect.TypeFor[wireTool](), requestKeys.Field("tools").Elem()},
	}
	for _, tt := range tests {
		t.Run(tt.typ.Name(), func(t *testing.T) {
			checkCovers(t, tt.typ.Name(), tt.typ, tt.schema)
		})
	}
}

func checkCovers(t *testing.T, path string, typ reflect.Type, s *wire.Keys) {
	t.Helper()
	if s.Names() == nil {
		t.Errorf("%s: got no object schema, want one listing %s's fields", path, typ)
		return
	}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !slices.Contains(s.Names(), name) {
			t.Errorf("%s: field %q is decoded but not in the key schema", path, name)
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.Name() == "" { // an inline object
			checkCovers(t, path+"."+name, ft, s.Field(name))
		}
	}
}
