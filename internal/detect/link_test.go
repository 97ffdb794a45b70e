package detect

import (
	"slices"
	"strings"
	"testing"
)

// subjectTexts renders an analysis as one string per subject: its findings'
// texts joined by " + ", then the key type and the flags.
func subjectTexts(text string, a Analysis) []string {
	var out []string
	for _, s := range a.Subjects {
		var parts []string
		for _, i := range s.Findings {
			f := a.Findings[i]
			parts = append(parts, text[f.Start:f.End])
		}
		line := strings.Join(parts, " + ") + " [" + s.KeyType
		if s.USPerson {
			line += " us"
		}
		line += " " + strings.Join(s.Categories.Names(), ",") + "]"
		out = append(out, line)
	}
	return out
}

// linkTests are the cases of TestLink; the golden test runs their inputs
// too.
var linkTests = []struct {
	name string
	text string
	want []string
}{
	{
		"csv rows",
		"name,phone,email\nMaria Garcia,(212) 555-0147,maria.garcia@example.com\nJames Chen,+44 20 7946 0958,jchen@example.org\n",
		[]string{
			"Maria Garcia + (212) 555-0147 + maria.garcia@example.com [PHONE us identity,contact]",
			"James Chen + +44 20 7946 0958 + jchen@example.org [PHONE identity,contact]",
		},
	},
	{
		"json objects",
		`[{"full_name": "Aisha Okafor", "ssn": "536-22-1874"}, {"full_name": "Wei Chen", "email": "wei@example.com"}]`,
		[]string{
			"Aisha Okafor + 536-22-1874 [SSN us identity]",
			"Wei Chen + wei@example.com [EMAIL identity,contact]",
		},
	},
	{
		"braces and escaped quotes inside JSON strings",
		`[{"note": "see {ref} \"}\" here", "full_name": "Maria Garcia", "phone": "(212) 555-0147"}, {"full_name": "Wei Chen"}]`,
		[]string{
			"Maria Garcia + (212) 555-0147 [PHONE us identity,contact]",
			"Wei Chen [PERSON identity]",
		},
	},
	{
		"sentence with two people",
		"Dr. Emily Novak called John Smith at 617-555-0199 yesterday.",
		[]string{
			"Dr. Emily Novak [PERSON identity]",
			"John Smith + 617-555-0199 [PHONE us identity,contact]",
		},
	},
	{
		"next sentence attaches to the name before it",
		"Please contact Carlos Rossi. His cell is 305-555-0123 and he lives at 42 Oak Street, Austin, TX 78701.",
		[]string{
			"Carlos Rossi + 305-555-0123 + 42 Oak Street [PHONE us identity,contact,location]",
		},
	},
	{
		"a list of addresses on one line is many subjects",
		"Send it to a@example.com, b@example.com, c@example.com today.",
		[]string{
			"a@example.com [EMAIL contact]",
			"b@example.com [EMAIL contact]",
			"c@example.com [EMAIL contact]",
		},
	},
	{
		"a place alone is not a subject",
		"The depot is at 38.8977, -77.0365 and the server at 10.1.2.3.",
		nil,
	},
	{
		"associations",
		"Subject: Fatima Haddad, seen with her brother David Haddad on Tuesday.",
		[]string{
			"Fatima Haddad [PERSON identity,associations]",
			"David Haddad [PERSON identity,associations]",
		},
	},
	{
		"blank line breaks the attachment",
		"Ask Laura Kim about it.\n\nSupport line: 404-555-0110.",
		[]string{
			"Laura Kim [PERSON identity]",
			"404-555-0110 [PHONE us contact]",
		},
	},
}

func TestLink(t *testing.T) {
	for _, tt := range linkTests {
		t.Run(tt.name, func(t *testing.T) {
			got := subjectTexts(tt.text, Analyze(tt.text))
			if !slices.Equal(got, tt.want) {
				t.Errorf("subjects of %q:\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		typ, text, want string
	}{
		{TypePhone, "(212) 555-0147", "+12125550147"},
		{TypePhone, "+1 212 555 0147", "+12125550147"},
		{TypeEmail, "Maria.Garcia+news@Example.com", "maria.garcia@example.com"},
		{TypeSSN, "536-22-1874", "536221874"},
		{TypePerson, "Smith, John Q.", "john smith"},
		{TypePerson, "John  Smith", "john smith"},
		{TypeDeviceID, "00:1A:2b:3C:4d:5E", "001a2b3c4d5e"},
		{TypeStreetAddress, "42 Oak St., Austin", "42 oak st austin"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.text, func(t *testing.T) {
			got := Normalize(tt.text, Finding{Type: tt.typ, Start: 0, End: len(tt.text)})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSameSubjectSameKey: one person written two ways in two requests gets
// the same key, so the counters see one subject.
func TestSameSubjectSameKey(t *testing.T) {
	a := Analyze("Reach Maria Garcia on (212) 555-0147.")
	b := Analyze(`{"name": "Garcia, Maria", "phone": "+1 212-555-0147"}`)
	if len(a.Subjects) != 1 || len(b.Subjects) != 1 {
		t.Fatalf("got %d and %d subjects, want 1 and 1", len(a.Subjects), len(b.Subjects))
	}
	if a.Subjects[0].KeyType != b.Subjects[0].KeyType || a.Subjects[0].KeyValue != b.Subjects[0].KeyValue {
		t.Errorf("keys differ: %s %q vs %s %q", a.Subjects[0].KeyType, a.Subjects[0].KeyValue, b.Subjects[0].KeyType, b.Subjects[0].KeyValue)
	}
}

func TestHasZIP(t *testing.T) {
	for s, want := range map[string]bool{
		"Austin, TX 78701": true, "Salem, OR 97301-1234.": true, "NSN 5340 01 234 5678": false,
		"TX 787012": false, "XX 78701": false, "MATX 78701": false,
	} {
		if got := hasZIP(s); got != want {
			t.Errorf("hasZIP(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestLinkUnrelatedSentence: a nameless sentence after a named one is
// not linked unless it continues about that person.
func TestLinkUnrelatedSentence(t *testing.T) {
	text := "Maria Garcia, cell (212) 555-0147.\nUnrelated: write to j.chen@corp.example.net about the parts."
	got := subjectTexts(text, Analyze(text))
	want := []string{"Maria Garcia + (212) 555-0147 [PHONE us identity,contact]", "j.chen@corp.example.net [EMAIL contact]"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
