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
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

const checkUsage = "usage: brightline check [-config FILE] [-principal-key KEY | -principal NAME [-org ORG] [-purpose PURPOSE] [-role ROLE]...]\n" +
	"                        [-dialect openai|anthropic] [-header 'Name: value']... [-time TIME] REQUEST.json"

// checkResult is what brightline check prints.
type checkResult struct {
	Decision brightline.Decision `json:"decision"`
	Input    *policy.Input       `json:"input"`
}

func runCheck(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("check", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	principalKey := fs.String("principal-key", "", "decide as the principal of this API `key` (looked up in the data directory); @FILE reads it from FILE")
	name := fs.String("principal", "", "decide as a principal with this `name`")
	org := fs.String("org", "", "organisation of the -principal")
	purpose := fs.String("purpose", "", "declared purpose of the -principal")
	var roles, headers stringList
	fs.Var(&roles, "role", "a role of the -principal; repeat for several")
	fs.Var(&headers, "header", "a request header 'Name: value' (for metadata_headers); repeat for several")
	dialect := fs.String("dialect", "openai", "the request body's `dialect`: openai (Chat Completions) or anthropic (Messages)")
	at := fs.String("time", "", "decide as at this RFC 3339 `time` (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*principalKey != "" && (*name != "" || *org != "" || *purpose != "" || len(roles) > 0)) {
		fmt.Fprintln(e.stderr, checkUsage)
		return errUsage
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("-time %q is not an RFC 3339 time like 2026-11-23T12:00:00Z", *at)
		}
		now = t
	}
	hdr := make(http.Header)
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("-header %q is not 'Name: value'", h)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	body, err := readInput(fs.Arg(0), e)
	if err != nil {
		return err
	}
	req, err := decodeRequest(*dialect, body)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	principal := brightline.Principal{Name: *name, Org: *org, Purpose: *purpose, Roles: roles}
	if *principalKey != "" {
		if principal, err = principalOfKey(ctx, cfg.DataDir, *principalKey); err != nil {
			return err
		}
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("serve would refuse the configured policy: %w", err)
	}
	in := gateway.RequestInput(lp.policy, principal, req, hdr, now)
	// One request: findings, but no history for the counters.
	(*gateway.Surveillance)(nil).Inspect(in, req)
	d, err := lp.policy.Evaluate(brightline.StageRequest, in)
	if err != nil {
		return fmt.Errorf("the policy couldn't decide the request, so the gateway would refuse it (policy_error): %w", err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(checkResult{Decision: d, Input: in})
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

// decodeRequest decodes a client request body in the named dialect, as the
// gateway's endpoint for that dialect does.
func decodeRequest(dialect string, body []byte) (*llm.Request, error) {
	var decode func([]byte) (*llm.Request, error)
	switch brightline.Dialect(dialect) {
	case brightline.DialectOpenAI:
		decode = openai.DecodeRequest
	case brightline.DialectAnthropic:
		decode = anthropic.DecodeRequest
	default:
		return nil, fmt.Errorf("unknown dialect %q: want openai or anthropic", dialect)
	}
	req, err := decode(body)
	if err != nil {
		msg := err.Error()
		if e, ok := errors.AsType[*brightline.Error](err); ok {
			msg = e.Message
		}
		return nil, fmt.Errorf("couldn't decode the body as an %s request (the gateway would answer 400): %s", dialect, msg)
	}
	return req, nil
}

// principalOfKey looks up the principal of an API key in the database in
// dataDir, which must exist.
func principalOfKey(ctx context.Context, dataDir, key string) (brightline.Principal, error) {
	path := filepath.Join(dataDir, "brightline.db")
	if _, err := os.Stat(path); err != nil {
		return brightline.Principal{}, fmt.Errorf("couldn't look up -principal-key: no database at %s: %w", path, err)
	}
	db, err := openDataStore(ctx, dataDir)
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
	p, err := db.PrincipalByKeyHash(ctx, store.HashKey(strings.TrimSpace(key)))
	if errors.Is(err, brightline.ErrNotFound) {
		return p, errors.New("-principal-key matches no active API key (brightline keys list shows them)")
	}
	return p, err
}
