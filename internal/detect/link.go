package detect

import (
	"math/bits"
	"strings"
)

// Data categories: what kind of information a finding adds to a profile of
// its subject. A subject's profile breadth is the number of categories
// gathered about it.
const (
	CategoryIdentity     = "identity"      // PERSON, SSN
	CategoryContact      = "contact"       // PHONE, EMAIL
	CategoryLocation     = "location"      // STREET_ADDRESS, GEO_COORDINATE
	CategoryFinancial    = "financial"     // CREDIT_CARD
	CategoryDevice       = "device_online" // DEVICE_ID, IP_ADDRESS
	CategoryVehicle      = "vehicle"       // LICENSE_PLATE
	CategoryAssociations = "associations"  // named together with a relative or associate
)

// Categories is a set of data categories.
type Categories uint8

const (
	catIdentity Categories = 1 << iota
	catContact
	catLocation
	catFinancial
	catDevice
	catVehicle
	catAssociations
	numCategories = iota
)

var categoryNames = [numCategories]string{
	CategoryIdentity, CategoryContact, CategoryLocation, CategoryFinancial,
	CategoryDevice, CategoryVehicle, CategoryAssociations,
}

// CategoryNames lists every category name, in a fixed order.
func CategoryNames() []string { return append([]string(nil), categoryNames[:]...) }

// Len returns the number of categories in c.
func (c Categories) Len() int { return bits.OnesCount8(uint8(c)) }

