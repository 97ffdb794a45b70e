package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/brightline/brightline/internal/store"
)

// TestDeployment checks an implementation of store.Deployment.
func TestDeployment(t *testing.T, open OpenFunc[store.Deployment]) {
	ctx := context.Background()

	t.Run("record", func(t *testing.T) {
		c := newClock()
		s := open(t, c.Now)
		got, err := s.DeploymentKeys(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("DeploymentKeys on an empty store: got %v, %v; want none", got, err)
		}
		keys := []store.DeploymentKey{{Name: "subjects.key", Fingerprint: "sha256:02"}, {Name: "log.key", Fingerprint: "sha256:01"}}
		if err := s.RecordDeploymentKeys(ctx, keys); err != nil {
			t.Fatal(err)
		}
		got, err = s.DeploymentKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "log.key" || got[0].Fingerprint != "sha256:01" || got[1].Name != "subjects.key" || !got[1].CreatedAt.Equal(c.Now()) {
			t.Errorf("got %+v, want log.key then subjects.key, stamped with the store's time %v", got, c.Now())
		}
		// Recording a name again fails and records nothing of the batch.
		err = s.RecordDeploymentKeys(ctx, []store.DeploymentKey{{Name: "bodies.key", Fingerprint: "sha256:03"}, {Name: "log.key", Fingerprint: "sha256:ff"}})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("recording log.key twice: got %v, want ErrExists", err)
		}
		got, _ = s.DeploymentKeys(ctx)
		if len(got) != 2 || got[0].Fingerprint != "sha256:01" {
			t.Errorf("after the refused batch: got %+v, want the first two unchanged", got)
		}
	})

	t.Run("lock", func(t *testing.T) {
		s := open(t, newClock().Now)
		// Several initialisers race; under the lock, each sees whether
		// the keys exist, so exactly one records them.
		var made atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				err := s.WithInitLock(ctx, func(ctx context.Context) error {
					got, err := s.DeploymentKeys(ctx)
					if err != nil || len(got) > 0 {
						return err
					}
					made.Add(1)
					return s.RecordDeploymentKeys(ctx, []store.DeploymentKey{{Name: "log.key", Fingerprint: "sha256:01"}})
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if made.Load() != 1 {
			t.Errorf("%d initialisers made the keys, want exactly 1", made.Load())
		}
	})
}
