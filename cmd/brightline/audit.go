package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store"
)

const auditUsage = `usage: brightline audit <command> [flags]

commands:
  verify  -log URL|DIR -key VKEY [-witness VKEY]... [-quorum N] [-state FILE] [-auditor-key APIKEY]
          [-trust KEYS|FILE [-threshold N]]
          check the checkpoint, its cosignatures, consistency with the last
          checkpoint seen, and recompute the tree (from the entries when
          they can be read); with -trust, also report every policy
          activation not signed by a threshold of that trust set, and every
          decision made under such a policy, and fail if there is any
  verify  -proof FILE -key VKEY [-witness VKEY]... [-quorum N]
          check a proof printed by 'audit prove'
  verify  -receipts FILE [-log URL|DIR -key VKEY ...]
          also check receipts (one a line, as the Brightline-Audit-Receipt
          header carries them): each must verify with the log key and its
          entry be at its index in the verified tree; a receipt past its
          maximum merge delay whose entry is not in the log is a failure
  prove   [-o FILE] REQUEST_ID
          print inclusion proofs of a request's entries, checkable with the
          log's public key alone
  stats   [-since TIME] [-until TIME] [-log URL|DIR -key VKEY [-auditor-key APIKEY]] [-trust KEYS|FILE]
          count decisions by safeguard, rule and action, and by policy hash
          and trust status, over entries whose inclusion in the checkpoint
          is verified
  open    REQUEST_ID
          print the salt and canonical body of a request's commitment and
          check them against the logged entry

With no -log and -key, commands use the local log in the data directory.
`

// auditIndex is the part of the gateway's store the audit commands read:
// the index from request ID to log entries, with commitment openings.
type auditIndex interface {
	AuditEntries(ctx context.Context, requestID string) ([]store.AuditRecord, error)
	Close() error
}

func runAudit(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	open := func(ctx context.Context) (auditIndex, error) {
		if ok, err := storeExists(cfg); !ok {
			if err != nil {
				return nil, fmt.Errorf("no local index: %w", err)
			}
			return nil, fmt.Errorf("no local index: no database at %s", filepath.Join(cfg.DataDir, sqliteFile))
		}
		return openDataStore(ctx, cfg)
	}
	return runAuditWith(ctx, args, cfg.DataDir, open, e)
}

// runAuditWith runs `brightline audit verify|prove|stats|open`; args are what
// follows "audit". The log is the one in dataDir unless -log names
// another; openIndex opens the gateway's store, for prove and open; it
// must refuse to create one. A check that fails, or an operation that
// errors, is printed as FAIL and exits with status 1.
func runAuditWith(ctx context.Context, args []string, dataDir string, openIndex func(context.Context) (auditIndex, error), e *env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, auditUsage)
		return errUsage
	}
	c := &auditCommand{dataDir: dataDir, openIndex: openIndex, stdout: e.stdout, stderr: e.stderr}
	var run func(context.Context, []string) error
	switch args[0] {
	case "verify":
		run = c.verify
	case "prove":
		run = c.prove
	case "stats":
		run = c.stats
	case "open":
		run = c.open
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, auditUsage)
		return nil
	default:
		fmt.Fprintf(e.stderr, "brightline audit: unknown command %q\n\n%s", args[0], auditUsage)
		return errUsage
	}
	err := run(ctx, args[1:])
	var ue auditUsageError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return nil
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "brightline audit %s: %v\n", args[0], err)
		return errUsage
	default:
		fmt.Fprintf(e.stderr, "FAIL: %v\n", err)
		return errFailed
	}
}

// auditUsageError is a mistake on the command line, exit status 2.
type auditUsageError struct{ error }

type auditCommand struct {
	dataDir        string
	openIndex      func(context.Context) (auditIndex, error)
	stdout, stderr io.Writer
}

// auditLogFlags are the flags that locate and trust a log.
type auditLogFlags struct {
	log, key, auditorKey string
	witnesses            multiFlag
	quorum               int
}

