package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// realClientsEnv turns on the tests that drive real client programs
// against a running gateway; .ci/clients.sh installs them and sets it.
const realClientsEnv = "BRIGHTLINE_REAL_CLIENTS"

// realClients returns what the real-client tests need: the Node 22 binary
// and the project directory holding the JavaScript libraries. It skips
// the test unless BRIGHTLINE_REAL_CLIENTS=1, and fails it if that is set
// but something is missing.
func realClients(t *testing.T) (node, js string) {
	t.Helper()
	if os.Getenv(realClientsEnv) != "1" {
		t.Skip("drives real clients (codex, @openai/agents, the Vercel AI SDK); run `source .ci/clients.sh` (which sets " + realClientsEnv + "=1) to enable")
	}
	node = os.Getenv("BRIGHTLINE_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			t.Fatalf("%s=1 but there is no node: %v", realClientsEnv, err)
		}
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "v22.") {
		t.Fatalf("%s=1 but %s is not Node 22 (%q, %v); source .ci/clients.sh", realClientsEnv, node, out, err)
	}
	js = os.Getenv("BRIGHTLINE_CLIENTS_JS")
	for _, lib := range []string{"@openai/agents", "ai", "@ai-sdk/openai", "zod"} {
		if _, err := os.Stat(filepath.Join(js, "node_modules", lib, "package.json")); err != nil {
			t.Fatalf("%s=1 but %s is not installed under BRIGHTLINE_CLIENTS_JS=%q; source .ci/clients.sh", realClientsEnv, lib, js)
		}
	}
	return node, js
}

// startFreshGateway starts `brightline serve` on a port of its own with a data
// directory in a temporary directory, the embedded default policy, the
// simulated provider for every model (as with no provider keys, which the
// child does not get) and a new API key. It returns the base URL (ending
// in /v1) and the key.
func startFreshGateway(t *testing.T) (baseURL, key string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "brightline.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `listen: 127.0.0.1:0
data_dir: %s
providers: [{name: simulated, type: simulated}]
routes: [{model: "*", targets: [{provider: simulated}]}]
`, filepath.Join(dir, "data")), 0o600); err != nil {
		t.Fatal(err)
	}
	var keyOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &keyOut, stderr: io.Discard, getenv: func(string) string { return "" }}
	if err := run(context.Background(), []string{"keys", "create", "-name", "clients", "-config", cfg}, e); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, cfg)
	return gw.url("/v1"), strings.TrimSpace(keyOut.String())
}

// runClient runs a client program with a deadline and returns its
// standard output; it fails the test if the program fails.
func runClient(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// No provider keys reach a client: only the gateway's key.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENAI_") && !strings.HasPrefix(kv, "ANTHROPIC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s failed: %v\nstdout:\n%s\nstderr:\n%s", name, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// agentsScript runs one @openai/agents agent with a function tool
// through the Responses API: the prompt is argv[2].
const agentsScript = `
import OpenAI from 'openai';
import { Agent, run, tool, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from '@openai/agents';
import { z } from 'zod';

setTracingDisabled(true);
setDefaultOpenAIClient(new OpenAI({ baseURL: process.env.BRIGHTLINE_BASE_URL, apiKey: process.env.BRIGHTLINE_API_KEY, maxRetries: 0 }));
setOpenAIAPI('responses');

const getWeather = tool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => 'sunny and 22 degrees in ' + city,
});
const fireInterceptor = tool({
  name: 'fire_interceptor',
  description: 'Launch an interceptor missile at a tracked target.',
  parameters: z.object({ track: z.string() }),
  execute: async () => { throw new Error('fire_interceptor ran: it must have been held'); },
});
const agent = new Agent({ name: 'Duty assistant', instructions: 'You are terse.', model: 'simulated', tools: [getWeather, fireInterceptor] });
const result = await run(agent, process.argv[2]);
console.log(result.finalOutput);
`

// aiSDKScript calls the Vercel AI SDK's default OpenAI provider (the
// Responses API): argv[2] is "stream" or "generate", argv[3] the prompt.
const aiSDKScript = `
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';

