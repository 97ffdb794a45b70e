package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// TestPolicies checks an implementation of store.Policies.
func TestPolicies(t *testing.T, open OpenFunc[store.Policies]) {
	ctx := context.Background()

	t.Run("empty", func(t *testing.T) {
		s := open(t, newClock().Now)
		if _, err := s.ActivePolicy(ctx); !errors.Is(err, brightline.ErrNotFound) {
			t.Errorf("ActivePolicy on an empty store: got %v, want ErrNotFound", err)
		}
	})

	t.Run("monotonic", func(t *testing.T) {
		c := newClock()
		s := open(t, c.Now)
		a := store.PolicyActivation{Version: 3, Hash: "sha256:aa", Signers: []string{"operator", "vendor"}, ActivatedAt: time.Unix(1, 0)}
		if err := s.RecordPolicyActivation(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.ActivePolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 3 || got.Hash != "sha256:aa" || !slices.Equal(got.Signers, a.Signers) || !got.ActivatedAt.Equal(c.Now()) {
			t.Errorf("got %+v, want version 3 by operator and vendor at the store's time %v", got, c.Now())
		}
		for _, v := range []int64{3, 2} {
			err := s.RecordPolicyActivation(ctx, store.PolicyActivation{Version: v, Hash: "sha256:bb"})
			if !errors.Is(err, store.ErrStale) {
				t.Errorf("version %d after 3: got %v, want ErrStale", v, err)
			}
		}
		if err := s.RecordPolicyActivation(ctx, store.PolicyActivation{Version: 0, Hash: "x"}); err == nil || errors.Is(err, store.ErrStale) {
			t.Errorf("version 0: got %v, want a validation error", err)
		}
		if err := s.RecordPolicyActivation(ctx, store.PolicyActivation{Version: 10, Hash: "sha256:cc"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ActivePolicy(ctx); got.Version != 10 || got.Signers == nil {
			t.Errorf("got %+v, want version 10 with an empty, non-nil signer list", got)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		s := open(t, newClock().Now)
		// Many writers race to activate versions 1..20; each version is
		// recorded at most once and the active one ends at 20.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := map[int64]int{}
		for w := range 4 {
			wg.Go(func() {
				for v := int64(1); v <= 20; v++ {
					err := s.RecordPolicyActivation(ctx, store.PolicyActivation{Version: v, Hash: "h"})
					if err == nil {
						mu.Lock()
						ok[v]++
						mu.Unlock()
					} else if !errors.Is(err, store.ErrStale) {
						t.Errorf("writer %d version %d: %v", w, v, err)
					}
				}
			})
		}
		wg.Wait()
		for v, n := range ok {
			if n > 1 {
				t.Errorf("version %d recorded %d times", v, n)
			}
		}
		if got, err := s.ActivePolicy(ctx); err != nil || got.Version != 20 {
			t.Errorf("got %+v, %v; want version 20", got, err)
		}
	})

	t.Run("trust root", func(t *testing.T) {
		s := open(t, newClock().Now)
		if _, err := s.TrustRoot(ctx); !errors.Is(err, brightline.ErrNotFound) {
			t.Fatalf("TrustRoot on an empty store: got %v, want ErrNotFound", err)
		}
		first := store.TrustRoot{Seq: 1, Hash: "sha256:01", Keys: []string{"a+1+x", "b+2+y"}, Threshold: 2}
		if err := s.PinTrustRoot(ctx, store.TrustRoot{Seq: 2, Hash: "sha256:02", Keys: []string{"a"}, Threshold: 1}); !errors.Is(err, store.ErrStale) {
			t.Errorf("pinning seq 2 first: got %v, want ErrStale", err)
		}
		if err := s.PinTrustRoot(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := s.PinTrustRoot(ctx, first); !errors.Is(err, store.ErrStale) {
			t.Errorf("pinning seq 1 twice: got %v, want ErrStale", err)
		}
		next := store.TrustRoot{Seq: 2, Hash: "sha256:02", Keys: []string{"a+1+x"}, Threshold: 1, Rotation: []byte("signed\n")}
		if err := s.PinTrustRoot(ctx, next); err != nil {
			t.Fatal(err)
		}
		got, err := s.TrustRoot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 2 || got.Hash != next.Hash || !slices.Equal(got.Keys, next.Keys) || got.Threshold != 1 ||
			string(got.Rotation) != "signed\n" || got.PinnedAt.IsZero() {
			t.Errorf("TrustRoot: got %+v, want %+v with a pin time", got, next)
		}
	})
}
