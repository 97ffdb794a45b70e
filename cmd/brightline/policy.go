package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

const policyUsage = `usage:
  brightline policy keygen -name NAME [-out FILE]
  brightline policy sign -key FILE [-version N] [-activate TIME] POLICY.yaml
  brightline policy verify [-config FILE] [-no-rollback-check] POLICY.yaml
  brightline policy show [-config FILE] [-default]
  brightline policy diff [-config FILE] [OLD.yaml] NEW.yaml
  brightline policy rotate-trust -key FILE -config FILE -to-key VKEY... -to-threshold N ROTATION.note
  brightline policy rotate-trust -key FILE ROTATION.note
`

// errWeakens is returned by policy diff when a change weakens the policy;
// main exits with status 3 for it, so that CI can gate on it.
var errWeakens = errors.New("changes weaken the policy")

func runPolicy(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, policyUsage)
		return errUsage
	}
	switch args[0] {
	case "keygen":
		return policyKeygen(args[1:], e)
	case "sign":
		return policySign(args[1:], e)
	case "verify":
		return policyVerify(ctx, args[1:], e)
	case "show":
		return policyShow(ctx, args[1:], e)
	case "diff":
		return policyDiff(ctx, args[1:], e)
	case "rotate-trust":
		return policyRotateTrust(args[1:], e)
	default:
		fmt.Fprintf(e.stderr, "brightline policy: unknown command %q (want keygen, sign, verify, show, diff or rotate-trust)\n", args[0])
		return errUsage
	}
}

func policyKeygen(args []string, e *env) error {
	fs := newFlagSet("policy keygen", e)
	name := fs.String("name", "", "name of the signing party, e.g. operator (required; no spaces or '+')")
	out := fs.String("out", "", "`file` to write the private signer key to (default NAME.key)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: brightline policy keygen -name NAME [-out FILE]")
		return errUsage
	}
	skey, vkey, err := bundle.GenerateKey(*name)
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = *name + ".key"
	}
	if err := writeNewFile(path, []byte(skey+"\n"), 0o600); err != nil {
		return fmt.Errorf("couldn't write signer key: %w", err)
	}
	fmt.Fprintln(e.stdout, vkey)
	fmt.Fprintf(e.stderr, "wrote the private signer key of %q to %s; keep it secret.\n"+
		"The line above is its verifier key: list it in policy.trust.keys of the deployments that trust %s.\n", *name, path, *name)
	return nil
}

// writeNewFile creates path with data, refusing to overwrite a file.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func policySign(args []string, e *env) error {
	fs := newFlagSet("policy sign", e)
	keyPath := fs.String("key", "", "`file` holding the private signer key (from policy keygen; required)")
	version := fs.Int64("version", 0, "bundle version, higher than the active one (required for the first signature)")
	activate := fs.String("activate", "", "earliest activation `time`, RFC 3339 (default now; first signature only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: brightline policy sign -key FILE [-version N] [-activate TIME] POLICY.yaml")
		return errUsage
	}
	path := fs.Arg(0)
	pol, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("couldn't read policy file: %w", err)
	}
	if _, err := policy.Load(path, pol); err != nil {
		return fmt.Errorf("refusing to sign a policy that doesn't compile:\n%w", err)
	}
	k, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("couldn't read signer key: %w", err)
	}
	skey := strings.TrimSpace(string(k))

	notePath := path + bundle.NoteSuffix
	old, err := os.ReadFile(notePath)
	var signed []byte
	var m bundle.Manifest
	switch {
	case errors.Is(err, os.ErrNotExist):
		if *version < 1 {
			return fmt.Errorf("%s has no signatures yet, so -version is required: a positive number higher than the active version", path)
		}
		at := time.Now()
		if *activate != "" {
			if at, err = time.Parse(time.RFC3339, *activate); err != nil {
				return fmt.Errorf("-activate %q is not an RFC 3339 time like 2026-11-23T12:00:00Z", *activate)
			}
		}
		m = bundle.NewManifest(pol, *version, at)
		if signed, err = bundle.Sign([]byte(m.Text()), skey); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("couldn't read policy bundle note: %w", err)
	default:
		if m, err = bundle.ClaimedManifest(old); err != nil {
			return fmt.Errorf("%s: %w", notePath, err)
		}
		if sum := sha256.Sum256(pol); sum != m.PolicySHA256 {
			return fmt.Errorf("%s changed since its first signature: %s signs version %d for sha256:%x, but the file is now sha256:%x. "+
				"A changed policy must be re-issued as a new version: remove %s and sign again with -version %d",
				path, notePath, m.Version, m.PolicySHA256[:], sum[:], notePath, m.Version+1)
		}
		if *version != 0 && *version != m.Version {
			return fmt.Errorf("%s already holds version %d, not %d; to issue a new version remove it and sign again", notePath, m.Version, *version)
		}
		if *activate != "" {
			if at, err := time.Parse(time.RFC3339, *activate); err != nil || !at.Equal(m.Activate) {
				return fmt.Errorf("%s already activates at %s, not %s; to change it remove the note and sign again",
					notePath, m.Activate.Format(time.RFC3339), *activate)
			}
		}
		if signed, err = bundle.Sign(old, skey); err != nil {
			return err
		}
	}
	if err := replaceFile(notePath, signed, 0o644); err != nil {
		return fmt.Errorf("couldn't write policy bundle note: %w", err)
	}
	fmt.Fprintf(e.stdout, "signed version %d of %s (sha256:%x, activate %s)\n", m.Version, path, m.PolicySHA256[:], m.Activate.Format(time.RFC3339))
	fmt.Fprintf(e.stdout, "%s now carries signatures by: %s\n", notePath, strings.Join(bundle.ClaimedSigners(signed), ", "))
	return nil
}

