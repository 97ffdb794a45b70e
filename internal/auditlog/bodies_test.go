package auditlog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestBodiesAtRest checks that commitment openings are encrypted in the
// index with the body key, that `audit open` decrypts them (and says so
// when the key is missing), and that past the retention period they are
// deleted while the commitment stays in the log.
func TestBodiesAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _, err := LoadOrCreateKey(filepath.Join(dir, KeyFile), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, BodyKeyFile)
	key, created, err := LoadOrCreateBodyKey(keyPath)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateBodyKey: created %v, %v", created, err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("body key file: got %v, %v, want 32 bytes, mode 0600", fi, err)
	}
	if _, created, err := LoadOrCreateBodyKey(keyPath); err != nil || created {
		t.Fatalf("second LoadOrCreateBodyKey: created %v, %v, want the existing key", created, err)
	}

	dbPath := filepath.Join(dir, IndexDB)
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db.Now = clock
	const retention = 720 * time.Hour
	l, err := Open(ctx, Config{Dir: filepath.Join(dir, DirName), Signer: s, Index: db, BodyKey: key,
		BodyRetention: retention, Now: clock, CheckpointInterval: 100 * time.Millisecond, Release: ReleaseSequenced})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "MARKER-7f3a9c-secret-prompt"
	// A denial, as the gateway records it with the request body.
	e := decision(0)
	cm, err := Commit([]byte(`{"messages":[{"content":"` + marker + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, e, &cm); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rid := e.RequestID

	// Nothing on disk holds the plaintext: not the database nor its WAL,
	// not the journal.
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds the request body in plaintext", path)
		}
		if bytes.Contains(b, cm.Salt) {
			t.Errorf("%s holds the commitment salt in plaintext", path)
		}
		return nil
	})

	salt, body, err := openIndexed(t, db, dir, key, rid)
	if err != nil || !strings.Contains(string(body), marker) || CommitmentHash(salt, body) != cm.Hash {
		t.Fatalf("OpenRecord: got body %q, %v, want the body and a matching commitment", body, err)
	}

	// Without the key, the opening can't be read, and the missing key
	// file says so. (cmd/brightline's TestAuditOpenBodies checks what
	// audit open prints.)
	if _, _, err := openIndexed(t, db, dir, nil, rid); !errors.Is(err, ErrNoBodyKey) {
		t.Errorf("OpenRecord without the key: got %v, want ErrNoBodyKey", err)
	}
	if err := os.Rename(keyPath, keyPath+".away"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBodyKey(keyPath); !errors.Is(err, ErrNoBodyKey) {
		t.Errorf("LoadBodyKey of a missing file: got %v, want ErrNoBodyKey", err)
	}
	if err := os.Rename(keyPath+".away", keyPath); err != nil {
		t.Fatal(err)
	}

	// Past the retention period, the sweep deletes the opening.
	l2 := &Log{cfg: Config{Index: db, BodyRetention: retention, Now: clock}}
	now = now.Add(retention - time.Minute)
	if n, err := l2.ForgetBodies(ctx); err != nil || n != 0 {
		t.Fatalf("ForgetBodies within retention: got %d, %v, want 0", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := l2.ForgetBodies(ctx); err != nil || n != 1 {
		t.Fatalf("ForgetBodies after retention: got %d, %v, want 1", n, err)
	}
	recs, err := db.AuditEntries(ctx, rid)
	if err != nil || len(recs) != 1 || recs[0].Salt != nil || recs[0].Body != nil {
		t.Errorf("index after retention: got %+v, %v, want the row without its opening", recs, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// openIndexed opens the commitment of request rid's one index row, as
// audit open does.
func openIndexed(t *testing.T, db *sqlite.DB, dir string, key *BodyKey, rid string) (salt, body []byte, err error) {
	t.Helper()
	recs, err := db.AuditEntries(context.Background(), rid)
	if err != nil || len(recs) != 1 {
		t.Fatalf("AuditEntries(%s): got %d rows, %v, want one", rid, len(recs), err)
	}
	return OpenRecord(key, filepath.Join(dir, OpeningsDirName), recs[0].Salt, recs[0].Body)
}

// TestSealOldBodies checks that openings written without a body key are
// encrypted in place, and still open.
func TestSealOldBodies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _, err := LoadOrCreateKey(filepath.Join(dir, KeyFile), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// An earlier version: no body key.
	l, err := Open(ctx, Config{Dir: filepath.Join(dir, DirName), Signer: s, Index: db, CheckpointInterval: 100 * time.Millisecond, Release: ReleaseSequenced})
	if err != nil {
		t.Fatal(err)
	}
	e := decision(1)
	cm, err := Commit([]byte(`{"messages":[{"content":"old secret"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, e, &cm); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	key, _, err := LoadOrCreateBodyKey(filepath.Join(dir, BodyKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	l2 := &Log{cfg: Config{Index: db, BodyKey: key}}
	for i, want := range []int64{1, 0} {
		if n, err := l2.SealOldBodies(ctx); err != nil || n != want {
			t.Fatalf("SealOldBodies run %d: got %d, %v, want %d", i, n, err, want)
		}
	}
	recs, err := db.AuditEntries(ctx, e.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(recs[0].Body, []byte("old secret")) || bytes.Equal(recs[0].Salt, cm.Salt) {
		t.Fatalf("the index row still holds the opening in plaintext")
	}
	salt, body, err := OpenRecord(key, filepath.Join(dir, OpeningsDirName), recs[0].Salt, recs[0].Body)
	if err != nil || CommitmentHash(salt, body) != cm.Hash {
		t.Errorf("OpenRecord: got %v, want the opening of %s", err, cm.Hash)
	}
}
