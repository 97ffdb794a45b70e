// Package gateway serves the client-facing model APIs and runs every request
// through the Brightline pipeline: decode the client's dialect,
// authenticate, route to a provider (with retries and failover), and encode
// the answer back in the client's dialect, streamed or not.
//
// Errors get their HTTP status from [brightline.ErrorResponse], the one
// mapper. [Gateway.writeError] writes them as dialect error bodies; a
// stream that fails after its first byte ends with an error event in its
// dialect instead.
package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/shadow"
)

// Authenticator resolves API keys to principals.
type Authenticator interface {
	// Authenticate returns the principal for an API key, or an error
	// wrapping brightline.ErrNotFound if the key is unknown or revoked.
	// Other errors mean the key could not be checked; the request is then
	// refused (fail closed). It may be retried.
	Authenticate(ctx context.Context, key string) (brightline.Principal, error)
}

// Router sends canonical requests to providers. *provider.Router is the
// implementation.
type Router interface {
	Complete(ctx context.Context, req *llm.Request, hdr http.Header) (*llm.Response, provider.Served, error)
	CompleteAfter(ctx context.Context, req *llm.Request, hdr http.Header, after string) (*llm.Response, provider.Served, error)
	Stream(ctx context.Context, req *llm.Request, hdr http.Header) (llm.Stream, provider.Served, error)
	Models() []llm.Model
}

var _ Router = (*provider.Router)(nil)

// Config holds the gateway's options. The zero value of each field is
// usable.
type Config struct {
	// MaxRequestBytes caps request bodies. 0 means 32 MiB.
	MaxRequestBytes int64
	// Logger receives one line per request and the detail of every error.
	// nil discards.
	Logger *slog.Logger
	// Metrics records Prometheus metrics. nil records nothing.
	Metrics *Metrics
	// Policy gives the policy that decides every request, answer and tool
	// call. nil means the embedded default policy.
	Policy PolicySource
	// Tools are the operator's tool declarations, which may only raise the
	// effect class the signed policy or the classifier gives a tool (see
	// package safeguard). nil declares none.
	Tools *policy.ToolEffects
	// Now is the clock rules see as time. nil means time.Now.
	Now func() time.Time
	// KeyUsed, if set, is told the principal id of every authenticated
	// model API request. It must not block (UsageBatcher.Mark).
	KeyUsed func(principalID string)
	// Approvals records tool calls held for human approval. nil holds
	// them with a notice that no approval service exists.
	Approvals Approvals
	// Audit records every decision in the verifiable audit log before the
	// answer it governs is released; if it cannot, the request is refused
	// with 503. nil records nothing (tests, dry runs).
	Audit Auditor
	// Mirror, if set, mirrors a sample of each shadowed route's requests
	// (as forwarded) to its candidate once the client has its answer.
	Mirror *shadow.Mirror
	// Finished, if set, is told about every model API request that reached
	// a provider, after its answer has been sent: for the traffic
	// inventory. It runs on the request's goroutine and must not block.
	Finished func(Finished)
	// AuditStatus, if set, reports the audit log's state for /healthz.
	AuditStatus func() AuditStatus
	// Surveillance counts the people each principal's and organisation's
	// requests concern, and the requests, for the counters attributes. nil
	// fills the findings attributes only and leaves the counters at zero.
	Surveillance *safeguard.Surveillance
	// Trace, if set, is told every policy decision and the input it was
	// made on (safeguard.Config.Trace). For tests and debugging.
	Trace func(safeguard.Outcome)
	// Limits bound body reads and what each key may have in flight; see
	// [Limits] for the defaults.
	Limits Limits
}

// Gateway is the HTTP front of Brightline. Create it with New.
type Gateway struct {
	cfg      Config
	decide   *safeguard.Decider
	auth     Authenticator
	router   Router
	log      *slog.Logger
	mux      *http.ServeMux
	limits   Limits // cfg.Limits with defaults
	inFlight *limiter

	// hardStop is cancelled when draining ends: in-flight streams then end
	// with an error event instead of being cut off.
	hardStop context.Context
	stopNow  context.CancelFunc
}