func (c *auditCommand) newFlags(name string, lf *auditLogFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("brightline audit "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	if lf != nil {
		fs.StringVar(&lf.log, "log", "", "log URL (e.g. https://gw.example/log) or directory; default: the local log")
		fs.StringVar(&lf.key, "key", "", "the log's verifier key (vkey); default: the local log's key")
		fs.Var(&lf.witnesses, "witness", "a witness's cosignature verifier key (repeatable)")
		fs.IntVar(&lf.quorum, "quorum", -1, "cosignatures required (default: every -witness)")
		fs.StringVar(&lf.auditorKey, "auditor-key", "", "API key of a principal with the auditor role, to read entry bundles over HTTP")
	}
	return fs
}

// resolve fills defaults from the data directory and returns the source
// and policy.
func (c *auditCommand) resolve(lf *auditLogFlags) (auditverify.Source, auditverify.Policy, error) {
	if lf.log == "" {
		lf.log = filepath.Join(c.dataDir, auditlog.DirName)
	}
	if lf.key == "" {
		k, err := c.localVKey()
		if err != nil {
			return nil, auditverify.Policy{}, auditUsageError{fmt.Errorf("no -key given and %w", err)}
		}
		lf.key = k
	}
	if lf.quorum < 0 {
		lf.quorum = len(lf.witnesses)
	}
	pol, err := auditverify.NewPolicy(lf.key, lf.witnesses, lf.quorum)
	if err != nil {
		return nil, auditverify.Policy{}, auditUsageError{err}
	}
	var h http.Header
	if lf.auditorKey != "" {
		h = http.Header{"Authorization": {"Bearer " + lf.auditorKey}, "X-Api-Key": {lf.auditorKey}}
	}
	return auditverify.NewSource(lf.log, &http.Client{Timeout: time.Minute}, h), pol, nil
}

// entriesReadable reports whether verify can read entry bundles: from a
// directory, or over HTTP with an auditor key.
func (lf *auditLogFlags) entriesReadable() bool {
	isURL := strings.HasPrefix(lf.log, "http://") || strings.HasPrefix(lf.log, "https://")
	return !isURL || lf.auditorKey != ""
}

// localVKey derives the local log's verifier key from its signer key.
func (c *auditCommand) localVKey() (string, error) {
	path := filepath.Join(c.dataDir, auditlog.KeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("couldn't read the local log key: %w", err)
	}
	vkey, err := auditlog.VerifierKey(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("couldn't read the local log key %s: %w", path, err)
	}
	return vkey, nil
}

// newTrustAudit starts an audit against the trust set given by -trust and
// -threshold, or returns nil without -trust.
func newTrustAudit(trustArg string, threshold int) (*auditlog.TrustAudit, error) {
	if trustArg == "" {
		return nil, nil
	}
	t, err := auditlog.ParseTrust(trustArg, threshold, os.ReadFile)
	if err != nil {
		return nil, auditUsageError{err}
	}
	audit, err := auditlog.NewTrustAudit(t)
	if err != nil {
		return nil, auditUsageError{err}
	}
	return audit, nil
}

// auditStateKey is where the state file remembers a log's checkpoint: its
// origin and the name+hash of the key the auditor trusts, so that two logs
// that share an origin (or a log whose key the auditor changed) are never
// compared with each other.
func auditStateKey(origin, vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return origin
	}
	return origin + " " + parts[1]
}

