package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// TestKeys checks an implementation of store.Keys against the contract
// documented on the interface. open must return a new, empty store for
// each call.
func TestKeys(t *testing.T, open OpenFunc[store.Keys]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Keys, c *clock)
	}{
		{"CreateThenLookup", testCreateThenLookup},
		{"LookupUnknown", testLookupUnknown},
		{"Empty", testEmpty},
		{"ListFields", testListFields},
		{"ListOrder", testListOrder},
		{"Revoke", testRevoke},
		{"Duplicates", testDuplicates},
		{"Invalid", testInvalid},
		{"Touch", testTouch},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentLookupsWhileCreating", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			tt.fn(t, open(t, c.Now), c)
		})
	}
}

// newKey returns a Key with a fresh plaintext, as the CLI would create it.
func newKey(t *testing.T, id string, p brightline.Principal) (store.Key, [32]byte) {
	t.Helper()
	plain, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return store.Key{ID: id, Prefix: brightline.DisplayPrefix(plain), Principal: p}, hash
}

// mustCreate creates a key for a principal named after id.
func mustCreate(t *testing.T, s store.Keys, id string) [32]byte {
	t.Helper()
	k, hash := newKey(t, id, brightline.Principal{Name: "name of " + id, Org: "acme", Purpose: "testing", Roles: []string{"user"}})
	if err := s.CreateKey(context.Background(), k, hash); err != nil {
		t.Fatalf("CreateKey(%q): %v", id, err)
	}
	return hash
}

func mustList(t *testing.T, s store.Keys) []store.Key {
	t.Helper()
	keys, err := s.ListKeys(context.Background())
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	return keys
}

func mustCount(t *testing.T, s store.Keys) int {
	t.Helper()
	n, err := s.CountActiveKeys(context.Background())
	if err != nil {
		t.Fatalf("CountActiveKeys: %v", err)
	}
	return n
}

func keyByID(t *testing.T, s store.Keys, id string) store.Key {
	t.Helper()
	for _, k := range mustList(t, s) {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("ListKeys has no key %q", id)
	return store.Key{}
}

func samePrincipal(a, b brightline.Principal) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Person == b.Person && a.Org == b.Org && a.Purpose == b.Purpose &&
		slices.Equal(a.Roles, b.Roles)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.Format(time.RFC3339Nano)
}

func sameTime(got *time.Time, want *time.Time) bool {
	if got == nil || want == nil {
		return got == want
	}
	return got.Equal(*want)
}

func testCreateThenLookup(t *testing.T, s store.Keys, _ *clock) {
	ctx := context.Background()
	tests := []struct {
		name      string
		id        string
		principal brightline.Principal
	}{
		{"principal id empty", "key_01", brightline.Principal{Name: "ci", Org: "acme", Purpose: "logistics", Roles: []string{"user"}}},
		{"principal id equal to key id", "key_02", brightline.Principal{ID: "key_02", Name: "ops", Org: "acme", Purpose: "ops"}},
		{"nil roles", "key_03", brightline.Principal{Name: "a"}},
		{"empty roles", "key_04", brightline.Principal{Name: "b", Roles: []string{}}},
		{"roles keep order and duplicates", "key_05", brightline.Principal{Name: "c", Roles: []string{"b", "b", "admin", "b", "approver"}}},
		{"roles with awkward text", "key_06", brightline.Principal{Name: "d", Roles: []string{
			"", " spaced ", `quo"te`, "comma,", "[x]", "{}", "null", `back\slash`, "new\nline", "<&>",
			"ünïcødé", "日本語", "emoji 🙂", "'; DROP TABLE keys; --",
		}}},
		{"fields with awkward text", "key_07", brightline.Principal{Name: "O'Brien \"ops\"", Org: "Ünïon 日本", Purpose: "tab\there", Roles: []string{"auditor"}}},
		{"empty fields", "key_08", brightline.Principal{}},
		{"person", "key_09", brightline.Principal{Name: "ada-laptop", Person: "ada", Roles: []string{"user"}}},
		{"person with awkward text", "key_10", brightline.Principal{Name: "e", Person: "Zoë O'Brien 日本"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, hash := newKey(t, tt.id, tt.principal)
			if err := s.CreateKey(ctx, k, hash); err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			want := tt.principal
			want.ID = tt.id
			got, err := s.PrincipalByKeyHash(ctx, hash)
			if err != nil {
				t.Fatalf("PrincipalByKeyHash: %v", err)
			}
			if !samePrincipal(got, want) {
				t.Errorf("PrincipalByKeyHash: got %#v, want %#v", got, want)
			}
			if listed := keyByID(t, s, tt.id); !samePrincipal(listed.Principal, want) {
				t.Errorf("ListKeys principal: got %#v, want %#v", listed.Principal, want)
			}
		})
	}
	if got, want := mustCount(t, s), len(tests); got != want {
		t.Errorf("CountActiveKeys: got %d, want %d", got, want)
	}
}

