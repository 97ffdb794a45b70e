package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// TestAuditIndex checks an implementation of store.AuditIndex.
func TestAuditIndex(t *testing.T, open OpenFunc[store.AuditIndex]) {
	ctx := context.Background()

	t.Run("empty", func(t *testing.T) {
		s := open(t, newClock().Now)
		if _, err := s.AuditEntries(ctx, "req_1"); !errors.Is(err, brightline.ErrNotFound) {
			t.Errorf("AuditEntries on an empty store: got %v, want ErrNotFound", err)
		}
		if err := s.RecordAuditEntries(ctx, nil); err != nil {
			t.Errorf("RecordAuditEntries(nil): got %v, want nil", err)
		}
	})

	// Every entry of a journal group carries the group's signed note; a
	// store may keep it once (store.ReceiptBatch), but each row must get
	// back its own receipt, byte for byte.
	t.Run("receipts", func(t *testing.T) {
		s := open(t, newClock().Now)
		batches, want := ReceiptBatches(t)
		for _, b := range batches {
			if err := s.RecordAuditEntries(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < len(want); i += 2 {
			got, err := s.AuditEntries(ctx, fmt.Sprintf("req_%d", i/2))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != min(2, len(want)-i) {
				t.Fatalf("request req_%d: %d rows, want %d", i/2, len(got), min(2, len(want)-i))
			}
			for _, r := range got {
				if !bytes.Equal(r.Receipt, want[r.LogIndex]) {
					t.Errorf("log index %d: receipt read back differs from the one recorded:\n got %.60q…\nwant %.60q…", r.LogIndex, r.Receipt, want[r.LogIndex])
				}
			}
		}
	})

	t.Run("roundtrip", func(t *testing.T) {
		c := newClock()
		s := open(t, c.Now)
		recs := []store.AuditRecord{
			{LogIndex: 7, RequestID: "req_a", Kind: "decision", Stage: "response"},
			{LogIndex: 3, RequestID: "req_a", Kind: "decision", Stage: "request", Salt: []byte{1, 2, 3}, Body: []byte(`{"a":1}`)},
			{LogIndex: 4, RequestID: "req_b", Kind: "decision", Stage: "request", Salt: []byte{9}, Body: []byte{}},
			{LogIndex: 5, RequestID: "", Kind: "policy_activation"},
		}
		if err := s.RecordAuditEntries(ctx, recs); err != nil {
			t.Fatal(err)
		}
		got, err := s.AuditEntries(ctx, "req_a")
		if err != nil {
			t.Fatal(err)
		}
		want := []store.AuditRecord{recs[1], recs[0]}
		if err := sameRecords(got, want, c); err != nil {
			t.Error(err)
		}
		got, err = s.AuditEntries(ctx, "req_b")
		if err != nil {
			t.Fatal(err)
		}
		if err := sameRecords(got, recs[2:3], c); err != nil {
			t.Error(err)
		}
		if got[0].Body == nil {
			t.Errorf("empty body came back nil, want an empty non-nil slice")
		}
	})

	t.Run("duplicate", func(t *testing.T) {
		s := open(t, newClock().Now)
		if err := s.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: 1, RequestID: "r1", Kind: "decision"}}); err != nil {
			t.Fatal(err)
		}
		// A batch with a known index stores nothing, not even its new rows.
		err := s.RecordAuditEntries(ctx, []store.AuditRecord{
			{LogIndex: 2, RequestID: "r2", Kind: "decision"},
			{LogIndex: 1, RequestID: "r3", Kind: "decision"},
		})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("recording index 1 again: got %v, want ErrExists", err)
		}
		if _, err := s.AuditEntries(ctx, "r2"); !errors.Is(err, brightline.ErrNotFound) {
			t.Errorf("row from a failed batch: got %v, want ErrNotFound", err)
		}
		err = s.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: 8, Kind: "a"}, {LogIndex: 8, Kind: "b"}})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("index 8 twice in one batch: got %v, want ErrExists", err)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		s := open(t, newClock().Now)
		for name, r := range map[string]store.AuditRecord{
			"salt without body": {LogIndex: 1, Salt: []byte{1}},
			"body without salt": {LogIndex: 1, Body: []byte{1}},
			"empty salt":        {LogIndex: 1, Salt: []byte{}, Body: []byte{1}},
			"bad utf8":          {LogIndex: 1, RequestID: "\xff"},
			"nul":               {LogIndex: 1, Kind: "a\x00b"},
			"huge index":        {LogIndex: 1 << 63},
		} {
			err := s.RecordAuditEntries(ctx, []store.AuditRecord{r})
			if err == nil || errors.Is(err, store.ErrExists) || errors.Is(err, brightline.ErrNotFound) {
				t.Errorf("%s: got %v, want a validation error", name, err)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		s := open(t, newClock().Now)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 25 {
					idx := uint64(w*100 + i)
					if err := s.RecordAuditEntries(ctx, []store.AuditRecord{{LogIndex: idx, RequestID: "shared", Kind: "decision"}}); err != nil {
						t.Errorf("writer %d index %d: %v", w, idx, err)
					}
				}
			})
		}
		wg.Wait()
		got, err := s.AuditEntries(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("got %d rows, want 100", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].LogIndex >= got[i].LogIndex {
				t.Fatalf("rows not in log order: index %d before %d", got[i-1].LogIndex, got[i].LogIndex)
			}
		}
	})
}

// sameRecords compares got with want, expecting CreatedAt to be the store
// clock's time.
func sameRecords(got, want []store.AuditRecord, c *clock) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.LogIndex != w.LogIndex || g.RequestID != w.RequestID || g.Kind != w.Kind || g.Stage != w.Stage ||
			!bytes.Equal(g.Salt, w.Salt) || !bytes.Equal(g.Body, w.Body) || (g.Salt == nil) != (w.Salt == nil) {
			return fmt.Errorf("record %d: got %+v, want %+v", i, g, w)
		}
		if !g.CreatedAt.Equal(c.Now()) || g.CreatedAt.Location() != time.UTC {
			return fmt.Errorf("record %d: got CreatedAt %v, want the store's time %v in UTC", i, g.CreatedAt, c.Now())
		}
	}
	return nil
}
