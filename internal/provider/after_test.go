package provider

import (
	"context"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

func TestCompleteAfter(t *testing.T) {
	a, b, c := NewSimulated("a"), NewSimulated("b"), NewSimulated("c")
	r := &Router{Routes: []Route{{Model: "m", Targets: []Target{{Provider: a}, {Provider: b, Model: "mb"}, {Provider: c}}}}}
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "hi"}}}}}
	for _, tt := range []struct{ after, want string }{
		{"", "a/m"},
		{"a/m", "b/mb"},
		{"b/mb", "c/m"},
	} {
		_, served, err := r.CompleteAfter(context.Background(), req, nil, tt.after)
		if err != nil || served.Target != tt.want {
			t.Errorf("after %q: got %q, %v; want %q", tt.after, served.Target, err, tt.want)
		}
	}
	for _, after := range []string{"c/m", "nobody/m"} {
		_, _, err := r.CompleteAfter(context.Background(), req, nil, after)
		if brightline.ErrorCodeOf(err) != brightline.CodeUnavailable {
			t.Errorf("after %q: got %v, want CodeUnavailable", after, err)
		}
	}
}
