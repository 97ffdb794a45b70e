package safeguard_test

import (
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
)

// TestFindingCountsAreOwnMaps checks findings.counts across requests:
// every type is present, a request without findings has all zeros even
// after one with findings, and one request's counts are not another's.
func TestFindingCountsAreOwnMaps(t *testing.T) {
	d := safeguard.New(safeguard.Config{})
	decide := func(text string) map[string]int {
		t.Helper()
		req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
		x, err := d.Request(policy.Default(), brightline.Principal{ID: "k"}, req, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return x.Input.Findings.Counts
	}
	check := func(name string, got map[string]int, email int) {
		t.Helper()
		for _, typ := range brightline.IdentifierTypes {
			want := 0
			if typ == "EMAIL" {
				want = email
			}
			if n, ok := got[typ]; !ok || n != want {
				t.Errorf("%s: counts[%s] = %d (present %v), want %d", name, typ, n, ok, want)
			}
		}
	}
	none := decide("What is the weather like?")
	one := decide("Write to ana.lopez@example.org")
	two := decide("Write to ana.lopez@example.org and bo.ng@example.com")
	none2 := decide("And tomorrow?")
	check("no findings", none, 0)
	check("one email", one, 1)
	check("two emails", two, 2)
	check("no findings after some", none2, 0)
	// A tool call's input has no findings either.
	out, err := d.ToolCall(policy.Default(), safeguard.ToolCall{Principal: brightline.Principal{ID: "k"}, Name: "get_weather",
		Arguments: []byte(`{"city":"Paris"}`), Upstream: "mcp:x", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	check("tool call", out.Input.Findings.Counts, 0)
}
