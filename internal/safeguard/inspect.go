package safeguard

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/detect"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/subjects"
)

// textRef is one piece of request text the detectors read: the system
// prompt, or a text block (tool results included).
type textRef struct {
	ptr *string
}

// inspection is what the detectors found in one request, kept for the
// exchange so that redaction can reuse it.
type inspection struct {
	pieces   []textRef
	analyses []detect.Analysis
}

// requestTexts lists every piece of text in req that reaches the model or
// the provider.
func requestTexts(req *llm.Request) []textRef {
	var out []textRef
	if req.System != "" {
		out = append(out, textRef{&req.System})
	}
	var walk func(bs []llm.Block)
	walk = func(bs []llm.Block) {
		for i := range bs {
			switch b := &bs[i]; b.Type {
			case llm.BlockText:
				if b.Text != "" {
					out = append(out, textRef{&b.Text})
				}
				for j := range b.Citations {
					if c := &b.Citations[j]; c.CitedText != "" {
						out = append(out, textRef{&c.CitedText})
					}
				}
			case llm.BlockToolResult:
				walk(b.ToolResult.Content)
			case llm.BlockDocument, llm.BlockSearchResult:
				for _, p := range []*string{&b.Document.Title, &b.Document.Context, &b.Document.Source} {
					if *p != "" {
						out = append(out, textRef{p})
					}
				}
				walk(b.Document.Content)
			}
		}
	}
	for i := range req.Messages {
		walk(req.Messages[i].Content)
	}
	// Text in fields the canonical model does not hold but the
	// allow-lists let through (OpenAI's prediction.content, say). Redacting
	// it changes nothing sent: redaction drops req.Raw, and those fields
	// with it.
	for i := range req.ExtraText {
		out = append(out, textRef{&req.ExtraText[i]})
	}
	return out
}

// inspect finds the identifiers in req, links them into subjects, records
// the request and its subjects against the principal in in (and its
// organisation), and fills in.Findings and in.Counters. The counters
// therefore include this request. A nil Surveillance fills the findings
// only.
func (s *Surveillance) inspect(in *policy.Input, req *llm.Request) *inspection {
	x := &inspection{pieces: requestTexts(req)}
	f := &in.Findings
	// Most requests name no one: they share the all-zero counts, and a
	// request gets a map of its own at its first finding.
	f.Counts = noCounts
	ownCounts := false
	f.Identifiers = []policy.Identifier{}
	type seen struct {
		us   bool
		cats detect.Categories
	}
	var keyer *subjects.Keyer
	if s != nil {
		keyer = s.Keyer
	}
	if keyer == nil {
		keyer = unkeyed
	}
	people := map[subjects.Key]*seen{}
	var order []subjects.Key
	var cats detect.Categories
	for _, p := range x.pieces {
		a := detect.Analyze(*p.ptr)
		x.analyses = append(x.analyses, a)
		for _, fd := range a.Findings {
			if !ownCounts {
				f.Counts, ownCounts = maps.Clone(noCounts), true
			}
			f.Counts[fd.Type]++
			f.Identifiers = append(f.Identifiers, policy.Identifier{Type: fd.Type, Category: detect.Category(fd.Type)})
		}
		for _, sub := range a.Subjects {
			k := keyer.Key(sub.KeyType, sub.KeyValue)
			p := people[k]
			if p == nil {
				p = &seen{}
				people[k] = p
				order = append(order, k)
			}
			p.us = p.us || sub.USPerson
			p.cats |= sub.Categories
			cats |= sub.Categories
		}
	}
	for _, fd := range f.Identifiers {
		cats |= categoryBit(fd.Category)
	}
	f.Categories = cats.Names()
	f.Subjects = len(people)
	observed := make([]subjects.Subject, 0, len(order))
	for _, k := range order {
		if people[k].us {
			f.USPersonSubjects++
		}
		observed = append(observed, subjects.Subject{Key: k, USPerson: people[k].us})
	}
	if s == nil {
		return x
	}
	id, org := in.Principal.ID, in.Principal.Org
	if s.Counter != nil {
		s.Counter.Observe(id, observed)
		if org != "" {
			s.Counter.Observe(subjects.OrgID(org), observed)
		}
	}
	if s.Profiles != nil {
		for _, k := range order {
			s.Profiles.Observe(id, k, uint8(people[k].cats))
		}
	}
	if s.Requests != nil {
		s.Requests.Observe(id, in.Time)
	}
	in.Counters = s.counters(in.Principal, in.Time)
	return x
}

