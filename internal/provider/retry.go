package provider

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/brightline/brightline/internal/llm"
)

// RetryPolicy says how the [Router] retries one target before it fails over
// to the next. The zero value is usable; each zero field takes the default
// given in its comment.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per target, the first one
	// included. 0 means 2.
	MaxAttempts int
	// InitialBackoff is the backoff before the first retry; it doubles for
	// each further retry. The wait is drawn uniformly from [0, backoff)
	// (full jitter). 0 means 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff. 0 means 2s.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the router waits for. When a
	// provider asks for a longer wait the router moves on to the next target
	// at once. 0 means 20s.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 2
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = 100 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 2 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 20 * time.Second
	}
	return p
}

// backoff returns the wait before retry number retry (1 for the first
// retry), given a uniform random number rnd in [0, 1).
func (p RetryPolicy) backoff(retry int, rnd float64) time.Duration {
	ceiling := p.InitialBackoff
	for i := 1; i < retry && ceiling < p.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxBackoff)
	return time.Duration(rnd * float64(ceiling))
}

// outcome is what the router does after a failed attempt.
type outcome int

const (
	// retry the same target (up to MaxAttempts), then fail over. The
	// failure is the provider's and counts towards its breaker.
	outcomeRetry outcome = iota + 1
	// failOver to the next target without retrying this one. The failure
	// is the provider's.
	outcomeFailOver
	// reject: return the error at once. The request itself is at fault
	// (400, 401, 404, ...); another target would fail the same way.
	outcomeReject
	// canceled: the caller's context is done; stop.
	outcomeCanceled
)

// classify decides what to do after an attempt failed with err. ctx is the
// caller's context.
func classify(ctx context.Context, err error) outcome {
	if ctx.Err() != nil {
		return outcomeCanceled
	}
	if _, ok := errors.AsType[*TimeoutError](err); ok {
		return outcomeFailOver
	}
	if we, ok := errors.AsType[*llm.WireError](err); ok {
		switch {
		case we.Status == 0: // an error event inside a stream
			return outcomeRetry
		case we.Status == http.StatusTooManyRequests,
			we.Status == http.StatusInternalServerError,
			we.Status == http.StatusBadGateway,
			we.Status == http.StatusServiceUnavailable,
			we.Status == http.StatusGatewayTimeout,
			we.Status == statusOverloaded:
			return outcomeRetry
		case we.Status >= 500:
			return outcomeFailOver
		default:
			return outcomeReject
		}
	}
	if _, ok := errors.AsType[*badResponseError](err); ok {
		return outcomeFailOver
	}
	// Connection failures, streams cut off before their first event.
	return outcomeRetry
}

// statusOverloaded is Anthropic's 529 Overloaded.
const statusOverloaded = 529

// retryAfterOf returns the Retry-After an upstream error asked for, or 0.
func retryAfterOf(err error) time.Duration {
	if we, ok := errors.AsType[*llm.WireError](err); ok {
		return we.RetryAfter
	}
	return 0
}

// badResponseError wraps an answer the provider sent with a 2xx status that
// could not be read: bad JSON, too large, not the expected shape.
type badResponseError struct {
	provider string
	err      error
}

func (e *badResponseError) Error() string {
	return "provider " + e.provider + " sent an unreadable response: " + e.err.Error()
}

func (e *badResponseError) Unwrap() error { return e.err }