func (c *auditCommand) verify(ctx context.Context, args []string) error {
	var lf auditLogFlags
	fs := c.newFlags("verify", &lf)
	statePath := fs.String("state", "", "file remembering the last checkpoint verified (default: ~/.config/brightline/audit-state)")
	noState := fs.Bool("no-state", false, "neither read nor update the state file")
	proofFile := fs.String("proof", "", "check this proof file (from 'audit prove') instead of a log")
	receiptsFile := fs.String("receipts", "", "check the receipts in this `file`, one a line as the Brightline-Audit-Receipt header carries them")
	trustArg := fs.String("trust", "", "the trust set policy bundles must be signed by: a `file`, or verifier keys separated by commas")
	threshold := fs.Int("threshold", 0, "signatures the -trust set requires (default: the file's threshold line, else every key)")
	if err := fs.Parse(args); err != nil {
		return auditUsageError{err}
	}
	audit, err := newTrustAudit(*trustArg, *threshold)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return auditUsageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	src, pol, err := c.resolve(&lf)
	if err != nil {
		return err
	}
	if *proofFile != "" {
		return c.verifyProof(*proofFile, pol)
	}

	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "checkpoint: %s, size %d, root %s\n", cp.Origin, cp.Size, hex.EncodeToString(cp.Hash[:]))
	fmt.Fprintf(c.stdout, "signatures: log key ok; %d of %d witness cosignatures valid (quorum %d) %v\n", len(cp.Witnesses), len(pol.Witnesses), pol.Quorum, cp.Witnesses)

	var state auditverify.State
	if !*noState {
		if *statePath, state, err = c.checkRemembered(ctx, *statePath, lf.key, src, pol, cp); err != nil {
			return err
		}
	}

	entries := lf.entriesReadable()
	if audit != nil && !entries {
		return auditUsageError{errors.New("-trust reads entries: give -auditor-key for a log URL")}
	}
	if err := c.verifyTree(ctx, src, cp, entries, audit); err != nil {
		return err
	}
	if !*noState {
		state[auditStateKey(cp.Origin, lf.key)] = string(cp.Note)
		if err := auditverify.SaveState(*statePath, state); err != nil {
			return err
		}
	}
	if audit != nil {
		if err := c.reportTrust(audit); err != nil {
			return err
		}
	}
	if *receiptsFile != "" {
		if err := c.verifyReceipts(ctx, *receiptsFile, src, pol, cp, time.Now()); err != nil {
			return err
		}
	}
	fmt.Fprintln(c.stdout, "OK")
	return nil
}

// checkRemembered checks that cp extends the checkpoint of its log that
// the state file at path (default: auditverify.DefaultStatePath) remembers
// for key, if any. It returns the path and the state read from it, for the
// caller to remember cp in once cp is verified.
func (c *auditCommand) checkRemembered(ctx context.Context, path, key string, src auditverify.Source, pol auditverify.Policy, cp auditverify.Checkpoint) (string, auditverify.State, error) {
	var err error
	if path == "" {
		if path, err = auditverify.DefaultStatePath(); err != nil {
			return "", nil, err
		}
	}
	state, err := auditverify.LoadState(path)
	if err != nil {
		return "", nil, err
	}
	old, ok := state[auditStateKey(cp.Origin, key)]
	if !ok {
		fmt.Fprintf(c.stdout, "consistency: first checkpoint seen for %s; remembering it\n", cp.Origin)
		return path, state, nil
	}
	oldPol := pol
	oldPol.Quorum = 0 // the quorum was checked when it was saved
	oc, err := oldPol.Verify([]byte(old))
	if err != nil {
		return "", nil, fmt.Errorf("remembered checkpoint in %s: %w", path, err)
	}
	if err := auditverify.CheckConsistency(ctx, src, oc, cp); err != nil {
		return "", nil, err
	}
	fmt.Fprintf(c.stdout, "consistency: extends the checkpoint of size %d seen before\n", oc.Size)
	return path, state, nil
}

// verifyTree recomputes the tree of cp from src, from its entries if
// entries is true (handing each to audit, if not nil), else from its hash
// tiles.
func (c *auditCommand) verifyTree(ctx context.Context, src auditverify.Source, cp auditverify.Checkpoint, entries bool, audit *auditlog.TrustAudit) error {
	if err := auditverify.VerifyTree(ctx, src, cp, entries, func(i uint64, b []byte) error {
		e, err := auditlog.ParseEntry(b)
		if err != nil {
			return err
		}
		if audit != nil {
			audit.Add(i, e)
		}
		return nil
	}); err != nil {
		return err
	}
	if entries {
		fmt.Fprintf(c.stdout, "tree: recomputed from all %d entries; every tile and the root match\n", cp.Size)
	} else {
		fmt.Fprintf(c.stdout, "tree: recomputed from the hash tiles; every tile and the root match (give -auditor-key to check the entries too)\n")
	}
	return nil
}

