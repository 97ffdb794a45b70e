package auditverify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const origin = "verify.test/log"

// newLogKey creates a log key in dir.
func newLogKey(t testing.TB, dir string) (note.Signer, string) {
	t.Helper()
	s, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), origin)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// makeLog appends n entries to the log in dir/log, signed by s, and returns
// the log directory and its checkpoint.
func makeLog(t *testing.T, dir string, n int, s note.Signer, vkey, tag string) (string, auditverify.Checkpoint) {
	t.Helper()
	ctx := context.Background()
	logDir := filepath.Join(dir, "log")
	l, err := auditlog.Open(ctx, auditlog.Config{Dir: logDir, Signer: s, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 16 { // concurrent appends share batches
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				e := auditlog.Entry{Kind: auditlog.KindDecision, RequestID: fmt.Sprintf("%s_%d", tag, i), Action: "allow"}
				if _, err := l.Append(ctx, e, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil { // waits for a checkpoint covering every entry
		t.Fatal(err)
	}
	return logDir, checkpointOf(t, logDir, vkey)
}

func checkpointOf(t *testing.T, logDir, vkey string) auditverify.Checkpoint {
	t.Helper()
	pol, err := auditverify.NewPolicy(vkey, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := auditverify.FetchCheckpoint(context.Background(), auditverify.NewSource(logDir, nil, nil), pol)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantErr(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil, want an error mentioning %q", what, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: got %q, want it to mention %q", what, err, w)
		}
	}
}

// TestTamper changes a copy of a good log on disk in the ways an attacker
// could and checks that each change is caught and located.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, vkey := newLogKey(t, dir)
	good, c := makeLog(t, dir, 300, key, vkey, "r")
	if c.Size != 300 {
		t.Fatalf("checkpoint size: got %d, want 300", c.Size)
	}
	src := auditverify.NewSource(good, nil, nil)
	for _, entries := range []bool{true, false} {
		if err := auditverify.VerifyTree(ctx, src, c, entries, nil); err != nil {
			t.Fatalf("good log (entries=%v): %v", entries, err)
		}
	}

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		// wantEntries and wantTiles are substrings the error must hold when
		// verifying from the entries and from the hash tiles ("" = must pass).
		wantEntries, wantTiles []string
	}{
		{
			name: "changed leaf hash tile",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, "tile/0/000"), 5*32+7)
			},
			wantEntries: []string{"tile/0/000", "hash 5 differs from the hash of entry 5"},
			wantTiles:   []string{"tile/1/000.p/1", "hash 0 differs"},
		},
		{
			name: "changed partial tile",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, "tile/0/001.p/44"), 40*32)
			},
			wantEntries: []string{"tile/0/001.p/44", "hash 40 differs from the hash of entry 296"},
			wantTiles:   []string{"root hash recomputed", "differ from what was signed"},
		},
		{
			name: "removed last entry",
			tamper: func(t *testing.T, dir string) {
				rewriteBundle(t, filepath.Join(dir, "tile/entries/001.p/44"), func(es [][]byte) [][]byte { return es[:len(es)-1] })
			},
			wantEntries: []string{"tile/entries/001.p/44 holds 43 entries, want 44", "entries 299 to 299 are missing"},
		},
		{
			name: "removed middle entry",
			tamper: func(t *testing.T, dir string) {
				rewriteBundle(t, filepath.Join(dir, "tile/entries/000"), func(es [][]byte) [][]byte {
					return append(es[:10:10], es[11:]...)
				})
			},
			wantEntries: []string{"tile/entries/000 holds 255 entries, want 256"},
		},
		{
			name: "changed entry",
			tamper: func(t *testing.T, dir string) {
				rewriteBundle(t, filepath.Join(dir, "tile/entries/000"), func(es [][]byte) [][]byte {
					es[17] = bytes.Replace(es[17], []byte("allow"), []byte("denyy"), 1)
					return es
				})
			},
			wantEntries: []string{"tile/0/000", "hash 17 differs from the hash of entry 17"},
		},
		{
			name: "deleted tile",
			tamper: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "tile/0/000")); err != nil {
					t.Fatal(err)
				}
			},
			wantEntries: []string{"tile/0/000"},
			wantTiles:   []string{"tile/0/000"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, good)
			tc.tamper(t, dir)
			src := auditverify.NewSource(dir, nil, nil)
			err := auditverify.VerifyTree(ctx, src, c, true, nil)
			wantErr(t, "VerifyTree from entries", err, tc.wantEntries...)
			err = auditverify.VerifyTree(ctx, src, c, false, nil)
			if tc.wantTiles == nil {
				if err != nil {
					t.Errorf("VerifyTree from hash tiles: got %v, want nil (the hash tiles are intact)", err)
				}
			} else {
				wantErr(t, "VerifyTree from hash tiles", err, tc.wantTiles...)
			}
		})
	}

	t.Run("inclusion proof over a changed tile", func(t *testing.T) {
		dir := copyDir(t, good)
		flipByte(t, filepath.Join(dir, "tile/0/000"), 5*32)
		_, err := auditverify.ProveInclusion(ctx, auditverify.NewSource(dir, nil, nil), c, 5)
		wantErr(t, "ProveInclusion", err, "entry 5")
	})

	pol, _ := auditverify.NewPolicy(vkey, nil, 0)
	p, err := auditverify.ProveInclusion(ctx, src, c, 123)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	p2, err := auditverify.ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Verify(pol); err != nil {
		t.Errorf("proof after a JSON round trip: %v", err)
	}
	// Checked independently with transparency-dev/merkle.
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 123, c.Size, rfc6962.DefaultHasher.HashLeaf(p.Entry), p.Hashes, c.Hash[:]); err != nil {
		t.Errorf("merkle.VerifyInclusion: %v", err)
	}
	p2.Entry = bytes.Replace(p2.Entry, []byte("allow"), []byte("deny!"), 1)
	_, err = p2.Verify(pol)
	wantErr(t, "proof of a changed entry", err, "entry 123 is not in the tree of size 300")
}