// replaceFile writes data to path atomically: a reader, such as a
// reloading gateway, sees the old file or the new one, never a mix.
func replaceFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func policyVerify(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("policy verify", e)
	configPath := fs.String("config", "", "config `file` whose policy.trust to verify against")
	noRollback := fs.Bool("no-rollback-check", false, "don't compare the version with the active one in the data directory (to verify a bundle offline)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: brightline policy verify [-config FILE] [-no-rollback-check] POLICY.yaml")
		return errUsage
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	if len(cfg.Policy.Trust.Keys) == 0 {
		return errors.New("the config has no policy.trust to verify against; pass -config with a policy section that lists the trusted keys")
	}
	pc := cfg.Policy
	pc.File = fs.Arg(0)
	pol, signed, err := bundle.LoadFiles(pc.File)
	if err != nil {
		return err
	}
	var active store.PolicyActivation
	trust := pc.trust()
	if !*noRollback {
		var root store.TrustRoot
		if active, root, err = storedPolicyState(ctx, cfg); err != nil {
			return err
		}
		if root.Seq > 0 && root.Hash != trust.Hash() {
			return fmt.Errorf("policy.trust differs from the trust root pinned in %s: it %s", cfg.DataDir, bundle.PinnedTrust(root).Diff(trust))
		}
	}

	w := e.stdout
	fmt.Fprintf(w, "file:      %s\n", pc.File)
	if m, err := bundle.ClaimedManifest(signed); err == nil {
		fmt.Fprintf(w, "version:   %d\n", m.Version)
		fmt.Fprintf(w, "policy:    sha256:%x\n", m.PolicySHA256[:])
		fmt.Fprintf(w, "activate:  %s\n", m.Activate.Format(time.RFC3339))
	}
	signers := bundle.TrustedSigners(signed, pc.Trust.Keys)
	fmt.Fprintf(w, "signers:   %s (%d of %d required)\n", dash(strings.Join(signers, ", ")), len(signers), pc.Trust.Threshold)
	if active.Version > 0 {
		fmt.Fprintf(w, "active:    version %d (%s)\n", active.Version, active.Hash)
	} else if *noRollback {
		fmt.Fprintln(w, "active:    not checked (-no-rollback-check)")
	} else {
		fmt.Fprintln(w, "active:    none recorded")
	}
	bc := pc.bundleConfig()
	if _, err := bundle.Check(&bc, trust, pol, signed, active, time.Now()); err != nil {
		fmt.Fprintf(w, "result:    REFUSED (%s)\n", bundle.Class(err))
		return fmt.Errorf("policy bundle refused: %w", err)
	}
	if m, err := bundle.ClaimedManifest(signed); err == nil && m.Version == active.Version {
		fmt.Fprintln(w, "result:    OK (this is the active bundle)")
		return nil
	}
	fmt.Fprintln(w, "result:    OK")
	return nil
}

