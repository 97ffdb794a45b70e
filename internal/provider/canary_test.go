package provider

import (
	"context"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

func TestCanaryWeights(t *testing.T) {
	a, b, c := NewSimulated("stable"), NewSimulated("candidate"), NewSimulated("backup")
	draws := []float64{0, 0.5, 0.89, 0.9, 0.95, 0.999}
	n := 0
	r := &Router{
		Routes: []Route{
			{Model: "canary", Targets: []Target{{Provider: a, Weight: 90}, {Provider: b, Weight: 10}, {Provider: c}}},
			{Model: "plain", Targets: []Target{{Provider: a}, {Provider: b}}},
		},
		Rand: func() float64 { v := draws[n%len(draws)]; n++; return v },
	}
	ctx := context.Background()
	var got []string
	for range draws {
		_, served, err := r.Complete(ctx, &llm.Request{Model: "canary", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "hi"}}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, served.Provider)
	}
	want := []string{"stable", "stable", "stable", "candidate", "candidate", "candidate"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("draw %v: served by %s, want %s", draws[i], got[i], want[i])
		}
	}
	// The order after the canary pick is the listed order, for failover.
	n = 3 // the next draw picks the candidate
	if order := r.canary(r.Routes[0].Targets); order[0].Provider != b || order[1].Provider != a || order[2].Provider != c {
		t.Errorf("canary order: got %s, %s, %s; want candidate, stable, backup", order[0].Provider.Name(), order[1].Provider.Name(), order[2].Provider.Name())
	}
	// Unweighted routes keep their order and draw nothing.
	before := n
	if order := r.canary(r.Routes[1].Targets); order[0].Provider != a || n != before {
		t.Errorf("unweighted route: got %s first (draws %d), want stable and no draw", order[0].Provider.Name(), n-before)
	}
}