// TestFork checks that consistency with a remembered checkpoint catches a
// rollback, a fork at the same size and a fork that grew.
func TestFork(t *testing.T) {
	ctx := context.Background()
	dirA := t.TempDir()
	key, vkey := newLogKey(t, dirA)
	logA, cA := makeLog(t, dirA, 40, key, vkey, "a")
	src := auditverify.NewSource(logA, nil, nil)

	// Same key, other entries: a fork the operator could sign.
	logB, cB := makeLog(t, t.TempDir(), 60, key, vkey, "b")
	// A growth of A itself is consistent.
	_, cA2 := makeLog(t, dirA, 25, key, vkey, "a2")
	if cA2.Size != 65 {
		t.Fatalf("grown log size: got %d, want 65", cA2.Size)
	}
	if err := auditverify.CheckConsistency(ctx, src, cA, cA2); err != nil {
		t.Fatalf("honest growth: %v", err)
	}

	forged := signCheckpoint(t, key, vkey, cA.Size, sha256.Sum256([]byte("other root")))

	for _, tc := range []struct {
		name     string
		src      auditverify.Source
		old, cur auditverify.Checkpoint
		want     []string
	}{
		{"rollback", src, cA2, cA, []string{"rolled back", "size 40 is smaller than the remembered size 65"}},
		{"same size, other root", src, cA, forged, []string{"log forked", "size 40"}},
		{"grown fork", auditverify.NewSource(logB, nil, nil), cA, cB, []string{"log forked", "size 60", "size 40"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auditverify.CheckConsistency(ctx, tc.src, tc.old, tc.cur)
			wantErr(t, "CheckConsistency", err, tc.want...)
		})
	}
}

// cosigner is a C2SP cosignature/v1 signer for tests.
type cosigner struct {
	name string
	priv ed25519.PrivateKey
	hash uint32
}