// New returns a gateway that authenticates with auth and routes with router.
func New(cfg Config, auth Authenticator, router Router) *Gateway {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 32 << 20
	}
	g := &Gateway{cfg: cfg, auth: auth, router: router, log: cfg.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.cfg.Policy == nil {
		g.cfg.Policy = StaticPolicy{Policy: policy.Default(), Source: "embedded default"}
	}
	if g.cfg.Now == nil {
		g.cfg.Now = time.Now
	}
	g.limits = cfg.Limits.withDefaults()
	g.inFlight = newLimiter(g.limits)
	g.decide = safeguard.New(safeguard.Config{Tools: cfg.Tools, Surveillance: cfg.Surveillance, Trace: cfg.Trace})
	g.hardStop, g.stopNow = context.WithCancel(context.Background())
	g.mux = http.NewServeMux()
	g.mux.HandleFunc("POST /v1/chat/completions", g.serveModelAPI(openaiCodec))
	g.mux.HandleFunc("POST /v1/messages", g.serveModelAPI(anthropicCodec))
	g.mux.HandleFunc("POST /v1/messages/count_tokens", g.serveAdmitted(anthropicCodec, "count_tokens", g.countTokens))
	g.mux.HandleFunc("POST /v1/responses", g.serveModelAPI(responsesCodec))
	g.mux.HandleFunc("GET /v1/models", g.serveModels)
	g.mux.HandleFunc("GET /healthz", g.serveHealth)
	g.mux.HandleFunc("GET /brightline/v1/policy", g.servePolicyStatus)
	if cfg.Metrics != nil {
		g.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	g.mux.HandleFunc("/v1/", g.serveNoSuchEndpoint)
	return g
}

// ServeHTTP serves the model APIs, /healthz and /metrics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mux.ServeHTTP(w, g.limitBodyRead(w, r))
}

// Abort ends every in-flight stream with an error event in its client's
// dialect. Call it when graceful draining has run out of time, before
// closing the server.
func (g *Gateway) Abort() { g.stopNow() }

// codec is one client-facing dialect.
type codec struct {
	dialect brightline.Dialect
	// decodeRequest decodes a client's request with its headers, applying
	// the dialect's allow-lists and what the policy adds to them.
	decodeRequest  func([]byte, http.Header, *policy.Policy) (*llm.Request, error)
	encodeResponse func(*llm.Response) ([]byte, error)
	encodeModels   func([]llm.Model) []byte
	errorBody      func(*brightline.Error) []byte
	streamWriter   func(io.Writer, *llm.Request) streamWriter
}

type streamWriter interface {
	WriteEvent(llm.StreamEvent) error
	WriteError(*brightline.Error) error
}

var openaiCodec = &codec{
	dialect: brightline.DialectOpenAI,
	decodeRequest: func(body []byte, _ http.Header, p *policy.Policy) (*llm.Request, error) {
		return openai.DecodeClientRequest(body, p)
	},
	encodeResponse: openai.EncodeResponse,
	encodeModels:   openai.EncodeModels,
	errorBody:      openai.ErrorBody,
	streamWriter:   func(w io.Writer, r *llm.Request) streamWriter { return openai.NewStreamWriter(w, r) },
}

var anthropicCodec = &codec{
	dialect: brightline.DialectAnthropic,
	decodeRequest: func(body []byte, hdr http.Header, p *policy.Policy) (*llm.Request, error) {
		// anthropic-beta is forwarded to an Anthropic provider.
		if err := anthropic.CheckBetas(hdr.Values("anthropic-beta"), p); err != nil {
			return nil, err
		}
		return anthropic.DecodeClientRequest(body, p)
	},
	encodeResponse: anthropic.EncodeResponse,
	encodeModels:   anthropic.EncodeModels,
	errorBody:      anthropic.ErrorBody,
	streamWriter:   func(w io.Writer, r *llm.Request) streamWriter { return anthropic.NewStreamWriter(w, r) },
}

