package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

// This file connects serve and the commands that inspect a policy to
// package bundle, which decides which policy is in force: the embedded
// default, an unsigned file (development), or a signed bundle checked
// against the trust config and the store's record of the active version.
// serve keeps a bundle current with a bundle.Source; the policy, check
// and replay commands use the same checks through loadConfiguredPolicy.

// bundleConfig returns the policy settings as package bundle takes them.
func (pc *PolicyConfig) bundleConfig() bundle.Config {
	return bundle.Config{File: pc.File, Trust: pc.trust(), Rotation: pc.Trust.Rotation,
		Unsigned: pc.Unsigned, PollInterval: pc.PollInterval}
}

// loadConfiguredPolicy returns the policy serve would put in force with
// cfg, for the commands that inspect or dry-run it. The rollback check uses
// the active version recorded in the data directory, if there is a
// database there; checkRollback false skips it. It creates nothing.
//
// With checkRollback, a data directory that has pinned a trust root also
// decides which trust set verifies the bundle, as serve would (see
// bundle.Inspect).
func loadConfiguredPolicy(ctx context.Context, cfg *Config, checkRollback bool) (*bundle.Loaded, error) {
	var active store.PolicyActivation
	var root store.TrustRoot
	if checkRollback {
		var err error
		if active, root, err = storedPolicyState(ctx, cfg); err != nil {
			return nil, err
		}
	}
	bc := cfg.Policy.bundleConfig()
	return bundle.Inspect(&bc, active, root, cfg.DataDir, time.Now())
}

// storedPolicyState reads the active policy activation and the trust root
// from cfg's store, without creating a SQLite database: no database means
// neither yet.
func storedPolicyState(ctx context.Context, cfg *Config) (store.PolicyActivation, store.TrustRoot, error) {
	if ok, err := storeExists(cfg); !ok {
		if err != nil {
			return store.PolicyActivation{}, store.TrustRoot{}, &bundle.LoadError{Class: "store", Err: err}
		}
		return store.PolicyActivation{}, store.TrustRoot{}, nil
	}
	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return store.PolicyActivation{}, store.TrustRoot{}, &bundle.LoadError{Class: "store", Err: err}
	}
	defer db.Close()
	return bundle.ReadState(ctx, db)
}

// establishTrust checks cfg's policy settings against the store's trust
// root and the log's anchor (see bundle.EstablishTrust). record, if set,
// appends to the audit log.
func establishTrust(ctx context.Context, pc *PolicyConfig, st bundle.Store, anchor auditlog.Anchor, allowUnsigned bool,
	record func(context.Context, auditlog.Entry) error) (*bundle.TrustPlan, error) {
	bc := pc.bundleConfig()
	return bundle.EstablishTrust(ctx, &bc, st, bundle.Anchor(anchor), allowUnsigned, auditJournal(record))
}

// servePolicy returns the policy source for serve and a function that
// keeps it current until ctx is done, reloading on each value from hup and
// when the files change. Without a policy file the source is the embedded
// default and the function only logs that there is nothing to reload. An
// error means the gateway must not start.
//
// plan says which trust set verifies bundles (see establishTrust); nil
// means the configured one, with nothing pinned. record, if set, appends
// to the audit log: every activation before the policy is put in force
// (an error refuses the activation), every refused activation, and the
// trust root's entry when the first signed activation pins it. m, if set,
// counts activations.
func servePolicy(ctx context.Context, cfg *Config, st bundle.Store, plan *bundle.TrustPlan, log *slog.Logger, m *gateway.Metrics,
	record func(context.Context, auditlog.Entry) error) (gateway.PolicySource, func(context.Context, <-chan os.Signal), error) {
	if cfg.Policy.File == "" {
		log.Info("policy in force", "source", bundle.EmbeddedDefault, "hash", policy.Default().Hash())
		if record != nil {
			if err := record(ctx, policyEntry(bundle.Event{Result: "activated", Hash: policy.Default().Hash()})); err != nil {
				return nil, nil, fmt.Errorf("couldn't record the policy activation in the audit log: %w", err)
			}
		}
		return gateway.StaticPolicy{Policy: policy.Default(), Source: bundle.EmbeddedDefault},
			func(ctx context.Context, hup <-chan os.Signal) {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						log.Info("SIGHUP: no policy file is configured, so there is nothing to reload")
					}
				}
			}, nil
	}
	s := newPolicySource(cfg.Policy, st, plan, log, m, record)
	if err := s.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("couldn't put the policy in force: %w", err)
	}
	return s, s.Watch, nil
}

