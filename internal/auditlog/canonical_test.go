package auditlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
)

// canonicalCases are JSON texts canonicalJSON must write as jcs.Transform
// does (ok true), or leave to it (ok false).
var canonicalCases = []struct {
	in string
	ok bool
}{
	{`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.7,"stream":false}`, true},
	{` { "b" : 1 , "a" : [ 1 , 2 , { "d" : null , "c" : true } ] } `, true},
	{"{\n\t\"z\": {\"y\": {\"x\": [\"w\", false]}},\r\n\"a\": \"\"}", true},
	{`{}`, true},
	{`[]`, true},
	{`[{},[],{"":""}]`, true},
	{`"top"`, true},
	{` 42 `, true},
	{`true`, true},
	{`null`, true},
	{`{"a":{},"A":[],"_":0,"0":1,"~":2}`, true},
	// Escapes: short forms kept, \/ and \u decoded, control characters
	// written as RFC 8785 writes them, a surrogate pair as UTF-8.
	{`{"s":"q\" b\\ s\/ \b\f\n\r\t \u0000\u001f\u007f \u00e9\u20ac \ud83d\ude00 \u2028"}`, true},
	{`{"\u00e9":1,"e":2,"\n":3}`, true},
	{`{"k":"é € 😀 \u0041"}`, true},
	// UTF-16 order: U+E000 sorts after a supplementary character's
	// surrogates, although its UTF-8 comes first.
	{`{"` + "\ue000" + `":1,"😀":2,"a":3}`, true},
	{`{"ab":1,"a":2,"abc":3,"b":4}`, true},
	// Numbers: integers as they are; the rest in their ES6 form.
	{`[0,-1,123456789012345,-123456789012345]`, true},
	{`[-0,1.0,1.50,1e2,1E2,1e-7,1e21,1e20,0.000001,123456789012345678,12345678901234567890,5e-324,1.7976931348623157e308,-2.5E+3]`, true},
	{`[0.1,0.2,0.30000000000000004,100,1e0,9007199254740993]`, true},
	// Left to jcs.Transform.
	{`{"a":1,"a":2}`, false},        // duplicate name
	{`{"b":1,"a":2,"b":3}`, false},  // duplicate, out of order
	{`{"\u0061":1,"a":2}`, false},   // duplicate once decoded
	{`{"s":"\ud83d"}`, false},       // lone high surrogate
	{`{"s":"\ude00"}`, false},       // lone low surrogate
	{`{"s":"\ud83d\u0041"}`, false}, // high then not low
	{`[1e400]`, false},              // beyond float64
	{"{\"s\":\"\xff\"}", false},     // invalid UTF-8
	{"{\"s\":\"a\tb\"}", false},     // raw control character
	{`{"a":1,}`, false},             // trailing comma
	{`[1,]`, false},                 //
	{`{"a" 1}`, false},              //
	{`{a:1}`, false},                //
	{`[01]`, false},                 // leading zero
	{`[1.]`, false},                 //
	{`[.5]`, false},                 //
	{`[1e]`, false},                 //
	{`[-]`, false},                  //
	{`[+1]`, false},                 //
	{`[tru]`, false},                //
	{`[nul]`, false},                //
	{`{"a":1} x`, false},            // trailing text
	{`{"a":1}{}`, false},            //
	{``, false},                     //
	{`   `, false},                  //
	{`"unterminated`, false},        //
	{`"bad \x escape"`, false},      //
	{`"\u12"`, false},               //
	{strings.Repeat("[", 33) + strings.Repeat("]", 33), false}, // deeper than canonicalDepth
}

func TestCanonicalJSON(t *testing.T) {
	for _, tc := range canonicalCases {
		got, ok := canonicalJSON([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("canonicalJSON(%q): ok %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := jcs.Transform([]byte(tc.in))
		if err != nil {
			t.Errorf("canonicalJSON(%q) = %s, but jcs.Transform fails: %v", tc.in, got, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("canonicalJSON(%q)\n got %s\nwant %s", tc.in, got, want)
		}
	}
	// At its depth limit it still writes the body.
	deep := strings.Repeat(`{"a":[`, 16) + strings.Repeat(`]}`, 16)
	if _, ok := canonicalJSON([]byte(deep)); !ok {
		t.Errorf("canonicalJSON left a body nested %d deep", canonicalDepth)
	}
}

// TestCommitCanonical checks that Commit commits to jcs.Transform's bytes,
// whichever way it gets them, and to the body as sent when that fails.
func TestCommitCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		c, err := Commit([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		want := []byte(tc.in)
		if json.Valid(want) {
			if b, err := jcs.Transform(want); err == nil {
				want = b
			}
		}
		if !bytes.Equal(c.Body, want) {
			t.Errorf("Commit(%q) committed to %q, want %q", tc.in, c.Body, want)
		}
		if c.Hash != CommitmentHash(c.Salt, want) {
			t.Errorf("Commit(%q): hash is not that of the committed body", tc.in)
		}
	}
}

// FuzzCanonicalJSON checks that whatever canonicalJSON writes is valid
// JSON that jcs.Transform writes the same way.
func FuzzCanonicalJSON(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := canonicalJSON(in)
		if !ok {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("canonicalJSON wrote %q for invalid JSON %q", got, in)
		}
		want, err := jcs.Transform(in)
		if err != nil {
			t.Fatalf("canonicalJSON wrote %q for %q, which jcs.Transform refuses: %v", got, in, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q)\n got %s\nwant %s", in, got, want)
		}
	})
}
