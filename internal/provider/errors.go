package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// This file turns upstream failures into the errors clients see. Messages
// name the model and the provider's configured name, never keys, URLs or
// connection details; those stay in Err for the operator's log.

// canceled is the router's error when the caller's context ended. A
// deadline becomes CodeTimeout; a cancellation wraps ctx.Err() (nobody is
// waiting for the answer).
func canceled(ctx context.Context, model string) error {
	err := context.Cause(ctx)
	if err == nil {
		err = ctx.Err()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &brightline.Error{
			Code:    brightline.CodeTimeout,
			Message: "the request for model " + quote(model) + " ran out of time",
			Err:     err,
		}
	}
	return fmt.Errorf("request for model %q cancelled: %w", model, err)
}

// rejected maps an upstream answer that will not get better by retrying or
// failing over (a 4xx other than 429).
func rejected(provider string, err error) error {
	we, _ := errors.AsType[*llm.WireError](err)
	if we == nil {
		return &brightline.Error{Code: brightline.CodeUpstream, Message: "provider " + provider + " failed", Err: err}
	}
	withMsg := func(s string) string {
		if we.Message == "" {
			return s
		}
		return s + ": " + we.Message
	}
	e := &brightline.Error{Err: err}
	switch we.Status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		e.Code, e.Message = brightline.CodeInvalidRequest, withMsg("provider "+provider+" rejected the request")
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Code, e.Message = brightline.CodeUpstream, "provider "+provider+" rejected the gateway's credentials"
	case http.StatusNotFound:
		e.Code, e.Message = brightline.CodeNotFound, withMsg("provider "+provider+" reported not found")
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Message = brightline.CodeTooLarge, withMsg("provider "+provider+" rejected the request as too large")
	default:
		e.Code, e.Message = brightline.CodeUpstream, withMsg("provider "+provider+" returned "+strconv.Itoa(we.Status))
	}
	return e
}

// exhausted is the router's error when every target of model failed or was
// skipped. lastErr is the last attempt's error (nil if no attempt was
// made); skipped says whether some target was skipped by its breaker, and
// wait is the shortest remaining cooldown of those.
func exhausted(model string, targets int, lastErr error, skipped bool, wait time.Duration) error {
	prefix := fmt.Sprintf("all %d targets for model %q", targets, model)
	if targets == 1 {
		prefix = fmt.Sprintf("the target for model %q", model)
	}
	if lastErr == nil {
		return &brightline.Error{
			Code:       brightline.CodeUnavailable,
			Message:    prefix + " is unavailable after repeated failures; try again later",
			RetryAfter: max(wait, time.Second),
			Err:        ErrBreakerOpen,
		}
	}
	e := &brightline.Error{Message: prefix + " failed; last error: " + describe(lastErr), Err: lastErr}
	we, _ := errors.AsType[*llm.WireError](lastErr)
	_, timeout := errors.AsType[*TimeoutError](lastErr)
	switch {
	case timeout:
		e.Code = brightline.CodeTimeout
	case we != nil && we.Status == http.StatusTooManyRequests:
		e.Code, e.RetryAfter = brightline.CodeRateLimited, max(we.RetryAfter, time.Second)
	case we != nil && (we.Status == http.StatusServiceUnavailable || we.Status == statusOverloaded):
		e.Code, e.RetryAfter = brightline.CodeUnavailable, max(we.RetryAfter, time.Second)
		if we.RetryAfter == 0 && skipped {
			e.RetryAfter = max(wait, time.Second)
		}
	case skipped:
		e.Code, e.RetryAfter = brightline.CodeUnavailable, max(wait, time.Second)
	default:
		e.Code = brightline.CodeUpstream
	}
	return e
}

// describe says in a few client-safe words what went wrong.
func describe(err error) string {
	if we, ok := errors.AsType[*llm.WireError](err); ok {
		s := "upstream returned " + strconv.Itoa(we.Status)
		if we.Status == 0 {
			s = "upstream stream error"
		}
		if we.Type != "" {
			s += " (" + we.Type + ")"
		}
		return s
	}
	if te, ok := errors.AsType[*TimeoutError](err); ok {
		return "upstream sent no " + te.Waiting + " within " + te.After.String()
	}
	if _, ok := errors.AsType[*badResponseError](err); ok {
		return "upstream sent an unreadable response"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "upstream stream ended early"
	}
	return "couldn't reach upstream"
}

// quote quotes a model name for a message.
func quote(s string) string { return strconv.Quote(s) }
