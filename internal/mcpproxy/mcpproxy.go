// Package mcpproxy stands in front of MCP servers and enforces the
// human-control safeguard where tools actually run: a tool call that needs
// approval reaches the upstream server only after the required people have
// approved that exact call, and then only once.
//
// The proxy is itself an MCP server (Streamable HTTP, from
// github.com/modelcontextprotocol/go-sdk), one per configured upstream.
// Upstreams are Streamable HTTP servers or stdio servers the proxy launches.
//
// # Tools
//
// tools/list mirrors the upstream's tools, each annotated in its _meta
// with the effect class ("brightline/effect": "informational",
// "consequential" or "force"), whether an operator declared it
// ("brightline/effect_declared") and the classifier's reason
// ("brightline/effect_reason"). Names, descriptions and schemas pass
// through unchanged, so an agent's prompt is the same with or without the
// proxy; _meta is where MCP puts such annotations, and clients that do not
// know the keys ignore them. The list is read when the proxy starts and
// again whenever the upstream says it changed.
//
// # Decisions
//
// Every tools/call is decided by [Config.Decide] at stage tool_call with
// its real arguments, the caller's principal and the request's headers
// (for request.metadata), and the upstream it targets. An error fails
// closed: the call is refused. A deny is a tool error result naming the
// rule, never an approval, so no approver can release a denied call.
// Allow runs the call; require_approval holds it.
//
// # The audit log
//
// Every call the proxy forwards is first appended to the audit log through
// [Config.Audit] as a decision entry (stage tool_call, the policy hash and
// version, the matched rules, the approval that released it if any, the
// upstream and the argument digest, never the arguments). If the append
// fails the call is refused and not forwarded. Denials are appended too.
//
// # Calls that need approval
//
// A held call is bound to the caller, to the digest of the tool name and
// exact arguments (see approval.Digest) and to the upstream's identity,
// approval.MCPUpstream(name, URL or command): the proxy runs only
// approvals bound to exactly its own upstream, so a call approved for one
// server never runs at another, and a call the gateway withheld (bound to
// approval.GatewayUpstream) never runs through the proxy. The proxy then
// waits up to [Config.WaitLimit] for the decision.
// If none comes, it answers with a tool error result (isError: true) whose
// text says what is held and why, and whose _meta carries
// "brightline/approval": {"id", "status", "status_url", "expires_at"}; the
// agent comes back by calling again with the same arguments. Calling again
// while the approval is pending returns the same approval rather than a
// new one. A requester (person) with the policy's maximum of pending
// approvals gets an HTTP 429 (JSON-RPC error with the rate_limited code in
// its data) instead of another approval.
//
// A call runs when either
//
//   - the caller has an approved, unconsumed, unexpired approval of exactly
//     this call at this upstream (the digest is recomputed from the
//     arguments being forwarded): the approval is consumed and the call
//     forwarded once; or
//   - the call's _meta carries "brightline/approval_token", a token from
//     GET /brightline/v1/approvals/{id}: it is verified against these
//     arguments and this upstream, and consumed; only the requester's
//     person or a delegate named in the approval may present it, and
//     only while the requester's key is active.
//
// Consumption is a compare-and-swap in the approval store, so of two
// identical calls racing on one approval exactly one runs; the other is
// held again. Changed arguments have another digest and are held. A
// denial or an expiry is reported as a tool error naming it. An approval
// is consumed before the call is forwarded: if the upstream then fails the
// call did not run, and it needs a new approval (fail closed).
//
// The proxy keeps in memory only which pending approval answers a repeated
// call, to avoid asking approvers twice; approvals themselves live in the
// approval store, so any replica can run an approved call.
//
// # Callers
//
// Every HTTP request is authenticated with [Config.Auth] (the gateway's
// API keys) before the MCP server sees it, and every tools/call is
// attributed to the principal its own request authenticated as, so a
// session id taken from another caller gains nothing.
package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/toolclass"
)

var _ Approvals = (*approval.Service)(nil)

// Upstream is one MCP server behind the proxy. Exactly one of URL and
// Command is set.
type Upstream struct {
	// Name identifies the upstream in the proxy's path, /mcp/{Name}.
	Name string
	// URL is a Streamable HTTP endpoint, e.g. "http://127.0.0.1:9000/mcp".
	URL string
	// Command launches a stdio server: the program and its arguments.
	Command []string
	// Env is the launched server's entire environment, as "KEY=value"
	// lines; nothing of the gateway's environment (which holds provider
	// keys) is passed on. Include PATH and HOME if the server needs them.
	Env []string
}

