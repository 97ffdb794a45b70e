package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/scan"
	"github.com/brightline/brightline/internal/toolclass"
)

// The commands below live with the package they drive; this file only
// finds their configuration and maps their exit codes.

// exitStatus turns a delegated command's exit code into run's error.
func exitStatus(code int) error {
	switch code {
	case 0:
		return nil
	case 2:
		return errUsage
	}
	return errExit{code}
}

func runAudit(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	open := func(ctx context.Context) (auditlog.EntryIndex, error) {
		if ok, err := storeExists(cfg); !ok {
			if err != nil {
				return nil, fmt.Errorf("no local index: %w", err)
			}
			return nil, fmt.Errorf("no local index: no database at %s", filepath.Join(cfg.DataDir, sqliteFile))
		}
		return openDataStore(ctx, cfg)
	}
	return exitStatus(auditlog.Command(ctx, args, cfg.DataDir, open, e.stdout, e.stderr))
}

func runScan(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	return exitStatus(scan.Command(ctx, args, cfg.DataDir, e.stdout, e.stderr))
}

func runApprovals(ctx context.Context, args []string, e *env) error {
	return exitStatus(approval.Command(ctx, args, e.getenv, e.stdout, e.stderr))
}

func runTools(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "classify" {
		fmt.Fprintln(e.stderr, "usage: brightline tools [-config FILE] classify [FILE]")
		return errUsage
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return err
	}
	// What the signed policy declares, raised by the config, as the
	// gateway resolves it; the classifier decides the rest.
	dec := safeguard.New(safeguard.Config{Tools: tools})
	declared := func(name string) string {
		if eff := dec.Effect(lp.policy, name, nil); eff.Declared || eff.Raised {
			return eff.Class
		}
		return ""
	}
	return exitStatus(toolclass.Command(ctx, args[1:], declared, e.stdin, e.stdout, e.stderr))
}
