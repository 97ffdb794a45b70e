package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		// Started by a test as the real gateway (see startGateway).
		main()
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){"brightline": main})
}

// TestScripts runs the CLI the way users do; see testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			// A free port for scripts that start the server.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("BRIGHTLINE_LISTEN", ln.Addr().String())
			ln.Close()
			dln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("BRIGHTLINE_DEBUG_LISTEN", dln.Addr().String())
			dln.Close()
			examples, err := filepath.Abs("../../examples")
			if err != nil {
				return err
			}
			env.Setenv("EXAMPLES", examples)
			env.Setenv("ANTHROPIC_API_KEY", "")
			env.Setenv("OPENAI_API_KEY", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor":   cmdWaitFor,
			"http":      cmdHTTP,
			"waitmatch": cmdWaitMatch,
		},
	})
}

// waitfor URL: poll until GET URL answers 200, for up to 20s. A script's
// background `exec brightline serve &` gives the script nothing else to
// wait on: its stderr is only readable once it has exited.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfor URL")
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(args[0])
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not answer within 20s", args[0])
}

// http [-key FILE] [-H 'Name: value']... METHOD URL [BODYFILE]: send a
// request; stdout gets "status NNN", the listed headers, then the body.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	var key string
	var hdrs []string
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-key":
			key = strings.TrimSpace(ts.ReadFile(args[1]))
		case "-H":
			hdrs = append(hdrs, args[1])
		default:
			ts.Fatalf("http: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: http [-key FILE] [-H 'Name: value']... METHOD URL [BODYFILE]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(ts.ReadFile(args[2]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, args[0], args[1], body)
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "status %d\n", resp.StatusCode)
	for _, k := range []string{"Content-Type", "Retry-After", "X-Brightline-Provider", "Brightline-Approval-Id"} {
		if v := resp.Header.Get(k); v != "" {
			fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, v)
		}
	}
	ts.Stdout().Write(b)
	if neg == (resp.StatusCode < 400) {
		ts.Fatalf("http: got status %d", resp.StatusCode)
	}
}

// runCommand calls a command's function as run would, with stdin and
// captured output, and returns the exit status main would give.
func runCommand(stdin string, f func(e *env) error) (code int, stdout, stderr string) {
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = exitCode(f(e), &errb)
	return code, out.String(), errb.String()
}
