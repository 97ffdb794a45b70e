package gateway

import (
	"context"
	"slices"
	"sync"
)

// UsageBatcher collects which keys were used (see [Config.KeyUsed]) so
// that recording their last use costs a map insert on the request path and
// one write per flush instead of one write per request. The zero value is ready to use and it is safe for
// concurrent use.
//
// The owner calls Flush on a ticker (a minute is plenty for an operator's
// "last used" column) and once more at shutdown.
type UsageBatcher struct {
	mu   sync.Mutex
	used map[string]struct{} // guarded by mu
}

// Mark records that key id was used. It never blocks on storage.
func (u *UsageBatcher) Mark(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = make(map[string]struct{})
	}
	u.used[id] = struct{}{}
}

// KeyToucher records when API keys were last used. store.Keys implements
// it.
type KeyToucher interface {
	// TouchKeys sets the last-used time of each active key in ids to the
	// store's current time, in one write. Unknown and revoked ids are
	// ignored and an empty ids is a no-op. Safe to retry.
	TouchKeys(ctx context.Context, ids []string) error
}

// Flush writes the keys marked since the last successful flush with
// k.TouchKeys, stamping them with the store's current time. If the write
// fails the marks are kept for the next Flush and the error is returned.
func (u *UsageBatcher) Flush(ctx context.Context, k KeyToucher) error {
	u.mu.Lock()
	used := u.used
	u.used = nil
	u.mu.Unlock()
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a stable order makes the write deterministic
	if err := k.TouchKeys(ctx, ids); err != nil {
		u.mu.Lock()
		for _, id := range ids {
			if u.used == nil {
				u.used = make(map[string]struct{})
			}
			u.used[id] = struct{}{}
		}
		u.mu.Unlock()
		return err
	}
	return nil
}
