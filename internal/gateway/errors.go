package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
)

// upstreamError gives the failures of an upstream call the
// *brightline.Error the client is told about: an oversize body, a provider
// that did not answer in time, an error the provider reported in the
// middle of a stream, a stream cut short. Any other error, and one that
// already holds a *brightline.Error, is returned as it is, for
// [brightline.ErrorResponse] to report.
func upstreamError(err error) error {
	if _, ok := errors.AsType[*brightline.Error](err); ok {
		return err
	}
	if mb, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &brightline.Error{Code: brightline.CodeTooLarge, Err: err,
			Message: fmt.Sprintf("request body is larger than the gateway's limit of %d bytes", mb.Limit)}
	}
	if _, ok := errors.AsType[*provider.TimeoutError](err); ok {
		return &brightline.Error{Code: brightline.CodeTimeout, Err: err,
			Message: "the provider did not answer in time"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &brightline.Error{Code: brightline.CodeTimeout, Err: err,
			Message: "the provider did not answer in time"}
	}
	if we, ok := errors.AsType[*llm.WireError](err); ok {
		// An error reported by the provider in the middle of a stream.
		code := brightline.CodeUpstream
		switch {
		case we.Type == "overloaded_error" || we.Status == 529:
			code = brightline.CodeOverloaded
		case we.Type == "rate_limit_error" || we.Status == http.StatusTooManyRequests:
			code = brightline.CodeRateLimited
		}
		msg := "the provider reported an error"
		if we.Message != "" {
			msg += ": " + we.Message
		}
		return &brightline.Error{Code: code, Message: msg, Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &brightline.Error{Code: brightline.CodeUpstream, Err: err,
			Message: "the provider's stream ended before the answer was complete"}
	}
	return err
}

// clientError returns the status and the *brightline.Error the client is
// told about for err (see [brightline.ErrorResponse]).
func clientError(err error) (int, *brightline.Error) {
	return brightline.ErrorResponse(upstreamError(err))
}

// writeError is the one place a failure becomes a model API response: it
// maps err with [clientError], writes the status and the error body in the
// client's dialect, and returns the status.
func (g *Gateway) writeError(w http.ResponseWriter, r *http.Request, c *codec, err error) int {
	status, e := clientError(err)
	if e.Code == brightline.CodeInternal {
		g.log.Error("internal error", "path", r.URL.Path, "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000) // round up
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if status == http.StatusUnauthorized && c.dialect != brightline.DialectAnthropic {
		h.Set("WWW-Authenticate", `Bearer realm="brightline"`)
	}
	w.WriteHeader(status)
	w.Write(c.errorBody(e))
	return status
}
