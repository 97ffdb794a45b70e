package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// Provider kinds, for HTTPConfig.Kind.
const (
	KindAnthropic        = "anthropic"         // Anthropic Messages API
	KindOpenAI           = "openai"            // OpenAI Chat Completions API
	KindOpenAICompatible = "openai-compatible" // any server speaking Chat Completions (vLLM, Ollama, ...)
	KindSimulated        = "simulated"         // the simulated provider; only through New
)

// HTTPConfig configures an upstream HTTP provider. Zero fields take the
// defaults given in their comments.
type HTTPConfig struct {
	Name string // the configured name, e.g. "anthropic" or "local-vllm"; required
	Kind string // KindAnthropic, KindOpenAI or KindOpenAICompatible
	// BaseURL defaults to https://api.anthropic.com (anthropic) and
	// https://api.openai.com/v1 (openai); it is required for
	// openai-compatible.
	BaseURL string
	// APIKey is sent as x-api-key (anthropic) or as a bearer token
	// (openai, openai-compatible). Optional only for openai-compatible.
	APIKey  string
	Headers map[string]string // extra static headers sent with every request
	// Timeout bounds the wait for response headers, and for Complete the
	// whole response. 0 means 10 minutes.
	Timeout time.Duration
	// StreamIdleTimeout bounds each wait for stream data once the headers
	// have arrived; a stream quiet for longer fails with *TimeoutError. 0
	// means 5 minutes.
	StreamIdleTimeout time.Duration
	// Client sends the requests. nil means a shared client whose Transport
	// keeps connections alive (256 idle per host) and allows HTTP/2.
	Client *http.Client
}

// Limits on what is read from a provider.
const (
	maxResponseBody = 32 << 20 // a non-streamed answer
	maxErrorBody    = 1 << 20  // an error body
)

// HTTP is a provider reached over HTTP in the Anthropic or OpenAI dialect.
// It is safe for concurrent use.
type HTTP struct {
	name     string
	kind     string
	codec    codec
	endpoint string
	// responses is the Responses API endpoint, for kind openai only (see
	// responses.go).
	responses string
	header    http.Header // static headers; never modified after NewHTTP
	x         exchange    // timeouts, body limit and client
}

var _ Provider = (*HTTP)(nil)

// New returns the provider cfg describes: an [HTTP] provider, or for
// KindSimulated a [Simulated] one (which uses only cfg.Name).
func New(cfg HTTPConfig) (Provider, error) {
	if cfg.Kind == KindSimulated {
		if cfg.Name == "" {
			return nil, errors.New("couldn't configure provider: name is empty")
		}
		return NewSimulated(cfg.Name), nil
	}
	return NewHTTP(cfg)
}

// NewHTTP returns an HTTP provider for cfg.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if cfg.Name == "" {
		return nil, errors.New("couldn't configure provider: name is empty")
	}
	h := &HTTP{
		name:   cfg.Name,
		kind:   cfg.Kind,
		header: make(http.Header),
		x:      newExchange(cfg.Name, cfg.Timeout, cfg.StreamIdleTimeout, cfg.Client),
	}
	base, path := cfg.BaseURL, ""
	switch cfg.Kind {
	case KindAnthropic:
		h.codec = anthropicCodec
		base, path = cmp(base, "https://api.anthropic.com"), "/v1/messages"
		if cfg.APIKey == "" {
			return nil, fmt.Errorf("couldn't configure provider %s: api key is empty", cfg.Name)
		}
		h.header.Set("x-api-key", cfg.APIKey)
		h.header.Set("anthropic-version", anthropicVersion)
	case KindOpenAI, KindOpenAICompatible:
		h.codec = openaiCodec
		if cfg.Kind == KindOpenAI {
			base = cmp(base, "https://api.openai.com/v1")
			if cfg.APIKey == "" {
				return nil, fmt.Errorf("couldn't configure provider %s: api key is empty", cfg.Name)
			}
		} else if base == "" {
			return nil, fmt.Errorf("couldn't configure provider %s: base URL is required for kind %s", cfg.Name, cfg.Kind)
		}
		path = "/chat/completions"
		if cfg.APIKey != "" {
			h.header.Set("Authorization", "Bearer "+cfg.APIKey)
		}
	// Bedrock and Vertex AI would be further kinds here. Both carry the
	// Anthropic (or OpenAI) body, so they reuse a codec, but differ in the
	// endpoint (the model goes into the URL), authentication (AWS SigV4,
	// Google OAuth tokens) and, for Bedrock, the binary event-stream
	// framing of streams. They need their own HTTP type implementing
	// Provider rather than options on this one.
	case KindSimulated:
		return nil, fmt.Errorf("couldn't configure provider %s: kind simulated is not an HTTP provider (use New)", cfg.Name)
	default:
		return nil, fmt.Errorf("couldn't configure provider %s: unknown kind %q", cfg.Name, cfg.Kind)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("couldn't configure provider %s: base URL must be an absolute http(s) URL", cfg.Name)
	}
	h.endpoint = strings.TrimRight(base, "/") + path
	if cfg.Kind == KindOpenAI {
		h.responses = responsesEndpoint(base)
	}
	h.header.Set("Content-Type", "application/json")
	h.header.Set("User-Agent", "brightline")
	for k, v := range cfg.Headers {
		h.header.Set(k, v)
	}
	return h, nil
}