// DecodeRequest decodes a client's request body in dialect as the
// gateway's endpoint for that dialect does, with the same allow-lists and
// what the policy p adds to them, so that dry runs (brightline check,
// replay) refuse exactly what the gateway refuses. Errors are
// *brightline.Error with code invalid_request.
func DecodeRequest(dialect brightline.Dialect, body []byte, hdr http.Header, p *policy.Policy) (*llm.Request, error) {
	switch dialect {
	case brightline.DialectOpenAI:
		return openaiCodec.decodeRequest(body, hdr, p)
	case brightline.DialectAnthropic:
		return anthropicCodec.decodeRequest(body, hdr, p)
	case brightline.DialectResponses:
		return responsesCodec.decodeRequest(body, hdr, p)
	}
	return nil, fmt.Errorf("unknown dialect %q: want openai, anthropic or responses", dialect)
}

// codecFor guesses the dialect of a request to a path that does not name
// one: Anthropic clients always send anthropic-version.
func codecFor(r *http.Request) *codec {
	if r.Header.Get("anthropic-version") != "" {
		return anthropicCodec
	}
	return openaiCodec
}

// forwardedHeaders are client headers a same-dialect provider receives.
var forwardedHeaders = []string{"anthropic-version", "anthropic-beta"}

func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request) {
	c := codecFor(r)
	if _, err := g.authenticate(r); err != nil {
		g.writeError(w, r, c, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(c.encodeModels(g.router.Models()))
}

// exchange is the state of one model API request: what its stages hand
// on, and what its log line and metrics report. Its fields are grouped by
// the stage that writes them.
type exchange struct {
	arrival
	requestStage
	answer
	holds
	outcome
}

// arrival is what the request is: written as it is admitted and decoded
// (newExchange, admit, decideRequest).
type arrival struct {
	id        string
	start     time.Time
	codec     *codec
	ctx       context.Context
	principal brightline.Principal
	model     string
	stream    bool
	excerpt   string // the last user text, for approvers
}

// requestStage is what deciding the request leaves for the later stages
// (decideRequest).
type requestStage struct {
	// sg decides the request, then its answer's tool calls and the answer,
	// all with the policy in force when the request arrived.
	sg *safeguard.Exchange
	// pending is the request decision's append, under way in parallel
	// with the upstream call; nothing is released before it succeeds.
	pending *pendingAudit
	req     *llm.Request // the request as forwarded (after redaction)
	// restore maps the placeholders a redaction put in the request back
	// to the identifiers, when policy asked for them in the answer.
	restore *safeguard.Placeholders
}

// answer is who answered and what it cost (complete, stream).
type answer struct {
	served provider.Served
	usage  llm.Usage
}

// holds are the tool calls held for approval (withhold), and how many of
// them a tool_call entry has named (audit).
type holds struct {
	held             []Held
	approvals        []string // their approval ids
	auditedApprovals int
}

// outcome is what the client got, for the log line and metrics: every
// stage records its decisions, and whoever ends the exchange sets status
// and err (fail, stream).
type outcome struct {
	decisions []brightline.Decision
	status    int
	err       error
	// logAs is the message of the request's log line; "" means "request".
	logAs string
	// estimate is count_tokens' answer, logged as input_tokens.
	estimate int
}

// record keeps a policy decision for the request's log line and metrics.
func (x *exchange) record(d brightline.Decision) { x.decisions = append(x.decisions, d) }

// newExchange starts the exchange of request r to an endpoint of dialect
// c, naming it in the response headers. Call g.finish when it ends.
func (g *Gateway) newExchange(w http.ResponseWriter, r *http.Request, c *codec) *exchange {
	now := time.Now()
	x := &exchange{
		arrival: arrival{id: newRequestID(now), start: now, codec: c, ctx: r.Context()},
		outcome: outcome{status: http.StatusOK},
	}
	w.Header().Set("x-request-id", x.id)
	if c.dialect == brightline.DialectAnthropic {
		w.Header().Set("request-id", x.id)
	}
	return x
}

// fail ends exchange x with err. Nothing is released, an error included,
// before the request's decision is in the log.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, x *exchange, err error) {
	if aerr := x.pending.wait(); aerr != nil {
		err = aerr
	}
	x.pending.setReceipt(w.Header())
	x.err = err
	if r.Context().Err() != nil {
		// The client went away; there is no one to answer.
		x.status = statusClientClosed
		return
	}
	x.status = g.writeError(w, r, x.codec, err)
}

// admit authenticates r, takes its in-flight budgets before the body is
// read (on its declared length when it has one), then reads the body. The
// caller releases the lease, which is nil if no budget was taken, when it
// has answered, error or not.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, x *exchange) (*lease, []byte, error) {
	p, err := g.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	x.principal = p
	if g.cfg.KeyUsed != nil {
		g.cfg.KeyUsed(p.ID)
	}
	held, err := g.inFlight.admit(p.ID, max(0, min(r.ContentLength, g.cfg.MaxRequestBytes)))
	if err != nil {
		return nil, nil, err
	}
	body, err := held.readAll(held.body(http.MaxBytesReader(w, r.Body, g.cfg.MaxRequestBytes)))
	return held, body, err
}