const openai = createOpenAI({ baseURL: process.env.BRIGHTLINE_BASE_URL, apiKey: process.env.BRIGHTLINE_API_KEY });
const model = openai('simulated');
const [mode, prompt] = process.argv.slice(2);
if (mode === 'stream') {
  let failed;
  const r = streamText({ model, prompt, maxRetries: 0, onError: ({ error }) => { failed = error; } });
  let text = '';
  for await (const delta of r.textStream) text += delta;
  if (failed) throw failed;
  console.log(text);
  console.error('finish:', await r.finishReason);
} else {
  const r = await generateText({ model, prompt, maxRetries: 0 });
  console.log(r.text);
  console.error('finish:', r.finishReason);
}
`

// TestRealClientsOpenAI drives real OpenAI-dialect clients through a fresh
// gateway on the Responses API: the Codex CLI (codex exec, wire_api
// "responses"), an @openai/agents agent with a function tool, and the
// Vercel AI SDK's OpenAI provider, streamed and not. Each is run once
// plainly and once with a force tool call (/tool fire_interceptor), which
// must come back held for human approval.
func TestRealClientsOpenAI(t *testing.T) {
	node, js := realClients(t)
	baseURL, key := startFreshGateway(t)
	env := []string{"BRIGHTLINE_BASE_URL=" + baseURL, "BRIGHTLINE_API_KEY=" + key}
	const force = `/tool fire_interceptor {"track":"T-1"}`
	const held = "held for human approval"

	scripts, err := os.MkdirTemp(js, "run-") // under js, so imports resolve
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scripts) })
	for name, src := range map[string]string{"agents.mjs": agentsScript, "aisdk.mjs": aiSDKScript} {
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("codex", func(t *testing.T) {
		codex, err := exec.LookPath("codex")
		if err != nil {
			t.Fatalf("%s=1 but codex is not on PATH: %v", realClientsEnv, err)
		}
		home := t.TempDir()
		// Codex offers the model its hosted web_search tool unless told
		// not to, and the default policy lets no provider-side tool run.
		config := fmt.Sprintf(`model = "simulated"
model_provider = "brightline"
web_search = "disabled"

[model_providers.brightline]
name = "Brightline"
base_url = %q
env_key = "BRIGHTLINE_API_KEY"
wire_api = "responses"
`, baseURL)
		if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		cenv := append([]string{"CODEX_HOME=" + home}, env...)
		exec := func(prompt string) string {
			return runClient(t, work, cenv, codex, "exec", "--skip-git-repo-check", "--model", "simulated", prompt)
		}
		if out := exec("say hello"); !strings.Contains(out, "[simulated] You said: say hello") {
			t.Errorf("codex exec: got %q, want the simulated echo", out)
		}
		if out := exec(force); !strings.Contains(out, held) {
			t.Errorf("codex exec with a force tool: got %q, want it %s", out, held)
		}
	})

	t.Run("agents", func(t *testing.T) {
		out := runClient(t, scripts, env, node, "agents.mjs", `/tool get_weather {"city":"Kyiv"}`)
		if !strings.Contains(out, "received tool result") || !strings.Contains(out, "sunny and 22 degrees in Kyiv") {
			t.Errorf("agents run: got %q, want the tool's result answered", out)
		}
		if out := runClient(t, scripts, env, node, "agents.mjs", force); !strings.Contains(out, held) {
			t.Errorf("agents run with a force tool: got %q, want it %s", out, held)
		}
	})

	for _, mode := range []string{"generate", "stream"} {
		t.Run("ai-sdk/"+mode, func(t *testing.T) {
			if out := runClient(t, scripts, env, node, "aisdk.mjs", mode, "say hello"); !strings.Contains(out, "[simulated] You said: say hello") {
				t.Errorf("AI SDK %s: got %q, want the simulated echo", mode, out)
			}
			if out := runClient(t, scripts, env, node, "aisdk.mjs", mode, force); !strings.Contains(out, held) {
				t.Errorf("AI SDK %s with a force tool: got %q, want it %s", mode, out, held)
			}
		})
	}
}