// reportTrust writes what audit found, the first ten decisions under an
// untrusted policy at most, and returns an error if the log breaks the
// trust set.
func (c *auditCommand) reportTrust(audit *auditlog.TrustAudit) error {
	if len(audit.Findings) == 0 {
		fmt.Fprintf(c.stdout, "trust: every policy activation is signed by a threshold of the trust set, and every decision was made under one (trust set now %s)\n", audit.Trust().Hash())
		return nil
	}
	for _, f := range audit.Findings {
		fmt.Fprintf(c.stdout, "TRUST: %s\n", f)
	}
	if audit.BadDecisions > 10 {
		fmt.Fprintf(c.stdout, "TRUST: … and %d more decisions under untrusted policies\n", audit.BadDecisions-10)
	}
	return fmt.Errorf("the log breaks the trust set: %d activations or trust changes it did not sign, and %d decisions or forwarded requests made under a policy it did not sign",
		len(audit.Findings)-min(audit.BadDecisions, 10), audit.BadDecisions)
}

// verifyReceipts checks every receipt in path against the verified
// checkpoint cp: its signature, and its entry at its index in the tree.
// A receipt not covered by cp is pending until its MMD has passed (at
// now), and a failure after.
func (c *auditCommand) verifyReceipts(ctx context.Context, path string, src auditverify.Source, pol auditverify.Policy, cp auditverify.Checkpoint, now time.Time) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("couldn't read receipts: %w", err)
	}
	var total, included, pending int
	var problems []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		total++
		r, err := auditverify.ParseReceipt(line, pol.Log)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", i+1, err))
			continue
		}
		err = r.VerifyInclusion(ctx, src, cp)
		switch {
		case err == nil:
			included++
		case errors.Is(err, auditverify.ErrNotIncluded) && now.Before(r.Due()):
			pending++
			fmt.Fprintf(c.stdout, "receipt line %d: entry %d is not in the checkpoint of size %d yet; due by %s\n", i+1, r.Index, cp.Size, r.Due().Format(time.RFC3339Nano))
		case errors.Is(err, auditverify.ErrNotIncluded):
			problems = append(problems, fmt.Sprintf("line %d: entry %d was promised by %s (receipt time %s, MMD %s) but the checkpoint of size %d does not hold it",
				i+1, r.Index, r.Due().Format(time.RFC3339Nano), r.Time.Format(time.RFC3339Nano), r.MMD, cp.Size))
		default:
			problems = append(problems, fmt.Sprintf("line %d: %v", i+1, err))
		}
	}
	for _, p := range problems {
		fmt.Fprintf(c.stdout, "RECEIPT: %s\n", p)
	}
	fmt.Fprintf(c.stdout, "receipts: %d checked, %d included in the checkpoint of size %d, %d pending within their MMD, %d problems\n", total, included, cp.Size, pending, len(problems))
	if total == 0 {
		return fmt.Errorf("%s holds no receipts", path)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d of %d receipts are broken promises or do not verify", len(problems), total)
	}
	return nil
}