// auditRequest starts appending the request decision d, made on in, with
// a commitment to the body as received; x.pending.wait gives the result.
func (g *Gateway) auditRequest(x *exchange, d brightline.Decision, in *policy.Input, body []byte) error {
	cm, err := auditlog.Commit(body)
	if err != nil {
		return errAuditFailed(err)
	}
	e := x.entry(d, in)
	e.Commitment = cm.Hash
	x.pending = g.auditDeferred(x, e, &cm)
	return nil
}

// serveAdmitted returns the handler of an endpoint of dialect c: it starts
// the exchange and admits the request, then serve handles the body. The
// exchange ends, logged as logAs ("" for "request") and counted, when
// serve returns; the lease is released then too.
func (g *Gateway) serveAdmitted(c *codec, logAs string, serve func(http.ResponseWriter, *http.Request, *exchange, *lease, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := g.newExchange(w, r, c)
		x.logAs = logAs
		defer g.finish(x)
		held, body, err := g.admit(w, r, x)
		defer held.release()
		if err != nil {
			g.fail(w, r, x, err)
			return
		}
		serve(w, r, x, held, body)
	}
}

// serveModelAPI serves a model API request of dialect c.
func (g *Gateway) serveModelAPI(c *codec) http.HandlerFunc {
	return g.serveAdmitted(c, "", g.forward)
}

// forward decides an admitted request, forwards it, and relays the
// answer the policy lets through.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, x *exchange, held *lease, body []byte) {
	req, err := g.decideRequest(w, r, x, body)
	if err != nil {
		g.fail(w, r, x, err)
		return
	}
	held.doneInspecting()
	x.req = req
	hdr := make(http.Header)
	for _, k := range forwardedHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			hdr[http.CanonicalHeaderKey(k)] = v
		}
	}

	// Upstream work stops when the client goes away or when draining
	// runs out of time.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(g.hardStop, cancel)
	defer stop()
	// Every attempt upstream first gets its own receipt.
	ctx = g.withForwarder(ctx, x, x.sg.Decision)

	if req.Stream {
		g.stream(ctx, w, r, x, req, hdr)
		return
	}
	g.complete(ctx, w, r, x, req, hdr)
}

