package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"
)

// cosigVKey returns the C2SP cosignature/v1 verifier key for pub.
func cosigVKey(name string, pub ed25519.PublicKey) string {
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	return fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
}

// specWitness is a C2SP tlog-witness written from the spec, with a hook to
// return bad cosignatures.
type specWitness struct {
	name    string
	priv    ed25519.PrivateKey
	vkey    string
	logKey  note.Verifier
	corrupt bool // sign, then flip a bit of the signature

	mu   sync.Mutex
	size int64     // guarded by mu: latest cosigned size
	hash tlog.Hash // guarded by mu
	seen int       // guarded by mu: requests answered 200
}

func newSpecWitness(t *testing.T, name, logVKey string) (*specWitness, *httptest.Server) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := note.NewVerifier(logVKey)
	if err != nil {
		t.Fatal(err)
	}
	w := &specWitness{name: name, priv: priv, vkey: cosigVKey(name, pub), logKey: lv}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return w, srv
}

func (w *specWitness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		http.Error(rw, "no blank line", http.StatusBadRequest)
		return
	}
	lines := strings.Split(string(head), "\n")
	old, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "old "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[0], "old ") {
		http.Error(rw, "bad old line", http.StatusBadRequest)
		return
	}
	var proof tlog.TreeProof
	for _, l := range lines[1:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			http.Error(rw, "bad proof line", http.StatusBadRequest)
			return
		}
		proof = append(proof, h)
	}
	n, err := note.Open(cp, note.VerifierList(w.logKey))
	if err != nil {
		http.Error(rw, "checkpoint signature: "+err.Error(), http.StatusForbidden)
		return
	}
	tl := strings.SplitN(n.Text, "\n", 4)
	size, _ := strconv.ParseInt(tl[1], 10, 64)
	hb, _ := base64.StdEncoding.DecodeString(tl[2])
	hash := tlog.Hash(hb)

	w.mu.Lock()
	defer w.mu.Unlock()
	if old != w.size {
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", w.size)
		return
	}
	if size < old {
		http.Error(rw, "size smaller than old size", http.StatusBadRequest)
		return
	}
	if old > 0 && size > old {
		if err := tlog.CheckTree(proof, size, hash, old, w.hash); err != nil {
			http.Error(rw, "consistency proof: "+err.Error(), http.StatusUnprocessableEntity)
			return
		}
	} else if old == size && old > 0 && hash != w.hash {
		http.Error(rw, "same size, different root", http.StatusConflict)
		return
	}
	w.size, w.hash = size, hash
	w.seen++
	ts := uint64(time.Now().Unix())
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, n.Text)
	sig := binary.BigEndian.AppendUint64(nil, ts)
	sig = append(sig, ed25519.Sign(w.priv, msg)...)
	if w.corrupt {
		sig[len(sig)-1] ^= 1
	}
	v, _ := auditverify.NewWitnessVerifier(w.vkey)
	line := append(binary.BigEndian.AppendUint32(nil, v.KeyHash()), sig...)
	fmt.Fprintf(rw, "— %s %s\n", w.name, base64.StdEncoding.EncodeToString(line))
}

