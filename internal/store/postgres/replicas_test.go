package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/pgtest"
	"github.com/brightline/brightline/internal/store/storetest"
)

// replicas is a store whose writes alternate between DBs on one database,
// as a client spread over gateway replicas would make them. Reads go to
// the first. Running the conformance suites' concurrency tests through it
// checks that each atomic step holds across replicas, not only within one
// pool.
type replicas struct {
	*DB // reads
	dbs []*DB
	n   atomic.Uint64
}

func openReplicas(t *testing.T, n int, now func() time.Time) *replicas {
	t.Helper()
	url := pgtest.URL(t)
	r := &replicas{}
	for range n {
		db := openURL(t, url)
		db.Now = now
		r.dbs = append(r.dbs, db)
	}
	r.DB = r.dbs[0]
	return r
}

// next returns the DB for the next write.
func (r *replicas) next() *DB { return r.dbs[r.n.Add(1)%uint64(len(r.dbs))] }

func (r *replicas) CreateApproval(ctx context.Context, a approval.Approval, ttl time.Duration, maxPending int) (approval.Approval, error) {
	return r.next().CreateApproval(ctx, a, ttl, maxPending)
}

func (r *replicas) UpdateApproval(ctx context.Context, id string, fn func(a *approval.Approval, now time.Time) error) (approval.Approval, error) {
	return r.next().UpdateApproval(ctx, id, fn)
}

func (r *replicas) ConsumeApproval(ctx context.Context, id, digest, upstream string) (approval.Approval, error) {
	return r.next().ConsumeApproval(ctx, id, digest, upstream)
}

func (r *replicas) RecordPolicyActivation(ctx context.Context, a store.PolicyActivation) error {
	return r.next().RecordPolicyActivation(ctx, a)
}

func (r *replicas) PinTrustRoot(ctx context.Context, tr store.TrustRoot) error {
	return r.next().PinTrustRoot(ctx, tr)
}

func (r *replicas) CreateKey(ctx context.Context, k store.Key, hash [32]byte) error {
	return r.next().CreateKey(ctx, k, hash)
}

func (r *replicas) RevokeKey(ctx context.Context, id string) error {
	return r.next().RevokeKey(ctx, id)
}

// TestReplicasConformance runs the suites whose atomic steps matter across
// replicas (approvals, policies, keys) through two DBs on one database.
func TestReplicasConformance(t *testing.T) {
	t.Run("Approvals", func(t *testing.T) {
		storetest.TestApprovals(t, func(t *testing.T, now func() time.Time) approval.Store { return openReplicas(t, 2, now) })
	})
	t.Run("Policies", func(t *testing.T) {
		storetest.TestPolicies(t, func(t *testing.T, now func() time.Time) store.Policies { return openReplicas(t, 2, now) })
	})
	t.Run("Keys", func(t *testing.T) {
		storetest.TestKeys(t, func(t *testing.T, now func() time.Time) store.Keys { return openReplicas(t, 2, now) })
	})
}

