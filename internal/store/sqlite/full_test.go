package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// TestDiskFull fills the database to its size limit, which SQLite reports
// exactly as it reports a full disk (SQLITE_FULL). Writes must fail with a
// clear error and lose nothing already stored; reads keep working; writes
// work again once there is room.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var pages int
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// Allow a few more pages than the schema uses, then fill them.
	if _, err := db.write.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	var created []string
	var fullErr error
	for i := range 10000 {
		plain, hash, err := brightline.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("key_%05d", i)
		k := store.Key{ID: id, Prefix: brightline.DisplayPrefix(plain), Principal: brightline.Principal{Name: strings.Repeat("n", 200)}}
		if err := db.CreateKey(ctx, k, hash); err != nil {
			fullErr = err
			break
		}
		created = append(created, id)
	}
	if fullErr == nil {
		t.Fatal("the database never filled up")
	}
	t.Logf("error when full: %v", fullErr)
	if !strings.Contains(fullErr.Error(), "full") || errors.Is(fullErr, store.ErrExists) {
		t.Errorf("got %v, want an error that says the database or disk is full", fullErr)
	}
	if len(created) == 0 {
		t.Fatal("no key fitted before the database was full")
	}
	keys, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatalf("reading after a full-disk write failure: %v", err)
	}
	if len(keys) != len(created) {
		t.Errorf("got %d keys after the failure, want the %d created before it", len(keys), len(created))
	}

	// Room again: writes succeed.
	if _, err := db.write.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	_, hash, _ := brightline.NewKey()
	if err := db.CreateKey(ctx, store.Key{ID: "key_after", Prefix: "bl_x"}, hash); err != nil {
		t.Errorf("write after space was freed: %v", err)
	}
}