func (c *auditCommand) verifyProof(path string, pol auditverify.Policy) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("couldn't read proof: %w", err)
	}
	var rp auditverify.RequestProofs
	if err := json.Unmarshal(b, &rp); err != nil {
		return fmt.Errorf("couldn't parse proof %s: %w", path, err)
	}
	if len(rp.Proofs) == 0 {
		return fmt.Errorf("proof %s holds no proofs", path)
	}
	for _, p := range rp.Proofs {
		cp, err := p.Verify(pol)
		if err != nil {
			return err
		}
		e, err := auditlog.ParseEntry(p.Entry)
		if err != nil {
			return fmt.Errorf("entry %d: %w", p.Index, err)
		}
		if e.RequestID != rp.RequestID {
			return fmt.Errorf("entry %d belongs to request %q, not %q", p.Index, e.RequestID, rp.RequestID)
		}
		fmt.Fprintf(c.stdout, "entry %d: %s %s %s at %s is in %s of size %d (root %s)\n", p.Index, e.Kind, e.Stage, e.Action,
			e.Time.Format(time.RFC3339Nano), cp.Origin, cp.Size, hex.EncodeToString(cp.Hash[:]))
	}
	// Each receipt must be kept by one of the proven entries.
	for i, s := range rp.Receipts {
		r, err := auditverify.ParseReceipt(s, pol.Log)
		if err != nil {
			return fmt.Errorf("receipt %d: %w", i, err)
		}
		kept := false
		for _, p := range rp.Proofs {
			kept = kept || (p.Index == r.Index && r.Matches(p.Entry))
		}
		if !kept {
			return fmt.Errorf("receipt %d promises entry %d, which the proofs do not show", i, r.Index)
		}
		fmt.Fprintf(c.stdout, "receipt for entry %d (given %s) is kept\n", r.Index, r.Time.Format(time.RFC3339Nano))
	}
	fmt.Fprintln(c.stdout, "OK")
	return nil
}

// local reads request rid's entries from the local index, with the local
// log, its checkpoint and the local key to prove them against.
func (c *auditCommand) local(ctx context.Context, rid string) ([]store.AuditRecord, auditverify.Source, auditverify.Checkpoint, auditverify.Policy, error) {
	fail := func(err error) ([]store.AuditRecord, auditverify.Source, auditverify.Checkpoint, auditverify.Policy, error) {
		return nil, nil, auditverify.Checkpoint{}, auditverify.Policy{}, err
	}
	vkey, err := c.localVKey()
	if err != nil {
		return fail(err)
	}
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		return fail(err)
	}
	src := auditverify.NewSource(filepath.Join(c.dataDir, auditlog.DirName), nil, nil)
	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		return fail(err)
	}
	db, err := c.openIndex(ctx)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	recs, err := db.AuditEntries(ctx, rid)
	if errors.Is(err, brightline.ErrNotFound) {
		return fail(fmt.Errorf("request %q has no entries in the local index", rid))
	}
	if err != nil {
		return fail(err)
	}
	return recs, src, cp, pol, nil
}

func (c *auditCommand) prove(ctx context.Context, args []string) error {
	fs := c.newFlags("prove", nil)
	out := fs.String("o", "", "write the proof to this file instead of stdout")
	if err := fs.Parse(args); err != nil {
		return auditUsageError{err}
	}
	if fs.NArg() != 1 {
		return auditUsageError{errors.New("want one REQUEST_ID")}
	}
	rid := fs.Arg(0)
	recs, src, cp, pol, err := c.local(ctx, rid)
	if err != nil {
		return err
	}
	rp := auditverify.RequestProofs{RequestID: rid}
	rp.LogKey, _ = c.localVKey()
	for _, r := range recs {
		if r.LogIndex >= cp.Size {
			return fmt.Errorf("entry %d of request %q is not covered by the latest checkpoint (size %d) yet; try again in a few seconds", r.LogIndex, rid, cp.Size)
		}
		p, err := auditverify.ProveInclusion(ctx, src, cp, r.LogIndex)
		if err != nil {
			return err
		}
		rp.Proofs = append(rp.Proofs, p)
		if r.Receipt != nil {
			rp.Receipts = append(rp.Receipts, auditverify.Receipt{Note: r.Receipt}.Encode())
		}
	}
	if _, err := rp.Proofs[0].Verify(pol); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rp, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return fmt.Errorf("couldn't write proof: %w", err)
		}
	} else if _, err := c.stdout.Write(b); err != nil {
		return err
	}
	name := *out
	if name == "" {
		name = "FILE"
	}
	fmt.Fprintf(c.stderr, "%d entries of request %s proven against the checkpoint of size %d.\nAnyone can check with: brightline audit verify -proof %s -key %s\n", len(rp.Proofs), rid, cp.Size, name, rp.LogKey)
	return nil
}

