package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/store/sqlite"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// auditDataDir builds a data directory as the gateway leaves it: a log with 15
// decisions, 10 of them denials with a commitment, and its index. Beside
// it, receipts.txt holds their receipts; late.txt adds a receipt for an
// entry the log lacks, past its MMD; pending.txt one within its MMD;
// wrong.txt one whose index holds another entry.
func auditDataDir(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, auditlog.KeyFile), auditTestOrigin)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, auditlog.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := auditlog.Open(ctx, auditlog.Config{Dir: filepath.Join(dir, auditlog.DirName), Signer: s, Index: db, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var receipts []auditlog.Receipt
	for i := range 15 {
		e := auditDecision(i)
		e.Time = time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC)
		var c *auditlog.Commitment
		if i < 10 {
			cm, err := auditlog.Commit([]byte(fmt.Sprintf(`{"messages": [{"content": "prompt %d"}]}`, i)))
			if err != nil {
				t.Fatal(err)
			}
			c = &cm
		} else {
			e.Matches, e.Action = nil, "allow"
		}
		r, err := l.Append(ctx, e, c)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// sign signs r as a version 1 receipt when r.Count is 0, else as the
	// only entry of a version 2 group.
	sign := func(r auditlog.Receipt) string {
		if r.Count == 0 {
			n, err := note.Sign(&note.Note{Text: r.Text()}, s)
			if err != nil {
				t.Fatal(err)
			}
			r.Note = n
			return r.Encode()
		}
		g, err := auditverify.NewReceiptGroup(r.Origin, r.Index, []tlog.Hash{r.LeafHash}, r.Time, r.MMD)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Sign(&note.Note{Text: g.Text()}, s)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := g.Receipt(r.Index, r.LeafHash, n)
		if err != nil {
			t.Fatal(err)
		}
		return gr.Encode()
	}
	var lines []string
	for _, r := range receipts {
		lines = append(lines, r.Encode())
	}
	all := strings.Join(lines, "\n") + "\n"
	// absent is a version 1 receipt (receipts before journal groups were
	// signed whole), soon and wrong are version 2.
	absent := auditlog.Receipt{Origin: auditTestOrigin, Index: 100, LeafHash: receipts[0].LeafHash, Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), MMD: time.Second}
	soon := absent
	soon.Time, soon.Count = time.Now().Add(time.Hour), 1
	wrong := receipts[4]
	wrong.Index = 3
	for name, text := range map[string]string{
		"receipts.txt": all,
		"late.txt":     all + sign(absent) + "\n",
		"pending.txt":  all + sign(soon) + "\n",
		"wrong.txt":    sign(wrong) + "\n" + all,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, vkey
}

// auditTestOrigin is the test log's origin.
const auditTestOrigin = "brightline.test/log"

// auditDecision is the i-th decision of the test log: a denial by the
// surveillance safeguard.
func auditDecision(i int) auditlog.Entry {
	return auditlog.Entry{
		Kind: auditlog.KindDecision, RequestID: fmt.Sprintf("req_%04d", i), PrincipalID: "key_1",
		Dialect: "openai", Provider: "simulated", Model: "m", PolicyHash: "sha256:aa", PolicyVersion: 1,
		Stage: "request", Action: "deny",
		Matches:    []auditlog.Match{{Safeguard: "surveillance", Rule: "bulk-persons", Action: "deny"}},
		Detections: map[string]int{"PERSON": i % 7},
	}
}

func runAuditCmd(t *testing.T, data string, args ...string) (int, string, string) {
	t.Helper()
	open := func(ctx context.Context) (auditIndex, error) {
		path := filepath.Join(data, auditlog.IndexDB)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no local index: %w", err)
		}
		return sqlite.Open(ctx, path)
	}
	return runCommand("", func(e *env) error { return runAuditWith(context.Background(), args, data, open, e) })
}

