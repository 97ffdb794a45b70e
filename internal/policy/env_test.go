package policy

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"cel.dev/cel-go/cel"

	"github.com/brightline/brightline"
)

// TestAttributeTable checks the table in the package doc against the CEL
// environment, both ways: every row names an attribute of that type, and
// every attribute has a row.
func TestAttributeTable(t *testing.T) {
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^//\t([a-z_.0-9]+)\s{2,}([a-z]+(?:\([a-zA-Z., ]+\))?)\s{2,}\S`)
	documented := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil && m[1] != "attribute" {
			documented[m[1]] = m[2]
		}
	}
	if len(documented) < 20 {
		t.Fatalf("found %d rows in the attribute table, want more", len(documented))
	}
	for name, typ := range documented {
		ast, iss := env.Compile(name)
		if iss.Err() != nil {
			t.Errorf("documented attribute %s does not compile: %v", name, iss.Err())
			continue
		}
		if got := cel.FormatCELType(ast.OutputType()); got != typ {
			t.Errorf("attribute %s: got type %s, documented %s", name, got, typ)
		}
	}
	declared := map[string]reflect.Type{
		"principal":     reflect.TypeFor[principalAttrs](),
		"request":       reflect.TypeFor[RequestAttrs](),
		"findings":      reflect.TypeFor[FindingsAttrs](),
		"counters":      reflect.TypeFor[CountersAttrs](),
		"tool_call":     reflect.TypeFor[ToolCallAttrs](),
		"response":      reflect.TypeFor[ResponseAttrs](),
		"authorization": reflect.TypeFor[AuthorizationAttrs](),
	}
	for v, typ := range declared {
		for i := range typ.NumField() {
			name := v + "." + strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			if _, ok := documented[name]; !ok {
				t.Errorf("attribute %s is not in the table", name)
			}
		}
	}
	if _, ok := documented["time"]; !ok {
		t.Error("attribute time is not in the table")
	}
}

// TestZeroInput checks that every attribute reads as its zero value from
// an empty Input rather than failing, as at a stage the attribute does
// not apply to.
func TestZeroInput(t *testing.T) {
	for _, when := range []string{
		`principal.id == "" && principal.name == "" && principal.org == "" && principal.purpose == ""`,
		`principal.roles.size() == 0 && principal.attributes.size() == 0`,
		`request.model == "" && request.dialect == "" && request.messages == 0 && request.text_bytes == 0`,
		`request.tools.size() == 0 && request.metadata.size() == 0 && !("x" in request.metadata)`,
		`findings.identifiers.size() == 0 && findings.counts["SSN"] == 0 && findings.counts["PERSON"] == 0`,
		`findings.subjects == 0 && findings.us_person_subjects == 0 && findings.categories.size() == 0`,
		`counters.subjects_1h == 0 && counters.subjects_24h == 0 && counters.subjects_30d == 0 && counters.requests_1h == 0`,
		`counters.us_person_subjects_1h == 0 && counters.us_person_subjects_24h == 0 && counters.us_person_subjects_30d == 0`,
		`counters.max_profile_breadth == 0 && counters.broad_profiles == 0`,
		`authorization.id == "" && authorization.limits.size() == 0 && authorization.limits[?"x"].orValue(7) == 7`,
		`tool_call.name == "" && tool_call.effect == "" && tool_call.arguments.size() == 0`,
		`response.stop_reason == "" && response.text_bytes == 0 && !response.finished`,
		`time == timestamp("0001-01-01T00:00:00Z")`,
	} {
		t.Run(when, func(t *testing.T) {
			p := mustLoad(t, "rules:\n  - id: r\n    stage: request\n    action: annotate\n    when: '"+when+"'\n")
			d, err := p.Evaluate(brightline.StageRequest, &Input{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != brightline.ActionAnnotate {
				t.Errorf("got %s, want the rule to match", d.Action)
			}
		})
	}
}

// TestConcurrentEvaluate shares one policy between goroutines, as the
// gateway does; run with -race.
func TestConcurrentEvaluate(t *testing.T) {
	p := Default()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in := &Input{
				Findings: FindingsAttrs{Subjects: i},
				Counters: CountersAttrs{USPersonSubjects24h: 1000 + i},
				ToolCall: ToolCallAttrs{Effect: "force"},
			}
			for range 100 {
				d, err := p.Evaluate(brightline.StageRequest, in)
				if err != nil {
					t.Error(err)
					return
				}
				if want := i > 0; (d.Action == brightline.ActionDeny) != want {
					t.Errorf("goroutine %d: got %s, want deny %v", i, d.Action, want)
					return
				}
				if d, _ := p.Evaluate(brightline.StageToolCall, in); d.Action != brightline.ActionRequireApproval {
					t.Errorf("goroutine %d: got %s at tool_call, want require_approval", i, d.Action)
					return
				}
			}
		})
	}
	wg.Wait()
}
