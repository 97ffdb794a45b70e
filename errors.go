package brightline

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode is a stable, client-visible error class. The gateway maps each
// code to exactly one HTTP status and to the error type of the client's
// dialect; see internal/gateway.
type ErrorCode string

// Error codes. The comment gives the HTTP status each maps to.
const (
	CodeInvalidRequest   ErrorCode = "invalid_request"   // 400: malformed JSON, missing or bad field
	CodeUnauthenticated  ErrorCode = "unauthenticated"   // 401: missing or unknown API key
	CodePermissionDenied ErrorCode = "permission_denied" // 403: authenticated but not allowed
	CodeNotFound         ErrorCode = "not_found"         // 404: unknown model or path
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
