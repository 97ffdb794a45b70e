package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/brightline/brightline/auditverify"
	receipts "github.com/brightline/brightline/auditverify/provider"
)

// reconcileUsage documents `brightline audit reconcile`, the vendor's
// completeness audit (issue 17).
const reconcileUsage = `Usage: brightline audit reconcile -log URL|DIR -key VKEY -trust KEYS|FILE [-threshold N]
       [-auditor-key APIKEY] [-witness VKEY]... [-quorum N] PROVIDER_LOG.jsonl

Checks a provider's record of what it served against a Brightline gateway's
audit log. Each line of PROVIDER_LOG.jsonl is one request served:

  {"time":"2026-12-05T09:00:00Z","receipt":"v1.…","body_sha256":"<hex>","id":"req_123"}

time: when it was served; receipt: the Brightline-Receipt header as received
("" or absent when none); body_sha256: hex SHA-256 of the body as received;
id: optional, the provider's own request id.

Reports requests served without a receipt, receipts that do not verify or
do not match the body, receipts used twice, receipts whose entry is missing
from the log past the MMD, and entries decided under a policy not signed by
a threshold of the trust set. Exit status 1 if there is any.
`

// runReconcile runs `brightline audit reconcile`.
func runReconcile(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("audit reconcile", e)
	fs.Usage = func() { fmt.Fprint(e.stderr, reconcileUsage) }
	var (
		logLoc, key, trustArg, auditorKey string
		threshold, quorum                 int
		witnesses                         stringList
	)
	fs.StringVar(&logLoc, "log", "", "the gateway's log: its /log URL or a directory")
	fs.StringVar(&key, "key", "", "the log's verifier key")
	fs.StringVar(&trustArg, "trust", "", "the trust set: verifier keys separated by commas, or a file")
	fs.IntVar(&threshold, "threshold", 0, "signatures a policy needs; default the file's, or every key")
	fs.StringVar(&auditorKey, "auditor-key", "", "API key of a principal with the auditor role, to read entry bundles over HTTP")
	fs.Var(&witnesses, "witness", "a witness's verifier key whose cosignature counts (repeatable)")
	fs.IntVar(&quorum, "quorum", 0, "cosignatures a checkpoint needs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if logLoc == "" || key == "" || trustArg == "" || fs.NArg() != 1 {
		fmt.Fprint(e.stderr, reconcileUsage)
		return errUsage
	}
	text := trustArg
	if b, err := os.ReadFile(trustArg); err == nil {
		text = string(b)
	}
	trust, err := auditverify.ParseTrustSet(text, threshold)
	if err != nil {
		return err
	}
	var hdr http.Header
	if auditorKey != "" {
		hdr = http.Header{"Authorization": {"Bearer " + auditorKey}}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("couldn't read the provider's record: %w", err)
	}
	defer f.Close()
	rep, err := receipts.Reconcile(ctx, receipts.ReconcileConfig{
		VerifierKey: key, Trust: trust, Log: auditverify.NewSource(logLoc, nil, hdr),
		Witnesses: witnesses, Quorum: quorum,
	}, f)
	if err != nil {
		return err
	}
	for _, fd := range rep.Findings {
		fmt.Fprintln(e.stdout, fd)
	}
	fmt.Fprintf(e.stdout, "%d requests: %d in the log under a signed policy, %d pending (within the MMD), %d findings\n",
		rep.Requests, rep.OK, rep.Pending, len(rep.Findings))
	if len(rep.Findings) > 0 {
		return errExit{1}
	}
	if rep.Requests == 0 {
		return errors.New("the provider's record holds no requests")
	}
	return nil
}
