package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/mcpproxy"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/toolclass"
)

// approvalKeyFile holds the Ed25519 key that signs approval tokens.
const approvalKeyFile = "approval.key"

// openAudit opens the audit log in <data>/log and its journal in
// <data>/journal, with the log key and body key establishKeys made or
// checked. It returns the log key's verifier, which auditors need.
func openAudit(ctx context.Context, cfg *Config, db dataStore, reg prometheus.Registerer, log *slog.Logger) (*auditlog.Log, string, error) {
	path := filepath.Join(cfg.DataDir, auditlog.KeyFile)
	signer, vkey, err := auditlog.LoadKey(path, cfg.Audit.Origin)
	if err != nil {
		return nil, "", sharedKeyError("the audit log key", path, err)
	}
	path = filepath.Join(cfg.DataDir, auditlog.BodyKeyFile)
	bodyKey, err := auditlog.LoadBodyKey(path)
	if err != nil {
		return nil, "", sharedKeyError("the key that encrypts audited request bodies", path, err)
	}
	var witnesses []auditlog.Witness
	for i, w := range cfg.Audit.Witnesses {
		v, err := auditverify.NewWitnessVerifier(w.VKey)
		if err != nil {
			return nil, "", fmt.Errorf("audit.witnesses[%d]: %w", i, err)
		}
		witnesses = append(witnesses, auditlog.Witness{URL: w.URL, Verifier: v})
	}
	journal, elector := fleetJournal(db)
	l, err := auditlog.Open(ctx, auditlog.Config{
		Dir:           filepath.Join(cfg.DataDir, auditlog.DirName),
		Signer:        signer,
		Index:         db,
		BodyKey:       bodyKey,
		BodyRetention: cfg.Audit.BodyRetention,
		Witnesses:     witnesses,
		WitnessQuorum: cfg.Audit.WitnessQuorum,
		QueueSize:     cfg.Audit.QueueSize,
		JournalDir:    filepath.Join(cfg.DataDir, auditlog.JournalDirName),
		Release:       cfg.Audit.Release,
		MMD:           cfg.Audit.MMD,
		Journal:       journal,
		Elector:       elector,
		Registerer:    reg,
		Logger:        log,
	})
	if err != nil {
		return nil, "", fmt.Errorf("couldn't open the audit log: %w", err)
	}
	return l, vkey, nil
}

// defaultOrigin names a new log "brightline/HOST/audit-XXXXXXXX", with
// random hex so that two deployments on hosts of the same name differ.
func defaultOrigin() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return -1
	}, host)
	if host == "" {
		host = "localhost"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("brightline/%s/audit-%x", host, b)
}

// auditApproval records one approval state change. Arguments stay out of
// the log: it names the call by its digest.
func auditApproval(l *auditlog.Log) func(context.Context, approval.Event) error {
	return func(ctx context.Context, ev approval.Event) error {
		a := ev.Approval
		e := auditlog.Entry{
			Kind:          "approval",
			RequestID:     a.RequestID,
			PrincipalID:   a.Principal.ID,
			PolicyVersion: a.PolicyVersion,
			Action:        ev.Type,
			ApprovalIDs:   []string{a.ID},
			Detail: map[string]string{
				"status": string(a.Status), "tool": a.Tool, "class": a.Class,
				"args_digest": a.ArgsDigest, "rule": a.Rule,
			},
		}
		if ev.By != "" {
			e.Detail["decided_by"] = ev.By
		}
		if a.Upstream != "" {
			e.Detail["upstream"] = a.Upstream
		}
		if p := a.Principal.Who(); p != "" {
			e.Detail["requester_person"] = p
		}
		if ev.Type == approval.EventConsumed {
			// The one who ran the call, which may be a delegate.
			e.Detail["presented_by"] = ev.By
			e.Detail["upstream"] = ev.Upstream
		}
		if a.Rule != "" {
			e.Matches = []auditlog.Match{{Rule: a.Rule, Action: string(brightline.ActionRequireApproval)}}
		}
		_, err := l.Append(ctx, e, nil)
		return err
	}
}

// openApprovals starts the approval service, with the token key in
// <data>/approval.key that establishKeys made or checked.
func openApprovals(cfg *Config, db dataStore, l *auditlog.Log, log *slog.Logger) (*approval.Service, error) {
	path := filepath.Join(cfg.DataDir, approvalKeyFile)
	key, err := approval.LoadKey(path)
	if err != nil {
		return nil, sharedKeyError("the approval token key", path, err)
	}
	return approval.New(approval.Config{Store: db, Keys: db, Signer: key, Record: auditApproval(l), BaseURL: cfg.Approvals.BaseURL, Logger: log})
}

// sharedKeyError is the error of reading what, a shared key at path,
// after establishKeys made or checked it. serve never makes a shared key
// after that check: a file missing now was removed under the gateway.
func sharedKeyError(what, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, auditlog.ErrNoBodyKey) {
		return fmt.Errorf("%w: %s (%s) is gone since the gateway checked it at start; restore it from backup, or mount the data_dir the other replicas use", errKeyMissing, what, path)
	}
	return fmt.Errorf("couldn't load %s: %w", what, err)
}

// isAuditor reports whether r carries the API key of a principal with the
// auditor role: only auditors may read the log's entry bundles.
func isAuditor(gw *gateway.Gateway) func(*http.Request) bool {
	return func(r *http.Request) bool {
		p, err := gw.Principal(r)
		return err == nil && slices.Contains(p.Roles, "auditor")
	}
}

// openMCP starts the MCP proxy for the configured servers, or returns nil
// if there are none. Tool classes and decisions come from the one decider
// (internal/safeguard) under the policy in force: each call is decided at
// stage tool_call with its real arguments and the caller's principal, and
// every forwarded call is appended to l first. surv is the gateway's own
// counter state, so that rules on counters see the same numbers at the
// proxy as at the gateway.
func openMCP(ctx context.Context, cfg *Config, tools *policy.ToolEffects, surv *safeguard.Surveillance, pol gateway.PolicySource, svc *approval.Service, gw *gateway.Gateway, l *auditlog.Log, log *slog.Logger) (*mcpproxy.Proxy, error) {
	if len(cfg.MCP.Servers) == 0 {
		return nil, nil
	}
	var ups []mcpproxy.Upstream
	for _, s := range cfg.MCP.Servers {
		ups = append(ups, mcpproxy.Upstream{Name: s.Name, URL: s.URL, Command: s.Command, Env: s.Env})
	}
	dec := safeguard.New(safeguard.Config{Tools: tools, Surveillance: surv})
	return mcpproxy.New(ctx, mcpproxy.Config{
		Upstreams: ups,
		Classify: func(name string, t toolclass.Tool) (string, bool) {
			e := dec.Effect(pol.Current(), name, &t)
			return e.Class, e.Declared || e.Raised
		},
		Decide: mcpproxy.DecideWith(dec, pol.Current, nil),
		Audit: func(ctx context.Context, e auditlog.Entry) error {
			_, err := l.Append(ctx, e, nil)
			return err
		},
		Approvals: svc,
		WaitLimit: cfg.MCP.Wait,
		Auth:      gw.Principal,
		Logger:    log,
	})
}