// decideRequest decodes body under the policy in force and decides it at
// stage request, before anything is forwarded: the decision's append
// starts (x.pending), and a request the policy does not let through is an
// error. It returns the request to forward, redacted if policy says so.
func (g *Gateway) decideRequest(w http.ResponseWriter, r *http.Request, x *exchange, body []byte) (*llm.Request, error) {
	// The same policy decides every stage of this exchange, even if a
	// reload happens meanwhile; its allow-lists apply to decoding.
	pol := g.cfg.Policy.Current()
	req, err := x.codec.decodeRequest(body, r.Header, pol)
	if err != nil {
		return nil, err
	}
	x.model, x.stream = req.Model, req.Stream
	x.excerpt = excerpt(req)

	x.sg, err = g.decide.Request(pol, x.principal, req, r.Header, g.cfg.Now())
	in, d := x.sg.Input, x.sg.Decision
	if err != nil {
		// A refusal for want of a decision is recorded too.
		if g.cfg.Audit != nil {
			failed := brightline.Decision{Stage: brightline.StageRequest, Action: "policy_error",
				PolicyVersion: pol.Version(), PolicyHash: pol.Hash(), TrustHash: pol.TrustHash()}
			if aerr := g.audit(x, failed, in); aerr != nil {
				return nil, aerr
			}
		}
		return nil, policyError(brightline.StageRequest, err)
	}
	x.record(d)
	if g.cfg.Audit != nil {
		if err := g.auditRequest(x, d, in, body); err != nil {
			return nil, err
		}
	}
	if err := decisionError(d, "Request"); err != nil {
		return nil, err
	}
	setAnnotations(w, d)
	if x.restore, err = x.sg.Redact(); err != nil {
		return nil, policyError(brightline.StageRequest, err)
	}
	if req.Raw == nil && len(req.ExtraFields) > 0 {
		// A redacted request is sent re-encoded, so fields the model
		// does not hold, and their unredacted text, are dropped.
		w.Header().Set("x-brightline-dropped-fields", strings.Join(req.ExtraFields, ", "))
	}
	return req, nil
}

