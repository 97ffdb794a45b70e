package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brightline/brightline/internal/scan"
)

// Exit statuses of brightline scan besides 0 (the scan ran; nothing
// found, or findings without --fail-on-exposure) and 2 (bad flags, no
// path, or an unknown vendor).
var (
	errScanExposure = errExit{1} // --fail-on-exposure and something was found
	errScanFailed   = errExit{3} // the scan or the attestation failed
)

const scanUsage = `usage: brightline scan PATH --vendor NAME [flags]

Find where an AI vendor's technology is embedded in the code tree at PATH:
dependencies, imports, API hosts, model IDs, environment variables, API keys
(redacted), CI actions and IaC resources, each with file and line. Flags may
come before or after PATH.

With no findings, a signed "no exposure found" attestation is made (scanner
version, vendor profile hash, tree hash, time), signed with -key FILE or with
DATADIR/scan.key, which is created on first use.

A host that serves other vendors' models too (the Bedrock runtime, Vertex
AI) counts as exposure only with evidence of the vendor's models nearby (a
model ID, an SDK import or constant in the same file, or the SDK in a
manifest at or above it). Without it the finding is listed as a possible
route: shown, but not counted by --fail-on-exposure. A tree with possible
routes gets no attestation.

Exit status: 0 scan done; 1 exposure found with --fail-on-exposure; 2 usage
error; 3 the scan failed.

Flags:
`

func runScan(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	return scanTree(ctx, args, cfg.DataDir, e)
}

// scanTree runs "brightline scan" with args (the arguments after "scan").
// dataDir holds the default attestation key, scan.key. It writes the
// report to stdout (or -o FILE) and messages to stderr.
func scanTree(ctx context.Context, args []string, dataDir string, e *env) error {
	o, err := parseScanArgs(args, e)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	profile, err := scan.LoadProfile(o.vendor)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline scan: %v\n", err)
		var uv *scan.UnknownVendorError
		if errors.As(err, &uv) {
			return errUsage
		}
		return errScanFailed
	}

	start := time.Now()
	res, err := scan.Scan(ctx, o.path, profile, scan.Options{IncludeVendored: o.vendored})
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline scan: %v\n", err)
		return errScanFailed
	}

	var attestation []byte
	if len(res.Findings) == 0 {
		attestation, err = scanAttest(res, profile, start, o.keyFile, dataDir, e.stderr)
		if err != nil {
			fmt.Fprintf(e.stderr, "brightline scan: %v\n", err)
			return errScanFailed
		}
		if o.attFile != "" {
			if err := os.WriteFile(o.attFile, attestation, 0o644); err != nil {
				fmt.Fprintf(e.stderr, "brightline scan: couldn't write attestation: %v\n", err)
				return errScanFailed
			}
		}
	}

	if err := writeScanReport(o, res, profile, start, attestation, e); err != nil {
		fmt.Fprintf(e.stderr, "brightline scan: couldn't write report: %v\n", err)
		return errScanFailed
	}
	if o.failOn && len(scan.Exposure(res.Findings)) > 0 {
		return errScanExposure
	}
	return nil
}

// scanOptions are the arguments of "brightline scan".
type scanOptions struct {
	path, vendor, format      string
	failOn, vendored          bool
	keyFile, outFile, attFile string
}

// parseScanArgs parses the arguments of "brightline scan", flags before or
// after the one PATH. It returns flag.ErrHelp for -h, and errUsage, with
// the problem written to stderr, for arguments it can't use.
func parseScanArgs(args []string, e *env) (scanOptions, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var o scanOptions
	fs.StringVar(&o.vendor, "vendor", "", "vendor profile: "+strings.Join(scan.Vendors(), ", "))
	fs.StringVar(&o.format, "format", "table", "output format: table, json, sarif or cyclonedx")
	fs.BoolVar(&o.failOn, "fail-on-exposure", false, "exit 1 when exposure is found (possible routes do not count)")
	fs.BoolVar(&o.vendored, "include-vendored", false, "also scan vendored trees, build outputs and generated files")
	fs.StringVar(&o.keyFile, "key", "", "note signer key `FILE` for the attestation (default DATADIR/scan.key)")
	fs.StringVar(&o.outFile, "o", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&o.attFile, "attestation", "", "also write the attestation note to `FILE`")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, scanUsage)
		fs.PrintDefaults()
	}

	// The flag package stops at the first non-flag; parse around PATH.
	var paths []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, err
			}
			return o, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(paths) != 1 {
		fmt.Fprintf(e.stderr, "brightline scan: want exactly one PATH, got %d\n", len(paths))
		fs.Usage()
		return o, errUsage
	}
	o.path = paths[0]
	if o.vendor == "" {
		fmt.Fprintf(e.stderr, "brightline scan: --vendor is required: one of %s\n", strings.Join(scan.Vendors(), ", "))
		return o, errUsage
	}
	switch o.format {
	case "table", "json", "sarif", "cyclonedx":
	default:
		fmt.Fprintf(e.stderr, "brightline scan: unknown format %q: want table, json, sarif or cyclonedx\n", o.format)
		return o, errUsage
	}
	return o, nil
}

// writeScanReport writes the report on res in o.format to o.outFile, or
// stdout if that is empty. The attestation of a clean scan goes into the
// table and JSON reports; with the formats that have no place for it, it
// goes to stderr unless o.attFile holds it.
func writeScanReport(o scanOptions, res *scan.Result, profile *scan.Profile, start time.Time, attestation []byte, e *env) error {
	var out bytes.Buffer
	var err error
	switch o.format {
	case "table":
		err = scan.WriteTable(&out, res, profile, attestation)
	case "json":
		err = scan.WriteJSON(&out, res, profile, attestation)
	case "sarif":
		err = scan.WriteSARIF(&out, res, profile)
	case "cyclonedx":
		err = scan.WriteCycloneDX(&out, res, profile, start)
	}
	if err != nil {
		return err
	}
	if attestation != nil && (o.format == "sarif" || o.format == "cyclonedx") && o.attFile == "" {
		// These formats have no place for it; don't lose it.
		fmt.Fprintf(e.stderr, "no exposure found; attestation:\n%s", attestation)
	}
	if o.outFile != "" {
		return os.WriteFile(o.outFile, out.Bytes(), 0o644)
	}
	_, err = e.stdout.Write(out.Bytes())
	return err
}

// scanAttest signs a "no exposure found" attestation for res, with the
// key in keyFile, else DATADIR/scan.key, made on first use.
func scanAttest(res *scan.Result, p *scan.Profile, start time.Time, keyFile, dataDir string, stderr io.Writer) ([]byte, error) {
	if keyFile == "" {
		if dataDir == "" {
			dataDir = "brightline-data"
		}
		keyFile = filepath.Join(dataDir, "scan.key")
	}
	skey, vkey, created, err := scan.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "created scan attestation key %s; verifier key: %s\n", keyFile, vkey)
	}
	tree, err := scan.TreeHash(res.Root, res.Files)
	if err != nil {
		return nil, err
	}
	return scan.SignAttestation(scan.Attestation{
		Scanner: scan.ToolName + " " + scan.Version(), Vendor: p.Name, ProfileHash: p.Hash(),
		TreeHash: tree, Files: len(res.Files), Time: start.UTC().Truncate(time.Second),
	}, skey)
}
