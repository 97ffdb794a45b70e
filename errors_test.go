package brightline

import "testing"

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[ErrorCode]int{
		CodeInvalidRequest: 400, CodeUnauthenticated: 401, CodePermissionDenied: 403, CodePolicyDenied: 403,
		CodeApprovalRequired: 403, CodeNotFound: 404, CodeTooLarge: 413, CodeRateLimited: 429,
		CodeInternal: 500, CodePolicyError: 500, CodeUpstream: 502, CodeUnavailable: 503, CodeOverloaded: 503,
		CodeTimeout: 504, ErrorCode("no_such_code"): 500,
	} {
		if got := code.HTTPStatus(); got != want {
			t.Errorf("%s: got %d, want %d", code, got, want)
		}
	}
}
