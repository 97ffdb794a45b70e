package provider

import (
	"context"
	"net/http"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/llm"
)

// Forwarder gives each request a provider is about to send its upstream
// receipt (issue 17: every forwarded request carries the log's receipt
// for it, bound to the exact bytes sent).
type Forwarder interface {
	// Forward is called once per attempt (first try, retry, failover),
	// just before the request is sent, with the exact body bytes the
	// provider will receive. It returns the value of the
	// Brightline-Receipt header ([auditverify.UpstreamHeader]) to send
	// with them, or "" to send none. An error means nothing may be sent: the provider returns
	// it inside a *ForwardError, and the Router returns its Err at once,
	// without retrying or failing over. Forward is not retried.
	Forward(ctx context.Context, f Forward) (string, error)
}

// Forward is one request about to be sent upstream.
type Forward struct {
	Provider string // the provider's configured name
	Model    string // the model name sent to the provider
	Body     []byte // the exact bytes sent; not to be kept or modified
}

// ForwardError is a provider's error when its Forwarder refused to
// receipt a request: nothing was sent.
type ForwardError struct {
	Provider string
	Err      error
}

func (e *ForwardError) Error() string {
	return "request to provider " + e.Provider + " not sent: couldn't receipt it: " + e.Err.Error()
}

func (e *ForwardError) Unwrap() error { return e.Err }

type forwarderKey struct{}

// WithForwarder returns a context in which every request a provider of
// this package sends is first given to f for its receipt.
func WithForwarder(ctx context.Context, f Forwarder) context.Context {
	return context.WithValue(ctx, forwarderKey{}, f)
}

func forwarderFrom(ctx context.Context) Forwarder {
	f, _ := ctx.Value(forwarderKey{}).(Forwarder)
	return f
}

// receipt asks ctx's Forwarder, if any, for the receipt of body and sets
// it in hdr. Without a Forwarder it does nothing.
func receipt(ctx context.Context, provider, model string, body []byte, hdr http.Header) error {
	f := forwarderFrom(ctx)
	if f == nil {
		return nil
	}
	v, err := f.Forward(ctx, Forward{Provider: provider, Model: model, Body: body})
	if err != nil {
		return &ForwardError{Provider: provider, Err: err}
	}
	if v != "" {
		hdr[auditverify.UpstreamHeader] = []string{v}
	}
	return nil
}

// ReceiptChecker checks a request's upstream receipt against the body
// received (*auditverify/provider.Verifier). The simulated provider and
// the fakes in internal/fakeupstream use it to act as a provider that
// refuses unreceipted traffic.
type ReceiptChecker interface {
	Check(r *http.Request, body []byte) error
}

// refused is the answer of a provider whose ReceiptChecker refused a
// request: a 403, which the Router does not retry.
func refused(err error) *llm.WireError {
	return &llm.WireError{Status: http.StatusForbidden, Type: "permission_error", Message: "receipt refused: " + err.Error()}
}