// Names returns the names of the categories in c, in the order of
// [CategoryNames].
func (c Categories) Names() []string {
	out := make([]string, 0, c.Len())
	for i, n := range categoryNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Category returns the data category of an identifier type, or "" for an
// unknown type.
func Category(typ string) string {
	if c := categoryOf(typ); c != 0 {
		return c.Names()[0]
	}
	return ""
}

func categoryOf(typ string) Categories {
	switch typ {
	case TypePerson, TypeSSN:
		return catIdentity
	case TypePhone, TypeEmail:
		return catContact
	case TypeStreetAddress, TypeGeoCoordinate:
		return catLocation
	case TypeCreditCard:
		return catFinancial
	case TypeDeviceID, TypeIPAddress:
		return catDevice
	case TypeLicensePlate:
		return catVehicle
	}
	return 0
}

// Subject is one person a text is about: the findings linked to them.
type Subject struct {
	// Findings are indices into the findings the subject was linked from,
	// in text order.
	Findings []int
	// KeyType and KeyValue are the subject's strongest identifier: its type
	// ("PERSON+STREET_ADDRESS" for a name with an address) and normalised
	// value. Derive the subject key from them with an HMAC; never store
	// KeyValue.
	KeyType, KeyValue string
	// USPerson reports US-person signals: a +1 phone number, an SSN, a US
	// street address or a ZIP code.
	USPerson bool
	// Categories are the data categories of the linked findings.
	Categories Categories
}

// Analysis is what [Analyze] found in a text.
type Analysis struct {
	Findings []Finding
	// SubjectOf[i] is the index in Subjects of the subject Findings[i] is
	// linked to, or -1 if it is linked to none.
	SubjectOf []int
	Subjects  []Subject
}

// Analyze finds the identifiers in text and links them into subjects.
func Analyze(text string) Analysis {
	fs, us := findAll(text)
	subs, of := link(text, fs, us)
	return Analysis{Findings: fs, SubjectOf: of, Subjects: subs}
}

// USPersonSubjects counts the subjects with US-person signals.
func (a *Analysis) USPersonSubjects() int {
	n := 0
	for _, s := range a.Subjects {
		if s.USPerson {
			n++
		}
	}
	return n
}

// keyRank orders the identifier types a subject key may derive from,
// strongest first. A street address alone is a household, which is
// counted as one subject. Types not listed (IP addresses, coordinates)
// describe places and network endpoints: they add categories to a subject
// but never make one on their own.
var keyRank = []string{TypeSSN, TypePhone, TypeEmail, TypeDeviceID, TypePerson + "+" + TypeStreetAddress, TypePerson, TypeCreditCard, TypeLicensePlate, TypeStreetAddress}

// repeatable types may occur more than once in one named subject (a home
// and a mobile number); a repeat in an unnamed one starts a new subject.
func repeatable(typ string) bool {
	switch typ {
	case TypePerson, TypeSSN:
		return false
	}
	return true
}

// attachWords, between a named subject and a nameless sentence after it,
// say the sentence continues about that person: a pronoun, or a field
// label ("Phone:", "cell").
var attachWords = words("his", "her", "hers", "he", "she", "they", "their", "them", "him",
	"phone", "cell", "mobile", "tel", "telephone", "email", "e-mail", "address", "lives", "ssn",
	"plate", "vehicle", "device", "imei", "dob", "contact", "reach")

// maxAttachGap is how far (in bytes) identifiers in a sentence without a
// name may be from the named subject before them and still be linked to it:
// "Contact John Smith. His cell is 212-555-0100."
const maxAttachGap = 120

// Link groups findings (as returned by [Find] for text) into subjects. Two
// findings belong to the same subject when they are in the same unit (a
// CSV or table row, a JSON object, or a sentence) and no repeat of a
// non-repeatable type separates them; identifiers after a name attach to
// it, and a sentence with no name attaches to a named subject just before
// it when the words between continue about that person (a pronoun or a
// field label: "His cell is ..."). It returns the subjects and, for each finding, its subject index or
// -1.
func Link(text string, fs []Finding) ([]Subject, []int) {
	var us []int
	if fd := fold(text); true {
		for _, f := range fields(fd.text) {
			if f.hint == hintZIP || f.hint == hintState {
				us = append(us, fd.at(f.start))
			}
		}
	}
	return link(text, fs, us)
}

// link is Link with the offsets of the US-person signals that are not
// findings (ZIP and US state fields) already known. It groups the
// findings, in order, then makes a subject of each group (subjectsOf). A
// group starts with each unit, or where its findings stop being one
// person's (see findingGroup.ends); a unit without a name just after a
// named group may attach to it instead (see attaches).
func link(text string, fs []Finding, us []int) ([]Subject, []int) {
	of := make([]int, len(fs))
	for i := range of {
		of[i] = -1
	}
	if len(fs) == 0 {
		return nil, of
	}
	units := unitsOf(text, fs)
	// groups is built here, not in a function returning it, so that its
	// first backing store may live on the stack.
	var groups []*findingGroup
	var cur *findingGroup
	lastNamed := -1 // index in groups of the latest group with a PERSON
	for i, f := range fs {
		u := units.of[i]
		newUnit := cur == nil || cur.unit != u
		if newUnit && lastNamed >= 0 && attaches(text, fs, units, i, groups[lastNamed]) {
			cur = groups[lastNamed]
		} else if newUnit || cur.ends(f.Type) {
			cur = &findingGroup{unit: u, pos: len(groups)}
			groups = append(groups, cur)
		}
		cur.idx = append(cur.idx, i)
		cur.types.add(f.Type)
		if f.Type == TypePerson {
			cur.person = true
			lastNamed = cur.pos
		}
	}
	subs := subjectsOf(text, fs, units, groups, us, of)
	return subs, of
}

// findingGroup is the findings that may become one subject.
type findingGroup struct {
	idx    []int // indices in fs
	types  typeCounts
	person bool // idx holds a PERSON
	unit   int
	pos    int // index in groups
}

// ends reports whether a finding of type typ in g's unit starts a group of
// its own: a second PERSON, or a type g already holds, unless g is named
// and the type repeatable.
func (g *findingGroup) ends(typ string) bool {
	if typ == TypePerson {
		return g.person
	}
	return g.types.get(typ) > 0 && (!g.person || !repeatable(typ))
}

// attaches reports whether fs[i], the first finding of its unit, starts a
// unit without a name that attaches to prev, the latest named group: a
// sentence close after it, in the same paragraph, with a pronoun or field
// label between them (attachWords), and no PERSON of its own (a look-ahead).
func attaches(text string, fs []Finding, units *unitSet, i int, prev *findingGroup) bool {
	f := fs[i]
	if f.Type == TypePerson || units.info[units.of[i]].kind != unitSentence {
		return false
	}
	prevEnd := fs[prev.idx[len(prev.idx)-1]].End
	between := text[prevEnd:f.Start]
	return f.Start-prevEnd <= maxAttachGap && !strings.Contains(between, "\n\n") && hasWord(between, attachWords) && !unitHasPerson(fs, units, i)
}

// subjectsOf makes a subject of each group of findings that has a key,
// and records in of the subject of each finding.
func subjectsOf(text string, fs []Finding, units *unitSet, groups []*findingGroup, us []int, of []int) []Subject {
	// Several groups may share a unit (a long table row): test its text
	// once.
	unitFacts := unitTests{zips: make([]int8, len(units.info)), relations: make([]int8, len(units.info))}
	personsIn := make([]int, len(units.info))
	for i, f := range fs {
		if f.Type == TypePerson {
			personsIn[units.of[i]]++
		}
	}
	var subs []Subject
	for _, g := range groups {
		s := Subject{Findings: g.idx}
		for _, i := range g.idx {
			s.Categories |= categoryOf(fs[i].Type)
		}
		s.KeyType, s.KeyValue = subjectKey(text, fs, g.idx)
		if s.KeyType == "" {
			continue
		}
		ui := units.info[g.unit]
		s.USPerson = usPersonFindings(text, fs, g.idx) || unitFacts.zip(g.unit, text[ui.start:ui.end]) || signalIn(us, ui.start, ui.end)
		if g.person && personsIn[g.unit] > g.types.get(TypePerson) && unitFacts.relation(g.unit, text[ui.start:ui.end]) {
			s.Categories |= catAssociations
		}
		for _, i := range g.idx {
			of[i] = len(subs)
		}
		subs = append(subs, s)
	}
	return subs
}

// unitHasPerson reports whether a PERSON finding at or after finding i
// shares its unit.
func unitHasPerson(fs []Finding, units *unitSet, i int) bool {
	u := units.of[i]
	for j := i; j < len(fs) && units.of[j] == u; j++ {
		if fs[j].Type == TypePerson {
			return true
		}
	}
	return false
}

// relationWords mark one person named in relation to another: a named
// subject gains the associations category when its unit names another
// person and holds one of these words ("seen with her brother David").
var relationWords = words("wife", "husband", "spouse", "brother", "sister", "son", "daughter", "father",
	"mother", "cousin", "uncle", "aunt", "associate", "associates", "friend", "colleague", "employer",
	"roommate", "partner", "girlfriend", "boyfriend", "relative", "contact", "met", "accompanied")

// subjectKey picks the strongest identifier among idx by [keyRank] and
// returns its type and normalised value, or "" if none may key a subject.
func subjectKey(text string, fs []Finding, idx []int) (string, string) {
	// The first finding of each type, by type index; only those are
	// normalised.
	var first [numTypes]int
	for k := range first {
		first[k] = -1
	}
	for _, i := range idx {
		if k := typeIndex(fs[i].Type); k >= 0 && first[k] < 0 {
			first[k] = i
		}
	}
	norm := func(t string) string {
		if k := typeIndex(t); k >= 0 && first[k] >= 0 {
			return Normalize(text, fs[first[k]])
		}
		return ""
	}
	for _, t := range keyRank {
		var v string
		if t == TypePerson+"+"+TypeStreetAddress {
			if name, addr := norm(TypePerson), norm(TypeStreetAddress); name != "" && addr != "" {
				v = name + "|" + addr
			}
		} else {
			v = norm(t)
		}
		if v != "" {
			return t, v
		}
	}
	return "", ""
}

// numTypes is the number of identifier types.
const numTypes = 10

// typeIndex returns the index of an identifier type, or -1.
func typeIndex(t string) int {
	switch t {
	case TypePerson:
		return 0
	case TypePhone:
		return 1
	case TypeEmail:
		return 2
	case TypeSSN:
		return 3
	case TypeCreditCard:
		return 4
	case TypeIPAddress:
		return 5
	case TypeStreetAddress:
		return 6
	case TypeLicensePlate:
		return 7
	case TypeGeoCoordinate:
		return 8
	case TypeDeviceID:
		return 9
	}
	return -1
}

// typeCounts counts findings by type without a map.
type typeCounts [numTypes]uint16

func (c *typeCounts) add(t string) {
	if k := typeIndex(t); k >= 0 && c[k] < 1<<16-1 {
		c[k]++
	}
}

func (c *typeCounts) get(t string) int {
	if k := typeIndex(t); k >= 0 {
		return int(c[k])
	}
	return 0
}

// Normalize returns the canonical form of a finding's value, so that the
// same identifier written differently gets the same subject key: digits
// only for SSNs and cards, E.164 for phone numbers, lower case without a
// "+tag" for e-mail, lower-case hex for device IDs, "first last" in lower
// case for names, and lower-case words for addresses and plates.
func Normalize(text string, f Finding) string {
	s := text[f.Start:f.End]
	switch f.Type {
	case TypeSSN, TypeCreditCard:
		return digitsOnly(s)
	case TypePhone:
		return normPhone(s)
	case TypeEmail:
		s = strings.ToLower(s)
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			if plus := strings.IndexByte(s[:at], '+'); plus > 0 {
				s = s[:plus] + s[at:]
			}
		}
		return s
	case TypeDeviceID:
		var b strings.Builder
		for k := 0; k < len(s); k++ {
			if c := lower(s[k]); isAlnum(c) {
				b.WriteByte(c)
			}
		}
		return b.String()
	case TypePerson:
		// "Smith, John Q." → "john smith": drop initials, reorder.
		if last, first, ok := strings.Cut(s, ","); ok {
			s = first + " " + last
		}
		var toks []string
		for _, w := range strings.Fields(s) {
			w = strings.Trim(w, ".")
			if len(w) > 1 {
				toks = append(toks, strings.ToLower(w))
			}
		}
		return strings.Join(toks, " ")
	}
	var toks []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r < 128 && !isAlnum(byte(r)) }) {
		toks = append(toks, strings.ToLower(w))
	}
	return strings.Join(toks, " ")
}

