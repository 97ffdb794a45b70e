package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

// TestExposure checks an implementation of [store.Exposure].
func TestExposure(t *testing.T, open OpenFunc[store.Exposure]) {
	ctx := context.Background()
	hour := start.Truncate(time.Hour)
	use := func(principal, model string, h time.Time, n int64, features map[string]int64) store.ExposureUsage {
		return store.ExposureUsage{
			PrincipalID: principal, PrincipalName: "name of " + principal, Route: "claude-*", Provider: "anthropic",
			ProviderType: "anthropic", Model: model, Hour: h, Requests: n, InputTokens: 10 * n, OutputTokens: 100 * n,
			Features: features, LastUsed: h.Add(time.Duration(n) * time.Minute),
		}
	}

	t.Run("empty", func(t *testing.T) {
		s := open(t, newClock().Now)
		got, err := s.ExposureUsage(ctx, store.ExposureFilter{})
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("got %v, %v; want an empty slice", got, err)
		}
		if err := s.AddExposure(ctx, nil); err != nil {
			t.Fatalf("adding nothing: %v", err)
		}
	})

	t.Run("upsert adds", func(t *testing.T) {
		s := open(t, newClock().Now)
		first := use("key_a", "claude-x", hour, 2, map[string]int64{"tools": 1, "streaming": 2})
		second := use("key_a", "claude-x", hour, 3, map[string]int64{"tools": 3, "images": 1})
		second.PrincipalName = "renamed"
		second.LastUsed = hour.Add(time.Minute) // earlier than first's: LastUsed must not go back
		if err := s.AddExposure(ctx, []store.ExposureUsage{first}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddExposure(ctx, []store.ExposureUsage{second}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ExposureUsage(ctx, store.ExposureFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d rows, want 1", len(got))
		}
		g := got[0]
		if g.Requests != 5 || g.InputTokens != 50 || g.OutputTokens != 500 {
			t.Errorf("got requests %d, input %d, output %d; want 5, 50, 500", g.Requests, g.InputTokens, g.OutputTokens)
		}
		if want := map[string]int64{"tools": 4, "streaming": 2, "images": 1}; !maps.Equal(g.Features, want) {
			t.Errorf("got features %v, want %v", g.Features, want)
		}
		if !g.LastUsed.Equal(first.LastUsed) || g.LastUsed.Location() != time.UTC {
			t.Errorf("got last used %v, want %v in UTC", g.LastUsed, first.LastUsed)
		}
		if !g.Hour.Equal(hour) || g.Hour.Location() != time.UTC {
			t.Errorf("got hour %v, want %v in UTC", g.Hour, hour)
		}
		if g.PrincipalName != "renamed" || g.ProviderType != "anthropic" || g.Route != "claude-*" {
			t.Errorf("got name %q, type %q, route %q; want renamed, anthropic, claude-*", g.PrincipalName, g.ProviderType, g.Route)
		}
	})

	t.Run("one batch adds to itself", func(t *testing.T) {
		s := open(t, newClock().Now)
		u := use("key_a", "claude-x", hour, 1, nil)
		if err := s.AddExposure(ctx, []store.ExposureUsage{u, u, u}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ExposureUsage(ctx, store.ExposureFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Requests != 3 || got[0].Features != nil {
			t.Fatalf("got %+v, want one row with 3 requests and no features", got)
		}
	})

	t.Run("hours, order and filters", func(t *testing.T) {
		s := open(t, newClock().Now)
		batch := []store.ExposureUsage{
			use("key_b", "claude-x", hour, 1, nil),
			use("key_a", "claude-y", hour.Add(-2*time.Hour), 2, nil),
			use("key_a", "claude-x", hour, 3, nil),
			use("key_a", "claude-x", hour.Add(-time.Hour), 4, nil),
		}
		if err := s.AddExposure(ctx, batch); err != nil {
			t.Fatal(err)
		}
		type row struct {
			p, m string
			h    time.Time
			n    int64
		}
		tests := []struct {
			name string
			f    store.ExposureFilter
			want []row
		}{
			{"all", store.ExposureFilter{}, []row{
				{"key_a", "claude-x", hour.Add(-time.Hour), 4},
				{"key_a", "claude-x", hour, 3},
				{"key_a", "claude-y", hour.Add(-2 * time.Hour), 2},
				{"key_b", "claude-x", hour, 1},
			}},
			{"principal", store.ExposureFilter{PrincipalID: "key_b"}, []row{{"key_b", "claude-x", hour, 1}}},
			{"unknown principal", store.ExposureFilter{PrincipalID: "key_c"}, []row{}},
			// Since inside an hour keeps that hour: part of it is after Since.
			{"since mid-hour", store.ExposureFilter{Since: hour.Add(-time.Hour + 30*time.Minute)}, []row{
				{"key_a", "claude-x", hour.Add(-time.Hour), 4},
				{"key_a", "claude-x", hour, 3},
				{"key_b", "claude-x", hour, 1},
			}},
			{"since on the hour", store.ExposureFilter{Since: hour}, []row{
				{"key_a", "claude-x", hour, 3},
				{"key_b", "claude-x", hour, 1},
			}},
			{"since and principal", store.ExposureFilter{PrincipalID: "key_a", Since: hour}, []row{{"key_a", "claude-x", hour, 3}}},
			{"since later", store.ExposureFilter{Since: hour.Add(time.Hour)}, []row{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ExposureUsage(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				gotRows := []row{}
				for _, g := range got {
					gotRows = append(gotRows, row{g.PrincipalID, g.Model, g.Hour, g.Requests})
				}
				if len(gotRows) != len(tt.want) {
					t.Fatalf("got %v, want %v", gotRows, tt.want)
				}
				for i := range gotRows {
					if gotRows[i].p != tt.want[i].p || gotRows[i].m != tt.want[i].m || !gotRows[i].h.Equal(tt.want[i].h) || gotRows[i].n != tt.want[i].n {
						t.Errorf("row %d: got %v, want %v", i, gotRows[i], tt.want[i])
					}
				}
			})
		}
	})

	t.Run("totals", func(t *testing.T) {
		s := open(t, newClock().Now)
		if got, err := s.ExposureTotals(ctx, store.ExposureFilter{}); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("empty store: got %v, %v; want an empty slice", got, err)
		}
		early := use("key_a", "claude-x", hour.Add(-2*time.Hour), 2, map[string]int64{"tools": 2})
		early.PrincipalName, early.ProviderType = "old name", "old type"
		late := use("key_a", "claude-x", hour, 3, map[string]int64{"tools": 1, "images": 3})
		late.LastUsed = hour.Add(5 * time.Minute)
		mid := use("key_a", "claude-x", hour.Add(-time.Hour), 4, nil)
		mid.LastUsed = hour.Add(-time.Hour + 59*time.Minute)
		other := use("key_b", "claude-x", hour, 1, nil)
		otherModel := use("key_a", "claude-y", hour, 5, map[string]int64{"streaming": 5})
		if err := s.AddExposure(ctx, []store.ExposureUsage{early, late, mid, other, otherModel}); err != nil {
			t.Fatal(err)
		}
		type total struct {
			p, m        string
			first, last time.Time
			n           int64
			features    map[string]int64
			name, typ   string
		}
		tests := []struct {
			name string
			f    store.ExposureFilter
			want []total
		}{
			{"all", store.ExposureFilter{}, []total{
				{"key_a", "claude-x", hour.Add(-2 * time.Hour), late.LastUsed, 9, map[string]int64{"tools": 3, "images": 3}, late.PrincipalName, late.ProviderType},
				{"key_a", "claude-y", hour, otherModel.LastUsed, 5, map[string]int64{"streaming": 5}, otherModel.PrincipalName, "anthropic"},
				{"key_b", "claude-x", hour, other.LastUsed, 1, nil, other.PrincipalName, "anthropic"},
			}},
			{"since and principal", store.ExposureFilter{PrincipalID: "key_a", Since: hour.Add(-time.Hour)}, []total{
				{"key_a", "claude-x", hour.Add(-time.Hour), late.LastUsed, 7, map[string]int64{"tools": 1, "images": 3}, late.PrincipalName, late.ProviderType},
				{"key_a", "claude-y", hour, otherModel.LastUsed, 5, map[string]int64{"streaming": 5}, otherModel.PrincipalName, "anthropic"},
			}},
			{"since the first hour", store.ExposureFilter{Since: hour.Add(-2 * time.Hour), PrincipalID: "key_a"}, []total{
				{"key_a", "claude-x", hour.Add(-2 * time.Hour), late.LastUsed, 9, map[string]int64{"tools": 3, "images": 3}, late.PrincipalName, late.ProviderType},
				{"key_a", "claude-y", hour, otherModel.LastUsed, 5, map[string]int64{"streaming": 5}, otherModel.PrincipalName, "anthropic"},
			}},
			{"nothing", store.ExposureFilter{PrincipalID: "key_c"}, []total{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ExposureTotals(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d totals, want %d: %+v", len(got), len(tt.want), got)
				}
				for i, w := range tt.want {
					g := got[i]
					if g.PrincipalID != w.p || g.Model != w.m || g.Requests != w.n || g.InputTokens != 10*w.n || g.OutputTokens != 100*w.n {
						t.Errorf("total %d: got %s %s %d requests (%d/%d tokens), want %s %s %d", i, g.PrincipalID, g.Model, g.Requests, g.InputTokens, g.OutputTokens, w.p, w.m, w.n)
					}
					if !g.Hour.Equal(w.first) || !g.LastUsed.Equal(w.last) || g.Hour.Location() != time.UTC || g.LastUsed.Location() != time.UTC {
						t.Errorf("total %d: got first hour %v, last used %v; want %v, %v in UTC", i, g.Hour, g.LastUsed, w.first, w.last)
					}
					if !maps.Equal(g.Features, w.features) {
						t.Errorf("total %d: got features %v, want %v", i, g.Features, w.features)
					}
					if g.PrincipalName != w.name || g.ProviderType != w.typ || g.Route != "claude-*" || g.Provider != "anthropic" {
						t.Errorf("total %d: got name %q, type %q, route %q, provider %q; want %q, %q, claude-*, anthropic", i, g.PrincipalName, g.ProviderType, g.Route, g.Provider, w.name, w.typ)
					}
				}
			})
		}
	})

	t.Run("invalid adds nothing", func(t *testing.T) {
		s := open(t, newClock().Now)
		ok := use("key_a", "claude-x", hour, 1, nil)
		bads := map[string]store.ExposureUsage{}
		b := ok
		b.PrincipalID = ""
		bads["no principal"] = b
		b = ok
		b.Hour = hour.Add(time.Minute)
		bads["hour not whole"] = b
		b = ok
		b.Requests = -1
		bads["negative"] = b
		b = ok
		b.Features = map[string]int64{"": 1}
		bads["empty feature"] = b
		b = ok
		b.Model = "bad\x00model"
		bads["NUL"] = b
		for name, bad := range bads {
			t.Run(name, func(t *testing.T) {
				err := s.AddExposure(ctx, []store.ExposureUsage{ok, bad})
				if !errors.Is(err, store.ErrInvalidUsage) {
					t.Errorf("got %v, want an error wrapping ErrInvalidUsage", err)
				}
			})
		}
		if got, _ := s.ExposureUsage(ctx, store.ExposureFilter{}); len(got) != 0 {
			t.Errorf("after invalid batches: got %d rows, want 0", len(got))
		}
	})
}
