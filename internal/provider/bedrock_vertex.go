package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// This file holds what the Bedrock and Vertex providers share: the
// exchange with its timeouts (which [HTTP] uses too), and the Anthropic
// Messages body as both clouds take it, with the model in the URL and an
// "anthropic_version" in the body.

// exchange sends requests for a provider ([HTTP], Bedrock, Vertex),
// bounding them: Timeout for the headers (and a whole non-streamed
// answer), StreamIdleTimeout for each wait inside a stream.
type exchange struct {
	name    string
	timeout time.Duration
	idle    time.Duration
	maxBody int64
	client  *http.Client
}

func newExchange(name string, timeout, idle time.Duration, client *http.Client) exchange {
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	if client == nil {
		client = sharedClient()
	}
	return exchange{name: name, timeout: timeout, idle: idle, maxBody: maxResponseBody, client: client}
}

// newRequest builds (and, for Bedrock, signs) one upstream request. It is
// called once per attempt, with the attempt's context.
type newRequest func(ctx context.Context) (*http.Request, error)

// newPost returns a POST of body to url whose headers are a copy of
// header, with room for extra more.
func newPost(ctx context.Context, url string, body []byte, header http.Header, extra int) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = make(http.Header, len(header)+extra)
	for k, v := range header {
		req.Header[k] = v // values are never modified in place, so sharing is safe
	}
	return req, nil
}

// complete sends a non-streamed request and decodes the body (with the
// headers) of a 2xx answer; a body decode cannot read is a bad response. A
// non-2xx answer is decoded by statusErr.
func (x *exchange) complete(ctx context.Context, build newRequest, statusErr func(*http.Response) error,
	decode func([]byte, http.Header) (*llm.Response, error)) (*llm.Response, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, x.timeout, &TimeoutError{Provider: x.name, Waiting: "response", After: x.timeout})
	defer cancel()
	req, err := build(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := x.client.Do(req)
	if err != nil {
		return nil, x.sendError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusErr(resp)
	}
	data, err := readCapped(resp.Body, resp.ContentLength, x.maxBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, &badResponseError{provider: x.name, err: err}
		}
		return nil, x.sendError(ctx, err)
	}
	out, err := decode(data, resp.Header)
	if err != nil {
		return nil, &badResponseError{provider: x.name, err: err}
	}
	return out, nil
}

// decodeAnthropic decodes a Messages response, for complete.
func decodeAnthropic(data []byte, _ http.Header) (*llm.Response, error) {
	return anthropic.DecodeResponse(data)
}

// stream sends a streamed request and returns once 2xx headers have
// arrived; events are read from the body by the reader newReader makes.
// Timeout bounds building the request as well as the wait for headers, as
// in complete.
func (x *exchange) stream(ctx context.Context, build newRequest, statusErr func(*http.Response) error,
	newReader func(io.Reader, http.Header) eventReader) (llm.Stream, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	headers := time.AfterFunc(x.timeout, func() {
		cancel(&TimeoutError{Provider: x.name, Waiting: "response headers", After: x.timeout})
	})
	req, err := build(ctx)
	if err != nil {
		headers.Stop()
		cancel(nil)
		return nil, err
	}
	resp, err := x.client.Do(req)
	headers.Stop()
	if err != nil {
		err = x.sendError(ctx, err)
		cancel(nil)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := statusErr(resp)
		resp.Body.Close()
		cancel(nil)
		return nil, err
	}
	if te := timeoutCause(ctx); te != nil {
		// The headers arrived just as the timer fired.
		resp.Body.Close()
		cancel(nil)
		return nil, te
	}
	s := &httpStream{ctx: ctx, cancel: cancel, body: resp.Body}
	s.idle = &idleReader{r: resp.Body, d: x.idle, timer: time.AfterFunc(time.Hour, func() {
		cancel(&TimeoutError{Provider: x.name, Waiting: "stream data", After: x.idle})
	})}
	s.idle.timer.Stop()
	s.reader = newReader(s.idle, resp.Header)
	return s, nil
}

func (x *exchange) sendError(ctx context.Context, err error) error {
	if te := timeoutCause(ctx); te != nil {
		return te
	}
	return fmt.Errorf("couldn't get an answer from provider %s: %w", x.name, err)
}

// errorWith returns the *llm.WireError for a non-2xx answer: we as decoded
// from the body (nil: none could be), with the status and Retry-After set.
func errorWith(resp *http.Response, we *llm.WireError) *llm.WireError {
	if we == nil {
		we = &llm.WireError{}
	}
	we.Status = resp.StatusCode
	if we.RetryAfter <= 0 {
		we.RetryAfter = parseRetryAfter(resp.Header, time.Now())
	}
	return we
}

// cannotEncode is the error for a request a cloud API cannot take, such as
// an image by URL on Converse: a 400 the router returns at once, since
// every attempt would fail the same way.
func cannotEncode(provider, what string) error {
	return &llm.WireError{Status: http.StatusBadRequest, Type: "invalid_request_error",
		Message: "provider " + provider + " cannot take " + what}
}

// member is a top-level JSON member to add to a body.
type member struct {
	key   string
	value json.RawMessage
}

// anthropicCloudBody returns the Anthropic Messages body for a cloud that
// takes the model in its URL: the client's own bytes when the request came
// in the Anthropic dialect (so fields the gateway does not model still
// reach the model), else the canonical request encoded, in both cases
// without "model", with "anthropic_version" set to version, and with
// "stream" set to true when stream and the cloud wants it in the body
// (streamField), else removed. extra members are added (Bedrock's
// "anthropic_beta").
func anthropicCloudBody(req *llm.Request, version string, stream, streamField bool, extra ...member) ([]byte, error) {
	body := req.Raw
	if body == nil || req.Dialect != brightline.DialectAnthropic {
		c := *req
		c.Stream = false
		b, err := anthropic.EncodeRequest(&c)
		if err != nil {
			return nil, err
		}
		body = b
	}
	add := []member{{"anthropic_version", mustJSON(version)}}
	if stream && streamField {
		add = append(add, member{"stream", json.RawMessage("true")})
	}
	return rewriteMembers(body, []string{"model", "stream", "anthropic_version", "anthropic_beta"}, append(add, extra...))
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// rewriteMembers returns the JSON object obj without its top-level members
// named in drop and with add appended. The other members keep their order
// and their bytes.
func rewriteMembers(obj []byte, drop []string, add []member) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("couldn't read JSON object: not an object")
	}
	out := make([]byte, 0, len(obj)+64)
	out = append(out, '{')
	first := true
	sep := func() {
		if !first {
			out = append(out, ',')
		}
		first = false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("couldn't read JSON object: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("couldn't read JSON value of %q: %w", name, err)
		}
		dropped := false
		for _, d := range drop {
			dropped = dropped || d == name
		}
		if dropped {
			continue
		}
		sep()
		out = append(out, mustJSON(name)...)
		out = append(out, ':')
		out = append(out, raw...)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("couldn't read JSON object: %w", err)
	}
	for _, m := range add {
		sep()
		out = append(out, mustJSON(m.key)...)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}'), nil
}