// complete forwards a request that is not streamed, decides the answer
// and writes it in the client's dialect.
func (g *Gateway) complete(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange, req *llm.Request, hdr http.Header) {
	smp := g.sample(x)
	resp, served, err := g.router.Complete(ctx, req, hdr)
	x.served = served
	if err != nil {
		g.fail(w, r, x, g.interrupted(err))
		return
	}
	resp, served, err = g.retryRefusal(ctx, x, req, hdr, resp, served)
	x.served = served
	if err != nil {
		g.fail(w, r, x, err)
		return
	}
	x.usage = resp.Usage
	// Shadow mode compares the answer as the provider gave it, before
	// the tool-call stage holds calls or identifiers are restored.
	smp.Keep(req, resp, nil, time.Since(x.start))
	if err := g.decideResponse(x, resp); err != nil {
		g.fail(w, r, x, err)
		return
	}
	if x.restore != nil {
		resp = restored(resp, x.restore)
	}
	out := resp.Raw
	if resp.Dialect != x.codec.dialect || out == nil {
		if out, err = x.codec.encodeResponse(resp); err != nil {
			g.fail(w, r, x, err)
			return
		}
	}
	if err := x.pending.wait(); err != nil {
		g.fail(w, r, x, err)
		return
	}
	x.pending.setReceipt(w.Header())
	setServedHeaders(w, served)
	for _, h := range x.held {
		w.Header().Add(HeaderHeldApproval, h.ApprovalID)
		w.Header().Add(HeaderHeldStatusURL, h.StatusURL)
		w.Header().Add(HeaderHeldExpires, h.ExpiresAt.Format(time.RFC3339))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
	smp.Submit()
}

// restored is a copy of resp in which the client gets the identifiers a
// redaction replaced back.
func restored(resp *llm.Response, p *safeguard.Placeholders) *llm.Response {
	c := *resp
	c.Content = slices.Clone(resp.Content)
	for i := range c.Content {
		if b := &c.Content[i]; b.Type == llm.BlockText {
			b.Text = p.Restore(b.Text)
		}
	}
	c.Raw = nil
	return &c
}

// Handle mounts h on the gateway's mux at pattern (http.ServeMux syntax),
// for the parts of Brightline that serve their own HTTP: the approvals API,
// the console, the audit log. Call it before serving.
func (g *Gateway) Handle(pattern string, h http.Handler) { g.mux.Handle(pattern, h) }

// interrupted replaces an error caused by Abort with a clear one.
func (g *Gateway) interrupted(err error) error {
	if g.hardStop.Err() != nil {
		return &brightline.Error{Code: brightline.CodeUnavailable, Message: "the gateway is shutting down; retry the request", RetryAfter: time.Second, Err: err}
	}
	return err
}

// openStream opens the provider's stream for req, and waits for the
// request's decision to be in the log. If either fails, it ends x with the
// error and returns nil.
func (g *Gateway) openStream(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange, req *llm.Request, hdr http.Header) llm.Stream {
	s, served, err := g.router.Stream(ctx, req, hdr)
	x.served = served
	if err == nil {
		if err = x.pending.wait(); err != nil {
			s.Close()
		}
	}
	if err != nil {
		if aerr := x.pending.wait(); aerr != nil {
			err = aerr
		}
		x.err = g.interrupted(err)
		x.status = statusClientClosed
		if r.Context().Err() == nil {
			x.status = g.writeError(w, r, x.codec, x.err)
		}
		return nil
	}
	return s
}

// stream forwards a streamed request and relays the answer's events in
// the client's dialect as the policy stage lets them through.
func (g *Gateway) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange, req *llm.Request, hdr http.Header) {
	s := g.openStream(ctx, w, r, x, req, hdr)
	if s == nil {
		return
	}
	defer s.Close()
	served := x.served
	var collected *collectingStream
	smp := g.sample(x)
	if smp != nil {
		collected = &collectingStream{Stream: s}
		s = collected
	}
	s = g.withPolicy(s, x)

	x.pending.setReceipt(w.Header())
	setServedHeaders(w, served)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sw := x.codec.streamWriter(w, req)
	// Flush when the upstream has nothing more buffered: each event reaches
	// the client as soon as it exists, but a burst of events that arrived
	// together leaves in one write instead of one write per event.
	pending, _ := s.(llm.Bufferer)

	for {
		ev, err := s.Next()
		if err == io.EOF {
			rc.Flush()
			return
		}
		if err != nil {
			if r.Context().Err() != nil {
				// The client left; there is no one to tell.
				x.err, x.status = err, statusClientClosed
				return
			}
			x.err = g.interrupted(err)
			status, e := clientError(x.err)
			x.status = status
			g.log.Warn("stream failed after first byte", "request_id", x.id, "target", served.Target, "err", err)
			if werr := sw.WriteError(e); werr != nil {
				g.log.Debug("couldn't write stream error event", "request_id", x.id, "err", werr)
			}
			rc.Flush()
			return
		}
		if ev.Usage != nil {
			x.usage.Add(*ev.Usage)
		}
		err = sw.WriteEvent(ev)
		if err == nil && (pending == nil || pending.Buffered() == 0 || ev.Type == llm.EventStop) {
			err = rc.Flush()
		}
		if err == nil && ev.Type == llm.EventStop && collected != nil {
			// The answer is complete once its stop is out; a client that
			// hangs up right after must not lose the comparison.
			smp.Keep(req, collected.c.Response(), nil, time.Since(x.start))
			smp.Submit()
			collected = nil
		}
		if err != nil {
			// Writing to the client failed: it has gone away.
			x.err, x.status = err, statusClientClosed
			return
		}
	}
}

func setServedHeaders(w http.ResponseWriter, s provider.Served) {
	w.Header().Set("x-brightline-provider", s.Provider)
	w.Header().Set("x-brightline-model", s.Model)
}

// statusClientClosed is nginx's convention for a client that went away; it
// is only ever logged, never sent.
const statusClientClosed = 499

