package safeguard_test

import (
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
)

// TestTextInEveryBlockIsInspected checks that the text of documents,
// search results and citations reaches the detectors, as a message's
// text does.
func TestTextInEveryBlockIsInspected(t *testing.T) {
	for _, tt := range []struct{ name, block string }{
		{"document text source", `{"type":"document","source":{"type":"text","media_type":"text/plain","data":"write to ana.lopez@example.org"}}`},
		{"document content source", `{"type":"document","source":{"type":"content","content":[{"type":"text","text":"write to ana.lopez@example.org"}]}}`},
		{"document title", `{"type":"document","title":"ana.lopez@example.org","source":{"type":"url","url":"https://example.com/a.pdf"}}`},
		{"search result", `{"type":"search_result","source":"https://example.com","title":"t","content":[{"type":"text","text":"write to ana.lopez@example.org"}]}`},
		{"search result in a tool result", `{"type":"tool_result","tool_use_id":"t","content":[{"type":"search_result","source":"https://example.com","title":"t","content":[{"type":"text","text":"write to ana.lopez@example.org"}]}]}`},
		{"cited text", `{"type":"text","text":"see","citations":[{"type":"char_location","cited_text":"write to ana.lopez@example.org","document_index":0,"start_char_index":0,"end_char_index":5}]}`},
		{"system message", ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs := `[{"role":"user","content":[` + tt.block + `]}]`
			if tt.block == "" {
				msgs = `[{"role":"user","content":"hi"},{"role":"system","content":"write to ana.lopez@example.org"}]`
			}
			req, err := anthropic.DecodeRequest([]byte(`{"model":"m","max_tokens":5,"messages":` + msgs + `}`))
			if err != nil {
				t.Fatal(err)
			}
			x, err := safeguard.New(safeguard.Config{}).Request(policy.Default(), brightline.Principal{ID: "k"}, req, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if n := x.Input.Findings.Counts["EMAIL"]; n != 1 {
				t.Errorf("got %d EMAIL findings, want 1", n)
			}
		})
	}
}
