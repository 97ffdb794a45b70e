package scan

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
)

// Exit codes of [Command].
const (
	ExitOK       = 0 // the scan ran; nothing found, or findings without --fail-on-exposure
	ExitExposure = 1 // --fail-on-exposure and something was found
	ExitUsage    = 2 // bad flags, no path, or an unknown vendor
	ExitError    = 3 // the scan or the attestation failed
)

const commandUsage = `usage: brightline scan PATH --vendor NAME [flags]

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

// Command runs "brightline scan" with args (the arguments after "scan").
// dataDir holds the default attestation key, scan.key. It writes the report
// to stdout (or -o FILE), messages to stderr, and returns the exit code.
func Command(ctx context.Context, args []string, dataDir string, stdout, stderr io.Writer) (exitCode int) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vendor := fs.String("vendor", "", "vendor profile: "+strings.Join(Vendors(), ", "))
	format := fs.String("format", "table", "output format: table, json, sarif or cyclonedx")
	failOn := fs.Bool("fail-on-exposure", false, "exit 1 when exposure is found (possible routes do not count)")
	vendored := fs.Bool("include-vendored", false, "also scan vendored trees, build outputs and generated files")
	keyFile := fs.String("key", "", "note signer key `FILE` for the attestation (default DATADIR/scan.key)")
	outFile := fs.String("o", "", "write the report to `FILE` instead of standard output")
	attFile := fs.String("attestation", "", "also write the attestation note to `FILE`")
	fs.Usage = func() {
		fmt.Fprint(stderr, commandUsage)
		fs.PrintDefaults()
	}

	// The flag package stops at the first non-flag; parse around PATH.
	var paths []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(paths) != 1 {
		fmt.Fprintf(stderr, "brightline scan: want exactly one PATH, got %d\n", len(paths))
		fs.Usage()
		return ExitUsage
	}
	if *vendor == "" {
		fmt.Fprintf(stderr, "brightline scan: --vendor is required: one of %s\n", strings.Join(Vendors(), ", "))
		return ExitUsage
	}
	switch *format {
	case "table", "json", "sarif", "cyclonedx":
	default:
		fmt.Fprintf(stderr, "brightline scan: unknown format %q: want table, json, sarif or cyclonedx\n", *format)
		return ExitUsage
	}
	profile, err := LoadProfile(*vendor)
	if err != nil {
		fmt.Fprintf(stderr, "brightline scan: %v\n", err)
		var uv *UnknownVendorError
		if errors.As(err, &uv) {
			return ExitUsage
		}
		return ExitError
	}

	start := time.Now()
	res, err := Scan(ctx, paths[0], profile, Options{IncludeVendored: *vendored})
	if err != nil {
		fmt.Fprintf(stderr, "brightline scan: %v\n", err)
		return ExitError
	}

	var attestation []byte
	if len(res.Findings) == 0 {
		attestation, err = attest(res, profile, start, *keyFile, dataDir, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "brightline scan: %v\n", err)
			return ExitError
		}
		if *attFile != "" {
			if err := os.WriteFile(*attFile, attestation, 0o644); err != nil {
				fmt.Fprintf(stderr, "brightline scan: couldn't write attestation: %v\n", err)
				return ExitError
			}
		}
	}

	var out bytes.Buffer
	switch *format {
	case "table":
		err = WriteTable(&out, res, profile, attestation)
	case "json":
		err = WriteJSON(&out, res, profile, attestation)
	case "sarif":
		err = WriteSARIF(&out, res, profile)
	case "cyclonedx":
		err = WriteCycloneDX(&out, res, profile, start)
	}
	if err == nil && attestation != nil && (*format == "sarif" || *format == "cyclonedx") && *attFile == "" {
		// These formats have no place for it; don't lose it.
		fmt.Fprintf(stderr, "no exposure found; attestation:\n%s", attestation)
	}
	if err == nil {
		if *outFile != "" {
			err = os.WriteFile(*outFile, out.Bytes(), 0o644)
		} else {
			_, err = stdout.Write(out.Bytes())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "brightline scan: couldn't write report: %v\n", err)
		return ExitError
	}
	if *failOn && len(Exposure(res.Findings)) > 0 {
		return ExitExposure
	}
	return ExitOK
}

// attest signs a "no exposure found" attestation for res.
func attest(res *Result, p *Profile, start time.Time, keyFile, dataDir string, stderr io.Writer) ([]byte, error) {
	if keyFile == "" {
		if dataDir == "" {
			dataDir = "brightline-data"
		}
		keyFile = filepath.Join(dataDir, "scan.key")
	}
	skey, vkey, created, err := LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "created scan attestation key %s; verifier key: %s\n", keyFile, vkey)
	}
	tree, err := TreeHash(res.Root, res.Files)
	if err != nil {
		return nil, err
	}
	return SignAttestation(Attestation{
		Scanner: ToolName + " " + Version(), Vendor: p.Name, ProfileHash: p.Hash(),
		TreeHash: tree, Files: len(res.Files), Time: start.UTC().Truncate(time.Second),
	}, skey)
}