// Finished describes a request that reached a provider.
type Finished struct {
	Principal brightline.Principal
	Route     string          // the model the client asked for
	Served    provider.Served // who served it (or last tried)
	Usage     llm.Usage       // tokens
	Request   *llm.Request    // as forwarded, after any redaction; never the client's raw bytes
}

func (g *Gateway) finish(x *exchange) {
	// Every path waits for the decision before it answers; should one
	// not, the decision is still logged.
	x.pending.start()
	dur := time.Since(x.start)
	if g.cfg.Finished != nil && x.served.Target != "" && x.req != nil {
		g.cfg.Finished(Finished{Principal: x.principal, Route: x.model, Served: x.served, Usage: x.usage,
			Request: x.req})
	}
	if m := g.cfg.Metrics; m != nil {
		m.observeRequest(x, dur)
	}
	attrs := []any{
		"request_id", x.id, "dialect", x.codec.dialect, "principal", x.principal.ID,
		"model", x.model, "stream", x.stream, "status", x.status, "duration_ms", float64(dur.Microseconds()) / 1000,
	}
	if x.served.Target != "" {
		attrs = append(attrs, "target", x.served.Target, "attempts", x.served.Attempts,
			"input_tokens", x.usage.InputTokens, "output_tokens", x.usage.OutputTokens)
	}
	if x.estimate > 0 {
		attrs = append(attrs, "input_tokens", x.estimate)
	}
	if len(x.decisions) > 0 {
		attrs = append(attrs, "decisions", decisionLog(x.decisions))
	}
	msg := cmp.Or(x.logAs, "request")
	switch {
	case x.err == nil:
		g.log.Info(msg, attrs...)
	case x.status >= 500:
		g.log.Error(msg, append(attrs, "err", x.err)...)
	default:
		g.log.Info(msg, append(attrs, "err", x.err)...)
	}
}

// decisionLog summarises decisions for the request's log line: one
// "stage:action" or "stage:action:rule" per decision.
func decisionLog(ds []brightline.Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Stage) + ":" + string(d.Action)
		if d.Rule != "" {
			out[i] += ":" + d.Rule
		}
	}
	return out
}

func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	st := g.cfg.Policy.Status()
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"status": "ok", "policy": map[string]any{"version": st.Version, "hash": st.Hash, "unsigned": st.Unsigned}}
	if st.Unsigned {
		body["warning"] = "UNSIGNED POLICY: development mode; safeguards can be changed without the required signatures"
	}
	if g.cfg.AuditStatus != nil {
		a := g.cfg.AuditStatus()
		body["audit"] = a
		if a.Degraded != "" {
			// Requests are being refused: say so where operators look.
			// A past failure stays in last_error, as history.
			body["status"] = "degraded"
		}
	}
	json.NewEncoder(w).Encode(body)
}

// servePolicyStatus serves the policy in force and the last refused
// activation to principals with the admin or auditor role.
func (g *Gateway) servePolicyStatus(w http.ResponseWriter, r *http.Request) {
	p, err := g.authenticate(r)
	if err == nil && !p.HasRole("admin") && !p.HasRole("auditor") {
		err = brightline.Errorf(brightline.CodePermissionDenied, "the policy status needs the admin or auditor role")
	}
	if err != nil {
		g.writeError(w, r, openaiCodec, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(g.cfg.Policy.Status())
}

// newRequestID returns a fresh request ID: "req_", then the time t in
// Unix milliseconds (6 bytes) and 10 random bytes, in hex. IDs made
// later sort after earlier ones, so the audit index's request_id B-tree
// (and PostgreSQL's) grows at its right edge. With wholly random IDs,
// each batch of index rows rewrote leaf pages all over that B-tree:
// BenchmarkRecordAuditEntries took 25 µs of CPU per row at 100,000 rows
// against 10 µs with ordered IDs, and 38 against 10 at 512,000 rows: the
// gap grows with the table.
func newRequestID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return "req_" + hex.EncodeToString(b[:])
}

// errNoKey is reported when a request carries no API key at all.
var errNoKey = errors.New("no API key")
