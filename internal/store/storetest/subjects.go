package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// TestSubjectStates checks an implementation of [store.SubjectStates].
func TestSubjectStates(t *testing.T, open OpenFunc[store.SubjectStates]) {
	ctx := context.Background()
	t.Run("save, replace, list", func(t *testing.T) {
		c := newClock()
		s := open(t, c.Now)
		if got, err := s.SubjectStates(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty store: got %v, %v; want nothing", got, err)
		}
		first := []store.SubjectState{
			{PrincipalID: "key_b", Kind: store.SubjectWindows, Data: []byte{1, 2, 3}},
			{PrincipalID: "key_a", Kind: store.SubjectProfiles, Data: []byte{4}},
			{PrincipalID: "key_a", Kind: store.SubjectWindows, Data: []byte{}},
		}
		if err := s.SaveSubjectStates(ctx, first); err != nil {
			t.Fatal(err)
		}
		later := c.Advance(time.Minute)
		if err := s.SaveSubjectStates(ctx, []store.SubjectState{{PrincipalID: "key_b", Kind: store.SubjectWindows, Data: []byte{9, 9}}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.SubjectStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			p, k string
			data []byte
			at   time.Time
		}{
			{"key_a", store.SubjectProfiles, []byte{4}, start},
			{"key_a", store.SubjectWindows, []byte{}, start},
			{"key_b", store.SubjectWindows, []byte{9, 9}, later},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d states, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.PrincipalID != w.p || g.Kind != w.k || !bytes.Equal(g.Data, w.data) || !g.UpdatedAt.Equal(w.at) {
				t.Errorf("state %d: got %s/%s %v at %v, want %s/%s %v at %v", i, g.PrincipalID, g.Kind, g.Data, g.UpdatedAt, w.p, w.k, w.data, w.at)
			}
		}
	})
	t.Run("invalid saves nothing", func(t *testing.T) {
		s := open(t, newClock().Now)
		for _, bad := range []store.SubjectState{{PrincipalID: "", Kind: store.SubjectWindows}, {PrincipalID: "key_a", Kind: "other"}} {
			err := s.SaveSubjectStates(ctx, []store.SubjectState{{PrincipalID: "key_ok", Kind: store.SubjectWindows, Data: []byte{1}}, bad})
			if err == nil {
				t.Errorf("saving %+v: no error", bad)
			}
		}
		if got, _ := s.SubjectStates(ctx); len(got) != 0 {
			t.Errorf("after failed saves: got %d states, want 0", len(got))
		}
	})
}
