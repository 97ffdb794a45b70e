package wire

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// FuzzCheckKeys checks that CheckKeys never panics on valid JSON, and that
// when it accepts an object, no key it reads at the top level is repeated.
func FuzzCheckKeys(f *testing.F) {
	f.Add([]byte(`{"name":"a","items":[{"id":1,"data":{"x":[1,"\\\""]}}]}`))
	f.Add([]byte(`{"NAME":1,"\u006eame":2}`))
	f.Add([]byte(` [ {"inner" : {"id" : null}} ] `))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) || CheckKeys(body, testKeys) != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		if tok, _ := dec.Token(); tok != json.Delim('{') {
			return
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("decoding a key of %s: %v", body, err)
			}
			key := tok.(string)
			if slices.Contains(testKeys.Names(), key) {
				if seen[key] {
					t.Fatalf("CheckKeys accepted duplicate key %q in %s", key, body)
				}
				seen[key] = true
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("decoding the value of %q in %s: %v", key, body, err)
			}
		}
	})
}

// FuzzAppendString checks that AppendString writes valid JSON that decodes
// to what encoding/json would encode, without a raw line break.
func FuzzAppendString(f *testing.F) {
	f.Add("a\"\\\n\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s, not valid JSON: %v", s, got, err)
		}
		var want string
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &want)
		if back != want {
			t.Fatalf("AppendString(%q) decodes to %q, want %q", s, back, want)
		}
		if strings.ContainsAny(string(got), "\r\n\u2028\u2029") {
			t.Fatalf("AppendString(%q) = %q, holds a raw line break", s, got)
		}
	})
}
