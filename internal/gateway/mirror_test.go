package gateway_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestShadowMirrorsStreamsAndCalls: streamed and non-streamed requests
// are mirrored, and the comparison sees the primary's tool call as the
// provider made it, even when the human-control safeguard held it from
// the client.
func TestShadowMirrorsStreamsAndCalls(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "brightline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := shadow.New(shadow.Config{
		Candidates: map[string]shadow.Candidate{"simulated": {Provider: provider.NewSimulated("candidate"), Model: "cand", Sample: 1}},
		Store:      db,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, gateway.Config{Mirror: m})
	for _, stream := range []bool{false, true} {
		for _, prompt := range []string{`/tool get_weather {"city":"Oslo"}`, `/tool fire_interceptor {"track":"T-3"}`} {
			msg, _, _ := openaiChat(t, h.openaiClient(testKey), stream, openai.ChatCompletionNewParams{
				Model: "simulated", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			})
			if prompt[6:10] == "fire" && len(msg.ToolCalls) != 0 {
				t.Fatalf("stream=%v: the force call reached the client", stream)
			}
		}
	}
	// A stream's sample is submitted after its last event is flushed, so
	// the client can be done before the handler is: wait for the handlers
	// to return, then close the mirror, which stores the queued and
	// running comparisons (a sample submitted after Close would be counted
	// as closed, not recorded).
	h.handling.wait(t, 10*time.Second, "gateway handlers")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := db.ShadowResults(ctx, "simulated", time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("got %d shadow results, want 4 (2 streamed, 2 not)", len(res))
	}
	for i, r := range res {
		if !r.PrimaryOK || !r.CandidateOK || r.ToolAgreement == nil || !*r.ToolAgreement || r.Candidate != "candidate/cand" {
			t.Errorf("result %d: %+v (tool agreement %v), want both ok and the same tool called", i, r, fmt.Sprint(r.ToolAgreement != nil && *r.ToolAgreement))
		}
	}
}