func newCosigner(t *testing.T, name string) (*cosigner, string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	vkey := fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
	return &cosigner{name: name, priv: priv, hash: binary.BigEndian.Uint32(h[:4])}, vkey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Sign(msg []byte) ([]byte, error) {
	ts := uint64(time.Now().Unix())
	sig := binary.BigEndian.AppendUint64(nil, ts)
	return append(sig, ed25519.Sign(c.priv, fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, msg))...), nil
}

func TestCosignatures(t *testing.T) {
	dir := t.TempDir()
	key, vkey := newLogKey(t, dir)
	_, c := makeLog(t, dir, 3, key, vkey, "c")
	w1, v1 := newCosigner(t, "w1.test/witness")
	w2, v2 := newCosigner(t, "w2.test/witness")
	_, v3 := newCosigner(t, "w3.test/witness")
	lv, _ := note.NewVerifier(vkey)
	n, err := note.Open(c.Note, note.VerifierList(lv))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, w1, w2)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one bit of w2's signature.
	bad := bytes.Clone(cosigned)
	i := bytes.LastIndex(bad, []byte("— w2.test/witness "))
	line := bad[i+len("— w2.test/witness "):]
	line = line[:bytes.IndexByte(line, '\n')]
	sig, _ := base64.StdEncoding.DecodeString(string(line))
	sig[len(sig)-1] ^= 1
	bad = append(bad[:i+len("— w2.test/witness ")], []byte(base64.StdEncoding.EncodeToString(sig)+"\n")...)

	_, otherVKey, _ := note.GenerateKey(rand.Reader, origin)
	for _, tc := range []struct {
		name      string
		logKey    string
		witnesses []string
		quorum    int
		note      []byte
		want      []string // nil: must verify
	}{
		{"2 of 3", vkey, []string{v1, v2, v3}, 2, cosigned, nil},
		{"3 of 3", vkey, []string{v1, v2, v3}, 3, cosigned, []string{"cosignatures from 2 witnesses", "want at least 3"}},
		{"uncosigned", vkey, []string{v1}, 1, c.Note, []string{"0 witnesses", "want at least 1"}},
		{"bad cosignature", vkey, []string{v1, v2}, 1, bad, []string{"signature by witness key w2.test/witness", "does not verify"}},
		{"wrong log key", otherVKey, nil, 0, c.Note, []string{"no signature by the log key"}},
		{"forged log signature", vkey, nil, 0, forgeLogSig(t, c.Note), []string{"signature by log key", "does not verify"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := auditverify.NewPolicy(tc.logKey, tc.witnesses, tc.quorum)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pol.Verify(tc.note)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want a verified checkpoint", err)
				}
				if got.Size != 3 || len(got.Witnesses) != 2 {
					t.Errorf("got size %d cosigned by %v, want size 3 cosigned by w1 and w2", got.Size, got.Witnesses)
				}
				return
			}
			wantErr(t, "Verify", err, tc.want...)
		})
	}
}

func forgeLogSig(t *testing.T, signed []byte) []byte {
	i := bytes.Index(signed, []byte("\n\n— "))
	line := signed[i+2:]
	sp := bytes.LastIndexByte(line[:bytes.IndexByte(line, '\n')], ' ')
	sig, err := base64.StdEncoding.DecodeString(string(line[sp+1 : bytes.IndexByte(line, '\n')]))
	if err != nil {
		t.Fatal(err)
	}
	sig[10] ^= 1
	return append(bytes.Clone(signed[:i+2+sp+1]), []byte(base64.StdEncoding.EncodeToString(sig)+"\n")...)
}

func signCheckpoint(t *testing.T, s note.Signer, vkey string, size uint64, root [32]byte) auditverify.Checkpoint {
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := auditverify.NewPolicy(vkey, nil, 0)
	c, err := pol.Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rewriteBundle(t *testing.T, path string, f func([][]byte) [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var es [][]byte
	for len(b) > 0 {
		n := int(binary.BigEndian.Uint16(b))
		es = append(es, bytes.Clone(b[2:2+n]))
		b = b[2+n:]
	}
	var out []byte
	for _, e := range f(es) {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