// Approvals is the part of approval.Service the proxy uses.
type Approvals interface {
	// Create holds a call and returns the pending approval.
	Create(ctx context.Context, r approval.Request) (approval.Approval, error)
	// Get returns an approval, expiring it first if it is past its
	// expiry; an unknown id is an error wrapping brightline.ErrNotFound.
	Get(ctx context.Context, id string) (approval.Approval, error)
	// Wait returns an approval once it is no longer pending, or ctx's
	// error when ctx is done first.
	Wait(ctx context.Context, id string) (approval.Approval, error)
	// FindApproved returns an approved, unconsumed, unexpired approval of
	// the call with digest by principalID bound to upstream, or an error
	// wrapping brightline.ErrNotFound.
	FindApproved(ctx context.Context, principalID, digest, upstream string) (approval.Approval, error)
	// Token returns a signed single-use token for an approved approval.
	Token(ctx context.Context, id string) (string, error)
	// Consume verifies token against the call and uses it up,
	// atomically; a replay wraps approval.ErrConsumed, changed arguments
	// approval.ErrDigestMismatch, another upstream
	// approval.ErrWrongUpstream.
	Consume(ctx context.Context, token string, c approval.Call) (approval.Approval, error)
	// StatusURL is where the requester can follow an approval.
	StatusURL(id string) string
}

// Config configures a [Proxy].
type Config struct {
	// Upstreams are the servers to stand in front of. Names must be
	// unique and non-empty.
	Upstreams []Upstream
	// Classify returns a tool's effect class and whether an operator
	// declared it. Nil means toolclass.Classify, undeclared.
	Classify func(name string, t toolclass.Tool) (class string, declared bool)
	// Decide decides principal p's call at stage tool_call. An error
	// refuses the call (fail closed). Nil means: force calls need one
	// approver with the role "weapons-release-authority", other calls are
	// allowed, under no policy (empty hash).
	Decide func(ctx context.Context, p brightline.Principal, c ToolCall) (Verdict, error)
	// Audit appends an entry to the audit log and returns once it is
	// durable. Every forwarded call is appended before it is forwarded;
	// if Audit fails, the call is refused. Required (in serve:
	// auditlog.Log.Append).
	Audit func(ctx context.Context, e auditlog.Entry) error
	// Approvals holds and decides calls. Required; *approval.Service.
	Approvals Approvals
	// ApprovalTTL is how long a held call may wait for approval. Zero
	// means the approval service's default.
	ApprovalTTL time.Duration
	// WaitLimit is how long a held tools/call waits for the decision
	// before it answers that the call is held. Zero answers at once.
	WaitLimit time.Duration
	// Auth authenticates each HTTP request. Required.
	Auth func(*http.Request) (brightline.Principal, error)
	// Logger receives operational messages. Nil means slog.Default().
	Logger *slog.Logger
}

// ToolCall is one tools/call as the proxy asks [Config.Decide] about it.
type ToolCall struct {
	// Upstream is the identity of the upstream the call targets,
	// approval.MCPUpstream(name, server); UpstreamName is its name.
	Upstream     string
	UpstreamName string
	Name         string          // the tool
	Tool         toolclass.Tool  // its definition, from the upstream's tools/list
	Class        string          // its effect class as tools/list showed it
	Declared     bool            // whether an operator declared the class
	Arguments    json.RawMessage // the call's arguments, a JSON object
	Header       http.Header     // the HTTP request's headers, for request.metadata
}

// Verdict is the decision on one tools/call.
type Verdict struct {
	// Decision is the policy's decision: action, winning rule, matches,
	// policy hash and version. Allow and annotate run the call;
	// require_approval holds it; deny, and anything else, refuses it.
	Decision brightline.Decision
	// Class is the tool's effect class the decision was made with; empty
	// means ToolCall.Class.
	Class string
	// Require says who must approve a held call.
	Require approval.Requirement
	// TTL is how long a held call waits; zero means Config.ApprovalTTL.
	TTL time.Duration
	// MaxPending is the most approvals the caller's person may have
	// pending, from the signed policy; zero means the approval service's
	// default.
	MaxPending int
}

// DefaultApproverRole is the role that approves force calls when
// [Config.NeedsApproval] is nil.
const DefaultApproverRole = "weapons-release-authority"

// Meta keys the proxy reads and writes.
const (
	MetaEffect         = "brightline/effect"          // on tools: the effect class
	MetaEffectDeclared = "brightline/effect_declared" // on tools: true if an operator declared the class
	MetaEffectReason   = "brightline/effect_reason"   // on tools: why the classifier chose the class
	MetaApproval       = "brightline/approval"        // on held results: {"id","status","status_url","expires_at"}
	MetaApprovalToken  = "brightline/approval_token"  // on calls: an approval token to consume
)

// defaultDecide holds force calls for DefaultApproverRole and allows the
// rest; it is Config.Decide when none is given.
func defaultDecide(_ context.Context, _ brightline.Principal, c ToolCall) (Verdict, error) {
	d := brightline.Decision{Stage: brightline.StageToolCall, Action: brightline.ActionAllow}
	if c.Class == toolclass.Force {
		d.Action, d.Safeguard, d.Rule = brightline.ActionRequireApproval, "human-control-of-force", "human-control-of-force"
		d.Matches = []brightline.Match{{Safeguard: d.Safeguard, Rule: d.Rule, Action: d.Action}}
	}
	return Verdict{Decision: d, Require: approval.Requirement{Role: DefaultApproverRole, Count: 1}}, nil
}

