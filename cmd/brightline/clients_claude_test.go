package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// claudeClientsEnv turns on the tests that run real client programs
// against a fresh gateway (BRIGHTLINE_REAL_CLIENTS, as for the OpenAI-side
// clients). CI sets it after .ci/clients.sh has installed the clients;
// there a missing client fails the test.
const claudeClientsEnv = "BRIGHTLINE_REAL_CLIENTS"

// TestClaudeCode runs Claude Code (`claude -p`, npm
// @anthropic-ai/claude-code) against a fresh `brightline serve` with the
// embedded default routes and no provider keys, so every model name Claude
// Code asks for reaches the simulated provider. It checks a plain answer,
// a turn in which the model calls one of Claude Code's own tools (Read)
// and gets its result, and a turn in which the model calls a tool of the
// force class, which the default policy holds for human approval.
func TestClaudeCode(t *testing.T) {
	if os.Getenv(claudeClientsEnv) != "1" {
		t.Skip("runs the real Claude Code CLI; enable with " + claudeClientsEnv + "=1 (needs `claude` on PATH: npm install -g @anthropic-ai/claude-code)")
	}
	claude, err := exec.LookPath("claude")
	if err != nil {
		t.Fatalf("%s=1 but Claude Code is not installed: %v (npm install -g @anthropic-ai/claude-code)", claudeClientsEnv, err)
	}

	dir := t.TempDir()
	addr := startDefaultGateway(t, dir)
	key := createKey(t, filepath.Join(dir, "brightline.yaml"), "claude-code")

	work := filepath.Join(dir, "work")
	home := filepath.Join(dir, "home")
	for _, d := range []string{work, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	note := filepath.Join(work, "note.txt")
	if err := os.WriteFile(note, []byte("the secret word is pineapple\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ask := func(t *testing.T, prompt string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, claude, "-p", prompt)
		cmd.Dir = work
		cmd.Stdin = strings.NewReader("")
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"CLAUDE_CONFIG_DIR=" + filepath.Join(home, ".claude"),
			"ANTHROPIC_BASE_URL=http://" + addr,
			"ANTHROPIC_API_KEY=" + key,
			// No traffic but to the gateway: no telemetry, error
			// reports or update checks, and anything else that tries
			// goes to a proxy that is not there.
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
			"DISABLE_TELEMETRY=1",
			"DISABLE_AUTOUPDATER=1",
			"HTTPS_PROXY=http://127.0.0.1:9",
			"HTTP_PROXY=http://127.0.0.1:9",
			"NO_PROXY=127.0.0.1,localhost",
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("claude -p %q: %v\nstdout:\n%s\nstderr:\n%s", prompt, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	t.Run("hello", func(t *testing.T) {
		out := ask(t, "say hello")
		if !strings.Contains(out, "[simulated]") || !strings.Contains(out, "say hello") {
			t.Errorf("got %q, want the simulated provider's echo of %q", out, "say hello")
		}
	})
	t.Run("tool", func(t *testing.T) {
		// The simulated provider calls the tool a /tool line names; Read
		// is one of Claude Code's own, which it runs without asking.
		out := ask(t, "read the note\n/tool Read "+mustJSON(t, map[string]string{"file_path": note}))
		if !strings.Contains(out, "[simulated] received tool result") || !strings.Contains(out, "pineapple") {
			t.Errorf("got %q, want the simulated provider's answer quoting the Read tool's result", out)
		}
	})
	t.Run("force tool held", func(t *testing.T) {
		out := ask(t, "intercept it\n/tool fire_interceptor {\"track\":\"T-1\"}")
		if !strings.Contains(out, "held for human approval") {
			t.Errorf("got %q, want the notice that the call is held for human approval", out)
		}
	})
}

// startDefaultGateway starts `brightline serve` as a child process with
// the embedded default providers and routes (defaultConfig with no
// provider keys), its data in dir and a port of its own choosing, and
// returns the address it listens on.
func startDefaultGateway(t *testing.T, dir string) string {
	t.Helper()
	def := defaultConfig(func(string) string { return "" })
	var y strings.Builder
	fmt.Fprintf(&y, "listen: 127.0.0.1:0\ndata_dir: %s\nproviders:\n", strconv.Quote(filepath.Join(dir, "data")))
	for _, p := range def.Providers {
		fmt.Fprintf(&y, "  - {name: %s, type: %s}\n", strconv.Quote(p.Name), strconv.Quote(p.Type))
	}
	y.WriteString("routes:\n")
	for _, r := range def.Routes {
		fmt.Fprintf(&y, "  - model: %s\n    targets:\n", strconv.Quote(r.Model))
		for _, tg := range r.Targets {
			fmt.Fprintf(&y, "      - {provider: %s}\n", strconv.Quote(tg.Provider))
		}
	}
	cfg := filepath.Join(dir, "brightline.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), execMainEnv+"=1", "ANTHROPIC_API_KEY=", "OPENAI_API_KEY=")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The log's "brightline listening" line names the address. Read the
	// log to its end, so the gateway never blocks on a full pipe.
	lines := bufio.NewScanner(stderr)
	var seen strings.Builder
	for lines.Scan() {
		seen.WriteString(lines.Text() + "\n")
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "brightline listening" {
			go io.Copy(io.Discard, stderr)
			return strings.TrimPrefix(l.Addr, "http://")
		}
	}
	t.Fatalf("gateway did not start:\n%s", seen.String())
	return ""
}

// createKey runs `brightline keys create` and returns the key it prints.
func createKey(t *testing.T, cfg, name string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if err := run(t.Context(), []string{"keys", "create", "-config", cfg, "-name", name}, e); err != nil {
		t.Fatalf("keys create: %v\n%s", err, stderr.String())
	}
	for line := range strings.Lines(stdout.String() + "\n" + stderr.String()) {
		if f := strings.TrimSpace(line); strings.HasPrefix(f, "bl_") {
			return f
		}
	}
	t.Fatalf("keys create printed no key:\n%s\n%s", stdout.String(), stderr.String())
	return ""
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
