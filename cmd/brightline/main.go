// Command brightline is the Brightline gateway: one binary that serves the
// OpenAI and Anthropic model APIs, enforces safeguards, and manages its own
// keys.
//
// Usage:
//
//	brightline serve [-config FILE]
//	brightline keys create -name NAME [-org ORG] [-purpose PURPOSE] [-role ROLE]... [-config FILE]
//	brightline keys list [-json] [-config FILE]
//	brightline keys revoke [-config FILE] KEY_ID
//	brightline policy keygen|sign|verify|show|diff [flags]
//	brightline check [-config FILE] [flags] REQUEST.json
//	brightline replay [-config FILE] TRAFFIC.jsonl
//	brightline detect [-evidence] < TEXT
//	brightline tools classify [FILE]
//	brightline approvals list|show|approve|deny [flags]
//	brightline audit verify|prove|stats|open [flags]
//	brightline scan PATH --vendor NAME [flags]
//	brightline exposure [flags]
//	brightline transition plan --from VENDOR --to VENDOR [flags]
//	brightline version
//
// Without -config, the embedded defaults apply: data in ./brightline-data,
// listening on 127.0.0.1:8080, and a real provider for each of
// ANTHROPIC_API_KEY and OPENAI_API_KEY that is set, else the simulated one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// env is what a subcommand may touch of the outside world. Tests replace
// every field.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// errUsage reports a command-line mistake; the message has been printed.
var errUsage = errors.New("usage error")

// errExit carries the exit status of a command that has printed why it
// failed.
type errExit struct{ code int }

func (e errExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errFailed reports a failure the command has printed: exit status 1.
var errFailed error = errExit{1}

const usage = `Brightline: an AI gateway that enforces safeguards whichever provider serves.

Usage:
  brightline serve [-config FILE]          run the gateway
  brightline init [-config FILE]           make the shared keys once, before several replicas start
  brightline keys create -name NAME [-org ORG] [-purpose PURPOSE] [-role ROLE]...
  brightline keys list [-json]
  brightline keys revoke KEY_ID
  brightline policy keygen -name NAME [-out FILE]
                                           make a key pair for a party that signs policies
  brightline policy sign -key FILE [-version N] [-activate TIME] POLICY.yaml
                                           sign a policy bundle (POLICY.yaml.note)
  brightline policy verify [-no-rollback-check] POLICY.yaml
                                           check a bundle against policy.trust
  brightline policy show [-default]        print the policy serve would put in force
  brightline policy diff [OLD.yaml] NEW.yaml
                                           rule by rule changes; exit status 3 if any
                                           change may weaken the policy (WEAKENS lines)
  brightline check [-principal-key KEY | -principal NAME -role ROLE...] [-dialect openai|anthropic] REQUEST.json
                                           dry run: the policy decision for one request
  brightline replay TRAFFIC.jsonl          dry run over recorded traffic, one decision per line
  brightline detect [-evidence] < TEXT     the person identifiers and subjects found in a text
  brightline tools classify [FILE]         effect class of tool definitions (JSON array or JSONL)
  brightline approvals list|show|approve|deny [-url URL] [-key KEY]
                                           work the queue of held tool calls
  brightline audit verify|prove|stats|open verify the audit log, prove a decision's inclusion,
                                           count decisions, open a request's commitment
  brightline audit reconcile -log URL -key VKEY -trust KEYS|FILE PROVIDER_LOG.jsonl
                                           a provider's record of what it served, checked against the log
  brightline scan PATH --vendor NAME [--format table|json|sarif|cyclonedx] [--fail-on-exposure]
                                           where a vendor is embedded in a code tree
  brightline exposure [--vendor NAME] [--since 30d] [--principal ID] [--format table|json]
                                           which providers and models each key's traffic used
  brightline transition plan --from VENDOR --to VENDOR [--since 30d]
                                           routes and keys affected, gaps, shadow results, go/no-go
  brightline version

Every command takes -config FILE; without it the embedded defaults apply
(data in ./brightline-data, listen on 127.0.0.1:8080).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := run(ctx, os.Args[1:], e)
	stop()
	if code := exitCode(err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode returns the process exit status for run's error, writing the
// error to stderr unless the command has already said what went wrong.
func exitCode(err error, stderr io.Writer) int {
	var x errExit
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &x): // the command has said why
		return x.code
	case errors.Is(err, errWeakens): // policy diff: let CI gate on it
		fmt.Fprintf(stderr, "brightline: %v\n", err)
		return 3
	default:
		fmt.Fprintf(stderr, "brightline: %v\n", err)
		return 1
	}
}

// run dispatches to a subcommand. It never exits the process.
func run(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], e)
	case "init":
		return runInit(ctx, args[1:], e)
	case "keys":
		return runKeys(ctx, args[1:], e)
	case "policy":
		return runPolicy(ctx, args[1:], e)
	case "check":
		return runCheck(ctx, args[1:], e)
	case "replay":
		return runReplay(ctx, args[1:], e)
	case "detect":
		return runDetect(ctx, args[1:], e)
	case "audit":
		if len(args) > 1 && args[1] == "reconcile" {
			return runReconcile(ctx, args[2:], e)
		}
		return runAudit(ctx, args[1:], e)
	case "approvals":
		return runApprovals(ctx, args[1:], e)
	case "tools":
		return runTools(ctx, args[1:], e)
	case "scan":
		return runScan(ctx, args[1:], e)
	case "exposure":
		return runExposure(ctx, args[1:], e)
	case "transition":
		return runTransition(ctx, args[1:], e)
	case "version":
		fmt.Fprintln(e.stdout, "brightline", version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	default:
		fmt.Fprintf(e.stderr, "brightline: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}

// newFlagSet returns a flag set for a subcommand whose errors go to e.stderr.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("brightline "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// takeConfig removes a leading "-config FILE" (or -config=FILE) from args,
// for commands whose own flags don't know it, and loads that config.
func takeConfig(args []string, e *env) (*Config, []string, error) {
	path := ""
	switch {
	case len(args) >= 2 && (args[0] == "-config" || args[0] == "--config"):
		path, args = args[1], args[2:]
	case len(args) >= 1 && (strings.HasPrefix(args[0], "-config=") || strings.HasPrefix(args[0], "--config=")):
		_, path, _ = strings.Cut(args[0], "=")
		args = args[1:]
	}
	cfg, err := loadConfig(path, e.getenv)
	return cfg, args, err
}

// parseFlags parses args, turning flag errors into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
