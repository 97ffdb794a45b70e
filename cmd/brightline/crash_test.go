package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"golang.org/x/mod/sumdb/note"
)

// execMainEnv makes the test binary run main instead of the tests, so
// that tests can start the real gateway as a process and kill it.
const execMainEnv = "BRIGHTLINE_TEST_EXEC_MAIN"

// serveProc is a `brightline serve` child process: the test binary
// re-executed (see execMainEnv), so that tests can kill it.
type serveProc struct {
	cmd  *exec.Cmd
	addr string // where it listens, from its log
	// exited is closed once the process has exited (and been waited for).
	exited chan struct{}
}

// startServe starts `brightline serve -config cfg`, its log going to log,
// and returns once it serves. The config should say listen: 127.0.0.1:0:
// the gateway binds a port the kernel picks and the test reads the
// address from the log line that announces it, so no port is chosen free
// and then reused (something else may take it in between).
func startServe(t *testing.T, cfg string, log io.Writer) (*serveProc, error) {
	cmd := exec.Command(os.Args[0], "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), execMainEnv+"=1", "ANTHROPIC_API_KEY=", "OPENAI_API_KEY=")
	cmd.Dir = filepath.Dir(cfg)
	listening := make(chan string, 1)
	cmd.Stderr = &logWatch{to: log, listening: listening}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	select {
	case p.addr = <-listening:
	case <-p.exited:
		return nil, fmt.Errorf("brightline serve exited at start")
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("brightline serve did not listen within 60s")
	}
	// The listener is bound before the line is logged, so this request
	// waits in its backlog until the server accepts it.
	resp, err := http.Get(p.url("/healthz"))
	if err != nil {
		return nil, fmt.Errorf("brightline serve listens on %s but /healthz failed: %w", p.addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("brightline serve: /healthz answered %d, want 200", resp.StatusCode)
	}
	return p, nil
}

func (p *serveProc) url(path string) string { return "http://" + p.addr + path }

// kill SIGKILLs the process, if it still runs, and waits for it to exit.
func (p *serveProc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// logWatch passes a child's JSON log on to a writer and sends the address
// of its "brightline listening" line on listening (buffered, sent once).
// exec's copying goroutine is its only caller.
type logWatch struct {
	to        io.Writer
	listening chan<- string
	line      []byte // the start of the current line, until the address is sent
	sent      bool
}

func (w *logWatch) Write(b []byte) (int, error) {
	w.to.Write(b)
	if w.sent {
		return len(b), nil
	}
	w.line = append(w.line, b...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(b), nil
		}
		var l struct{ Msg, Addr string }
		if json.Unmarshal(w.line[:i], &l) == nil && l.Msg == "brightline listening" {
			w.listening <- strings.TrimPrefix(l.Addr, "http://")
			w.sent, w.line = true, nil
			return len(b), nil
		}
		w.line = w.line[i+1:]
	}
}

// startGateway starts `brightline serve -config cfg` and returns once it
// serves; the test fails if it does not.
func startGateway(t *testing.T, cfg string) *serveProc {
	t.Helper()
	log := &lockedBuffer{}
	p, err := startServe(t, cfg, log)
	if err != nil {
		t.Fatalf("%v:\n%s", err, log.String())
	}
	return p
}

// TestKillDashNine is the audit log's crash-safety requirement, end to
// end: clients hammer a running gateway with requests (allowed, denied and
// tool calls held for approval); the gateway is killed with SIGKILL. Every
// answer a client received carries a receipt for its decision. After a
// restart the integrator has caught up before the gateway serves (so
// within the MMD of the restart), the log verifies, every decision a
// client received an answer for is in it, and `audit verify -receipts`
// finds every receipt's entry at its index. A receipt for an entry the
// log lacks fails that check.
func TestKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the gateway")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "brightline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
providers: [{name: simulated, type: simulated}]
routes: [{model: simulated, targets: [{provider: simulated}]}]
`, filepath.Join(dir, "data"))), 0o600)

	var keyOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &keyOut, stderr: io.Discard, getenv: func(string) string { return "" }}
	if err := run(context.Background(), []string{"keys", "create", "-name", "load", "-config", cfg}, e); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())

	gw := startGateway(t, cfg)
	url := gw.url("/v1/chat/completions")
	// A bulk list of 30 US persons: the default policy denies it.
	var bulk strings.Builder
	bulk.WriteString("name,phone\\n")
	for i := range 30 {
		fmt.Fprintf(&bulk, "%s Smith,(212) 555-01%02d\\n", []string{"Maria", "James", "Linda", "Robert", "Susan"}[i%5], 10+i)
	}
	bodies := []string{
		`{"model":"simulated","messages":[{"role":"user","content":"status report %d"}]}`,
		`{"model":"simulated","messages":[{"role":"user","content":"Import these records (batch %d):\\n` + bulk.String() + `"}]}`,
		`{"model":"simulated","messages":[{"role":"user","content":"/tool fire_interceptor {\"track\":\"T-%d\"}"}]}`,
	}
	var (
		mu       sync.Mutex
		answered = map[string]int{}    // request id → status the client received
		receipts = map[string]string{} // request id → its receipt header
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		// enough is closed when 300 answers have arrived.
		enough     = make(chan struct{})
		enoughOnce sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(bodies[(w+i)%len(bodies)], i)
				req, _ := http.NewRequest("POST", url, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					continue // the gateway died mid-request: no answer was received
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || len(b) == 0 {
					continue
				}
				id := resp.Header.Get("x-request-id")
				mu.Lock()
				answered[id] = resp.StatusCode
				receipts[id] = resp.Header.Get(auditverify.ReceiptHeader)
				if len(answered) >= 300 {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	// Let some hundreds of answers arrive, then kill the gateway under
	// load. (Past 30s, kill it with however many there are: the checks
	// below hold for any number.)
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
	}
	if err := gw.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-gw.exited
	close(stop)
	wg.Wait()
	statuses := map[int]int{}
	for _, s := range answered {
		statuses[s]++
	}
	t.Logf("answers received before SIGKILL: %d, by status %v", len(answered), statuses)
	// 429: the one requester floods held force calls, and past the
	// policy's cap on pending approvals (20) a held call is refused.
	if statuses[200] == 0 || statuses[403] == 0 || statuses[200]+statuses[403]+statuses[429] != len(answered) {
		t.Fatalf("want only allowed (200), denied (403) and over-the-approval-cap (429) answers, 200 and 403 both, before the kill; got %v", statuses)
	}

	var receiptLines strings.Builder
	for id, r := range receipts {
		if r == "" {
			t.Errorf("request %s was answered %d without a receipt", id, answered[id])
		}
		receiptLines.WriteString(r + "\n")
	}
	// The highest index a receipt promised, read with the log's key.
	vkey, err := auditlog.VerifierKey(strings.TrimSpace(readFile(t, filepath.Join(dir, "data", auditlog.KeyFile))))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var maxReceipt uint64
	for _, r := range receipts {
		if rc, err := auditverify.ParseReceipt(r, pol.Log); err == nil {
			maxReceipt = max(maxReceipt, rc.Index)
		}
	}
	receiptsFile := filepath.Join(dir, "receipts.txt")
	if err := os.WriteFile(receiptsFile, []byte(receiptLines.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// Restart: the log integrates what the journal holds before the
	// gateway serves, so the first /healthz shows no lag; then it publishes
	// a checkpoint over everything. Then stop it cleanly.
	restarted := time.Now()
	gw = startGateway(t, cfg)
	ready := time.Since(restarted)
	var health struct {
		Status string
		Audit  struct {
			Size uint64
			Lag  uint64
		}
	}
	getJSON(t, gw.url("/healthz"), &health)
	if health.Status != "ok" || health.Audit.Size <= maxReceipt {
		t.Errorf("first /healthz after the restart: got %+v, want ok with the tree past entry %d, the last receipted", health, maxReceipt)
	}
	t.Logf("restarted and caught up in %s (size %d)", ready, health.Audit.Size)
	poll(t, 30*time.Second, fmt.Sprintf("a checkpoint of size %d", health.Audit.Size), func() bool {
		return checkpointSize(t, gw.url("/log/checkpoint")) >= health.Audit.Size
	})
	gw.cmd.Process.Signal(os.Interrupt)
	<-gw.exited

	// Verify the log from its directory, recomputing the tree from the
	// entries, and collect the request ids it holds.
	var out, errOut bytes.Buffer
	e = &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if err := run(context.Background(), []string{"audit", "-config", cfg, "verify", "-no-state"}, e); err != nil {
		t.Fatalf("audit verify after the crash: %v\n%s%s", err, out.String(), errOut.String())
	}
	src := auditverify.NewSource(filepath.Join(dir, "data", auditlog.DirName), nil, nil)
	ctx := context.Background()
	cp, err := auditverify.FetchCheckpoint(ctx, src, pol)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	if err := auditverify.VerifyTree(ctx, src, cp, true, func(_ uint64, b []byte) error {
		en, err := auditlog.ParseEntry(b)
		if err != nil {
			return err
		}
		if en.Kind == "decision" && en.Stage == "request" {
			logged[en.RequestID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id, status := range answered {
		if !logged[id] {
			missing++
			if missing <= 5 {
				t.Errorf("request %s was answered %d but its decision is not in the log", id, status)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered requests missing from the log", missing, len(answered))
	}
	t.Logf("log size %d: every one of the %d answered decisions is in it", cp.Size, len(answered))

	// Every receipt's entry is at its index in the verified tree.
	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"audit", "-config", cfg, "verify", "-no-state", "-receipts", receiptsFile}, e); err != nil {
		t.Fatalf("audit verify -receipts after the crash: %v\n%s%s", err, out.String(), errOut.String())
	}
	if want := fmt.Sprintf("%d checked, %d included", len(receipts), len(receipts)); !strings.Contains(out.String(), want) {
		t.Errorf("audit verify -receipts: got %s, want %q", out.String(), want)
	}

	// The check can fail: a receipt (signed with the log's key) for an
	// entry the log does not hold, past its MMD, is a broken promise.
	signer, _, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "data", auditlog.KeyFile), "")
	if err != nil {
		t.Fatal(err)
	}
	absent := auditverify.Receipt{Origin: cp.Origin, Index: cp.Size + 1000, Time: time.Now().Add(-time.Minute), MMD: time.Second}
	if absent.Note, err = note.Sign(&note.Note{Text: absent.Text()}, signer); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(dir, "forged.txt")
	os.WriteFile(forged, []byte(receiptLines.String()+absent.Encode()+"\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"audit", "-config", cfg, "verify", "-no-state", "-receipts", forged}, e); err == nil ||
		!strings.Contains(out.String(), fmt.Sprintf("entry %d was promised by", absent.Index)) {
		t.Errorf("audit verify -receipts with an absent entry's receipt: got %v\n%s%s; want it flagged", err, out.String(), errOut.String())
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// checkpointSize reads the size line of the checkpoint served at url, 0
// if there is none yet.
func checkpointSize(t *testing.T, url string) uint64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	if resp.StatusCode != 200 || len(lines) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(lines[1], 10, 64)
	return n
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