func testLookupUnknown(t *testing.T, s store.Keys, _ *clock) {
	ctx := context.Background()
	mustCreate(t, s, "key_known")
	_, unknown, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		hash [32]byte
	}{
		{"random hash", unknown},
		{"zero hash", [32]byte{}},
		{"hash of the empty string", brightline.HashKey("")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.PrincipalByKeyHash(ctx, tt.hash)
			if !errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("got principal %#v, error %v; want ErrNotFound", p, err)
			}
		})
	}
}

func testEmpty(t *testing.T, s store.Keys, _ *clock) {
	keys := mustList(t, s)
	if len(keys) != 0 {
		t.Errorf("ListKeys on an empty store: got %d keys, want 0", len(keys))
	}
	if n := mustCount(t, s); n != 0 {
		t.Errorf("CountActiveKeys on an empty store: got %d, want 0", n)
	}
	if err := s.TouchKeys(context.Background(), nil); err != nil {
		t.Errorf("TouchKeys(nil): got %v, want nil", err)
	}
}

func testListFields(t *testing.T, s store.Keys, c *clock) {
	ctx := context.Background()
	created := c.Advance(90 * time.Second)
	k, hash := newKey(t, "key_fields", brightline.Principal{Name: "n", Org: "o", Purpose: "p", Roles: []string{"r1", "r2"}})
	// The store must ignore the caller's time fields.
	bogus := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = bogus, &bogus, &bogus
	if err := s.CreateKey(ctx, k, hash); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	c.Advance(time.Hour)

	keys := mustList(t, s)
	if len(keys) != 1 {
		t.Fatalf("ListKeys: got %d keys, want 1", len(keys))
	}
	got := keys[0]
	if got.ID != k.ID {
		t.Errorf("ID: got %q, want %q", got.ID, k.ID)
	}
	if got.Prefix != k.Prefix {
		t.Errorf("Prefix: got %q, want %q", got.Prefix, k.Prefix)
	}
	want := k.Principal
	want.ID = k.ID
	if !samePrincipal(got.Principal, want) {
		t.Errorf("Principal: got %#v, want %#v", got.Principal, want)
	}
	if !got.CreatedAt.Equal(created) {
		t.Errorf("CreatedAt: got %v, want the store's clock at creation, %v", got.CreatedAt, created)
	}
	if got.RevokedAt != nil {
		t.Errorf("RevokedAt: got %s, want nil", fmtTime(got.RevokedAt))
	}
	if got.LastUsedAt != nil {
		t.Errorf("LastUsedAt: got %s, want nil", fmtTime(got.LastUsedAt))
	}
	if !got.Active() {
		t.Errorf("Active: got false, want true")
	}
	if _, err := s.PrincipalByKeyHash(ctx, hash); err != nil {
		t.Errorf("PrincipalByKeyHash: got %v, want the key to be active", err)
	}
}