// anthropicVersion is the Messages API version sent unless the client's
// own is forwarded.
const anthropicVersion = "2023-06-01"

// sharedClient is the client of every provider configured without one, so
// that providers on the same host share connections.
var sharedClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
})

// Name returns the configured name.
func (h *HTTP) Name() string { return h.name }

// Dialect returns the wire format the provider speaks.
func (h *HTTP) Dialect() brightline.Dialect { return h.codec.dialect }

// Complete sends a non-streamed request and decodes the answer. The whole
// exchange must finish within the provider's Timeout.
func (h *HTTP) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	c, endpoint := h.wireFor(call.Request)
	body, err := h.body(c, call.Request, false)
	if err != nil {
		return nil, err
	}
	return h.x.complete(ctx, h.request(endpoint, call, body, false), h.statusError(c),
		func(data []byte, _ http.Header) (*llm.Response, error) { return c.decodeResponse(data) })
}

// Stream sends a streamed request and returns once the provider has
// answered with 2xx headers, which must arrive within the provider's
// Timeout. After that each wait for data is bounded by StreamIdleTimeout.
// On passthrough the client's body is sent as it is, so it must ask for a
// stream itself (the gateway streams exactly when the client asked to);
// only an OpenAI body is changed beyond its model, to ask for usage.
func (h *HTTP) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	c, endpoint := h.wireFor(call.Request)
	body, err := h.body(c, call.Request, true)
	if err != nil {
		return nil, err
	}
	return h.x.stream(ctx, h.request(endpoint, call, body, true), h.statusError(c),
		func(r io.Reader, _ http.Header) eventReader { return c.newStreamReader(r) })
}

// body returns the request body for req: the client's own bytes with the
// model replaced when req came in this provider's dialect, else req
// encoded by the dialect package. For streams the encoded request always
// asks for a stream, and an OpenAI request always asks for usage
// (stream_options.include_usage), the client's own bytes included.
func (h *HTTP) body(c codec, req *llm.Request, stream bool) ([]byte, error) {
	if req.Raw != nil && req.Dialect == c.dialect {
		b, err := llm.SetTopLevelString(req.Raw, "model", req.Model)
		if err != nil {
			return nil, fmt.Errorf("couldn't set the model of the request for provider %s: %w", h.name, err)
		}
		if stream && req.Stream && !req.IncludeUsage && c.dialect == brightline.DialectOpenAI {
			// The gateway needs the usage chunk to account for the
			// request; the stream writer drops it again for the client.
			if b, err = askForUsage(b); err != nil {
				return nil, fmt.Errorf("couldn't ask provider %s for usage: %w", h.name, err)
			}
		}
		return b, nil
	}
	if stream && !req.Stream {
		c := *req
		c.Stream = true
		req = &c
	}
	b, err := c.encodeRequest(req)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode the request for provider %s: %w", h.name, err)
	}
	return b, nil
}

// forwarded are the client headers an Anthropic provider forwards.
// anthropic-beta is forwarded whenever the client spoke Anthropic (some
// betas are header-only); anthropic-version only when the client's own
// bytes are sent, since it describes their format.
var forwarded = []string{"Anthropic-Beta", "Anthropic-Version"}