// normPhone returns a phone number that Find accepted in E.164 form. Find
// has validated it already (default region US), so the form follows from
// its digits: a leading '+' carries the country code, ten digits are a US
// number, and eleven starting with 1 are a US number with its trunk
// prefix. (libphonenumber's Parse would do the same at ten times the cost.)
func normPhone(s string) string {
	d := digitsOnly(s)
	switch {
	case strings.HasPrefix(strings.TrimSpace(s), "+"):
		return "+" + d
	case len(d) == 10:
		return "+1" + d
	case len(d) == 11 && d[0] == '1':
		return "+" + d
	}
	return d
}

func digitsOnly(s string) string {
	b := make([]byte, 0, len(s))
	for k := 0; k < len(s); k++ {
		if isDigit(s[k]) {
			b = append(b, s[k])
		}
	}
	return string(b)
}

// usPersonFindings reports the US-person signals among the findings idx.
func usPersonFindings(text string, fs []Finding, idx []int) bool {
	for _, i := range idx {
		switch f := fs[i]; f.Type {
		case TypeSSN, TypeStreetAddress:
			return true
		case TypePhone:
			if strings.HasPrefix(normPhone(text[f.Start:f.End]), "+1") {
				return true
			}
		}
	}
	return false
}

// unitTests memoises tests of a unit's text by unit index: 0 not yet
// tested, 1 false, 2 true.
type unitTests struct{ zips, relations []int8 }

