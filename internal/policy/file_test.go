package policy

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want []string // substrings, each must appear
	}{
		{"empty", "", []string{"p.yaml: empty policy file"}},
		{"comment only", "# nothing\n", []string{"p.yaml: empty policy file"}},
		{"not a mapping", "- a\n- b\n", []string{"p.yaml:1: policy file: got a list, want a mapping"}},
		{"syntax", "rules: [\n", []string{"p.yaml: yaml:"}},
		{"unknown top key", "rulez: []\n", []string{`p.yaml:1: policy file: unknown key "rulez"`}},
		{"duplicate key", "rules: []\nrules: []\n", []string{`p.yaml:2: policy file: duplicate key "rules" (first at line 1)`}},
		{"two documents", "rules: []\n---\nrules: []\n", []string{"p.yaml:2: more than one YAML document"}},
		{"rules not a list", "rules: {id: r}\n", []string{"p.yaml:1: rules: got a mapping, want a list"}},
		{"rule not a mapping", "rules:\n  - just text\n", []string{`p.yaml:2: rule: got "just text", want a mapping`}},
		{"when a mapping", "rules:\n  - id: r\n    when: {a: b}\n", []string{"p.yaml:3: rule when: got a mapping, want a string"}},
		{"bad bool", "rules:\n  - id: r\n    allow_refusal_retry: yes please\n", []string{`p.yaml:3: rule allow_refusal_retry: got "yes please", want true or false`}},
		{"quoted bool", "rules:\n  - id: r\n    allow_refusal_retry: 'true'\n", []string{`p.yaml:3: rule allow_refusal_retry: got "true", want true or false`}},
		{"anchor", "rules:\n  - &r {id: r}\n  - *r\n", []string{"p.yaml:2: rule: anchors and aliases are not allowed", "p.yaml:3: rule: anchors and aliases are not allowed"}},
		{"unknown safeguard key", "safeguards:\n  - id: s\n    rule: []\n", []string{`p.yaml:3: safeguard: unknown key "rule"`}},
		{
			"all errors joined",
			"safeguards:\n  - id: s\n    titel: x\nrules:\n  - id: r\n    stag: request\n",
			[]string{`p.yaml:3: safeguard: unknown key "titel"`, `p.yaml:6: rule: unknown key "stag"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got %+v, want an error", f)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	src := `metadata_headers: [X-Mission-Id]
safeguards:
  - id: s
    title: T
    description: D
    rules:
      - id: a
        stage: response
        when: |
          response.finished
        action: allow
        allow_refusal_retry: true
rules:
  - id: b
    stage: request
    when: "true"
    action: redact
    redact: ['x+']
    message: m
`
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "p.yaml" || string(f.Source) != src {
		t.Errorf("got name %q and %d source bytes, want p.yaml and %d", f.Name, len(f.Source), len(src))
	}
	if len(f.MetadataHeaders) != 1 || f.MetadataHeaders[0] != "X-Mission-Id" {
		t.Errorf("got headers %q, want [X-Mission-Id]", f.MetadataHeaders)
	}
	if len(f.Safeguards) != 1 || len(f.Safeguards[0].Rules) != 1 || len(f.Rules) != 1 {
		t.Fatalf("got %+v, want one safeguard with one rule and one other rule", f)
	}
	s := f.Safeguards[0]
	if s.ID != "s" || s.Title != "T" || s.Description != "D" || s.Line != 3 {
		t.Errorf("got safeguard %+v, want id s, title T, description D at line 3", s)
	}
	a := s.Rules[0]
	if a.ID != "a" || a.Stage != "response" || a.When != "response.finished\n" || a.Action != "allow" || !a.AllowRefusalRetry || a.Line != 7 || a.WhenLine != 9 || !a.WhenBlock {
		t.Errorf("got rule %+v, want a, response, allow, allow_refusal_retry, line 7, block when at line 9", a)
	}
	b := f.Rules[0]
	if b.ID != "b" || b.Redact[0] != "x+" || b.Message != "m" || b.WhenLine != 16 || b.WhenBlock {
		t.Errorf("got rule %+v, want b with redact x+ and message m, when at line 16", b)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want []string
	}{
		{
			"ids",
			"safeguards:\n  - id: s\n  - id: s\n  - title: none\nrules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: allow\n  - id: r\n    stage: request\n    when: 'true'\n    action: allow\n  - stage: request\n    when: 'true'\n    action: allow\n",
			[]string{
				`test.yaml:3: duplicate safeguard id "s" (first at line 2)`,
				"test.yaml:4: safeguard has no id",
				`test.yaml:10: rule "r": duplicate rule id (first at line 6)`,
				"test.yaml:14: rule has no id",
			},
		},
		{
			"stage and action",
			"rules:\n  - id: r\n    stage: stream\n    when: 'true'\n    action: block\n",
			[]string{
				`test.yaml:2: rule "r": stage "stream": want request, response or tool_call`,
				`test.yaml:2: rule "r": action "block": want allow, annotate, redact, require_approval or deny`,
			},
		},
		{
			"messages",
			"rules:\n  - id: r\n    stage: tool_call\n    when: 'true'\n    action: require_approval\n",
			[]string{`test.yaml:2: rule "r": action require_approval needs a message`},
		},
		{
			"redact",
			"rules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: redact\n  - id: q\n    stage: request\n    when: 'true'\n    action: redact\n    redact: ['(', 'x*']\n  - id: d\n    stage: request\n    when: 'true'\n    action: deny\n    message: m\n    redact: [x]\n",
			[]string{
				`test.yaml:2: rule "r": action redact needs redact patterns`,
				`test.yaml:6: rule "q": bad redact pattern: error parsing regexp: missing closing ): ` + "`(`",
				`test.yaml:6: rule "q": redact pattern "x*" matches the empty string`,
				`test.yaml:11: rule "d": redact patterns are allowed only with action redact at stage request`,
			},
		},
		{
			"refusal retry off stage",
			"rules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: allow\n    allow_refusal_retry: true\n",
			[]string{`test.yaml:2: rule "r": allow_refusal_retry is allowed only at stage response`},
		},
		{
			"no when",
			"rules:\n  - id: r\n    stage: request\n    action: allow\n",
			[]string{`test.yaml:2: rule "r": rule has no when expression`},
		},
		{
			"cel syntax",
			"rules:\n  - id: r\n    stage: request\n    action: allow\n    when: request.messages >\n",
			[]string{`test.yaml:5: rule "r": when, column`, "Syntax error"},
		},
		{
			"type error",
			"rules:\n  - id: r\n    stage: request\n    action: allow\n    when: request.model > 3\n",
			[]string{`test.yaml:5: rule "r": when, column 15: found no matching overload for '_>_' applied to '(string, int)'`},
		},
		{
			"dyn is not bool",
			"rules:\n  - id: r\n    stage: tool_call\n    action: allow\n    when: tool_call.arguments.armed\n",
			[]string{`test.yaml:5: rule "r": when has type dyn, want bool`},
		},
		{
			"unknown field on every attribute",
			"rules:\n" +
				"  - {id: a, stage: request, action: allow, when: principal.clearance == 'x'}\n" +
				"  - {id: b, stage: request, action: allow, when: request.user == 'x'}\n" +
				"  - {id: c, stage: request, action: allow, when: findings.people > 0}\n" +
				"  - {id: d, stage: request, action: allow, when: counters.requests_24h > 0}\n" +
				"  - {id: e, stage: request, action: allow, when: tool_call.effects == 'x'}\n" +
				"  - {id: f, stage: request, action: allow, when: response.stop == 'x'}\n" +
				"  - {id: g, stage: request, action: allow, when: now > time}\n",
			[]string{
				`test.yaml:2: rule "a": when, column 10: undefined field 'clearance'`,
				`test.yaml:3: rule "b": when, column 8: undefined field 'user'`,
				`test.yaml:4: rule "c": when, column 9: undefined field 'people'`,
				`test.yaml:5: rule "d": when, column 9: undefined field 'requests_24h'`,
				`test.yaml:6: rule "e": when, column 10: undefined field 'effects'`,
				`test.yaml:7: rule "f": when, column 9: undefined field 'stop'`,
				`test.yaml:8: rule "g": when, column 1: undeclared reference to 'now'`,
			},
		},
		{
			"headers",
			"metadata_headers: ['', 'x: y']\n",
			[]string{`test.yaml: invalid metadata header name ""`, `test.yaml: invalid metadata header name "x: y"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("test.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got policy %s, want an error", p.Hash())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error\n%s\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
