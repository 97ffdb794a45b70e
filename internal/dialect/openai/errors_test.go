package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		code     brightline.ErrorCode
		wantType string
		wantCode string
	}{
		{brightline.CodeInvalidRequest, "invalid_request_error", "invalid_request"},
		{brightline.CodeUnauthenticated, "invalid_request_error", "invalid_api_key"},
		{brightline.CodePermissionDenied, "permission_error", "permission_denied"},
		{brightline.CodeNotFound, "invalid_request_error", "model_not_found"},
		{brightline.CodeTooLarge, "invalid_request_error", "request_too_large"},
		{brightline.CodeRateLimited, "rate_limit_error", "rate_limit_exceeded"},
		{brightline.CodeInternal, "server_error", "internal"},
		{brightline.CodeUpstream, "server_error", "upstream_error"},
		{brightline.CodeUnavailable, "server_error", "unavailable"},
		{brightline.CodeOverloaded, "server_error", "overloaded"},
		{brightline.CodeTimeout, "server_error", "upstream_timeout"},
		{brightline.CodePolicyDenied, "permission_error", "policy_denied"},
		{brightline.CodeApprovalRequired, "permission_error", "approval_required"},
		{brightline.CodePolicyError, "server_error", "policy_error"},
		{"quota_exceeded", "invalid_request_error", "quota_exceeded"},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			e := &brightline.Error{Code: tt.code, Message: `Shown to "the client".`, Err: errors.New("secret detail")}
			got := ErrorBody(e)
			want := map[string]any{"error": map[string]any{
				"message": `Shown to "the client".`,
				"type":    tt.wantType,
				"param":   nil,
				"code":    tt.wantCode,
			}}
			var g any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("got invalid JSON %s: %v", got, err)
			}
			if !reflect.DeepEqual(g, want) {
				t.Errorf("got %s, want %v", got, want)
			}
			if strings.Contains(string(got), "secret") {
				t.Errorf("got %s, which leaks e.Err", got)
			}
		})
	}
}

func TestErrorBodyNil(t *testing.T) {
	got := string(ErrorBody(nil))
	want := `{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal"}}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDecodeError(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	tests := []struct {
		name   string
		status int
		body   string
		want   llm.WireError
	}{
		{
			name:   "invalid api key",
			status: 401,
			body:   `{"error":{"message":"Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			want:   llm.WireError{Status: 401, Type: "invalid_request_error", Message: "Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys."},
		},
		{
			name:   "rate limit",
			status: 429,
			body:   "{\n    \"error\": {\n        \"message\": \"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.\",\n        \"type\": \"tokens\",\n        \"param\": null,\n        \"code\": \"rate_limit_exceeded\"\n    }\n}\n",
			want:   llm.WireError{Status: 429, Type: "tokens", Message: "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000."},
		},
		{
			name:   "type null, code given",
			status: 429,
			body:   `{"error":{"message":"You exceeded your current quota.","type":null,"param":null,"code":"insufficient_quota"}}`,
			want:   llm.WireError{Status: 429, Type: "insufficient_quota", Message: "You exceeded your current quota."},
		},
		{
			name:   "HTML from a proxy",
			status: 502,
			body:   "\n<html><head><title>502 Bad Gateway</title></head></html>\n",
			want:   llm.WireError{Status: 502, Message: "<html><head><title>502 Bad Gateway</title></head></html>"},
		},
		{
			name:   "error as a string",
			status: 500,
			body:   `{"error":"boom"}`,
			want:   llm.WireError{Status: 500, Message: `{"error":"boom"}`},
		},
		{
			name:   "empty",
			status: 503,
			body:   "",
			want:   llm.WireError{Status: 503},
		},
		{
			name:   "long body is cut on a rune boundary",
			status: 500,
			body:   long,
			want:   llm.WireError{Status: 500, Message: long[:512]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeError(tt.status, []byte(tt.body))
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
			if !utf8.ValidString(got.Message) {
				t.Errorf("got message %q, want valid UTF-8", got.Message)
			}
		})
	}
}

func TestDecodeErrorOddCut(t *testing.T) {
	body := "x" + strings.Repeat("é", 400) // the 512-byte mark falls inside a rune
	got := DecodeError(500, []byte(body))
	if len(got.Message) != 511 || !utf8.ValidString(got.Message) {
		t.Errorf("got a %d-byte message (valid UTF-8: %v), want 511 bytes of valid UTF-8", len(got.Message), utf8.ValidString(got.Message))
	}
}
