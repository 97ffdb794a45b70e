package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// BenchmarkPrincipalByKeyHash measures the per-request authentication
// lookup against a store holding 10,000 keys.
func BenchmarkPrincipalByKeyHash(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Setup only: skip the per-commit fsync so 10,000 creates take
	// seconds, not minutes. The writer pool has one connection, so the
	// pragma applies to every create below.
	if _, err := db.write.Exec(`PRAGMA synchronous = OFF`); err != nil {
		b.Fatal(err)
	}
	const n = 10000
	hashes := make([][32]byte, n)
	for i := range hashes {
		plain, hash, err := brightline.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("key_%05d", i)
		p := brightline.Principal{Name: id, Org: "acme", Purpose: "benchmark", Roles: []string{"user", "approver"}}
		if err := db.CreateKey(ctx, store.Key{ID: id, Prefix: brightline.DisplayPrefix(plain), Principal: p}, hash); err != nil {
			b.Fatal(err)
		}
		hashes[i] = hash
	}

	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := db.PrincipalByKeyHash(ctx, hashes[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := db.PrincipalByKeyHash(ctx, hashes[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
	b.Run("unknown", func(b *testing.B) {
		_, unknown, err := brightline.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := db.PrincipalByKeyHash(ctx, unknown); err == nil {
				b.Fatal("unknown key found")
			}
		}
	})
}
