package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// errorTypeTable is the contract's mapping from gateway codes to Anthropic
// error types.
var errorTypeTable = []struct {
	code brightline.ErrorCode
	want string
}{
	{brightline.CodeInvalidRequest, "invalid_request_error"},
	{brightline.CodeUnauthenticated, "authentication_error"},
	{brightline.CodePermissionDenied, "permission_error"},
	{brightline.CodeNotFound, "not_found_error"},
	{brightline.CodeTooLarge, "request_too_large"},
	{brightline.CodeRateLimited, "rate_limit_error"},
	{brightline.CodeInternal, "api_error"},
	{brightline.CodeUpstream, "api_error"},
	{brightline.CodeUnavailable, "overloaded_error"},
	{brightline.CodeOverloaded, "overloaded_error"},
	{brightline.CodeTimeout, "timeout_error"},
	{"policy_denied", "permission_error"},
	{"budget_exceeded", "invalid_request_error"},
}

func TestErrorBody(t *testing.T) {
	for _, tt := range errorTypeTable {
		t.Run(string(tt.code), func(t *testing.T) {
			e := &brightline.Error{Code: tt.code, Message: `say "no" to ` + string(tt.code), Err: errors.New("secret detail")}
			got := string(ErrorBody(e))
			want := `{"type":"error","error":{"type":"` + tt.want + `","message":"say \"no\" to ` + string(tt.code) + `"}}`
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		want := `{"type":"error","error":{"type":"api_error","message":"internal error"}}`
		if got := string(ErrorBody(nil)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestDecodeError(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	tests := []struct {
		name   string
		status int
		body   string
		want   llm.WireError
	}{
		{"overloaded", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`, llm.WireError{Status: 529, Type: "overloaded_error", Message: "Overloaded"}},
		{"invalid request", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, llm.WireError{Status: 400, Type: "invalid_request_error", Message: "max_tokens: Field required"}},
		{"html from a proxy", 413, "  <html><body>413 Request Entity Too Large</body></html>\n", llm.WireError{Status: 413, Message: "<html><body>413 Request Entity Too Large</body></html>"}},
		{"other JSON", 500, `{"message":"oops"}`, llm.WireError{Status: 500, Message: `{"message":"oops"}`}},
		{"empty", 502, ``, llm.WireError{Status: 502}},
		{"long body cut at a character", 500, long, llm.WireError{Status: 500, Message: strings.Repeat("é", 256)}},
		{"invalid UTF-8", 500, "bad \xff", llm.WireError{Status: 500, Message: "bad \uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeError(tt.status, []byte(tt.body))
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestErrorBodyDecodes checks that what ErrorBody writes, DecodeError reads.
func TestErrorBodyDecodes(t *testing.T) {
	for _, tt := range errorTypeTable {
		body := ErrorBody(&brightline.Error{Code: tt.code, Message: "m\n"})
		if !json.Valid(body) {
			t.Fatalf("%s: invalid JSON %s", tt.code, body)
		}
		got := DecodeError(400, body)
		if got.Type != tt.want || got.Message != "m\n" {
			t.Errorf("%s: got %+v, want type %s and message %q", tt.code, got, tt.want, "m\n")
		}
	}
}
