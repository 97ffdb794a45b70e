package wire

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []string{"", "plain", "\"\\/\b\f\n\r\t", "\x00\x01\x1f\x7f", "é€😀", "\u2028\u2029", "<>&", "\xff\xfe", "a\xc3"}
	for _, s := range tests {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s, not valid JSON: %v", s, got, err)
			continue
		}
		var want string
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &want)
		if back != want {
			t.Errorf("AppendString(%q) decodes to %q, want %q", s, back, want)
		}
	}
}

// TestAppendEscaped checks the exact bytes, which SSE data lines and
// byte-for-byte fixtures depend on.
func TestAppendEscaped(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"a\"b\\c", `a\"b\\c`},
		{"l1\nl2\r\n\t", `l1\nl2\r\n\t`},
		{"\x00\x1f\x7f", `\u0000\u001f` + "\x7f"},
		{"\u2028x\u2029", `\u2028x\u2029`},
		{"<>&/", "<>&/"},
		{"é€😀", "é€😀"},
		{"a\xffb\xc3", `a\ufffdb\ufffd`},
	}
	for _, tt := range tests {
		if got := string(AppendEscaped([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", tt.in, got, "x"+tt.want)
		}
		if got := string(AppendString(nil, tt.in)); got != `"`+tt.want+`"` {
			t.Errorf("AppendString(%q) = %q, want %q", tt.in, got, `"`+tt.want+`"`)
		}
	}
}
