package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/brightline/brightline/internal/auditlog"
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
