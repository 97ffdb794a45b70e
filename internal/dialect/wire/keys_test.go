package wire

import (
	"encoding/json"
	"slices"
	"testing"
)

// testKeys reads a name and a list of items, each with an id and opaque
// data, and nothing inside meta.
var testKeys = Object(map[string]*Keys{
	"name":  nil,
	"items": ArrayOf(Object(map[string]*Keys{"id": nil, "data": nil})),
	"meta":  nil,
	"inner": Object(map[string]*Keys{"id": nil}),
})

func TestCheckKeys(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"accepted", `{"name":"a","items":[{"id":1},{"id":2,"data":{"ID":1,"id":2,"id":3}}]}`, ""},
		{"empty object", `{}`, ""},
		{"not an object", `["name","Name"]`, ""},
		{"whitespace", " \t\r\n{ \"name\" : \"a\" ,\n\"items\" : [ { \"id\" : 1 } , { } ] } ", ""},
		{"unread keys", `{"other":1,"other":2,"Other":3,"meta":{"Name":1,"name":2}}`, ""},
		{"field of the wrong type", `{"items":{"Id":1},"inner":[{"ID":1}]}`, ""},
		{"not a fold", `{"ıd":1,"nаme":2}`, ""},
		{"strings that look like keys", `{"name":"\"Name\":1 }{ [","items":[{"id":"\\\\\"id\""}]}`, ""},
		{"escaped key once", `{"n\u0061me":"a"}`, ""},
		{"duplicate", `{"name":"a","name":"b"}`, `duplicate field "name"`},
		{"duplicate null", `{"name":null,"name":"b"}`, `duplicate field "name"`},
		{"escaped duplicate", `{"name":"a","\u006eame":"b"}`, `duplicate field "name"`},
		{"case variant", `{"name":"a","Name":"b"}`, `got field "Name", want "name": field names are case-sensitive`},
		{"case variant first", `{"NAME":"b","name":"a"}`, `got field "NAME", want "name": field names are case-sensitive`},
		{"escaped case variant", `{"\u004eame":"b"}`, `got field "Name", want "name": field names are case-sensitive`},
		{"Kelvin sign", "{\"inner\":{\"id\":1},\"\u212Aey\":1,\"inner\":{}}", `duplicate field "inner"`},
		{"long s", `{"items":[],"itemſ":[]}`, `got field "itemſ", want "items": field names are case-sensitive`},
		{"in an element", `{"items":[{"id":1},{"id":2,"Id":3}]}`, `items: at index 1: got field "Id", want "id": field names are case-sensitive`},
		{"duplicate in an element", `{"items":[{"id":1,"data":1,"data":2}]}`, `items: at index 0: duplicate field "data"`},
		{"in an object", `{"inner":{"id":1,"id":2}}`, `inner: duplicate field "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body %s is not valid JSON", tt.body)
			}
			err := CheckKeys([]byte(tt.body), testKeys)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %q, want none", err)
			case tt.want != "" && err == nil:
				t.Errorf("got no error, want %q", tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("got error %q\nwant %q", err, tt.want)
			}
		})
	}
}

func TestKeysAccessors(t *testing.T) {
	if got, want := testKeys.Names(), []string{"inner", "items", "meta", "name"}; !slices.Equal(got, want) {
		t.Errorf("got names %q, want %q", got, want)
	}
	if got := testKeys.Field("meta"); got != nil {
		t.Errorf("got Field(meta) %v, want nil: it is not read", got)
	}
	if got := testKeys.Field("missing"); got != nil {
		t.Errorf("got Field(missing) %v, want nil", got)
	}
	item := testKeys.Field("items").Elem()
	if got, want := item.Names(), []string{"data", "id"}; !slices.Equal(got, want) {
		t.Errorf("got item names %q, want %q", got, want)
	}
	if got := testKeys.Field("items").Names(); got != nil {
		t.Errorf("got names %q of an array, want nil", got)
	}
	if got := testKeys.Elem(); got != nil {
		t.Errorf("got Elem of an object %v, want nil", got)
	}
	var none *Keys
	if none.Names() != nil || none.Field("x") != nil || none.Elem() != nil {
		t.Errorf("got non-nil from the accessors of a nil *Keys, want nil")
	}
}

func TestObjectTooLarge(t *testing.T) {
	fields := make(map[string]*Keys)
	for i := range 65 {
		fields[string(rune('A'+i))] = nil
	}
	defer func() {
		if recover() == nil {
			t.Errorf("got no panic for an object of 65 fields, want one")
		}
	}()
	Object(fields)
}

// TestSkipString checks the quote search against runs of backslashes.
func TestSkipString(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`"" x`, 2},
		{`"abc" x`, 5},
		{`"a\"b" x`, 6},
		{`"a\\" x`, 5},
		{`"a\\\"" x`, 7},
		{`"\\\\" x`, 6},
		{`"\"" x`, 4},
		{`"\u0022" x`, 8},
	}
	for _, tt := range tests {
		if got := skipString([]byte(tt.in), 0); got != tt.want {
			t.Errorf("skipString(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSkipValue(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`1,`, 1},
		{`-1.5e3}`, 6},
		{`true ]`, 4},
		{`null`, 4},
		{`"a}" ,`, 4},
		{`{"a":[1,{"b":"]}"}]} ,`, 20},
		{`[[],{}],`, 7},
	}
	for _, tt := range tests {
		if got := skipValue([]byte(tt.in), 0); got != tt.want {
			t.Errorf("skipValue(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
