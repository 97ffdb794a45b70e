// Package provider sends canonical requests to model providers: the
// [Provider] interface, the upstream HTTP clients ([HTTP]), a simulated
// provider for trying the gateway without keys ([Simulated]), and the
// [Router] that maps a requested model to an ordered list of targets with
// retries, failover and a circuit breaker per target.
//
// # Passthrough
//
// When the client speaks the provider's dialect and the request still
// carries the client's bytes (Request.Raw), an [HTTP] provider forwards those
// bytes with only the top-level "model" replaced, so fields the gateway does
// not model still reach the provider (a provider of kind openai speaks both
// Chat Completions and the Responses API; see responses.go). Otherwise it
// encodes the canonical
// request with the provider's dialect package. One more change is made to
// a streamed OpenAI request: it always asks for usage
// (stream_options.include_usage is set, the object's other members kept),
// because the gateway needs the token counts; the OpenAI stream writer
// drops the usage chunk again for a client that did not ask for it.
//
// # The simulated provider
//
// The simulated provider answers without any network access and labels its
// output: every text it writes starts with "[simulated]", its message IDs
// start with "msg_sim_" and its tool call IDs with "toolu_sim_". It looks at
// the last user message and answers deterministically:
//
//   - If that message holds tool results, it answers with one line per result,
//     "[simulated] received tool result for <call id>: <result text>", and
//     stops with end_turn.
//   - Otherwise, if a line of that message starts with "/tool NAME",
//     optionally followed by a JSON object (for example
//     `/tool fire_weapon {"target":"T-72 at grid 38SMB4488"}`), it calls tool
//     NAME with that object as its arguments ({} when none is given) and
//     stops with tool_use. The answer has no text before the tool call. The
//     call's ID is "toolu_sim_" followed by the first 12 hex digits of the
//     SHA-256 of the message text. If the arguments are not a JSON object it
//     answers with a text explaining the syntax instead.
//   - Otherwise it echoes the message: "[simulated] You said: <text>", and
//     stops with end_turn.
//
// Usage counts words, not tokens: input tokens are the number of
// whitespace-separated words in the system prompt and all messages (text,
// tool results and tool call arguments), output tokens the number of words
// in the answer. The response's model is the requested model. Streamed, it
// sends the same content as canonical events: the text in chunks of a few
// words, tool call arguments in at least two pieces.
//
// # Routing
//
// A [Router] tries a model's targets in order. On each target it retries
// connection errors and the statuses 429, 500, 502, 503, 504 and 529 with
// exponential backoff and full jitter, waiting exactly the provider's
// Retry-After when it gives one (and moving on to the next target at once
// when that is longer than [RetryPolicy.MaxRetryAfter]). A timeout moves on
// to the next target without retrying. Other 4xx answers are returned at
// once: they would fail everywhere. A circuit breaker per target skips a
// target after repeated failures. A stream can only fail over before its
// first event, so [Router.Stream] reads that event itself.
//
// # Streams
//
// Streams returned by this package ([HTTP.Stream], [Simulated.Stream] and
// [Router.Stream]) implement [llm.Bufferer], an optional capability of an
// llm.Stream: Buffered reports how much the stream holds that the next Next
// can return without waiting for the provider (bytes read but not yet
// returned as events; for the simulated provider, the events left). 0 means
// the next Next may block. A server can flush its response only when
// Buffered is 0, so that events that arrived together go out together.
// Buffered is called from the goroutine reading the stream, like Next.
// Router.Stream's stream reports 0 after its first event if the provider's
// stream lacks the method.
//
// To add a provider kind such as Bedrock or Vertex, give [New] a case for
// it (see the Kind switch in [NewHTTP]).
package provider

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// Call is one request to one provider.
type Call struct {
	// Request is the canonical request; Request.Model is the provider's
	// model name (the router sets it per target).
	Request *llm.Request
	// Header holds client headers that may be forwarded on passthrough (the
	// gateway passes anthropic-beta and anthropic-version). It may be nil.
	Header http.Header
}

// Provider sends requests to one configured model provider.
//
// Complete and Stream report a non-2xx answer as *llm.WireError (with
// Status, Type, Message and RetryAfter set), a provider that did not answer
// within its timeout as *TimeoutError, and connection failures as other
// errors. Whether a failed call may be retried is the [Router]'s decision.
// Implementations must be safe for concurrent use and must not modify the
// Call or its Request.
type Provider interface {
	// Name is the configured name, e.g. "anthropic" or "local-vllm".
	Name() string
	// Dialect is the wire format the provider speaks; "" for the simulated
	// provider.
	Dialect() brightline.Dialect
	// Complete sends a non-streamed request.
	Complete(ctx context.Context, call *Call) (*llm.Response, error)
	// Stream sends a streamed request and returns once the provider has
	// answered with 2xx headers. Cancelling ctx or closing the stream
	// cancels the upstream request. Streams may implement [llm.Bufferer]
	// (see the package doc); the streams returned by this package's
	// providers and its Router do.
	Stream(ctx context.Context, call *Call) (llm.Stream, error)
}

var (
	_ llm.Bufferer = (*httpStream)(nil)
	_ llm.Bufferer = (*simStream)(nil)
	_ llm.Bufferer = (*routedStream)(nil)
)

// TimeoutError reports that a provider did not answer in time: no response
// headers (or, for a non-streamed request, no complete body) within its
// Timeout, or a stream that went quiet for longer than its idle timeout.
type TimeoutError struct {
	Provider string        // the provider's configured name
	Waiting  string        // what did not arrive: "response", "response headers" or "stream data"
	After    time.Duration // the timeout that expired
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("provider %s: no %s within %v", e.Provider, e.Waiting, e.After)
}

// Timeout reports true, as net.Error does for timeouts.
func (e *TimeoutError) Timeout() bool { return true }
