package brightline

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode is a stable, client-visible error class. Each code has exactly
// one HTTP status ([ErrorCode.HTTPStatus]); [ErrorResponse] is the one
// function that turns errors into a code, a status and a message.
type ErrorCode string

// Error codes. The comment gives the HTTP status each maps to.
const (
	CodeInvalidRequest   ErrorCode = "invalid_request"   // 400: malformed JSON, missing or bad field
	CodeUnauthenticated  ErrorCode = "unauthenticated"   // 401: missing or unknown API key
	CodePermissionDenied ErrorCode = "permission_denied" // 403: authenticated but not allowed
	CodeNotFound         ErrorCode = "not_found"         // 404: unknown model or path
	CodeConflict         ErrorCode = "conflict"          // 409: the record is not in the state the request needs (e.g. an approval already decided)
	CodeNoSuchEndpoint   ErrorCode = "no_such_endpoint"  // 404: a path under /v1/ the gateway does not serve
	CodeTooLarge         ErrorCode = "request_too_large" // 413: body over the configured limit
	CodeRateLimited      ErrorCode = "rate_limited"      // 429: upstream rate limit that retries could not absorb
	CodeInternal         ErrorCode = "internal"          // 500: a bug or local failure
	CodeUpstream         ErrorCode = "upstream_error"    // 502: the provider failed or answered nonsense
	CodeUnavailable      ErrorCode = "unavailable"       // 503: every target is down or shedding load
	CodeTimeout          ErrorCode = "upstream_timeout"  // 504: the provider did not answer in time
	CodeOverloaded       ErrorCode = "overloaded"        // 529 from Anthropic; reported to clients as 503
	CodePolicyDenied     ErrorCode = "policy_denied"     // 403: a safeguard or rule denied the request or answer
	CodeApprovalRequired ErrorCode = "approval_required" // 403: a rule requires human approval that cannot be held here
	CodePolicyError      ErrorCode = "policy_error"      // 500: the policy could not be evaluated; nothing was forwarded
)

// Error is a failure the client is told about. Message is shown to the
// client and must not leak internal detail; Err carries that detail for the
// operator's log and for errors.Is/As.
type Error struct {
	Code       ErrorCode
	Message    string
	RetryAfter time.Duration // >0: sent as Retry-After
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted client-visible message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// CodeInternal if there is none.
func ErrorCodeOf(err error) ErrorCode {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = errors.New("not found")

// HTTPStatus is the HTTP status a code is answered with, in every part of
// Brightline that answers over HTTP (the model APIs, the approvals and
// exposure APIs, the console). An unknown code is 500.
func (c ErrorCode) HTTPStatus() int {
	switch c {
	case CodeInvalidRequest:
		return 400
	case CodeUnauthenticated:
		return 401
	case CodePermissionDenied, CodePolicyDenied, CodeApprovalRequired:
		return 403
	case CodeNotFound, CodeNoSuchEndpoint:
		return 404
	case CodeConflict:
		return 409
	case CodeTooLarge:
		return 413
	case CodeRateLimited:
		return 429
	case CodeUpstream:
		return 502
	case CodeUnavailable, CodeOverloaded:
		return 503
	case CodeTimeout:
		return 504
	default:
		return 500
	}
}

// A CodedError is a sentinel error that clients are told about with its
// code: [ErrorResponse] reports an error wrapping it with that code and the
// whole text of the error (wrapping included) as the message, so wrap it
// only with detail the client may see. Make one with [NewCodedError] and
// test for it with errors.Is.
type CodedError struct {
	code ErrorCode
	text string
}

// NewCodedError returns a sentinel error with text text, reported to
// clients with code.
func NewCodedError(code ErrorCode, text string) *CodedError {
	return &CodedError{code: code, text: text}
}

func (e *CodedError) Error() string { return e.text }

// Code is the code clients are told.
func (e *CodedError) Code() ErrorCode { return e.code }

// MethodNotAllowedError is a request whose method the path does not serve.
// [ErrorResponse] answers it with 405 and code invalid_request.
type MethodNotAllowedError struct {
	Allow string // the methods the path serves, e.g. "GET" or "GET, HEAD"
}

func (e *MethodNotAllowedError) Error() string { return "method not allowed; use " + e.Allow }

// ErrorResponse returns the HTTP status and the *Error a client is told
// about for err. It is the one place errors become HTTP statuses, for
// every part of Brightline that answers over HTTP (the model APIs, the
// approvals and exposure APIs, the console); each writes the returned
// *Error in its own format. In order:
//
//   - the first *Error in err's chain, with its code's status;
//   - a [MethodNotAllowedError]: 405, invalid_request, its text;
//   - a [CodedError]: its code's status, its code, err's whole text;
//   - anything else: 500, code internal and the message "internal error",
//     so that no internal detail reaches the client.
//
// The returned *Error is the one in err's chain or wraps err. Callers log
// err itself, for the operator, at least for every status of 500 or more.
func ErrorResponse(err error) (status int, e *Error) {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code.HTTPStatus(), e
	}
	if m, ok := errors.AsType[*MethodNotAllowedError](err); ok {
		return 405, &Error{Code: CodeInvalidRequest, Message: m.Error(), Err: err}
	}
	if c, ok := errors.AsType[*CodedError](err); ok {
		return c.code.HTTPStatus(), &Error{Code: c.code, Message: err.Error(), Err: err}
	}
	return 500, &Error{Code: CodeInternal, Message: "internal error", Err: err}
}