func policyShow(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("policy show", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	showDefault := fs.Bool("default", false, "print the embedded default policy's YAML")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: brightline policy show [-config FILE] [-default]")
		return errUsage
	}
	if *showDefault {
		_, err := e.stdout.Write(policy.DefaultSource())
		return err
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("serve would refuse this policy: %w", err)
	}
	printPolicy(e.stdout, lp)
	return nil
}

// printPolicy describes a policy for people: where it comes from, who
// signed it, and each rule.
func printPolicy(w io.Writer, lp *bundle.Loaded) {
	p := lp.Policy
	source := lp.Source
	switch {
	case lp.Unsigned:
		source += " (UNSIGNED: development mode)"
	case lp.Source != bundle.EmbeddedDefault:
		source += " (signed bundle)"
	}
	fmt.Fprintf(w, "source:    %s\n", source)
	fmt.Fprintf(w, "version:   %d\n", p.Version())
	fmt.Fprintf(w, "hash:      %s\n", p.Hash())
	fmt.Fprintf(w, "signers:   %s\n", dash(strings.Join(lp.Signers, ", ")))
	if !lp.Activate.IsZero() {
		fmt.Fprintf(w, "activate:  %s\n", lp.Activate.Format(time.RFC3339))
	}
	if hs := p.MetadataHeaders(); len(hs) > 0 {
		fmt.Fprintf(w, "metadata headers: %s\n", strings.Join(hs, ", "))
	}
	f := p.File()
	for _, s := range f.Safeguards {
		fmt.Fprintf(w, "\nsafeguard %s", s.ID)
		if s.Title != "" {
			fmt.Fprintf(w, ": %s", s.Title)
		}
		fmt.Fprintln(w)
		for _, r := range s.Rules {
			printRule(w, r)
		}
	}
	if len(f.Rules) > 0 {
		fmt.Fprintf(w, "\nrules outside safeguards\n")
		for _, r := range f.Rules {
			printRule(w, r)
		}
	}
	if len(f.Safeguards)+len(f.Rules) == 0 {
		fmt.Fprintf(w, "\nno rules: every request, answer and tool call is allowed\n")
	}
}

func printRule(w io.Writer, r policy.Rule) {
	fmt.Fprintf(w, "  rule %s\n", r.ID)
	fmt.Fprintf(w, "    stage:   %s\n", r.Stage)
	fmt.Fprintf(w, "    action:  %s\n", r.Action)
	when := strings.ReplaceAll(strings.TrimSpace(r.When), "\n", "\n             ")
	fmt.Fprintf(w, "    when:    %s\n", when)
	if r.Message != "" {
		fmt.Fprintf(w, "    message: %s\n", strings.TrimSpace(r.Message))
	}
	if len(r.Redact) > 0 {
		fmt.Fprintf(w, "    redact:  %q\n", r.Redact)
	}
	if r.AllowRefusalRetry {
		fmt.Fprintf(w, "    allow_refusal_retry: true\n")
	}
}

func policyDiff(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("policy diff", e)
	configPath := fs.String("config", "", "config `file` whose policy is the old one when only NEW.yaml is given")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: brightline policy diff [-config FILE] [OLD.yaml] NEW.yaml")
		fmt.Fprintln(e.stderr, "Without OLD.yaml, compares with the policy serve would load (as policy show).")
		fmt.Fprintln(e.stderr, "Lines of changes that weaken the policy start with WEAKENS; the exit status is then 3.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return errUsage
	}
	var old *policy.Policy
	var oldName string
	if fs.NArg() == 2 {
		var err error
		if old, err = loadPolicyArg(fs.Arg(0)); err != nil {
			return err
		}
		oldName = fs.Arg(0)
	} else {
		cfg, err := loadConfig(*configPath, e.getenv)
		if err != nil {
			return err
		}
		lp, err := loadConfiguredPolicy(ctx, cfg, true)
		if err != nil {
			return fmt.Errorf("couldn't load the policy in force to compare with: %w", err)
		}
		old, oldName = lp.Policy, lp.Source
	}
	newName := fs.Arg(fs.NArg() - 1)
	cur, err := loadPolicyArg(newName)
	if err != nil {
		return err
	}
	changes := policy.Diff(old.File(), cur.File())
	fmt.Fprintf(e.stdout, "--- %s\n+++ %s\n", oldName, newName)
	weakens := 0
	for _, c := range changes {
		fmt.Fprintln(e.stdout, c.String())
		if c.Weakens {
			weakens++
		}
	}
	if len(changes) == 0 {
		fmt.Fprintln(e.stdout, "no changes to safeguards, rules or metadata headers")
	}
	if weakens > 0 {
		return fmt.Errorf("%d of %d changes may weaken the policy; review the WEAKENS lines before signing: %w", weakens, len(changes), errWeakens)
	}
	return nil
}

