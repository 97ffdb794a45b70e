package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
)

// benchInput is a realistic request: a principal with roles, a few
// findings and counters below every threshold, so every rule runs and
// none matches.
func benchInput() *Input {
	return &Input{
		Principal:           brightline.Principal{ID: "key_01", Name: "ops", Org: "acme", Purpose: "logistics", Roles: []string{"analyst"}},
		PrincipalAttributes: map[string]string{"clearance": "high"},
		Request: RequestAttrs{
			Model: "claude-sonnet-4-5", Dialect: "anthropic", Messages: 6, TextBytes: 12000,
			Tools:    []string{"lookup_route", "send_message"},
			Metadata: map[string]string{"x-mission-id": "m-17"},
		},
		Findings: FindingsAttrs{
			Identifiers: []Identifier{{"PERSON", "identity"}, {"PERSON", "identity"}, {"EMAIL", "contact"}},
			Counts:      map[string]int{"PERSON": 2, "EMAIL": 1},
			Subjects:    2, USPersonSubjects: 1,
		},
		Counters: CountersAttrs{Subjects1h: 12, Subjects24h: 140, USPersonSubjects24h: 100, Subjects30d: 2100, Requests1h: 40, MaxProfileBreadth: 3},
		ToolCall: ToolCallAttrs{Name: "lookup_route", Effect: "informational", Arguments: map[string]any{"from": "A", "to": "B"}},
		Time:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	p := Default()
	in := benchInput()
	for _, stage := range []brightline.Stage{brightline.StageRequest, brightline.StageToolCall} {
		b.Run(string(stage), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := p.Evaluate(stage, in)
				if err != nil || d.Action != brightline.ActionAllow {
					b.Fatalf("got %v, %v, want allow", d.Action, err)
				}
			}
		})
	}
}

// benchRules are request-stage conditions of the kinds operators write.
var benchRules = []string{
	`request.text_bytes > 2000000`,
	`request.messages > 200`,
	`request.model.startsWith("o1-") && !("admin" in principal.roles)`,
	`"x-mission-id" in request.metadata && request.metadata["x-mission-id"] == "m-99"`,
	`findings.identifiers[?"SSN"].orValue(0) > 0`,
	`findings.subjects > 0 && counters.distinct_subjects_24h > 1000`,
	`findings.us_persons > 0 && findings.subjects >= 10`,
	`principal.org != "acme"`,
	`principal.attributes[?"clearance"].orValue("none") == "none"`,
	`request.tools.exists(t, t == "fire_mission")`,
	`counters.requests_1h > 5000`,
	`"targeting" in findings.categories`,
	`request.dialect == "openai" && request.text_bytes > 500000`,
	`time.getHours() < 5 && principal.purpose == "logistics"`,
	`sets.intersects(principal.roles, ["contractor", "guest"])`,
	`request.model.matches("^gpt-3")`,
	`findings.identifiers.size() > 5`,
	`counters.distinct_subjects_1h > 200 && findings.subjects > 0`,
	`principal.id == "key_revoked"`,
	`request.tools.size() > 64`,
}

func BenchmarkEvaluate(b *testing.B) {
	var src strings.Builder
	src.WriteString("rules:\n")
	for i, when := range benchRules {
		fmt.Fprintf(&src, "  - id: r%d\n    stage: request\n    action: deny\n    message: m\n    when: '%s'\n", i, strings.ReplaceAll(when, "'", "''"))
	}
	p := mustLoad(b, src.String())
	if n := len(p.stages[brightline.StageRequest]); n != 20 {
		b.Fatalf("got %d rules, want 20", n)
	}
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		d, err := p.Evaluate(brightline.StageRequest, in)
		if err != nil || d.Action != brightline.ActionAllow {
			b.Fatalf("got %v, %v, want allow", d.Action, err)
		}
	}
}