// Proxy serves the upstreams' tools with approvals enforced.
type Proxy struct {
	cfg       Config
	log       *slog.Logger
	upstreams map[string]*upstream
	handler   http.Handler

	pendingMu sync.Mutex
	pending   map[pendingKey]string // held call → id of its pending approval; guarded by pendingMu
}

// pendingKey names a held call: the upstream, who made it and its digest.
type pendingKey struct{ upstream, principal, digest string }

// New connects to every upstream, reads its tools and returns the proxy.
// ctx bounds only the connecting; Close ends the connections.
func New(ctx context.Context, cfg Config) (*Proxy, error) {
	switch {
	case cfg.Approvals == nil:
		return nil, errors.New("couldn't start the MCP proxy: no approval service")
	case cfg.Auth == nil:
		return nil, errors.New("couldn't start the MCP proxy: no authentication")
	case cfg.Audit == nil:
		return nil, errors.New("couldn't start the MCP proxy: no audit log")
	case len(cfg.Upstreams) == 0:
		return nil, errors.New("couldn't start the MCP proxy: no upstreams")
	}
	if cfg.Classify == nil {
		cfg.Classify = func(_ string, t toolclass.Tool) (string, bool) { return toolclass.Classify(t).Class, false }
	}
	if cfg.Decide == nil {
		cfg.Decide = defaultDecide
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, upstreams: map[string]*upstream{}, pending: map[pendingKey]string{}}
	if p.log == nil {
		p.log = slog.Default()
	}
	for i, u := range cfg.Upstreams {
		switch {
		case u.Name == "" || strings.Contains(u.Name, "/"):
			p.Close()
			return nil, fmt.Errorf("couldn't start the MCP proxy: upstream %d has name %q; want a non-empty name without '/'", i, u.Name)
		case p.upstreams[u.Name] != nil:
			p.Close()
			return nil, fmt.Errorf("couldn't start the MCP proxy: upstream %q is listed twice", u.Name)
		case (u.URL == "") == (len(u.Command) == 0):
			p.Close()
			return nil, fmt.Errorf("couldn't start the MCP proxy: upstream %q needs exactly one of a URL and a command", u.Name)
		}
		up, err := p.connect(ctx, u)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("couldn't start the MCP proxy: %w", err)
		}
		p.upstreams[u.Name] = up
	}
	p.handler = http.HandlerFunc(p.serveHTTP)
	return p, nil
}

// Handler serves the proxy's MCP endpoints. Mount it at "/mcp/{upstream}":
// it takes the upstream's name from the path value "upstream", or else
// from the last element of the path.
func (p *Proxy) Handler() http.Handler { return p.handler }

// Close ends the upstream sessions and stops the servers the proxy
// launched.
func (p *Proxy) Close() error {
	var errs []error
	for _, u := range p.upstreams {
		errs = append(errs, u.close())
	}
	return errors.Join(errs...)
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("upstream")
	if name == "" {
		path := strings.TrimSuffix(r.URL.Path, "/")
		name = path[strings.LastIndexByte(path, '/')+1:]
	}
	if _, err := p.cfg.Auth(r); err != nil {
		p.log.Info("mcp proxy: request refused", "upstream", name, "err", err)
		httpError(w, err)
		return
	}
	u := p.upstreams[name]
	if u == nil {
		httpError(w, brightline.Errorf(brightline.CodeNotFound, "no MCP upstream named %q", name))
		return
	}
	u.http.ServeHTTP(w, r)
}

// httpError answers an HTTP request the MCP server never saw. MCP clients
// read the status; the body is a short JSON error in the gateway's style.
func httpError(w http.ResponseWriter, err error) {
	code := brightline.ErrorCodeOf(err)
	status := http.StatusInternalServerError
	msg := "internal error"
	switch code {
	case brightline.CodeUnauthenticated:
		status, msg = http.StatusUnauthorized, "missing or unknown API key"
	case brightline.CodePermissionDenied:
		status, msg = http.StatusForbidden, "not allowed"
	case brightline.CodeNotFound:
		status, msg = http.StatusNotFound, "not found"
	case brightline.CodeRateLimited:
		status, msg = http.StatusTooManyRequests, "too many requests"
	}
	var e *brightline.Error
	if errors.As(err, &e) && e.Message != "" {
		msg = e.Message
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\":{\"code\":%q,\"message\":%q}}\n", code, msg)
}

// principal authenticates the HTTP request that carried a tools/call.
func (p *Proxy) principal(ctx context.Context, req *mcp.CallToolRequest) (brightline.Principal, error) {
	extra := req.Extra
	if extra == nil || extra.Header == nil {
		return brightline.Principal{}, errors.New("tools/call arrived without its HTTP request headers")
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return brightline.Principal{}, err
	}
	r.Header = extra.Header
	return p.cfg.Auth(r)
}