// request returns the builder of the request that sends body to
// endpoint: the static headers, the client's Anthropic headers where they
// are forwarded, and the receipt. Its errors are as [Provider] documents.
func (h *HTTP) request(endpoint string, call *Call, body []byte, stream bool) newRequest {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := newPost(ctx, endpoint, body, h.header, 3)
		if err != nil {
			return nil, h.x.sendError(ctx, err)
		}
		hdr := req.Header
		if stream {
			hdr["Accept"] = []string{"text/event-stream"}
		}
		r := call.Request
		if h.kind == KindAnthropic && r.Dialect == brightline.DialectAnthropic && call.Header != nil {
			for _, k := range forwarded {
				if k == "Anthropic-Version" && r.Raw == nil {
					continue
				}
				if v := call.Header.Values(k); len(v) > 0 {
					hdr[k] = v
				}
			}
		}
		if err := receipt(ctx, h.name, r.Model, body, hdr); err != nil {
			return nil, err // a *ForwardError
		}
		return req, nil
	}
}

// timeoutCause returns the *TimeoutError that ended ctx, if one did.
func timeoutCause(ctx context.Context) *TimeoutError {
	te, _ := errors.AsType[*TimeoutError](context.Cause(ctx))
	return te
}

// statusError returns the decoder of a non-2xx answer in c's dialect.
func (h *HTTP) statusError(c codec) func(*http.Response) error {
	return func(resp *http.Response) error {
		data, _ := readCapped(resp.Body, resp.ContentLength, maxErrorBody)
		return errorWith(resp, c.decodeError(resp.StatusCode, data))
	}
}

// parseRetryAfter reads retry-after-ms (OpenAI) or Retry-After, in seconds
// or as an HTTP date. It returns 0 when there is none or it is unreadable,
// and caps absurd values at a day.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	const limit = 24 * time.Hour
	clamp := func(f float64, unit time.Duration) time.Duration {
		if f <= 0 || f != f { // f != f: NaN
			return 0
		}
		if f >= float64(limit/unit) {
			return limit
		}
		return time.Duration(f * float64(unit))
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return clamp(ms, time.Millisecond)
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return clamp(s, time.Second)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), limit)
	}
	return 0
}

var errTooLarge = errors.New("response body too large")

// readCapped reads r to its end, failing with errTooLarge past limit bytes.
// size is the expected length, or -1.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 && size <= limit {
		buf.Grow(int(size) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// httpStream is a response being streamed over HTTP.
type httpStream struct {
	ctx    context.Context // the request's context; its cause says why it ended
	cancel context.CancelCauseFunc
	body   io.ReadCloser
	idle   *idleReader
	reader eventReader

	drained   bool // owned by the goroutine calling Next
	closeOnce sync.Once
}

// drainTimeout bounds the wait for the end of a response body after its
// last event.
const drainTimeout = 100 * time.Millisecond

// drain reads what is left of the body after the stream's last event,
// usually only the end of the chunked encoding, so that an HTTP/1.1
// connection goes back to the pool instead of being closed.
func (s *httpStream) drain() {
	t := time.AfterFunc(drainTimeout, func() { s.cancel(errStreamClosed) })
	io.CopyN(io.Discard, s.body, 64<<10)
	t.Stop()
}

func (s *httpStream) Next() (llm.StreamEvent, error) {
	ev, err := s.reader.Next()
	if err == io.EOF && !s.drained {
		s.drained = true
		s.drain()
	}
	if err == nil || err == io.EOF {
		return ev, err
	}
	// The read failed because the request ended: say why (a timeout, the
	// caller's cancellation, Close) rather than how the read noticed.
	if cause := context.Cause(s.ctx); cause != nil {
		return llm.StreamEvent{}, cause
	}
	return llm.StreamEvent{}, err
}

// Buffered returns the number of bytes the dialect reader has read from
// the response body but not yet returned as events.
func (s *httpStream) Buffered() int { return s.reader.Buffered() }

func (s *httpStream) Close() error {
	s.closeOnce.Do(func() {
		s.cancel(errStreamClosed)
		s.idle.timer.Stop()
		s.body.Close()
	})
	return nil
}

// idleReader fails a stream that waits too long for data: its timer runs
// only while a Read is blocked.
type idleReader struct {
	r     io.Reader
	d     time.Duration
	timer *time.Timer // cancels the request when it fires
}

func (r *idleReader) Read(p []byte) (int, error) {
	r.timer.Reset(r.d)
	n, err := r.r.Read(p)
	r.timer.Stop()
	return n, err
}
