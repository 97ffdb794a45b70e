package policy

import (
	"reflect"
	"testing"
)

const diffBase = `metadata_headers: [x-mission-id, x-purpose]
safeguards:
  - id: human-control-of-force
    title: Human control of force
    rules:
      - id: force-requires-approval
        stage: tool_call
        when: tool_call.effect == "force"
        action: require_approval
        message: Approval needed.
      - id: mask-coordinates
        stage: request
        when: "true"
        action: redact
        redact: ['\d+\.\d+,\s*\d+\.\d+', 'MGRS \S+']
  - id: no-mass-domestic-surveillance
    title: No mass domestic surveillance
    rules:
      - id: mass-profiling
        stage: request
        when: findings.subjects > 0 && counters.distinct_subjects_24h > 1000
        action: deny
        message: Too many people.
rules:
  - id: no-huge-prompts
    stage: request
    when: request.text_bytes > 2000000
    action: deny
    message: Too large.
`

func TestDiff(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(f *File)
		want []Change
	}{
		{
			name: "no change",
			edit: func(f *File) {},
			want: nil,
		},
		{
			name: "safeguard removed",
			edit: func(f *File) { f.Safeguards = f.Safeguards[:1] },
			want: []Change{
				{Safeguard: "no-mass-domestic-surveillance", Kind: SafeguardRemoved, Detail: "No mass domestic surveillance", Weakens: true},
				{Safeguard: "no-mass-domestic-surveillance", Rule: "mass-profiling", Kind: RuleRemoved, Detail: "deny at stage request", Weakens: true},
			},
		},
		{
			name: "operational rule removed",
			edit: func(f *File) { f.Rules = nil },
			want: []Change{
				{Rule: "no-huge-prompts", Kind: RuleRemoved, Detail: "deny at stage request", Weakens: true},
			},
		},
		{
			name: "action lowered",
			edit: func(f *File) { f.Safeguards[0].Rules[0].Action = "annotate" },
			want: []Change{
				{Safeguard: "human-control-of-force", Rule: "force-requires-approval", Kind: RuleChanged, Detail: "action require_approval → annotate", Weakens: true},
			},
		},
		{
			name: "action raised",
			edit: func(f *File) { f.Safeguards[0].Rules[0].Action = "deny" },
			want: []Change{
				{Safeguard: "human-control-of-force", Rule: "force-requires-approval", Kind: RuleChanged, Detail: "action require_approval → deny"},
			},
		},
		{
			name: "safeguard when changed",
			edit: func(f *File) {
				f.Safeguards[1].Rules[0].When = "findings.subjects > 0 && counters.distinct_subjects_24h > 900"
			},
			want: []Change{
				{Safeguard: "no-mass-domestic-surveillance", Rule: "mass-profiling", Kind: RuleChanged,
					Detail:  `when "findings.subjects > 0 && counters.distinct_subjects_24h > 1000" → "findings.subjects > 0 && counters.distinct_subjects_24h > 900"`,
					Weakens: true},
			},
		},
		{
			name: "operational when changed",
			edit: func(f *File) { f.Rules[0].When = "request.text_bytes > 3000000" },
			want: []Change{
				{Rule: "no-huge-prompts", Kind: RuleChanged, Detail: `when "request.text_bytes > 2000000" → "request.text_bytes > 3000000"`},
			},
		},
		{
			name: "message changed",
			edit: func(f *File) { f.Rules[0].Message = "Prompt too large." },
			want: []Change{
				{Rule: "no-huge-prompts", Kind: RuleChanged, Detail: `message "Too large." → "Prompt too large."`},
			},
		},
		{
			name: "redact pattern removed and added",
			edit: func(f *File) { f.Safeguards[0].Rules[1].Redact = []string{`MGRS \S+`, `grid \S+`} },
			want: []Change{
				{Safeguard: "human-control-of-force", Rule: "mask-coordinates", Kind: RuleChanged,
					Detail:  `redact patterns removed: ["\\d+\\.\\d+,\\s*\\d+\\.\\d+"]; redact patterns added: ["grid \\S+"]`,
					Weakens: true},
			},
		},
		{
			name: "rule moved out of safeguard",
			edit: func(f *File) {
				r := f.Safeguards[1].Rules[0]
				f.Safeguards[1].Rules = nil
				f.Rules = append(f.Rules, r)
			},
			want: []Change{
				{Safeguard: "no-mass-domestic-surveillance", Rule: "mass-profiling", Kind: RuleChanged, Detail: "moved out of safeguard no-mass-domestic-surveillance", Weakens: true},
			},
		},
		{
			name: "rule moved into safeguard",
			edit: func(f *File) {
				f.Safeguards[1].Rules = append(f.Safeguards[1].Rules, f.Rules[0])
				f.Rules = nil
			},
			want: []Change{
				{Safeguard: "no-mass-domestic-surveillance", Rule: "no-huge-prompts", Kind: RuleChanged, Detail: "moved into safeguard no-mass-domestic-surveillance"},
			},
		},
		{
			name: "safeguard stage changed",
			edit: func(f *File) { f.Safeguards[0].Rules[0].Stage = "response" },
			want: []Change{
				{Safeguard: "human-control-of-force", Rule: "force-requires-approval", Kind: RuleChanged, Detail: "stage tool_call → response", Weakens: true},
			},
		},
		{
			name: "rule and safeguard added",
			edit: func(f *File) {
				f.Safeguards = append(f.Safeguards, Safeguard{ID: "no-biometrics", Title: "No biometrics", Rules: []Rule{
					{ID: "no-face-search", Stage: "tool_call", When: `tool_call.name == "face_search"`, Action: "deny", Message: "No."},
				}})
			},
			want: []Change{
				{Safeguard: "no-biometrics", Kind: SafeguardAdded, Detail: "No biometrics"},
				{Safeguard: "no-biometrics", Rule: "no-face-search", Kind: RuleAdded, Detail: `deny at stage tool_call when tool_call.name == "face_search"`},
			},
		},
		{
			name: "refusal retry granted",
			edit: func(f *File) {
				f.Rules = append(f.Rules, Rule{ID: "retry-refusals", Stage: "response", When: "true", Action: "allow", AllowRefusalRetry: true})
			},
			want: []Change{
				{Rule: "retry-refusals", Kind: RuleAdded, Detail: "allow at stage response when true; allows refusal retry", Weakens: true},
			},
		},
		{
			name: "headers",
			edit: func(f *File) { f.MetadataHeaders = []string{"X-Mission-Id", "x-unit"} },
			want: []Change{
				{Kind: HeadersChanged, Detail: "added x-unit; removed x-purpose", Weakens: true},
			},
		},
		{
			name: "title changed",
			edit: func(f *File) { f.Safeguards[0].Title = "Humans decide on force" },
			want: []Change{
				{Safeguard: "human-control-of-force", Kind: SafeguardChanged, Detail: "title or description changed"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old, err := Parse("old.yaml", []byte(diffBase))
			if err != nil {
				t.Fatal(err)
			}
			// Parse again so that edits can't reach old through shared slices.
			new, err := Parse("new.yaml", []byte(diffBase))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(new)
			got := Diff(old, new)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d changes:\n%s\nwant %d:\n%s", len(got), changesString(got), len(tt.want), changesString(tt.want))
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	f, err := Parse("p.yaml", []byte(diffBase))
	if err != nil {
		t.Fatal(err)
	}
	removed := Diff(f, nil)
	if len(removed) != 1+2+4 {
		t.Fatalf("got %d changes removing everything, want 7:\n%s", len(removed), changesString(removed))
	}
	for _, c := range removed {
		if !c.Weakens {
			t.Errorf("got %v not weakening, want every removal to weaken", c)
		}
	}
	added := Diff(nil, f)
	if len(added) != 1+2+4 {
		t.Fatalf("got %d changes adding everything, want 7:\n%s", len(added), changesString(added))
	}
	for _, c := range added {
		if c.Weakens {
			t.Errorf("got %v weakening, want no addition to weaken", c)
		}
	}
}

func changesString(cs []Change) string {
	var s string
	for _, c := range cs {
		s += "  " + c.String() + "\n"
	}
	return s
}