// parseAuditTime reads an RFC 3339 time, a date, or a duration before now.
func parseAuditTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q is not RFC 3339, YYYY-MM-DD or a duration like 24h", s)
}

func (c *auditCommand) stats(ctx context.Context, args []string) error {
	var lf auditLogFlags
	fs := c.newFlags("stats", &lf)
	sinceS := fs.String("since", "", "count decisions at or after this time (RFC 3339, YYYY-MM-DD, or a duration ago like 24h)")
	untilS := fs.String("until", "", "count decisions before this time")
	trustArg := fs.String("trust", "", "judge each policy against this trust set: a `file`, or verifier keys separated by commas")
	threshold := fs.Int("threshold", 0, "signatures the -trust set requires (default: the file's threshold line, else every key)")
	if err := fs.Parse(args); err != nil {
		return auditUsageError{err}
	}
	audit, err := newTrustAudit(*trustArg, *threshold)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return auditUsageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	now := time.Now()
	since, err := parseAuditTime(*sinceS, now)
	if err != nil {
		return auditUsageError{err}
	}
	until, err := parseAuditTime(*untilS, now)
	if err != nil {
		return auditUsageError{err}
	}
	src, pol, err := c.resolve(&lf)
	if err != nil {
		return err
	}
	if !lf.entriesReadable() {
		return auditUsageError{errors.New("stats reads entries: give -auditor-key for a log URL")}
	}
	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		return err
	}
	t := newDecisionTally(since, until, audit)
	// Entries are counted only once the whole tree they are in has been
	// recomputed and matches the signed checkpoint: a failure discards the
	// counts.
	if err := auditverify.VerifyTree(ctx, src, cp, true, t.add); err != nil {
		return err
	}
	t.writeRules(c.stdout)
	fmt.Fprintln(c.stdout)
	t.writePolicies(c.stdout)
	fmt.Fprintf(c.stdout, "%d decisions in %d verified entries (checkpoint size %d, root %s)\n", t.decisions, cp.Size, cp.Size, hex.EncodeToString(cp.Hash[:]))
	return nil
}

// decisionTally counts the decisions of `brightline audit stats` made in
// [since, until) (a zero until is open), by safeguard, rule and action, and
// by policy and how that policy was signed.
type decisionTally struct {
	since, until time.Time
	audit        *auditlog.TrustAudit // the -trust set's judge, or nil

	decisions int
	byRule    map[ruleKey]int
	byPolicy  map[policyKey]int
	// signedBy says how each policy was activated, as the log records it.
	signedBy map[string]string
}

type ruleKey struct{ safeguard, rule, action string }

type policyKey struct{ hash, status string }

func newDecisionTally(since, until time.Time, audit *auditlog.TrustAudit) *decisionTally {
	return &decisionTally{since: since, until: until, audit: audit,
		byRule: map[ruleKey]int{}, byPolicy: map[policyKey]int{}, signedBy: map[string]string{}}
}

// add counts entry i, b, of the log; it is VerifyTree's callback.
func (t *decisionTally) add(i uint64, b []byte) error {
	e, err := auditlog.ParseEntry(b)
	if err != nil {
		return err
	}
	if t.audit != nil {
		t.audit.Add(i, e)
	}
	if e.Kind == auditlog.KindPolicyActivation {
		if e.TrustHash != "" && e.Detail["note"] != "" {
			t.signedBy[e.PolicyHash] = "signed (trust " + shortHash(e.TrustHash) + ")"
		} else if _, ok := t.signedBy[e.PolicyHash]; !ok {
			t.signedBy[e.PolicyHash] = "UNSIGNED"
		}
	}
	if e.Kind != auditlog.KindDecision || e.Time.Before(t.since) || (!t.until.IsZero() && !e.Time.Before(t.until)) {
		return nil
	}
	t.decisions++
	t.byPolicy[policyKey{dash(e.PolicyHash), dash(t.policyStatus(e.PolicyHash))}]++
	if len(e.Matches) == 0 {
		t.byRule[ruleKey{"-", "-", e.Action}]++
	}
	for _, m := range e.Matches {
		t.byRule[ruleKey{dash(m.Safeguard), dash(m.Rule), dash(m.Action)}]++
	}
	return nil
}

