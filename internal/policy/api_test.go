package policy

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"github.com/brightline/brightline"
)

func TestRedact(t *testing.T) {
	p := mustLoad(t, `rules:
  - id: emails
    stage: request
    when: "true"
    action: redact
    redact: ['[a-z]+@[a-z]+\.com']
  - id: phones
    stage: request
    when: request.dialect == "openai"
    action: redact
    redact: ['\+1 \d{3} \d{4}']
  - id: flag
    stage: request
    when: "true"
    action: annotate
`)
	for _, tt := range []struct {
		name    string
		dialect string
		text    string
		want    string
	}{
		{"both rules", "openai", "mail bob@example.com or call +1 555 0100", "mail [REDACTED] or call [REDACTED]"},
		{"one rule", "anthropic", "mail bob@example.com or call +1 555 0100", "mail [REDACTED] or call +1 555 0100"},
		{"nothing to redact", "openai", "hello $1", "hello $1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Evaluate(brightline.StageRequest, &Input{Request: RequestAttrs{Dialect: tt.dialect}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Redact(d, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("decision of another policy", func(t *testing.T) {
		d, err := Default().Evaluate(brightline.StageRequest, &Input{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Redact(d, "x"); err == nil {
			t.Error("got no error for a decision of another policy, want one")
		}
	})
	t.Run("unknown rule", func(t *testing.T) {
		d := brightline.Decision{PolicyHash: p.Hash(), Matches: []brightline.Match{{Rule: "gone", Action: brightline.ActionRedact}}}
		if _, err := p.Redact(d, "x"); err == nil {
			t.Error("got no error for a decision naming an unknown rule, want one")
		}
	})
}

func TestAllowsRefusalRetry(t *testing.T) {
	p := mustLoad(t, `rules:
  - id: refusal-seen
    stage: response
    when: response.stop_reason == "refusal"
    action: annotate
  - id: retry-translation
    stage: response
    when: response.stop_reason == "refusal" && principal.purpose == "translation"
    action: allow
    allow_refusal_retry: true
  - id: retry-needs-header
    stage: response
    when: request.metadata["x-retry"] == "yes"
    action: allow
    allow_refusal_retry: true
`)
	for _, tt := range []struct {
		name    string
		in      Input
		want    bool
		wantErr bool
	}{
		{
			name: "allowed",
			in:   Input{Principal: brightline.Principal{Purpose: "translation"}, Response: ResponseAttrs{StopReason: "refusal"}},
			want: true,
		},
		{
			name: "allowed by the second rule",
			in:   Input{Request: RequestAttrs{Metadata: map[string]string{"x-retry": "yes"}}, Response: ResponseAttrs{StopReason: "refusal"}},
			want: true,
		},
		{
			name: "not allowed",
			in:   Input{Principal: brightline.Principal{Purpose: "logistics"}, Request: RequestAttrs{Metadata: map[string]string{"x-retry": "no"}}, Response: ResponseAttrs{StopReason: "refusal"}},
			want: false,
		},
		{
			name:    "evaluation error stands as refusal",
			in:      Input{Principal: brightline.Principal{Purpose: "logistics"}, Response: ResponseAttrs{StopReason: "refusal"}},
			wantErr: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.AllowsRefusalRetry(&tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if ok, err := Default().AllowsRefusalRetry(&Input{Response: ResponseAttrs{StopReason: "refusal"}}); ok || err != nil {
		t.Errorf("default policy: got %v, %v, want false, nil", ok, err)
	}
}

func TestMetadata(t *testing.T) {
	p := mustLoad(t, "metadata_headers: [X-Mission-ID, x-purpose, x-mission-id]\n")
	if got, want := p.MetadataHeaders(), []string{"x-mission-id", "x-purpose"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got headers %q, want %q", got, want)
	}
	h := http.Header{}
	h.Set("X-Mission-Id", "m-1")
	h.Add("X-Unrelated", "secret")
	h.Add("X-Purpose", "a")
	h.Add("X-Purpose", "b")
	got := p.Metadata(h)
	want := map[string]string{"x-mission-id": "m-1", "x-purpose": "a, b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Allowed headers the request did not send are present and empty, so
	// rules comparing them are false rather than errors.
	want = map[string]string{"x-mission-id": "", "x-purpose": ""}
	if got := p.Metadata(http.Header{"Other": {"x"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v for no allowed header sent, want %v", got, want)
	}
	if got := mustLoad(t, "rules: []\n").Metadata(h); got != nil {
		t.Errorf("got %v from a policy allowing no headers, want nil", got)
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	f := p.File()
	var ids []string
	for _, s := range f.Safeguards {
		ids = append(ids, s.ID)
		if s.Title == "" || s.Description == "" || len(s.Rules) == 0 {
			t.Errorf("safeguard %s: got title %q, description %q, %d rules; want all set", s.ID, s.Title, s.Description, len(s.Rules))
		}
	}
	if want := []string{"no-mass-domestic-surveillance", "human-control-of-force"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("got safeguards %q, want %q", ids, want)
	}
	if !bytes.Equal(DefaultSource(), f.Source) {
		t.Error("DefaultSource differs from the default policy's source")
	}
	if q, err := Load("default.yaml", DefaultSource()); err != nil || q.Hash() != p.Hash() {
		t.Errorf("reloading the default source: got %v, hash %v; want the same policy", err, q)
	}
	DefaultSource()[0] = 'X' // callers get a copy
	if !bytes.Equal(DefaultSource(), f.Source) {
		t.Error("DefaultSource returns the embedded bytes, want a copy")
	}

	for _, tt := range []struct {
		name  string
		stage brightline.Stage
		in    Input
		want  brightline.Action
		rule  string
	}{
		{"quiet request", brightline.StageRequest, Input{}, brightline.ActionAllow, ""},
		{"casework", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 2, USPersonSubjects: 2}, Counters: CountersAttrs{Subjects1h: 20, Subjects24h: 80, USPersonSubjects24h: 60, Subjects30d: 900, MaxProfileBreadth: 4, BroadProfiles: 3}},
			brightline.ActionAllow, ""},
		{"25 US persons in one request", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 30, USPersonSubjects: 25}},
			brightline.ActionAnnotate, "many-us-persons"},
		{"26 US persons in one request", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 30, USPersonSubjects: 26}},
			brightline.ActionDeny, "bulk-us-person-records"},
		{"at the 24h US-person threshold", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 1}, Counters: CountersAttrs{USPersonSubjects24h: 200}},
			brightline.ActionAllow, ""},
		{"over the 24h US-person threshold", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 1}, Counters: CountersAttrs{USPersonSubjects24h: 201}},
			brightline.ActionDeny, "us-persons-24h"},
		{"over the 30d threshold", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 1}, Counters: CountersAttrs{Subjects30d: 10001}},
			brightline.ActionDeny, "mass-profiling-30d"},
		{"broad profiles", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 1}, Counters: CountersAttrs{MaxProfileBreadth: 5, BroadProfiles: 11}},
			brightline.ActionDeny, "broad-profiles"},
		{"over the thresholds but about no one", brightline.StageRequest,
			Input{Counters: CountersAttrs{USPersonSubjects24h: 5000, Subjects30d: 50000, BroadProfiles: 50}},
			brightline.ActionAllow, ""},
		{"ten people with US persons", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 10, USPersonSubjects: 1}},
			brightline.ActionAnnotate, "many-us-persons"},
		{"ten people, none US persons", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 10}},
			brightline.ActionAllow, ""},
		{"hourly surge", brightline.StageRequest,
			Input{Findings: FindingsAttrs{Subjects: 1}, Counters: CountersAttrs{Subjects1h: 101}},
			brightline.ActionAnnotate, "subject-surge-1h"},
		{"force tool call", brightline.StageToolCall,
			Input{ToolCall: ToolCallAttrs{Name: "strike", Effect: "force"}},
			brightline.ActionRequireApproval, "force-requires-approval"},
		{"consequential tool call", brightline.StageToolCall,
			Input{ToolCall: ToolCallAttrs{Name: "send_email", Effect: "consequential"}},
			brightline.ActionAllow, ""},
		{"unclassified tool call", brightline.StageToolCall,
			Input{ToolCall: ToolCallAttrs{Name: "mystery"}},
			brightline.ActionAllow, ""},
		{"force is not decided at stage request", brightline.StageRequest,
			Input{ToolCall: ToolCallAttrs{Name: "strike", Effect: "force"}},
			brightline.ActionAllow, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Evaluate(tt.stage, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tt.want || d.Rule != tt.rule {
				t.Errorf("got %s by %q, want %s by %q", d.Action, d.Rule, tt.want, tt.rule)
			}
		})
	}
}