func testListOrder(t *testing.T, s store.Keys, c *clock) {
	// IDs out of lexical order, a tie in time and a clock that steps back:
	// only insertion order explains the wanted order.
	steps := []struct {
		id      string
		advance time.Duration
	}{
		{"key_c", 0},
		{"key_a", 0},
		{"key_d", -time.Minute},
		{"key_b", time.Hour},
		{"key_e", time.Microsecond},
	}
	var want []string
	for _, st := range steps {
		c.Advance(st.advance)
		mustCreate(t, s, st.id)
		want = append(want, st.id)
	}
	if err := s.RevokeKey(context.Background(), "key_a"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range mustList(t, s) {
		got = append(got, k.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListKeys order: got %q, want %q", got, want)
	}
}

func testRevoke(t *testing.T, s store.Keys, c *clock) {
	ctx := context.Background()
	hashA := mustCreate(t, s, "key_a")
	hashB := mustCreate(t, s, "key_b")

	revoked := c.Advance(time.Minute)
	if err := s.RevokeKey(ctx, "key_a"); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if p, err := s.PrincipalByKeyHash(ctx, hashA); !errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("lookup of a revoked key: got principal %#v, error %v; want ErrNotFound", p, err)
	}
	if _, err := s.PrincipalByKeyHash(ctx, hashB); err != nil {
		t.Errorf("lookup of the other key after revoking one: got %v, want nil", err)
	}
	if n := mustCount(t, s); n != 1 {
		t.Errorf("CountActiveKeys after one revocation: got %d, want 1", n)
	}

	c.Advance(time.Minute)
	if err := s.RevokeKey(ctx, "key_a"); err != nil {
		t.Errorf("revoking twice: got %v, want nil", err)
	}
	a := keyByID(t, s, "key_a")
	if !sameTime(a.RevokedAt, &revoked) {
		t.Errorf("RevokedAt after revoking twice: got %s, want the first revocation, %s", fmtTime(a.RevokedAt), fmtTime(&revoked))
	}
	if a.Active() {
		t.Errorf("Active of a revoked key: got true, want false")
	}
	if b := keyByID(t, s, "key_b"); b.RevokedAt != nil {
		t.Errorf("RevokedAt of the other key: got %s, want nil", fmtTime(b.RevokedAt))
	}

	for _, id := range []string{"key_missing", "", "KEY_A"} {
		if err := s.RevokeKey(ctx, id); !errors.Is(err, brightline.ErrNotFound) {
			t.Errorf("RevokeKey(%q): got %v, want ErrNotFound", id, err)
		}
	}
	if n := mustCount(t, s); n != 1 {
		t.Errorf("CountActiveKeys at the end: got %d, want 1", n)
	}
}

func testDuplicates(t *testing.T, s store.Keys, _ *clock) {
	ctx := context.Background()
	orig := brightline.Principal{ID: "key_orig", Name: "original", Org: "acme", Roles: []string{"admin"}}
	k, hash := newKey(t, "key_orig", orig)
	if err := s.CreateKey(ctx, k, hash); err != nil {
		t.Fatal(err)
	}
	gone, goneHash := newKey(t, "key_gone", brightline.Principal{Name: "gone"})
	if err := s.CreateKey(ctx, gone, goneHash); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, fresh, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		id   string
		hash [32]byte
	}{
		{"same id, other hash", "key_orig", fresh},
		{"other id, same hash", "key_other", hash},
		{"same id and hash", "key_orig", hash},
		{"id of a revoked key", "key_gone", fresh},
		{"hash of a revoked key", "key_other", goneHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dup := store.Key{ID: tt.id, Prefix: "bl_dup", Principal: brightline.Principal{Name: "impostor", Roles: []string{"admin", "approver"}}}
			if err := s.CreateKey(ctx, dup, tt.hash); !errors.Is(err, store.ErrExists) {
				t.Errorf("CreateKey: got %v, want ErrExists", err)
			}
			if got := len(mustList(t, s)); got != 2 {
				t.Errorf("ListKeys after the failed create: got %d keys, want 2", got)
			}
			got, err := s.PrincipalByKeyHash(ctx, hash)
			if err != nil || !samePrincipal(got, orig) {
				t.Errorf("original key after the failed create: got %#v, %v; want %#v", got, err, orig)
			}
			if _, err := s.PrincipalByKeyHash(ctx, goneHash); !errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("revoked key after the failed create: got %v, want ErrNotFound", err)
			}
		})
	}
	if n := mustCount(t, s); n != 1 {
		t.Errorf("CountActiveKeys: got %d, want 1", n)
	}
}

