package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store"
)

// sharedKey is one of the secrets every gateway of a deployment shares,
// kept in the data directory (a shared volume when several replicas run).
type sharedKey struct {
	file string
	what string // for messages
	// make creates the file; it is called only when the file is missing
	// and the store has no record of it.
	make func(path string, log *slog.Logger) error
}

// sharedKeys lists the deployment's shared secrets. Each is made once,
// by `brightline init` or by the first gateway to start (under the
// store's init lock), and recorded in the store by fingerprint.
func sharedKeys(cfg *Config) []sharedKey {
	return []sharedKey{
		{auditlog.KeyFile, "the audit log key", func(path string, log *slog.Logger) error {
			_, vkey, _, err := auditlog.LoadOrCreateKey(path, logOrigin(cfg))
			if err == nil {
				log.Info("created the audit log key; give auditors its verifier key", "vkey", vkey, "file", path)
			}
			return err
		}},
		{auditlog.BodyKeyFile, "the key that encrypts audited request bodies", func(path string, log *slog.Logger) error {
			_, _, err := auditlog.LoadOrCreateBodyKey(path)
			if err == nil {
				log.Info("created the key that encrypts audited request bodies; keep it apart from database backups, `brightline audit open` needs it", "file", path)
			}
			return err
		}},
		{approvalKeyFile, "the approval token key", func(path string, log *slog.Logger) error {
			key, _, err := approval.LoadOrCreateKey(path)
			if err == nil {
				log.Info("created the approval token key", "file", path, "fingerprint", approval.Fingerprint(key.Public().(ed25519.PublicKey)))
			}
			return err
		}},
		{subjectKeyFile, "the subject-key secret", func(path string, log *slog.Logger) error {
			_, _, err := loadSubjectSecret(filepath.Dir(path))
			if err == nil {
				log.Info("created the subject-key secret; back it up with the database", "file", path)
			}
			return err
		}},
	}
}

// logOrigin is the origin a new audit log key is named with:
// audit.origin, or one unique to this deployment.
func logOrigin(cfg *Config) string {
	if cfg.Audit.Origin != "" {
		return cfg.Audit.Origin
	}
	// Witnesses and auditors tell logs apart by origin, so the default
	// is unique to this deployment.
	return defaultOrigin()
}

// errKeyMissing marks a shared key the store says the deployment has but
// the data directory lacks (or holds a different one of).
var errKeyMissing = errors.New("shared key missing or replaced")

// establishKeys makes sure the data directory holds the deployment's
// shared keys, and that they are the ones the store recorded. Under the
// store's init lock it makes, and records by fingerprint, each key the
// store has no record of (adopting a file already there, from before keys
// were recorded). A key the store has recorded but the data directory
// lacks, or holds a different one of, is an error: a gateway never makes
// its own, because a replica with its own subject secret or log key would
// split the deployment's counters or log. made lists the keys made now.
func establishKeys(ctx context.Context, cfg *Config, db store.Deployment, log *slog.Logger) (made []string, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("couldn't create data directory: %w", err)
	}
	err = db.WithInitLock(ctx, func(ctx context.Context) error {
		recorded, err := db.DeploymentKeys(ctx)
		if err != nil {
			return err
		}
		byName := make(map[string]store.DeploymentKey, len(recorded))
		for _, k := range recorded {
			byName[k.Name] = k
		}
		var fresh []store.DeploymentKey
		var errs []error
		for _, k := range sharedKeys(cfg) {
			path := filepath.Join(cfg.DataDir, k.file)
			fp, err := fingerprintFile(path)
			missing := errors.Is(err, fs.ErrNotExist)
			if err != nil && !missing {
				return fmt.Errorf("couldn't read %s: %w", k.what, err)
			}
			if r, ok := byName[k.file]; ok {
				switch {
				case missing:
					errs = append(errs, fmt.Errorf("%w: the deployment was initialised on %s with %s (%s), but %s does not exist; a gateway never makes its own shared keys: mount the data_dir the other replicas use, or restore the file from backup",
						errKeyMissing, r.CreatedAt.Format("2006-01-02"), k.what, k.file, path))
				case fp != r.Fingerprint:
					errs = append(errs, fmt.Errorf("%w: %s is not %s the deployment was initialised with (fingerprint %s, want %s); mount the data_dir the other replicas use, or restore the file from backup",
						errKeyMissing, path, k.what, fp, r.Fingerprint))
				}
				continue
			}
			if missing {
				if err := k.make(path, log); err != nil {
					return err
				}
				made = append(made, k.file)
				if fp, err = fingerprintFile(path); err != nil {
					return fmt.Errorf("couldn't read %s: %w", k.what, err)
				}
			}
			fresh = append(fresh, store.DeploymentKey{Name: k.file, Fingerprint: fp})
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		return db.RecordDeploymentKeys(ctx, fresh)
	})
	return made, err
}

// fingerprintFile returns "sha256:<hex>" of the file at path.
func fingerprintFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// runInit makes a deployment's shared keys and records them in its store,
// so that replicas can start in any order. It is safe to run again: it
// then checks that the keys are the recorded ones.
func runInit(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("init", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: brightline init [-config FILE]")
		return errUsage
	}
	db, cfg, err := openStore(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	made, err := establishKeys(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	if len(made) == 0 {
		fmt.Fprintf(e.stdout, "already initialised: the shared keys in %s are the ones the store recorded\n", cfg.DataDir)
		return nil
	}
	fmt.Fprintf(e.stdout, "initialised %s: made %d shared keys; every replica must mount this data_dir\n", cfg.DataDir, len(made))
	return nil
}
