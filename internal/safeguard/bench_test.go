package safeguard_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
)

// BenchmarkDecide is the decider's cost per request under the embedded
// default policy: the request (detection and linking over 2.3 KB of
// casework text naming three people, the key, org and request windows,
// the profile breadths, the rules), one tool call classified from the
// request's definition, and the finished answer.
func BenchmarkDecide(b *testing.B) {
	s := &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer([]byte("bench secret")),
		Counter:  &subjects.Counter{},
		Profiles: &subjects.Profiles{},
		Requests: &subjects.Requests{},
	}
	d := safeguard.New(safeguard.Config{Surveillance: s})
	p := policy.Default()
	text := strings.Repeat("The committee reviewed the maintenance schedule for the motor pool and agreed on the inspection order. ", 15) +
		"Contact Maria Garcia on (212) 555-0147 or maria.garcia@example.com; her colleague James Chen (617-555-0199) " +
		"handles the Austin office at 42 Oak Street, Austin, TX 78701. Robert Novak is cc'd."
	schema := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)
	who := brightline.Principal{ID: "key_bench", Org: "acme"}
	args := json.RawMessage(`{"city":"Austin"}`)
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := &llm.Request{Model: "m", System: "You are a helpful assistant.",
				Tools:    []llm.Tool{{Name: "get_weather", Description: "Returns the forecast.", InputSchema: schema}},
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
			x, err := d.Request(p, who, req, nil, time.Now())
			if err != nil || x.Input.Findings.Subjects != 3 {
				b.Fatalf("got %d subjects, %v", x.Input.Findings.Subjects, err)
			}
		}
	})
	// The request bench/ sends: a system prompt and one short question,
	// no people. Most requests through a gateway look like this.
	b.Run("short", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := &llm.Request{Model: "m", System: "You are a logistics assistant.",
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: "Summarise the readiness of the motor pool in one sentence."}}}}}
			if _, err := d.Request(p, who, req, nil, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exchange", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := &llm.Request{Model: "m", System: "You are a helpful assistant.",
				Tools:    []llm.Tool{{Name: "get_weather", Description: "Returns the forecast.", InputSchema: schema}},
				Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{{Type: llm.BlockText, Text: text}}}}}
			x, err := d.Request(p, who, req, nil, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := x.ToolCall("get_weather", args, "openai"); err != nil {
				b.Fatal(err)
			}
			if _, err := x.Response(llm.StopEndTurn, 400, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tool_call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.ToolCall(p, safeguard.ToolCall{Principal: who, Name: "fire_interceptor", Arguments: args, Upstream: "mcp:c2", Time: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