func testInvalid(t *testing.T, s store.Keys, _ *clock) {
	ctx := context.Background()
	_, hash, err := brightline.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  store.Key
		hash [32]byte
	}{
		{"empty id", store.Key{Principal: brightline.Principal{Name: "x"}}, hash},
		{"principal id differs", store.Key{ID: "key_1", Principal: brightline.Principal{ID: "key_2"}}, hash},
		{"zero hash", store.Key{ID: "key_1"}, [32]byte{}},
		{"invalid UTF-8 name", store.Key{ID: "key_1", Principal: brightline.Principal{Name: "bad\xff"}}, hash},
		{"NUL in a role", store.Key{ID: "key_1", Principal: brightline.Principal{Roles: []string{"ad\x00min"}}}, hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateKey(ctx, tt.key, tt.hash)
			if err == nil || errors.Is(err, store.ErrExists) || errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("CreateKey: got %v, want a validation error", err)
			}
		})
	}
	if got := len(mustList(t, s)); got != 0 {
		t.Errorf("ListKeys after invalid creates: got %d keys, want 0", got)
	}
}

func testTouch(t *testing.T, s store.Keys, c *clock) {
	ctx := context.Background()
	hashA := mustCreate(t, s, "key_a")
	mustCreate(t, s, "key_b")
	mustCreate(t, s, "key_c")
	if err := s.RevokeKey(ctx, "key_c"); err != nil {
		t.Fatal(err)
	}

	t1 := c.Advance(time.Minute)
	if err := s.TouchKeys(ctx, []string{"key_a", "key_c", "key_missing", "key_a"}); err != nil {
		t.Fatalf("TouchKeys: %v", err)
	}
	c.Advance(time.Minute)
	check := func(when string, want map[string]*time.Time) {
		t.Helper()
		for _, k := range mustList(t, s) {
			if w := want[k.ID]; !sameTime(k.LastUsedAt, w) {
				t.Errorf("%s: LastUsedAt of %s: got %s, want %s", when, k.ID, fmtTime(k.LastUsedAt), fmtTime(w))
			}
		}
	}
	check("after the first touch", map[string]*time.Time{"key_a": &t1})

	t2 := c.Advance(time.Minute)
	if err := s.TouchKeys(ctx, []string{"key_b", "key_a"}); err != nil {
		t.Fatalf("TouchKeys: %v", err)
	}
	check("after the second touch", map[string]*time.Time{"key_a": &t2, "key_b": &t2})

	if err := s.TouchKeys(ctx, []string{}); err != nil {
		t.Errorf("TouchKeys(empty): got %v, want nil", err)
	}
	check("after an empty touch", map[string]*time.Time{"key_a": &t2, "key_b": &t2})
	if _, err := s.PrincipalByKeyHash(ctx, hashA); err != nil {
		t.Errorf("lookup after touching: got %v, want nil", err)
	}
	if n := mustCount(t, s); n != 2 {
		t.Errorf("CountActiveKeys after touching: got %d, want 2", n)
	}
}

