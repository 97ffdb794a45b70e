package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPeer runs the fake upstream as a stand-in peer gateway, started by
// a shell command as -peer starts one: it must answer once startPeer
// returns, its CPU time must be counted from /proc, and close must stop
// the processes the command started.
func TestPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bench")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bench")
	build := exec.Command("go", "build", "-o", bin, "github.com/brightline/brightline/bench")
	build.Stderr = t.Output()
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	// Not exec'd: the shell stays, with the server as its child, so the
	// CPU time must come from the process tree. It runs with TMPDIR set.
	command := `[ "$TMPDIR" = "` + dir + `" ] || exit 9; ` + bin + " -upstream 127.0.0.1:{port}; true"
	p, err := startPeer("stand-in", command, "127.0.0.1:1", "upstream-model", "", dir, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	if !strings.HasPrefix(p.addr, "127.0.0.1:") {
		t.Errorf("peer address %q", p.addr)
	}
	before, err := p.cpu()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	r, err := closedLoop(t.Context(), client, "http://"+p.addr+"/v1/chat/completions",
		`{"model":"upstream-model","messages":[{"role":"user","content":"hi"}]}`, nil, 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.lat) == 0 || r.errors > 0 {
		t.Fatalf("%d answers, %d errors (first: %v)", len(r.lat), r.errors, r.firstErr)
	}
	after, err := p.cpu()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("the peer's CPU time went from %v to %v while it served %d requests", before, after, len(r.lat))
	}

	// Find the server, the shell's child, then stop the group.
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid))
	if err != nil || len(strings.Fields(string(kids))) != 1 {
		t.Fatalf("the shell's children: %q, %v", kids, err)
	}
	server, err := strconv.Atoi(strings.Fields(string(kids))[0])
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("close took %v: the peer did not stop on SIGTERM", d)
	}
	if running(server) {
		t.Errorf("the peer's server (pid %d) still runs after close", server)
	}
}

// TestPeerFailsToStart checks that a peer that exits, or never answers a
// chat completion, is an error, not a hang.
func TestPeerFailsToStart(t *testing.T) {
	if _, err := startPeer("gone", "exit 3", "127.0.0.1:1", "m", "", "", t.Output()); err == nil || !strings.Contains(err.Error(), "exited at start") {
		t.Errorf("a peer that exits: %v", err)
	}
}

// running reports whether process pid runs: it exists and is not a zombie
// (an orphan waits for init to reap it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}
