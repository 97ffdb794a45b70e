package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
)

const checkUsage = "usage: brightline check [-config FILE] [-principal-key KEY | -principal NAME [-person P] [-org ORG] [-purpose PURPOSE] [-role ROLE]...]\n" +
	"                        [-dialect openai|anthropic] [-header 'Name: value']... [-time TIME] [-tool-call 'NAME={...}']... REQUEST.json"

// checkResult is what brightline check prints.
type checkResult struct {
	Decision brightline.Decision `json:"decision"`
	Input    *policy.Input       `json:"input"`
	// ToolCalls are the decisions of the -tool-call calls, as if the
	// model's answer to the request made them; only a request the gateway
	// would forward gets an answer, so they are absent otherwise.
	ToolCalls []checkToolCall `json:"tool_calls,omitempty"`
}

// checkToolCall is the decision of one -tool-call.
type checkToolCall struct {
	Name     string              `json:"name"`
	Effect   safeguard.Effect    `json:"effect"`
	Decision brightline.Decision `json:"decision"`
	Input    *policy.Input       `json:"input"`
}

func runCheck(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("check", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	principalKey := fs.String("principal-key", "", "decide as the principal of this API `key` (looked up in the data directory); @FILE reads it from FILE")
	name := fs.String("principal", "", "decide as a principal with this `name`")
	person := fs.String("person", "", "the person who holds the -principal's key")
	org := fs.String("org", "", "organisation of the -principal")
	purpose := fs.String("purpose", "", "declared purpose of the -principal")
	var roles, headers, toolCalls stringList
	fs.Var(&roles, "role", "a role of the -principal; repeat for several")
	fs.Var(&headers, "header", "a request header 'Name: value' (for metadata_headers); repeat for several")
	fs.Var(&toolCalls, "tool-call", "decide a tool call 'NAME' or 'NAME={JSON arguments}' in the answer; repeat for several")
	dialect := fs.String("dialect", "openai", "the request body's `dialect`: openai (Chat Completions) or anthropic (Messages)")
	at := fs.String("time", "", "decide as at this RFC 3339 `time` (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*principalKey != "" && (*name != "" || *person != "" || *org != "" || *purpose != "" || len(roles) > 0)) {
		fmt.Fprintln(e.stderr, checkUsage)
		return errUsage
	}
	now, err := checkTime(*at)
	if err != nil {
		return err
	}
	hdr, err := headerFlags(headers)
	if err != nil {
		return err
	}
	body, err := readInput(fs.Arg(0), e)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	principal := brightline.Principal{Name: *name, Person: *person, Org: *org, Purpose: *purpose, Roles: roles}
	if *principalKey != "" {
		if principal, err = principalOfKey(ctx, cfg, *principalKey); err != nil {
			return err
		}
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("serve would refuse the configured policy: %w", err)
	}
	req, err := decodeRequest(*dialect, body, hdr, lp.Policy)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
	}
	// One request and no history: the counters count this request alone,
	// as a gateway would for a principal's first request.
	dec := safeguard.New(safeguard.Config{Tools: tools, Surveillance: dryRunSurveillance(nil)})
	x, err := dec.Request(lp.Policy, principal, req, hdr, now)
	if err != nil {
		return fmt.Errorf("the policy couldn't decide the request, so the gateway would refuse it (policy_error): %w", err)
	}
	res := checkResult{Decision: x.Decision, Input: x.Input}
	if forwarded(x.Decision) {
		if res.ToolCalls, err = decideToolCalls(x, toolCalls); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// checkTime is the time of -time at, or now if at is empty.
func checkTime(at string) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("-time %q is not an RFC 3339 time like 2026-11-23T12:00:00Z", at)
	}
	return t, nil
}

// headerFlags parses the -header flags, each "Name: value".
func headerFlags(headers []string) (http.Header, error) {
	hdr := make(http.Header)
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("-header %q is not 'Name: value'", h)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return hdr, nil
}

// decideToolCalls decides the -tool-call calls, each "NAME" or
// "NAME={JSON arguments}", as tool calls in the answer to the request x
// decided.
func decideToolCalls(x *safeguard.Exchange, toolCalls []string) ([]checkToolCall, error) {
	var out []checkToolCall
	for _, tc := range toolCalls {
		name, args, _ := strings.Cut(tc, "=")
		o, err := x.ToolCall(name, json.RawMessage(args), "")
		if err != nil {
			return nil, fmt.Errorf("-tool-call %s: the gateway would withhold the call: %w", name, err)
		}
		out = append(out, checkToolCall{Name: name, Effect: o.Effect, Decision: o.Decision, Input: o.Input})
	}
	return out, nil
}

// forwarded reports whether the gateway forwards a request so decided,
// and so gets an answer whose tool calls are decided.
func forwarded(d brightline.Decision) bool {
	return d.Action.Rank() < brightline.ActionRequireApproval.Rank()
}

// readInput reads the file at path, or standard input for "-".
func readInput(path string, e *env) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("couldn't read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read request: %w", err)
	}
	return b, nil
}

// decodeRequest decodes a client request body in the named dialect, with
// its headers, exactly as the gateway's endpoint for that dialect does
// under policy p.
func decodeRequest(dialect string, body []byte, hdr http.Header, p *policy.Policy) (*llm.Request, error) {
	req, err := gateway.DecodeRequest(brightline.Dialect(dialect), body, hdr, p)
	if e, ok := errors.AsType[*brightline.Error](err); ok {
		return nil, fmt.Errorf("couldn't decode the body as an %s request (the gateway would answer 400): %s", dialect, e.Message)
	}
	return req, err
}

// principalOfKey looks up the principal of an API key in cfg's store,
// which must exist.
func principalOfKey(ctx context.Context, cfg *Config, key string) (brightline.Principal, error) {
	if ok, err := storeExists(cfg); !ok {
		return brightline.Principal{}, fmt.Errorf("couldn't look up -principal-key: no database at %s: %w", filepath.Join(cfg.DataDir, sqliteFile), err)
	}
	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return brightline.Principal{}, err
	}
	defer db.Close()
	if file, ok := strings.CutPrefix(key, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return brightline.Principal{}, fmt.Errorf("couldn't read -principal-key: %w", err)
		}
		key = string(b)
	}
	p, err := db.PrincipalByKeyHash(ctx, brightline.HashKey(strings.TrimSpace(key)))
	if errors.Is(err, brightline.ErrNotFound) {
		return p, errors.New("-principal-key matches no active API key (brightline keys list shows them)")
	}
	return p, err
}