func TestAudit(t *testing.T) {
	data, vkey := auditDataDir(t)
	state := filepath.Join(t.TempDir(), "state")
	proofFile := filepath.Join(t.TempDir(), "proof.json")

	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{"no command", nil, 2, nil, []string{"usage"}},
		{"unknown", []string{"frob"}, 2, nil, []string{"unknown command"}},
		{"verify first", []string{"verify", "-state", state}, 0,
			[]string{"size 15", "first checkpoint seen", "recomputed from all 15 entries", "OK"}, nil},
		{"verify again", []string{"verify", "-state", state, "-key", vkey, "-log", filepath.Join(data, auditlog.DirName)}, 0,
			[]string{"extends the checkpoint of size 15", "OK"}, nil},
		{"verify wants witnesses", []string{"verify", "-no-state", "-witness", "w.test+01234567+BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 2,
			nil, []string{"witness key"}},
		{"prove", []string{"prove", "-o", proofFile, "req_0003"}, 0, nil, []string{"1 entries of request req_0003", "audit verify -proof"}},
		{"verify proof", []string{"verify", "-proof", proofFile, "-key", vkey}, 0, []string{"entry 3: decision request deny", "receipt for entry 3", "is kept", "OK"}, nil},
		{"verify receipts", []string{"verify", "-no-state", "-receipts", filepath.Join(data, "receipts.txt")}, 0,
			[]string{"15 checked, 15 included in the checkpoint of size 15, 0 pending within their MMD, 0 problems", "OK"}, nil},
		{"verify receipts pending", []string{"verify", "-no-state", "-receipts", filepath.Join(data, "pending.txt")}, 0,
			[]string{"entry 100 is not in the checkpoint of size 15 yet; due by", "16 checked, 15 included", "1 pending", "OK"}, nil},
		{"verify receipts late", []string{"verify", "-no-state", "-receipts", filepath.Join(data, "late.txt")}, 1,
			[]string{"RECEIPT: line 16: entry 100 was promised by", "1 problems"}, []string{"1 of 16 receipts are broken promises"}},
		{"verify receipts wrong entry", []string{"verify", "-no-state", "-receipts", filepath.Join(data, "wrong.txt")}, 1,
			[]string{"RECEIPT: line 1: entry 3 of the tree of size 15 is not the entry the receipt promises"}, []string{"1 of 16 receipts"}},
		{"prove unknown", []string{"prove", "req_nope"}, 1, nil, []string{"no entries"}},
		{"stats", []string{"stats"}, 0, []string{"surveillance  bulk-persons  deny    10", "-             -             allow   5", "15 decisions in 15 verified entries"}, nil},
		{"stats window", []string{"stats", "-since", "2026-11-01T00:00:05Z", "-until", "2026-11-01T00:00:12Z"}, 0,
			[]string{"deny    5", "allow   2", "7 decisions"}, nil},
		{"stats future", []string{"stats", "-since", "2030-01-01"}, 0, []string{"0 decisions"}, nil},
		{"stats bad time", []string{"stats", "-since", "yesterday"}, 2, nil, []string{"not RFC 3339"}},
		{"open", []string{"open", "req_0004"}, 0, []string{"salt:", `{"messages":[{"content":"prompt 4"}]}`, "matches the logged commitment"}, nil},
		{"open without commitment", []string{"open", "req_0012"}, 1, nil, []string{"no content commitment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runAuditCmd(t, data, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errs)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout: got %q, want it to contain %q", out, w)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr: got %q, want it to contain %q", errs, w)
				}
			}
		})
	}

	t.Run("tampered proof", func(t *testing.T) {
		b, err := os.ReadFile(proofFile)
		if err != nil {
			t.Fatal(err)
		}
		var rp auditverify.RequestProofs
		if err := json.Unmarshal(b, &rp); err != nil {
			t.Fatal(err)
		}
		rp.Proofs[0].Entry = bytes.Replace(rp.Proofs[0].Entry, []byte(`"deny"`), []byte(`"allow"`), 1)
		b, _ = json.Marshal(rp)
		bad := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(bad, b, 0o644)
		code, _, errs := runAuditCmd(t, data, "verify", "-proof", bad, "-key", vkey)
		if code != 1 || !strings.Contains(errs, "entry 3 is not in the tree") {
			t.Errorf("got exit %d, stderr %q; want 1 and 'entry 3 is not in the tree'", code, errs)
		}
	})

	t.Run("over HTTP", func(t *testing.T) {
		s, _, _, err := auditlog.LoadOrCreateKey(filepath.Join(data, auditlog.KeyFile), auditTestOrigin)
		if err != nil {
			t.Fatal(err)
		}
		l, err := auditlog.Open(context.Background(), auditlog.Config{Dir: filepath.Join(data, auditlog.DirName), Signer: s, CheckpointInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		mux := http.NewServeMux()
		mux.Handle("/log/", l.Handler(func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer sk-auditor" }))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		other := t.TempDir() // an auditor's machine: no local data
		code, out, errs := runAuditCmd(t, other, "verify", "-log", srv.URL+"/log", "-key", vkey, "-state", state)
		if code != 0 || !strings.Contains(out, "recomputed from the hash tiles") {
			t.Errorf("public verify: got exit %d\nstdout %s\nstderr %s", code, out, errs)
		}
		code, out, errs = runAuditCmd(t, other, "verify", "-log", srv.URL+"/log", "-key", vkey, "-state", state, "-auditor-key", "sk-auditor")
		if code != 0 || !strings.Contains(out, "recomputed from all 15 entries") {
			t.Errorf("auditor verify: got exit %d\nstdout %s\nstderr %s", code, out, errs)
		}
		code, _, errs = runAuditCmd(t, other, "verify", "-log", srv.URL+"/log", "-key", vkey, "-no-state", "-auditor-key", "sk-wrong")
		if code != 1 || !strings.Contains(errs, "403") {
			t.Errorf("verify with a non-auditor key: got exit %d, stderr %q; want 1 and a 403", code, errs)
		}
	})

	t.Run("tampered tile", func(t *testing.T) {
		flip := filepath.Join(data, auditlog.DirName, "tile", "0", "000.p", "15")
		b, err := os.ReadFile(flip)
		if err != nil {
			t.Fatal(err)
		}
		b[7*32] ^= 1
		os.WriteFile(flip, b, 0o644)
		code, _, errs := runAuditCmd(t, data, "verify", "-state", state)
		if code != 1 || !strings.Contains(errs, "tile/0/000.p/15: hash 7 differs from the hash of entry 7") {
			t.Errorf("verify after editing a tile: got exit %d, stderr %q; want 1 naming tile/0/000.p/15 and entry 7", code, errs)
		}
		code, _, errs = runAuditCmd(t, data, "stats")
		if code != 1 || !strings.Contains(errs, "tile/0/000.p/15") {
			t.Errorf("stats over a tampered log: got exit %d, stderr %q; want 1 naming the tile", code, errs)
		}
	})
}

// TestAuditOpenBodies opens commitments whose openings are sealed with the
// body key, inline and in a side file: audit open prints the body and
// checks it, says so when the key is missing, and says the body is gone
// once retention has deleted it (the index row's opening, or the side
// file) while the commitment stays in the log.
func TestAuditOpenBodies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, auditlog.KeyFile), auditTestOrigin)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, auditlog.BodyKeyFile)
	key, _, err := auditlog.LoadOrCreateBodyKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, auditlog.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := auditlog.Open(ctx, auditlog.Config{Dir: filepath.Join(dir, auditlog.DirName), Signer: s, Index: db, BodyKey: key,
		CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "MARKER-7f3a9c-secret-prompt"
	inline := []byte(`{"messages":[{"content":"` + marker + `"}]}`)
	large := bytes.Repeat([]byte("x"), 2*auditlog.OpeningInlineMax)
	copy(large[auditlog.OpeningInlineMax:], marker)
	var cms []auditlog.Commitment
	for i, body := range [][]byte{inline, large} {
		cm, err := auditlog.Commit(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, auditDecision(i), &cm); err != nil {
			t.Fatal(err)
		}
		cms = append(cms, cm)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sideFiles, _ := filepath.Glob(filepath.Join(dir, auditlog.OpeningsDirName, "*", "*"))
	if len(sideFiles) != 1 {
		t.Fatalf("side files: got %q, want the large body's", sideFiles)
	}

	for i, rid := range []string{"req_0000", "req_0001"} {
		code, out, errOut := runAuditCmd(t, dir, "open", rid)
		if code != 0 || !strings.Contains(out, marker) || !strings.Contains(out, "matches the logged commitment") || !strings.Contains(out, cms[i].Hash) {
			t.Fatalf("open %s: got exit %d, stdout %.200q, stderr %q, want the body and a matching commitment", rid, code, out, errOut)
		}
	}

	// Without the key, open says what is missing.
	if err := os.Rename(keyPath, keyPath+".away"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runAuditCmd(t, dir, "open", "req_0000")
	if code != 1 || !strings.Contains(errOut, "body key") || !strings.Contains(errOut, "missing") || strings.Contains(out, marker) {
		t.Errorf("open without the key: got exit %d, stdout %q, stderr %q, want 1 and an error naming the missing body key", code, out, errOut)
	}
	if err := os.Rename(keyPath+".away", keyPath); err != nil {
		t.Fatal(err)
	}

	// The large body's side file deleted after the retention period, its
	// index row still referring to it.
	if err := os.Remove(sideFiles[0]); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runAuditCmd(t, dir, "open", "req_0001")
	if code != 1 || !strings.Contains(errOut, "gone") || !strings.Contains(out, cms[1].Hash) || !strings.Contains(out, "deleted after the retention period") || strings.Contains(out, marker) {
		t.Errorf("open after the side file's retention: got exit %d, stdout %q, stderr %q, want 1, the commitment and an error saying the body is gone", code, out, errOut)
	}

	// The inline opening deleted from the index.
	if _, err := db.ForgetAuditBodies(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runAuditCmd(t, dir, "open", "req_0000")
	if code != 1 || !strings.Contains(errOut, "gone") || !strings.Contains(out, cms[0].Hash) || !strings.Contains(out, "deleted after the retention period") || strings.Contains(out, marker) {
		t.Errorf("open after retention: got exit %d, stdout %q, stderr %q, want 1, the commitment and an error saying the body is gone", code, out, errOut)
	}
}