// counters reads principal's counters at time at without recording
// anything.
func (s *Surveillance) counters(p brightline.Principal, at time.Time) policy.CountersAttrs {
	var c policy.CountersAttrs
	if s == nil {
		return c
	}
	if s.Counter != nil {
		k := s.Counter.Counts(p.ID)
		c.Subjects1h, c.Subjects24h, c.Subjects30d = k.Subjects1h, k.Subjects24h, k.Subjects30d
		c.USPersonSubjects1h, c.USPersonSubjects24h, c.USPersonSubjects30d = k.USPersonSubjects1h, k.USPersonSubjects24h, k.USPersonSubjects30d
		if p.Org != "" {
			o := s.Counter.Counts(subjects.OrgID(p.Org))
			c.OrgSubjects1h, c.OrgSubjects24h, c.OrgSubjects30d = o.Subjects1h, o.Subjects24h, o.Subjects30d
			c.OrgUSPersonSubjects1h, c.OrgUSPersonSubjects24h, c.OrgUSPersonSubjects30d = o.USPersonSubjects1h, o.USPersonSubjects24h, o.USPersonSubjects30d
		}
	}
	if s.Profiles != nil {
		st := s.Profiles.Stats(p.ID)
		c.MaxProfileBreadth, c.BroadProfiles = st.MaxBreadth, st.Broad
	}
	if s.Requests != nil {
		c.Requests1h = s.Requests.Count(p.ID, at)
	}
	return c
}

// unkeyed keys subjects when no deployment secret is configured, for
// findings.subjects alone: such keys never reach a counter.
var unkeyed = subjects.NewKeyer([]byte("brightline: findings only, no counters"))

// categoryBit returns the Categories bit of a category name.
func categoryBit(name string) detect.Categories {
	for i, n := range detect.CategoryNames() {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// Placeholders maps the typed placeholders a redaction put in a request
// back to the identifiers they replaced. It lives only for one exchange.
type Placeholders struct {
	byValue map[string]string // type + "\x00" + normalised value → placeholder
	orig    map[string]string // placeholder → original text (first seen)
	next    map[string]int    // type → last number used
}

// redactIdentifiers replaces the findings of the given types ("*" for
// all) in every piece of request text with typed placeholders, [PERSON_1],
// [PHONE_2], the same normalised value getting the same placeholder across
// the request. It drops req.Raw so the rewritten request is what is sent.
func (x *inspection) redactIdentifiers(req *llm.Request, types []string) *Placeholders {
	all := slices.Contains(types, "*")
	ph := &Placeholders{byValue: map[string]string{}, orig: map[string]string{}, next: map[string]int{}}
	for i, p := range x.pieces {
		text := *p.ptr
		a := &x.analyses[i]
		var b strings.Builder
		last := 0
		for _, fd := range a.Findings {
			if !all && !slices.Contains(types, fd.Type) {
				continue
			}
			key := fd.Type + "\x00" + detect.Normalize(text, fd)
			name, ok := ph.byValue[key]
			if !ok {
				ph.next[fd.Type]++
				name = fmt.Sprintf("[%s_%d]", fd.Type, ph.next[fd.Type])
				ph.byValue[key] = name
				ph.orig[name] = text[fd.Start:fd.End]
			}
			b.WriteString(text[last:fd.Start])
			b.WriteString(name)
			last = fd.End
		}
		if last > 0 {
			b.WriteString(text[last:])
			*p.ptr = b.String()
		}
	}
	req.Raw = nil
	return ph
}

// Restore puts the original identifiers back in place of placeholders in
// s.
func (ph *Placeholders) Restore(s string) string {
	if ph == nil || len(ph.orig) == 0 || !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		// "[a [PERSON_1]": the placeholder starts at the last '['.
		if k := strings.LastIndexByte(s[i:i+j], '['); k > 0 {
			b.WriteString(s[i : i+k])
			s, j = s[i+k:], j-k
			i = 0
		}
		if orig, ok := ph.orig[s[i:i+j+1]]; ok {
			b.WriteString(s[:i])
			b.WriteString(orig)
		} else {
			b.WriteString(s[:i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}