// loadPolicyArg reads and compiles a policy file named on the command line.
func loadPolicyArg(path string) (*policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read policy file: %w", err)
	}
	p, err := policy.Load(path, data)
	if err != nil {
		return nil, fmt.Errorf("couldn't compile policy:\n%w", err)
	}
	return p, nil
}

// policyRotateTrust writes or countersigns a trust rotation: the
// statement that the trust set in force (the config's policy.trust, which
// must be the pinned one) is replaced by the -to-key set. A threshold of
// the current parties must sign it; the deployment then lists the new set
// in policy.trust and names the note in policy.trust.rotation.
func policyRotateTrust(args []string, e *env) error {
	fs := newFlagSet("policy rotate-trust", e)
	keyPath := fs.String("key", "", "`file` holding your private signer key (required)")
	configPath := fs.String("config", "", "config `file` whose policy.trust is the set being replaced (first signer only)")
	var toKeys multiFlag
	fs.Var(&toKeys, "to-key", "a verifier `key` of the new trust set (repeat; first signer only)")
	toThreshold := fs.Int("to-threshold", 0, "signatures the new set requires (first signer only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || fs.NArg() != 1 {
		fmt.Fprint(e.stderr, "usage:\n  brightline policy rotate-trust -key FILE -config FILE -to-key VKEY... -to-threshold N ROTATION.note\n  brightline policy rotate-trust -key FILE ROTATION.note\n")
		return errUsage
	}
	k, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("couldn't read signer key: %w", err)
	}
	skey := strings.TrimSpace(string(k))
	path := fs.Arg(0)
	old, err := os.ReadFile(path)
	var text []byte
	switch {
	case errors.Is(err, os.ErrNotExist):
		if *configPath == "" || len(toKeys) == 0 || *toThreshold < 1 {
			return fmt.Errorf("%s doesn't exist yet, so -config (the current trust set), -to-key and -to-threshold are required", path)
		}
		cfg, err := loadConfig(*configPath, e.getenv)
		if err != nil {
			return err
		}
		from := cfg.Policy.trust()
		if err := from.Validate(); err != nil {
			return fmt.Errorf("%s: policy.trust: %w", *configPath, err)
		}
		to := bundle.Trust{Keys: toKeys, Threshold: *toThreshold}
		if err := to.Validate(); err != nil {
			return fmt.Errorf("the new trust set: %w", err)
		}
		if to.Hash() == from.Hash() {
			return errors.New("the new trust set is the current one; there is nothing to rotate")
		}
		text = []byte(bundle.Rotation{From: from.Hash(), To: to}.Text())
		fmt.Fprintf(e.stdout, "rotation from %s to %s: it %s\n", from.Hash(), to.Hash(), from.Diff(to))
	case err != nil:
		return fmt.Errorf("couldn't read the rotation: %w", err)
	default:
		if *configPath != "" || len(toKeys) > 0 || *toThreshold != 0 {
			return fmt.Errorf("%s exists: countersign it with -key alone, or remove it to write a new rotation", path)
		}
		text = old
	}
	signed, err := bundle.Sign(text, skey)
	if err != nil {
		return err
	}
	if err := replaceFile(path, signed, 0o644); err != nil {
		return fmt.Errorf("couldn't write the rotation: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s now carries signatures by: %s\n", path, strings.Join(bundle.ClaimedSigners(signed), ", "))
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
