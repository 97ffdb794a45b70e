package openai

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// errorTypeCode returns the OpenAI error.type and error.code for a
// gateway error code. Codes this package does not know (later additions,
// such as policy denials) are invalid_request_error with the code itself.
func errorTypeCode(c brightline.ErrorCode) (typ, code string) {
	switch c {
	case brightline.CodeInvalidRequest:
		return "invalid_request_error", "invalid_request"
	case brightline.CodeUnauthenticated:
		return "invalid_request_error", "invalid_api_key"
	case brightline.CodePermissionDenied:
		return "permission_error", "permission_denied"
	case brightline.CodeNotFound:
		return "invalid_request_error", "model_not_found"
	case brightline.CodeTooLarge:
		return "invalid_request_error", "request_too_large"
	case brightline.CodeRateLimited:
		return "rate_limit_error", "rate_limit_exceeded"
	case brightline.CodeInternal, "":
		return "server_error", "internal"
	case brightline.CodeUpstream:
		return "server_error", "upstream_error"
	case brightline.CodeUnavailable:
		return "server_error", "unavailable"
	case brightline.CodeOverloaded:
		return "server_error", "overloaded"
	case brightline.CodeTimeout:
		return "server_error", "upstream_timeout"
	case brightline.CodePolicyDenied, brightline.CodeApprovalRequired:
		return "permission_error", string(c)
	case brightline.CodePolicyError:
		return "server_error", string(c)
	default:
		return "invalid_request_error", string(c)
	}
}

// appendError appends the error object
// {"error":{"message":…,"type":…,"param":null,"code":…}} for e. The
// message is e.Message; e.Err is for the operator and never shown.
func appendError(b []byte, e *brightline.Error) []byte {
	msg, code := "internal error", brightline.CodeInternal
	if e != nil {
		msg, code = e.Message, e.Code
	}
	typ, c := errorTypeCode(code)
	b = append(b, `{"error":{"message":`...)
	b = wire.AppendString(b, msg)
	b = append(b, `,"type":`...)
	b = wire.AppendString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	b = wire.AppendString(b, c)
	return append(b, "}}"...)
}

// ErrorBody returns the body of a non-stream error response for e. The HTTP
// status is the gateway's to choose.
func ErrorBody(e *brightline.Error) []byte {
	return appendError(make([]byte, 0, 128), e)
}

// DecodeError parses the body of a provider's error response. If the body
// is not an OpenAI error object, Type is empty and Message is the start of
// the body.
func DecodeError(status int, body []byte) *llm.WireError {
	we, ok := parseError(body)
	if !ok {
		we = &llm.WireError{Message: trimBody(body)}
	}
	we.Status = status
	return we
}

// parseError parses {"error":{"message":…,"type":…,"code":…}}. A missing
// type falls back to the code, which some errors carry alone.
func parseError(body []byte) (*llm.WireError, bool) {
	var w struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		return nil, false
	}
	typ := w.Error.Type
	if code, ok := w.Error.Code.(string); ok && typ == "" {
		typ = code
	}
	if typ == "" && w.Error.Message == "" {
		return nil, false
	}
	return &llm.WireError{Type: typ, Message: w.Error.Message}, true
}

// trimBody returns a short, valid UTF-8 prefix of body for error messages.
func trimBody(body []byte) string {
	const limit = 512
	if len(body) > limit {
		cut := limit
		for cut > limit-utf8.UTFMax && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(body)), "\uFFFD")
}
