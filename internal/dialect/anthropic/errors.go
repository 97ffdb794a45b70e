package anthropic

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// errorType returns the Anthropic error.type for a gateway error code.
func errorType(code brightline.ErrorCode) string {
	switch code {
	case brightline.CodeInvalidRequest:
		return "invalid_request_error"
	case brightline.CodeUnauthenticated:
		return "authentication_error"
	case brightline.CodePermissionDenied:
		return "permission_error"
	case brightline.CodeNotFound, brightline.CodeNoSuchEndpoint:
		return "not_found_error"
	case brightline.CodeTooLarge:
		return "request_too_large"
	case brightline.CodeRateLimited:
		return "rate_limit_error"
	case brightline.CodePolicyDenied, brightline.CodeApprovalRequired:
		return "permission_error"
	case brightline.CodeInternal, brightline.CodeUpstream, brightline.CodePolicyError:
		return "api_error"
	case brightline.CodeUnavailable, brightline.CodeOverloaded:
		return "overloaded_error"
	case brightline.CodeTimeout:
		// timeout_error (HTTP 504) is part of the API's error schema.
		return "timeout_error"
	}
	if strings.Contains(string(code), "denied") {
		return "permission_error"
	}
	return "invalid_request_error"
}

// appendError appends {"type":"error","error":{"type":T,"message":M}}. A nil
// e is reported as an internal error.
func appendError(b []byte, e *brightline.Error) []byte {
	code, msg := brightline.CodeInternal, "internal error"
	if e != nil {
		code, msg = e.Code, e.Message
	}
	b = append(b, `{"type":"error","error":{"type":`...)
	b = wire.AppendString(b, errorType(code))
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, msg)
	return append(b, '}', '}')
}

// ErrorBody returns the non-stream error body for e:
// {"type":"error","error":{"type":T,"message":M}}, with T chosen from e.Code
// and M = e.Message (never e.Err). The HTTP status is the gateway's choice.
func ErrorBody(e *brightline.Error) []byte {
	n := 64
	if e != nil {
		n += len(e.Message)
	}
	return appendError(make([]byte, 0, n), e)
}

// maxErrorPrefix bounds the part of an unrecognised error body kept as the
// message.
const maxErrorPrefix = 512

// DecodeError parses an Anthropic error body (from a non-2xx response). If
// the body is not of the expected shape, Type is "" and Message holds a
// trimmed prefix of the body.
func DecodeError(status int, body []byte) *llm.WireError {
	we := &llm.WireError{Status: status}
	var w struct {
		Error *wireErrorDetail `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && w.Error != nil && w.Error.Type != "" {
		we.Type, we.Message = w.Error.Type, w.Error.Message
		return we
	}
	we.Message = bodyPrefix(body)
	return we
}

type wireErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// bodyPrefix returns at most maxErrorPrefix bytes of body as valid UTF-8,
// trimmed of space.
func bodyPrefix(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) > maxErrorPrefix {
		// Cut at a character boundary.
		n := maxErrorPrefix
		for i := 0; i < utf8.UTFMax-1 && !utf8.RuneStart(body[n]); i++ {
			n--
		}
		body = body[:n]
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}
