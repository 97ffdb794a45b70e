package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
)

const authzPolicy = `
authorizations:
  - id: order-26-117
    reference: US District Court order 26-MJ-117
    scope: subjects named in the order
    principals: [casework-team, key_01J0000000000000000000000A]
    expires: 2027-01-31T00:00:00Z
    limits: {us_person_subjects_24h: 500}
  - id: lapsed
    reference: order 25-1
    principals: [old-team]
    expires: 2025-01-01T00:00:00Z
    limits: {us_person_subjects_24h: 100000}
rules:
  - id: us-24h
    stage: request
    when: counters.us_person_subjects_24h > authorization.limits[?"us_person_subjects_24h"].orValue(200)
    action: deny
    message: Too many US persons.
`

func TestAuthorizations(t *testing.T) {
	p := mustLoad(t, authzPolicy)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		principal brightline.Principal
		count     int
		want      brightline.Action
		wantAuth  string
	}{
		{"no authorisation, under", brightline.Principal{ID: "key_x", Name: "help-desk"}, 150, brightline.ActionAllow, ""},
		{"no authorisation, over", brightline.Principal{ID: "key_x", Name: "help-desk"}, 250, brightline.ActionDeny, ""},
		{"authorised by name, raised limit used", brightline.Principal{ID: "key_y", Name: "casework-team"}, 250, brightline.ActionAllow, "order-26-117"},
		{"authorised by id, raised limit used", brightline.Principal{ID: "key_01J0000000000000000000000A"}, 450, brightline.ActionAllow, "order-26-117"},
		{"authorised, under the default: not affected", brightline.Principal{Name: "casework-team"}, 150, brightline.ActionAllow, ""},
		{"authorised, over the raised limit too", brightline.Principal{Name: "casework-team"}, 501, brightline.ActionDeny, ""},
		{"expired authorisation", brightline.Principal{Name: "old-team"}, 250, brightline.ActionDeny, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Principal: tt.principal, Counters: CountersAttrs{USPersonSubjects24h: tt.count}, Time: now}
			d, err := p.Evaluate(brightline.StageRequest, in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tt.want || d.Authorization != tt.wantAuth {
				t.Errorf("got %s with authorisation %q, want %s with %q", d.Action, d.Authorization, tt.want, tt.wantAuth)
			}
		})
	}
	// After it expires, the authorisation no longer applies.
	in := &Input{Principal: brightline.Principal{Name: "casework-team"}, Counters: CountersAttrs{USPersonSubjects24h: 250}, Time: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)}
	if d, _ := p.Evaluate(brightline.StageRequest, in); d.Action != brightline.ActionDeny || d.Authorization != "" {
		t.Errorf("after expiry: got %s with %q, want deny with none", d.Action, d.Authorization)
	}
}

func TestAuthorizationAndRedactErrors(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"no reference", "authorizations:\n  - id: a\n    principals: [x]\n    expires: 2027-01-01T00:00:00Z\n", "has no reference"},
		{"no principals", "authorizations:\n  - id: a\n    reference: r\n    expires: 2027-01-01T00:00:00Z\n", "names no principals"},
		{"bad expiry", "authorizations:\n  - id: a\n    reference: r\n    principals: [x]\n    expires: next year\n", "not an RFC 3339 time"},
		{"no expiry", "authorizations:\n  - id: a\n    reference: r\n    principals: [x]\n", "not an RFC 3339 time"},
		{"negative limit", "authorizations:\n  - id: a\n    reference: r\n    principals: [x]\n    expires: 2027-01-01T00:00:00Z\n    limits: {n: -1}\n", "not a whole number"},
		{"duplicate", "authorizations:\n  - {id: a, reference: r, principals: [x], expires: '2027-01-01T00:00:00Z'}\n  - {id: a, reference: r, principals: [x], expires: '2027-01-01T00:00:00Z'}\n", "duplicate authorization id"},
		{"unknown identifier type", "rules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: redact\n    redact_identifiers: [NAME]\n", `unknown identifier type "NAME"`},
		{"redact_identifiers on deny", "rules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: deny\n    message: m\n    redact_identifiers: [PERSON]\n", "allowed only with action redact"},
		{"restore without types", "rules:\n  - id: r\n    stage: request\n    when: 'true'\n    action: redact\n    redact: ['x']\n    restore_identifiers: true\n", "restore_identifiers needs redact_identifiers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("test.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRedactIdentifiers(t *testing.T) {
	p := mustLoad(t, `rules:
  - id: mask-people
    stage: request
    when: findings.subjects > 0
    action: redact
    redact_identifiers: [PERSON, PHONE]
    restore_identifiers: true
    message: People are masked.
  - id: mask-all
    stage: request
    when: findings.counts["SSN"] > 0
    action: redact
    redact_identifiers: ["*"]
`)
	d, err := p.Evaluate(brightline.StageRequest, &Input{Findings: FindingsAttrs{Subjects: 1}})
	if err != nil {
		t.Fatal(err)
	}
	types, restore := p.RedactIdentifiers(d)
	if !slices.Equal(types, []string{"PERSON", "PHONE"}) || !restore {
		t.Errorf("got %v restore=%v, want [PERSON PHONE] restore=true", types, restore)
	}
	d, _ = p.Evaluate(brightline.StageRequest, &Input{Findings: FindingsAttrs{Counts: map[string]int{"SSN": 1}}})
	if types, restore := p.RedactIdentifiers(d); !slices.Equal(types, []string{"*"}) || restore {
		t.Errorf("got %v restore=%v, want [*] restore=false", types, restore)
	}
}