func testCanceledContext(t *testing.T, s store.Keys, _ *clock) {
	hash := mustCreate(t, s, "key_a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := s.PrincipalByKeyHash(ctx, hash); !errors.Is(err, context.Canceled) || errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("PrincipalByKeyHash: got %v, want context.Canceled and not ErrNotFound", err)
	}
	k, h := newKey(t, "key_b", brightline.Principal{})
	if err := s.CreateKey(ctx, k, h); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateKey: got %v, want context.Canceled", err)
	}
	if err := s.RevokeKey(ctx, "key_a"); !errors.Is(err, context.Canceled) || errors.Is(err, brightline.ErrNotFound) {
		t.Errorf("RevokeKey: got %v, want context.Canceled and not ErrNotFound", err)
	}
	if _, err := s.ListKeys(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListKeys: got %v, want context.Canceled", err)
	}
	if _, err := s.CountActiveKeys(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("CountActiveKeys: got %v, want context.Canceled", err)
	}
	if n := mustCount(t, s); n != 1 {
		t.Errorf("CountActiveKeys after canceled calls: got %d, want 1 (nothing created or revoked)", n)
	}
}

// testConcurrent looks keys up from several goroutines while others create
// and revoke keys. Each writer checks that its own change is visible to the
// very next lookup. Run it under -race.
func testConcurrent(t *testing.T, s store.Keys, c *clock) {
	const (
		seeded  = 20
		writers = 2
		perW    = 25
		readers = 4
	)
	ctx := context.Background()
	seeds := make([][32]byte, seeded)
	for i := range seeds {
		seeds[i] = mustCreate(t, s, fmt.Sprintf("key_seed_%02d", i))
	}

	done := make(chan struct{})
	var readWG, writeWG sync.WaitGroup
	for r := range readers {
		readWG.Go(func() {
			for i := r; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				want := fmt.Sprintf("key_seed_%02d", i%seeded)
				p, err := s.PrincipalByKeyHash(ctx, seeds[i%seeded])
				if err != nil || p.ID != want {
					t.Errorf("reader %d: lookup of %s: got %q, %v", r, want, p.ID, err)
					return
				}
			}
		})
	}
	for w := range writers {
		writeWG.Go(func() {
			for i := range perW {
				id := fmt.Sprintf("key_w%d_%02d", w, i)
				c.Advance(time.Microsecond)
				plain, hash, err := brightline.NewKey() // not newKey: t.Fatal is for the test goroutine
				if err != nil {
					t.Errorf("writer %d: NewKey: %v", w, err)
					return
				}
				k := store.Key{ID: id, Prefix: brightline.DisplayPrefix(plain), Principal: brightline.Principal{Name: id}}
				if err := s.CreateKey(ctx, k, hash); err != nil {
					t.Errorf("writer %d: CreateKey(%s): %v", w, id, err)
					return
				}
				if p, err := s.PrincipalByKeyHash(ctx, hash); err != nil || p.ID != id {
					t.Errorf("writer %d: lookup right after creating %s: got %q, %v", w, id, p.ID, err)
					return
				}
				if i%2 == 1 {
					if err := s.RevokeKey(ctx, id); err != nil {
						t.Errorf("writer %d: RevokeKey(%s): %v", w, id, err)
						return
					}
					if _, err := s.PrincipalByKeyHash(ctx, hash); !errors.Is(err, brightline.ErrNotFound) {
						t.Errorf("writer %d: lookup right after revoking %s: got %v, want ErrNotFound", w, id, err)
						return
					}
				}
			}
		})
	}
	writeWG.Wait()
	close(done)
	readWG.Wait()
	if t.Failed() {
		return
	}

	wantActive := seeded + writers*(perW-perW/2)
	if n := mustCount(t, s); n != wantActive {
		t.Errorf("CountActiveKeys: got %d, want %d", n, wantActive)
	}
	if n := len(mustList(t, s)); n != seeded+writers*perW {
		t.Errorf("ListKeys: got %d keys, want %d", n, seeded+writers*perW)
	}
}