// newPolicySource returns the bundle.Source of a configured policy file,
// not yet started, as the gateway's policy source.
func newPolicySource(pc PolicyConfig, st bundle.Store, plan *bundle.TrustPlan, log *slog.Logger, m *gateway.Metrics,
	record func(context.Context, auditlog.Entry) error) policySource {
	s := &bundle.Source{Config: pc.bundleConfig(), Plan: plan, Store: st, Log: log, Journal: auditJournal(record)}
	if m != nil {
		s.OnEvent = func(ev bundle.Event) { m.PolicyActivation(ev.Result, ev.Class) }
	}
	return policySource{s}
}

// policySource is a bundle.Source as the gateway's policy source.
type policySource struct{ *bundle.Source }

var _ gateway.PolicySource = policySource{}

// Status implements gateway.PolicySource.
func (s policySource) Status() gateway.PolicyStatus {
	st := s.Source.Status()
	g := gateway.PolicyStatus{Source: st.Source, Version: st.Version, Hash: st.Hash, Signers: st.Signers,
		Unsigned: st.Unsigned, ActivatedAt: st.ActivatedAt}
	if r := st.LastRefusal; r != nil {
		g.LastRefusal = &gateway.PolicyRefusal{At: r.At, Version: r.Version, Reason: r.Reason}
	}
	return g
}

// auditJournal returns the bundle.Journal that appends entries through
// record, or nil if record is nil.
func auditJournal(record func(context.Context, auditlog.Entry) error) bundle.Journal {
	if record == nil {
		return nil
	}
	return recordJournal(record)
}

// recordJournal is a bundle.Journal appending through a function.
type recordJournal func(context.Context, auditlog.Entry) error

func (r recordJournal) RecordPolicy(ctx context.Context, ev bundle.Event) error {
	return r(ctx, policyEntry(ev))
}

func (r recordJournal) RecordTrustRoot(ctx context.Context, root store.TrustRoot, t bundle.Trust) error {
	return r(ctx, trustRootEntry(root, t))
}

// policyEntry is the audit-log entry of a policy activation or refused
// activation. A signed activation carries its manifest note, so that an
// auditor can check its signatures against the trust set they expect
// (brightline audit verify -trust); an unsigned one says so.
func policyEntry(ev bundle.Event) auditlog.Entry {
	kind := auditlog.KindPolicyActivation
	if ev.Result == "refused" {
		kind = auditlog.KindPolicyRefused
	}
	e := auditlog.Entry{Kind: kind, PolicyHash: ev.Hash, PolicyVersion: ev.Version, TrustHash: ev.TrustHash, Action: ev.Result,
		Detail: map[string]string{}}
	if len(ev.Signers) > 0 {
		e.Detail["signers"] = fmt.Sprint(ev.Signers)
	}
	if ev.Class != "" {
		e.Detail["reason"] = ev.Class
	}
	if ev.Note != nil {
		e.Detail["note"] = string(ev.Note)
	}
	if ev.Result == "activated" && ev.Note == nil {
		e.Detail["signed"] = "false"
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return e
}

// trustRootEntry is the log entry that records trust root r, whose set
// is t. A rotation carries its signed note, so that auditors can check it
// against the set before.
func trustRootEntry(r store.TrustRoot, t bundle.Trust) auditlog.Entry {
	e := auditlog.Entry{Kind: auditlog.KindTrustRoot, Action: "pinned", TrustHash: r.Hash, Detail: map[string]string{
		"seq": fmt.Sprint(r.Seq), "trust_hash": r.Hash, "trust": t.Text(),
	}}
	if r.Rotation != nil {
		e.Action = "rotated"
		e.Detail["rotation"] = string(r.Rotation)
	}
	return e
}
