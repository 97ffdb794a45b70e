package wire

import "testing"

func TestSplitField(t *testing.T) {
	tests := []struct {
		line, name, value string
	}{
		{"data: {}", "data", "{}"},
		{"data:{}", "data", "{}"},
		{"data:  two spaces", "data", " two spaces"},
		{"data:", "data", ""},
		{"data: ", "data", ""},
		{"data", "data", ""},
		{"event: a: b", "event", "a: b"},
		{": comment", "", "comment"},
		{"", "", ""},
	}
	for _, tt := range tests {
		name, value := SplitField([]byte(tt.line))
		if string(name) != tt.name || string(value) != tt.value {
			t.Errorf("SplitField(%q) = %q, %q, want %q, %q", tt.line, name, value, tt.name, tt.value)
		}
	}
}