// race runs fn n times at once, released together, and waits for all.
func race(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// TestConsumeOnceAcrossReplicas races three replicas, several callers each,
// to consume each of many approvals: exactly one consumes each, the others
// are refused with ErrPrecondition, and the stored record says consumed.
func TestConsumeOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	const approvals, callers = 20, 12
	for i := range approvals {
		a := approvalFor(fmt.Sprintf("apr_%d", i))
		if _, err := r.dbs[i%3].CreateApproval(ctx, a, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.dbs[(i+1)%3].UpdateApproval(ctx, a.ID, func(a *approval.Approval, now time.Time) error {
			a.Status, a.DecidedAt = approval.StatusApproved, &now
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range approvals {
		id := fmt.Sprintf("apr_%d", i)
		var ok, refused atomic.Int32
		race(callers, func(c int) {
			_, err := r.dbs[c%3].ConsumeApproval(ctx, id, "digest-"+id, testUpstream)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, approval.ErrPrecondition):
				refused.Add(1)
			default:
				t.Errorf("ConsumeApproval(%s): %v", id, err)
			}
		})
		if ok.Load() != 1 || refused.Load() != callers-1 {
			t.Errorf("%s: got %d consumed and %d refused, want 1 and %d", id, ok.Load(), refused.Load(), callers-1)
		}
		a, err := r.dbs[2].GetApproval(ctx, id)
		if err != nil || a.Status != approval.StatusConsumed || a.ConsumedAt == nil {
			t.Errorf("%s after the race: got %+v, %v, want consumed", id, a, err)
		}
	}
}

// TestVotesAcrossReplicas casts votes on one approval from three replicas
// at once. UpdateApproval's read, fn and write are atomic across them, so
// no vote is lost.
func TestVotesAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	a := approvalFor("apr_votes")
	if _, err := r.dbs[0].CreateApproval(ctx, a, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	const voters = 15
	race(voters, func(i int) {
		_, err := r.dbs[i%3].UpdateApproval(ctx, a.ID, func(a *approval.Approval, now time.Time) error {
			a.Votes = append(a.Votes, approval.Vote{By: a.Principal, At: now, Approve: true, Reason: fmt.Sprint(i)})
			return nil
		})
		if err != nil {
			t.Errorf("vote %d: %v", i, err)
		}
	})
	got, err := r.dbs[1].GetApproval(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, v := range got.Votes {
		seen[v.Reason] = true
	}
	if len(got.Votes) != voters || len(seen) != voters {
		t.Errorf("got %d votes (%d distinct), want %d", len(got.Votes), len(seen), voters)
	}
}

// TestPolicyActivationsAcrossReplicas records versions 1..n from three
// replicas at once. Whatever order they land in, the recorded versions
// increase in recording order, and every refusal is ErrStale.
func TestPolicyActivationsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	const n = 30
	var recorded atomic.Int32
	race(n, func(i int) {
		err := r.dbs[i%3].RecordPolicyActivation(ctx, store.PolicyActivation{Version: int64(i + 1), Hash: fmt.Sprint("sha256:", i)})
		switch {
		case err == nil:
			recorded.Add(1)
		case errors.Is(err, store.ErrStale):
		default:
			t.Errorf("version %d: %v", i+1, err)
		}
	})
	rows, err := r.pool.Query(ctx, `SELECT version FROM policy_activations ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	var v int64
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) != int(recorded.Load()) || len(versions) == 0 {
		t.Fatalf("got %d rows, want the %d activations recorded", len(versions), recorded.Load())
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] <= versions[i-1] {
			t.Errorf("versions in recording order %v: %d came after %d", versions, versions[i], versions[i-1])
		}
	}
	if a, err := r.dbs[1].ActivePolicy(ctx); err != nil || a.Version != versions[len(versions)-1] {
		t.Errorf("ActivePolicy: got %+v, %v, want version %d", a, err, versions[len(versions)-1])
	}
}

// TestFirstPinAcrossReplicas pins the first trust root from several
// replicas at once: one wins, every other gets ErrStale (not a storage
// error from the primary key).
func TestFirstPinAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	var ok, stale atomic.Int32
	race(9, func(i int) {
		err := r.dbs[i%3].PinTrustRoot(ctx, store.TrustRoot{Seq: 1, Hash: fmt.Sprint("sha256:", i), Keys: []string{"k"}, Threshold: 1})
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, store.ErrStale):
			stale.Add(1)
		default:
			t.Errorf("pin %d: %v", i, err)
		}
	})
	if ok.Load() != 1 || stale.Load() != 8 {
		t.Errorf("got %d pinned and %d stale, want 1 and 8", ok.Load(), stale.Load())
	}
}

// TestCreateKeyAcrossReplicas creates one key id from several replicas at
// once: one succeeds and the others get ErrExists.
func TestCreateKeyAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	var ok, exists atomic.Int32
	race(9, func(i int) {
		plain, hash, err := brightline.NewKey()
		if err != nil {
			t.Error(err)
			return
		}
		err = r.dbs[i%3].CreateKey(ctx, store.Key{ID: "key_same", Prefix: brightline.DisplayPrefix(plain)}, hash)
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, store.ErrExists):
			exists.Add(1)
		default:
			t.Errorf("create %d: %v", i, err)
		}
	})
	if ok.Load() != 1 || exists.Load() != 8 {
		t.Errorf("got %d created and %d ErrExists, want 1 and 8", ok.Load(), exists.Load())
	}
}

// TestExposureAcrossReplicas adds the same buckets from three replicas, in
// batches that overlap in opposite orders (which would deadlock if rows
// were locked in batch order), and checks that no count is lost.
func TestExposureAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := openReplicas(t, 3, nil)
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	usage := func(principal string) store.ExposureUsage {
		return store.ExposureUsage{PrincipalID: principal, Route: "r", Provider: "p", ProviderType: "openai",
			Model: "m", Hour: hour, Requests: 1, InputTokens: 2, Features: map[string]int64{"tools": 1}, LastUsed: hour}
	}
	const rounds = 20
	race(6, func(i int) {
		batch := []store.ExposureUsage{usage("key_a"), usage("key_b"), usage("key_c")}
		if i%2 == 1 {
			batch[0], batch[2] = batch[2], batch[0]
		}
		for range rounds {
			if err := r.dbs[i%3].AddExposure(ctx, batch); err != nil {
				t.Errorf("AddExposure: %v", err)
				return
			}
		}
	})
	got, err := r.ExposureTotals(ctx, store.ExposureFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d totals, want 3: %+v", len(got), got)
	}
	for _, g := range got {
		if g.Requests != 6*rounds || g.InputTokens != 12*rounds || g.Features["tools"] != 6*rounds {
			t.Errorf("%s: got %d requests, %d input tokens, %v; want %d, %d and tools %d",
				g.PrincipalID, g.Requests, g.InputTokens, g.Features, 6*rounds, 12*rounds, 6*rounds)
		}
	}
}