// policyStatus says how the policy with hash was signed: as the log
// records its activation, or, given a -trust set, whether that set signed
// it.
func (t *decisionTally) policyStatus(hash string) string {
	if t.audit == nil {
		return t.signedBy[hash]
	}
	status := t.audit.Status(hash)
	if status == "signed" {
		return "signed by the -trust set"
	}
	return status + " (not signed by the -trust set)"
}

// writeRules writes the decisions per safeguard, rule and action, most
// first.
func (t *decisionTally) writeRules(w io.Writer) {
	keys := slices.Collect(maps.Keys(t.byRule))
	slices.SortFunc(keys, func(a, b ruleKey) int {
		if d := t.byRule[b] - t.byRule[a]; d != 0 {
			return d
		}
		return strings.Compare(a.safeguard+"\x00"+a.rule+"\x00"+a.action, b.safeguard+"\x00"+b.rule+"\x00"+b.action)
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAFEGUARD\tRULE\tACTION\tDECISIONS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", k.safeguard, k.rule, k.action, t.byRule[k])
	}
	tw.Flush()
}

// writePolicies writes the decisions per policy and how it was signed.
func (t *decisionTally) writePolicies(w io.Writer) {
	keys := slices.Collect(maps.Keys(t.byPolicy))
	slices.SortFunc(keys, func(a, b policyKey) int { return strings.Compare(a.hash+a.status, b.hash+b.status) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tTRUST\tDECISIONS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", k.hash, k.status, t.byPolicy[k])
	}
	tw.Flush()
}

// shortHash abbreviates a "sha256:<hex>" hash for tables.
func shortHash(h string) string {
	if len(h) > len("sha256:")+12 {
		return h[:len("sha256:")+12]
	}
	return h
}

func (c *auditCommand) open(ctx context.Context, args []string) error {
	fs := c.newFlags("open", nil)
	if err := fs.Parse(args); err != nil {
		return auditUsageError{err}
	}
	if fs.NArg() != 1 {
		return auditUsageError{errors.New("want one REQUEST_ID")}
	}
	rid := fs.Arg(0)
	recs, src, cp, _, err := c.local(ctx, rid)
	if err != nil {
		return err
	}
	o := bodyOpener{c: c, src: src, cp: cp, rid: rid}
	opened, gone := 0, 0
	for _, r := range recs {
		got, err := o.open(ctx, r)
		if err != nil {
			return err
		}
		switch got {
		case bodyOpened:
			opened++
		case bodyGone:
			gone++
		}
	}
	if opened == 0 && gone > 0 {
		return fmt.Errorf("request %q's body is gone: it was deleted after the retention period (audit.body_retention); its commitment stays in the log", rid)
	}
	if opened == 0 {
		return fmt.Errorf("request %q has no content commitment to open", rid)
	}
	return nil
}

// bodyOpener opens the bodies of request rid's entries in the local
// index, each checked against its commitment in the log: `audit open`.
type bodyOpener struct {
	c   *auditCommand
	src auditverify.Source
	cp  auditverify.Checkpoint
	rid string
	key *auditlog.BodyKey // loaded at the first sealed row
}

// bodyOutcome is what bodyOpener.open did with one index row.
type bodyOutcome int

const (
	bodySkipped bodyOutcome = iota // nothing to open
	bodyOpened                     // printed and matched its commitment
	bodyGone                       // deleted after audit.body_retention
)

// open opens index row r: it proves r's entry is in the checkpoint,
// opens the body the row keeps (unsealing it with the body key if it is
// sealed), prints it, and checks it against the entry's commitment.
func (o *bodyOpener) open(ctx context.Context, r store.AuditRecord) (bodyOutcome, error) {
	if r.Salt == nil && r.LogIndex >= o.cp.Size {
		return bodySkipped, nil
	}
	e, err := o.entry(ctx, r.LogIndex)
	if err != nil {
		return bodySkipped, err
	}
	if e.Kind == auditlog.KindForward {
		// A forward entry commits to the bytes sent upstream; the
		// provider holds them and the salt (its Brightline-Receipt
		// header), the gateway keeps no opening.
		return bodySkipped, nil
	}
	if r.Salt == nil {
		if e.Commitment != "" && e.RequestID == o.rid {
			// Deleted after audit.body_retention.
			o.writeGone(r.LogIndex, e)
			return bodyGone, nil
		}
		return bodySkipped, nil
	}
	if o.key == nil && auditlog.Sealed(r.Salt) {
		if o.key, err = auditlog.LoadBodyKey(filepath.Join(o.c.dataDir, auditlog.BodyKeyFile)); err != nil {
			if errors.Is(err, auditlog.ErrNoBodyKey) {
				return bodySkipped, fmt.Errorf("request %q's body is encrypted with the body key, which is missing (%v): it can't be opened without it", o.rid, err)
			}
			return bodySkipped, err
		}
	}
	salt, body, err := auditlog.OpenRecord(o.key, filepath.Join(o.c.dataDir, auditlog.OpeningsDirName), r.Salt, r.Body)
	if errors.Is(err, auditlog.ErrOpeningGone) && e.Commitment != "" && e.RequestID == o.rid {
		// A large body's side file, deleted after
		// audit.body_retention before its index row was.
		o.writeGone(r.LogIndex, e)
		return bodyGone, nil
	}
	if err != nil {
		return bodySkipped, fmt.Errorf("entry %d: %w", r.LogIndex, err)
	}
	return bodyOpened, o.check(r.LogIndex, e, salt, body)
}

// entry returns the entry at index i of the log, proved to be in the
// checkpoint.
func (o *bodyOpener) entry(ctx context.Context, i uint64) (auditlog.Entry, error) {
	if i >= o.cp.Size {
		return auditlog.Entry{}, fmt.Errorf("entry %d of request %q is not covered by the latest checkpoint (size %d) yet; try again in a few seconds", i, o.rid, o.cp.Size)
	}
	p, err := auditverify.ProveInclusion(ctx, o.src, o.cp, i)
	if err != nil {
		return auditlog.Entry{}, err
	}
	e, err := auditlog.ParseEntry(p.Entry)
	if err != nil {
		return auditlog.Entry{}, fmt.Errorf("entry %d: %w", i, err)
	}
	return e, nil
}

// check prints the opened body of entry i, e, and checks that it belongs
// to the request and matches e's commitment.
func (o *bodyOpener) check(i uint64, e auditlog.Entry, salt, body []byte) error {
	got := auditlog.CommitmentHash(salt, body)
	fmt.Fprintf(o.c.stdout, "request:    %s\nlog index:  %d (%s %s, included in checkpoint size %d)\nsalt:       %s\ncommitment: %s\nbody:\n%s\n",
		o.rid, i, e.Kind, e.Stage, o.cp.Size, hex.EncodeToString(salt), e.Commitment, body)
	if e.RequestID != o.rid {
		return fmt.Errorf("entry %d belongs to request %q, not %q", i, e.RequestID, o.rid)
	}
	if got != e.Commitment {
		return fmt.Errorf("entry %d: SHA-256(salt ‖ body) is %s, but the logged commitment is %q", i, got, e.Commitment)
	}
	fmt.Fprintf(o.c.stdout, "check:      SHA-256(salt ‖ body) matches the logged commitment\n")
	return nil
}

// writeGone says that the body entry i, e, committed to was deleted.
func (o *bodyOpener) writeGone(i uint64, e auditlog.Entry) {
	fmt.Fprintf(o.c.stdout, "request:    %s\nlog index:  %d (%s %s)\ncommitment: %s\nbody:       deleted after the retention period (audit.body_retention)\n",
		o.rid, i, e.Kind, e.Stage, e.Commitment)
}
