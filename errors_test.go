package brightline

import (
	"errors"
	"fmt"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[ErrorCode]int{
		CodeInvalidRequest: 400, CodeUnauthenticated: 401, CodePermissionDenied: 403, CodePolicyDenied: 403,
		CodeApprovalRequired: 403, CodeNotFound: 404, CodeNoSuchEndpoint: 404, CodeConflict: 409, CodeTooLarge: 413, CodeRateLimited: 429,
		CodeInternal: 500, CodePolicyError: 500, CodeUpstream: 502, CodeUnavailable: 503, CodeOverloaded: 503,
		CodeTimeout: 504, ErrorCode("no_such_code"): 500,
	} {
		if got := code.HTTPStatus(); got != want {
			t.Errorf("%s: got %d, want %d", code, got, want)
		}
	}
}

func TestErrorResponse(t *testing.T) {
	errGone := NewCodedError(CodeConflict, "record is gone")
	policyErr := &Error{Code: CodePolicyError, Message: "the policy could not be evaluated", Err: errors.New("cel: no such overload")}
	secret := errors.New("disk /var/lib/x full")
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantCode    ErrorCode
		wantMessage string
	}{
		{"*Error", Errorf(CodePermissionDenied, "needs the admin role"), 403, CodePermissionDenied, "needs the admin role"},
		{"wrapped *Error", fmt.Errorf("serving: %w", Errorf(CodeRateLimited, "slow down")), 429, CodeRateLimited, "slow down"},
		{"*Error with a 500 code keeps its message", policyErr, 500, CodePolicyError, "the policy could not be evaluated"},
		{"method not allowed", &MethodNotAllowedError{Allow: "GET"}, 405, CodeInvalidRequest, "method not allowed; use GET"},
		{"coded sentinel", errGone, 409, CodeConflict, "record is gone"},
		{"wrapped coded sentinel shows the whole text", fmt.Errorf("approval %q: %w", "apr_1", errGone), 409, CodeConflict, `approval "apr_1": record is gone`},
		{"*Error before a coded sentinel", &Error{Code: CodeUnavailable, Message: "try again", Err: errGone}, 503, CodeUnavailable, "try again"},
		{"anything else is internal and hidden", fmt.Errorf("couldn't write: %w", secret), 500, CodeInternal, "internal error"},
		{"not found is not classified here", ErrNotFound, 500, CodeInternal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := ErrorResponse(tt.err)
			if status != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMessage {
				t.Errorf("got %d %s %q, want %d %s %q", status, e.Code, e.Message, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if status != e.Code.HTTPStatus() && status != 405 {
				t.Errorf("status %d differs from the code's %d", status, e.Code.HTTPStatus())
			}
			if !errors.Is(e, tt.err) && !errors.Is(tt.err, e) {
				t.Errorf("the returned *Error is neither in %v's chain nor wraps it", tt.err)
			}
		})
	}
}