func witnessOf(t *testing.T, w *specWitness, srv *httptest.Server) Witness {
	v, err := auditverify.NewWitnessVerifier(w.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return Witness{URL: srv.URL, Verifier: v}
}

// waitPublished polls Status until the published size reaches n.
func waitPublished(t *testing.T, l *Log, n uint64) Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := l.Status()
		if st.PublishedSize >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("published size never reached %d; status %+v", n, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWitnessQuorum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, vkey := newKey(t, dir)
	w1, srv1 := newSpecWitness(t, "w1.example/witness", vkey)
	w2, srv2 := newSpecWitness(t, "w2.example/witness", vkey)
	bad, srvBad := newSpecWitness(t, "bad.example/witness", vkey)
	bad.corrupt = true

	l, err := Open(ctx, Config{
		Dir: filepath.Join(dir, "log"), Signer: s, CheckpointInterval: 100 * time.Millisecond,
		Witnesses:     []Witness{witnessOf(t, w1, srv1), witnessOf(t, w2, srv2), witnessOf(t, bad, srvBad)},
		WitnessQuorum: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for round := 1; round <= 2; round++ {
		for i := range 10 {
			if _, err := l.Append(ctx, decision(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		st := waitPublished(t, l, uint64(10*round))

		// The served checkpoint carries two good cosignatures and passes a
		// 2-of-3 policy; the bad witness's cosignature was refused.
		mux := http.NewServeMux()
		mux.Handle("/log/", l.Handler(nil))
		srv := httptest.NewServer(mux)
		src := auditverify.NewSource(srv.URL+"/log", nil, nil)
		pol, err := auditverify.NewPolicy(vkey, []string{w1.vkey, w2.vkey, bad.vkey}, 2)
		if err != nil {
			t.Fatal(err)
		}
		c, err := auditverify.FetchCheckpoint(ctx, src, pol)
		srv.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if c.Size != st.PublishedSize || len(c.Witnesses) != 2 {
			t.Errorf("round %d: got size %d cosigned by %v, want size %d cosigned by w1 and w2", round, c.Size, c.Witnesses, st.PublishedSize)
		}
		pol3, _ := auditverify.NewPolicy(vkey, []string{w1.vkey, w2.vkey, bad.vkey}, 3)
		if _, err := pol3.Verify(c.Note); err == nil || !strings.Contains(err.Error(), "want at least 3") {
			t.Errorf("round %d: 3-of-3 policy: got %v, want a quorum error", round, err)
		}
	}
	// The second round needed a consistency proof from the first size.
	w1.mu.Lock()
	defer w1.mu.Unlock()
	if w1.size != 20 || w1.seen < 2 {
		t.Errorf("witness w1: got size %d after %d cosignatures, want 20 after at least 2", w1.size, w1.seen)
	}
}

// TestWitnessQuorumUnmet checks that a checkpoint the witnesses won't
// cosign is never published, while appends keep working.
func TestWitnessQuorumUnmet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, vkey := newKey(t, dir)
	bad, srvBad := newSpecWitness(t, "bad.example/witness", vkey)
	bad.corrupt = true
	l, err := Open(ctx, Config{
		Dir: filepath.Join(dir, "log"), Signer: s, CheckpointInterval: 100 * time.Millisecond,
		Witnesses: []Witness{witnessOf(t, bad, srvBad)}, WitnessQuorum: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 3 {
		if _, err := l.Append(ctx, decision(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until Tessera has signed a checkpoint covering the entries and
	// the bad witness has answered for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		bad.mu.Lock()
		done := bad.size >= 3
		bad.mu.Unlock()
		if done && l.Status().CheckpointSize >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the witness never saw size 3; status %+v", l.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := l.Status(); st.PublishedSize != 0 || st.Published != "" {
		t.Errorf("published with only a bad cosignature: got size %d, want nothing published", st.PublishedSize)
	}
	rec := httptest.NewRecorder()
	l.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/log/checkpoint", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /log/checkpoint without quorum: got %d, want 503", rec.Code)
	}
}

var litewitnessBin struct {
	once sync.Once
	path string
	err  error
}

// buildLitewitness builds filippo.io/torchwood/cmd/litewitness@v0.9.0 in a
// scratch module (its dependencies are not in our go.sum), using the
// module cache and the module proxy.
func buildLitewitness(t *testing.T) string {
	litewitnessBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "litewitness-build")
		if err != nil {
			litewitnessBin.err = err
			return
		}
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module lwbuild\n\ngo 1.26\n"), 0o644)
		bin := filepath.Join(dir, "litewitness")
		for _, args := range [][]string{
			{"get", "filippo.io/torchwood/cmd/litewitness@v0.9.0"},
			{"build", "-o", bin, "filippo.io/torchwood/cmd/litewitness"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
			if out, err := cmd.CombinedOutput(); err != nil {
				litewitnessBin.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		litewitnessBin.path = bin
	})
	if litewitnessBin.err != nil {
		t.Skipf("couldn't build litewitness (offline?): %v", litewitnessBin.err)
	}
	return litewitnessBin.path
}

// TestLitewitness runs the log against a real, independent witness:
// litewitness from filippo.io/torchwood, keyed through an in-process
// ssh-agent, with our log registered in its database.
func TestLitewitness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs litewitness")
	}
	bin := buildLitewitness(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, vkey := newKey(t, dir)

	// The witness key lives in an ssh-agent, as litewitness requires.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(keyring, c) }()
		}
	}()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}

	// Register the log the way witnessctl add-log and add-key would.
	dbPath := filepath.Join(dir, "litewitness.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	for _, q := range []string{
		`CREATE TABLE log (origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, tree_hash TEXT NOT NULL)`,
		`CREATE TABLE key (origin TEXT NOT NULL, key TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
		`CREATE TABLE bastion (origin TEXT NOT NULL, bastion TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO log VALUES (?, 0, ?)`, testOrigin, base64.StdEncoding.EncodeToString(empty[:])); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO key VALUES (?, ?)`, testOrigin, vkey); err != nil {
		t.Fatal(err)
	}
	db.Close()

	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pl.Addr().String()
	pl.Close()
	const name = "witness.test/litewitness"
	cmd := exec.Command(bin, "-name", name, "-db", dbPath, "-ssh-agent", sock,
		"-key", ssh.FingerprintSHA256(sshPub), "-listen", addr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logsMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logsMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logsMu.Unlock()
		}
	}()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			logsMu.Lock()
			t.Logf("litewitness log:\n%s", logs.String())
			logsMu.Unlock()
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("litewitness never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}

	wvkey := cosigVKey(name, pub)
	wv, err := auditverify.NewWitnessVerifier(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, Config{
		Dir: filepath.Join(dir, "log"), Signer: s, CheckpointInterval: 100 * time.Millisecond,
		Witnesses: []Witness{{URL: "http://" + addr, Verifier: wv}}, WitnessQuorum: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for round := 1; round <= 2; round++ {
		for i := range 7 {
			if _, err := l.Append(ctx, decision(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		st := waitPublished(t, l, uint64(7*round))
		pol, err := auditverify.NewPolicy(vkey, []string{wvkey}, 1)
		if err != nil {
			t.Fatal(err)
		}
		c, err := pol.Verify([]byte(st.Published))
		if err != nil {
			t.Fatalf("round %d: litewitness-cosigned checkpoint: %v", round, err)
		}
		if len(c.Witnesses) != 1 || c.Witnesses[0] != name {
			t.Errorf("round %d: got cosigners %v, want [%s]", round, c.Witnesses, name)
		}
	}
}
