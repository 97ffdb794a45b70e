package auditlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestLargeBodySideFile checks the path of a body above OpeningInlineMax:
// append writes it, sealed, to a side file and the journal record and
// index row hold only a reference; `audit open` reads it back and checks
// the commitment; past the retention period the sweep deletes the file
// and open reports the body as deleted.
func TestLargeBodySideFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _, err := LoadOrCreateKey(filepath.Join(dir, KeyFile), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := LoadOrCreateBodyKey(filepath.Join(dir, BodyKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db.Now = clock
	const retention = 720 * time.Hour
	l, err := Open(ctx, Config{Dir: filepath.Join(dir, DirName), Signer: s, Index: db, BodyKey: key,
		BodyRetention: retention, Now: clock, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 5 MiB of printable text with a marker in the middle.
	const marker = "MARKER-side-file-4b1e"
	raw := make([]byte, 5<<20/2)
	rand.Read(raw)
	body := []byte(hex.EncodeToString(raw))
	copy(body[len(body)/2:], marker)
	cm, err := Commit(body)
	if err != nil {
		t.Fatal(err)
	}
	e := decision(0)
	if _, err := l.Append(ctx, e, &cm); err != nil {
		t.Fatal(err)
	}
	// A small one stays inline.
	small := decision(1)
	cs, err := Commit([]byte(`{"messages":[{"content":"small"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, small, &cs); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The journal and the index stay small; the side file holds the body,
	// encrypted.
	var journalBytes int64
	segs, _ := filepath.Glob(filepath.Join(dir, JournalDirName, "*"+journalExt))
	for _, p := range segs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		journalBytes += int64(recordsEnd(b)) // not the zeros past them
	}
	if journalBytes == 0 || journalBytes > 4<<10 {
		t.Errorf("journal segments: got %d bytes, want a few hundred (the body kept out)", journalBytes)
	}
	recs, err := db.AuditEntries(ctx, e.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(recs[0].Body) > 1<<10 {
		t.Fatalf("index row: got %d rows, body of %d bytes, want one row holding a reference", len(recs), len(recs[0].Body))
	}
	files, _ := filepath.Glob(filepath.Join(dir, OpeningsDirName, "2026120110", "*"))
	if len(files) != 1 {
		t.Fatalf("side files: got %q, want one in the hour's directory", files)
	}
	sf, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(sf) < len(body) || bytes.Contains(sf, []byte(marker)) {
		t.Errorf("side file: got %d bytes (marker in plaintext: %v), want the sealed %d-byte body", len(sf), bytes.Contains(sf, []byte(marker)), len(body))
	}

	salt, opened, err := openIndexed(t, db, dir, key, e.RequestID)
	if err != nil || !bytes.Contains(opened, []byte(marker)) || CommitmentHash(salt, opened) != cm.Hash {
		t.Fatalf("OpenRecord: got %d bytes, %v, want the body and a matching commitment", len(opened), err)
	}
	if salt, opened, err := openIndexed(t, db, dir, key, small.RequestID); err != nil || !strings.Contains(string(opened), `"small"`) || CommitmentHash(salt, opened) != cs.Hash {
		t.Fatalf("OpenRecord of the inline body: got %q, %v", opened, err)
	}

	// The sweep keeps the file within the retention period and deletes it
	// past it.
	l2 := &Log{cfg: Config{Dir: filepath.Join(dir, DirName), BodyRetention: retention, Now: clock}}
	now = now.Add(retention - time.Minute)
	if _, err := l2.ForgetBodies(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatalf("side file within retention: %v, want it kept", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := l2.ForgetBodies(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Fatalf("side file past retention: got %v, want it deleted", err)
	}
	// The index row (not forgotten here: l2 has no index) still refers to
	// the file; opening it says the body is gone. (cmd/brightline's
	// TestAuditOpenBodies checks what audit open prints.)
	if _, _, err := openIndexed(t, db, dir, key, e.RequestID); !errors.Is(err, ErrOpeningGone) {
		t.Errorf("OpenRecord after retention: got %v, want ErrOpeningGone", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSideFileFailureRefusesAppend checks that an append whose side file
// can't be written fails, and journals nothing.
func TestSideFileFailureRefusesAppend(t *testing.T) {
	var blocked string
	tl := openTestLog(t, func(c *Config) {
		blocked = filepath.Join(filepath.Dir(c.Dir), "not-a-dir")
		if err := os.WriteFile(blocked, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		c.OpeningsDir = blocked
	})
	cm, err := Commit(bytes.Repeat([]byte("x"), OpeningInlineMax+1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Append(context.Background(), decision(0), &cm); err == nil || !strings.Contains(err.Error(), "side file") {
		t.Fatalf("Append with an unwritable openings directory: got %v, want an error about the side file", err)
	}
	if s := tl.Status(); s.JournalSize != 0 {
		t.Errorf("journal size after the failed append: got %d, want 0", s.JournalSize)
	}
	// A small body does not need the directory.
	cs, err := Commit([]byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Append(context.Background(), decision(1), &cs); err != nil {
		t.Fatalf("Append of a small body: %v", err)
	}
}

// TestOpeningRoundTrip checks which bodies go to side files, and that
// sealed and plaintext side files read back; a body that starts like a
// reference goes to a side file however small.
func TestOpeningRoundTrip(t *testing.T) {
	dir := t.TempDir()
	key, _, err := LoadOrCreateBodyKey(filepath.Join(dir, BodyKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.Repeat("ab", 32)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		key  *BodyKey
		body []byte
		side bool
	}{
		{"inline max", key, bytes.Repeat([]byte("a"), OpeningInlineMax), false},
		{"one past", key, bytes.Repeat([]byte("a"), OpeningInlineMax+1), true},
		{"reference-like", nil, append(bytes.Clone(openingRefMagic), "2026120110/1-x"...), true},
		{"plaintext", nil, bytes.Repeat([]byte("b"), OpeningInlineMax+1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsSideFile(tc.body); got != tc.side {
				t.Fatalf("needsSideFile: got %v, want %v", got, tc.side)
			}
			ref, _, err := writeOpening(filepath.Join(dir, "o"), tc.key, now, hash, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readOpening(filepath.Join(dir, "o"), tc.key, ref)
			if err != nil || !bytes.Equal(got, tc.body) {
				t.Fatalf("readOpening: got %d bytes, %v, want the %d written", len(got), err, len(tc.body))
			}
			if tc.key != nil {
				if _, err := readOpening(filepath.Join(dir, "o"), nil, ref); err == nil {
					t.Errorf("readOpening of a sealed file without the key: got no error")
				}
			}
			now = now.Add(time.Microsecond)
		})
	}
	for _, ref := range []string{"blopening1:../../etc/passwd", "blopening1:2026120110/../x", "blopening1:2026120110/1-" + hash + "/x"} {
		if _, err := readOpening(dir, key, []byte(ref)); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("readOpening(%q): got %v, want a malformed reference", ref, err)
		}
	}
}

// TestForgetOpenings checks the sweep's cut: whole hours before it, and
// the files before it in the hour that holds it.
func TestForgetOpenings(t *testing.T) {
	dir := t.TempDir()
	hash := strings.Repeat("cd", 32)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var paths []string
	for _, d := range []time.Duration{-90 * time.Minute, -30 * time.Minute, 10 * time.Minute, 30 * time.Minute, 70 * time.Minute} {
		_, p, err := writeOpening(dir, nil, base.Add(d), hash, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	stray := filepath.Join(dir, "README")
	if err := os.WriteFile(stray, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cut := base.Add(20 * time.Minute)
	n, err := forgetOpenings(dir, cut)
	if err != nil || n != 3 {
		t.Fatalf("forgetOpenings: got %d, %v, want 3", n, err)
	}
	for i, p := range paths {
		_, err := os.Stat(p)
		if want := i >= 3; (err == nil) != want {
			t.Errorf("file %d: stat %v, want kept %v", i, err, want)
		}
	}
	if _, err := os.Stat(filepath.Dir(paths[0])); !os.IsNotExist(err) {
		t.Errorf("the swept hour's directory: got %v, want it removed", err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("a file the sweep did not write: got %v, want it kept", err)
	}
}

// BenchmarkAppendLargeBody measures an append whose 1 MiB body goes to a
// side file (seal, write, two fsyncs, then the journal).
func BenchmarkAppendLargeBody(b *testing.B) {
	key, _, err := LoadOrCreateBodyKey(filepath.Join(b.TempDir(), BodyKeyFile))
	if err != nil {
		b.Fatal(err)
	}
	tl := openTestLog(b, func(c *Config) { c.BodyKey = key })
	cm, err := Commit(bytes.Repeat([]byte("y"), 1<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(cm.Body)))
	i := 0
	for b.Loop() {
		if _, err := tl.Append(context.Background(), decision(i), &cm); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