func memo(m []int8, u int, test func() bool) bool {
	if m[u] == 0 {
		m[u] = 1
		if test() {
			m[u] = 2
		}
	}
	return m[u] == 2
}

// zip reports hasZIP of the text of unit u.
func (t unitTests) zip(u int, text string) bool {
	return memo(t.zips, u, func() bool { return hasZIP(text) })
}

// relation reports whether the text of unit u holds a relation word.
func (t unitTests) relation(u int, text string) bool {
	return memo(t.relations, u, func() bool { return hasWord(text, relationWords) })
}

// signalIn reports whether an offset in us lies in [start, end).
func signalIn(us []int, start, end int) bool {
	for _, u := range us {
		if u >= start && u < end {
			return true
		}
	}
	return false
}

// hasZIP reports whether s holds a US state code followed by a ZIP code
// ("IL 62704", "TX 76102-1234", "tx 77083", `"CA","90047"`), or a ZIP code
// in parentheses after a name ("Grace Hill (43223)") or after "zip".
func hasZIP(s string) bool {
	for k := 0; k+7 <= len(s); k++ {
		if s[k] == '(' && zipParen(s[k:]) && (k == 0 || s[k-1] == ' ') {
			return true
		}
		if (s[k] == 'z' || s[k] == 'Z') && k+3 < len(s) && equalFold(s[k:k+3], "zip") && (k == 0 || !isAlnum(s[k-1])) {
			j := k + 3
			for j < len(s) && j < k+8 && !isDigit(s[j]) && !isAlpha(s[j]) && s[j] != '\n' {
				j++
			}
			if digitsRun(s, j)-j == 5 {
				return true
			}
		}
	}
	for k := 0; k+8 <= len(s); k++ {
		if !isAlpha(s[k]) || !isAlpha(s[k+1]) || isUpper(s[k]) != isUpper(s[k+1]) || (k > 0 && isAlnum(s[k-1])) {
			continue
		}
		if !usStates[string([]byte{s[k] &^ 0x20, s[k+1] &^ 0x20})] {
			continue
		}
		j := k + 2
		for j < len(s) && j < k+6 && (s[j] == ' ' || s[j] == ',' || s[j] == '"' || s[j] == '\t' || s[j] == '|' || s[j] == ';') {
			j++
		}
		if j == k+2 {
			continue
		}
		d := digitsRun(s, j)
		if d-j != 5 {
			continue
		}
		if d < len(s) && s[d] == '-' {
			if e := digitsRun(s, d+1); e-(d+1) == 4 {
				d = e
			}
		}
		if d == len(s) || !isAlnum(s[d]) {
			return true
		}
	}
	return false
}

var usStates = set("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
	"IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
	"NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
	"WI", "WY", "PR", "GU", "VI", "AS", "MP")
