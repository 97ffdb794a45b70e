package wire

import (
	"slices"
	"testing"
)

func TestMembers(t *testing.T) {
	var keys, values []string
	err := Members([]byte(` { "a" : 1, "b\u0063":{"x":[1,"}"]} ,"d":"e\"f" } `), func(k string, v []byte) error {
		keys, values = append(keys, k), append(values, string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "bc", "d"}; !slices.Equal(keys, want) {
		t.Errorf("keys: got %q, want %q", keys, want)
	}
	if want := []string{`1`, `{"x":[1,"}"]}`, `"e\"f"`}; !slices.Equal(values, want) {
		t.Errorf("values: got %q, want %q", values, want)
	}
}

func TestStrings(t *testing.T) {
	got := Strings(nil, []byte(`{"type":"content","content":[{"type":"text","text":"Ann Lee"},"Bob",{"k":{"n":1,"s":"x"}}],"":"","z":[["deep"]]}`))
	want := []string{"content", "text", "Ann Lee", "Bob", "x", "deep"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Strings(nil, []byte(`"alone"`)); !slices.Equal(got, []string{"alone"}) {
		t.Errorf("a string value: got %q", got)
	}
}
