package detect

import "strings"

// US street addresses and licence plates: the two recognizers that read
// words rather than digit groups.

var streetSuffixes = set(
	"Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Drive", "Dr",
	"Lane", "Ln", "Way", "Court", "Ct", "Place", "Pl", "Terrace", "Ter", "Parkway",
	"Pkwy", "Circle", "Cir", "Highway", "Hwy", "Trail", "Trl", "Square", "Sq",
	"Alley", "Loop", "Pike", "Plaza", "Row",
)

// Lower-case forms for case-insensitive look-ups with inSet.
var (
	streetSuffixesLower = lowerSet(streetSuffixes)
	directionsLower     = lowerSet(directions)
	// plainSuffixes are the suffixes that make a lower-case street: "oak
	// ave", not "3 big ways".
	plainSuffixes = set("street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd",
		"drive", "dr", "lane", "ln", "trail", "trl", "court", "ct", "parkway", "pkwy", "terrace",
		"ter", "circle", "cir", "highway", "hwy", "place", "pl", "way")
)

func lowerSet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for w := range m {
		out[strings.ToLower(w)] = true
	}
	return out
}

var directions = set("N", "S", "E", "W", "NE", "NW", "SE", "SW", "North", "South", "East", "West")

var unitWords = set("Apt", "Apartment", "Suite", "Ste", "Unit", "Fl", "Floor", "Rm", "Room", "Bldg")

var states = set(
	"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
	"KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
	"NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
	"VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI",
)

// set returns a set of words in the given and in upper case: addresses
// are often written in capitals ("123 MAIN ST").
func set(words ...string) map[string]bool {
	m := make(map[string]bool, 2*len(words))
	for _, w := range words {
		m[w] = true
		m[strings.ToUpper(w)] = true
	}
	return m
}

// word returns the end of a word ("Main", "main") or an ordinal ("5th")
// starting at j, or -1.
func word(text string, j int) int {
	n := len(text)
	if j >= n {
		return -1
	}
	if isAlpha(text[j]) {
		k := j + 1
		for k < n && isAlpha(text[k]) {
			k++
		}
		return k
	}
	k := digitsRun(text, j)
	if k == j || k+2 > n {
		return -1
	}
	switch text[k : k+2] {
	case "st", "nd", "rd", "th", "ST", "ND", "RD", "TH":
		return k + 2
	}
	return -1
}

// address recognises "number [direction] Name... Suffix", then an optional
// unit (", Apt 4B", " Suite 200", " #12") and an optional ", City, ST" with
// an optional ZIP or ZIP+4.
func address(text string, i int) (Finding, bool) {
	n := len(text)
	j := digitsRun(text, i)
	if j-i > 6 || text[i] == '0' || j >= n || text[j] != ' ' {
		return Finding{}, false
	}
	j++
	end := -1
	names := 0
	for k := 0; k < 6; k++ {
		we := word(text, j)
		if we < 0 {
			return Finding{}, false
		}
		w := text[j:we]
		if names > 0 && inSet(streetSuffixesLower, w) {
			if isLower(w[0]) && !inSet(plainSuffixes, w) {
				return Finding{}, false // "3 big ways"; lower-case needs a plain street word
			}
			end = we
			break
		}
		if !(k == 0 && inSet(directionsLower, w)) {
			names++
		}
		j = we
		if j >= n || text[j] != ' ' {
			return Finding{}, false
		}
		j++
	}
	if end < 0 {
		return Finding{}, false
	}
	// "St." is part of the address only if a unit follows; before anything
	// else the period may end the sentence. The city, state and ZIP that
	// may follow are not part of the span (they name a place many people
	// share) but they raise the score.
	base := 0.75
	if end < n && text[end] == '.' {
		if e := unit(text, end+1); e > end+1 {
			end = e
		}
	} else {
		end = unit(text, end)
	}
	if isLower(text[j]) {
		base = 0.55
	}
	if cityStateZIP(text, end) > end {
		base += 0.15
	}
	if !boundaryAt(text, end) {
		return Finding{}, false
	}
	s, ev := score(text, i, end, base, "street", addressWords, negativeWords)
	return Finding{Type: TypeStreetAddress, Start: i, End: end, Score: s, Evidence: ev}, true
}

// unit extends end over ", Apt 4B", " Suite 200" or " #12" if one follows.
func unit(text string, end int) int {
	j := end
	if j < len(text) && text[j] == ',' {
		j++
	}
	if j >= len(text) || text[j] != ' ' {
		return end
	}
	j++
	if j < len(text) && text[j] == '#' {
		j++
	} else {
		we := word(text, j)
		if we < 0 || !inSet(unitWordsLower, text[j:we]) {
			return end
		}
		j = we
		if j < len(text) && text[j] == '.' {
			j++
		}
		if j >= len(text) || text[j] != ' ' {
			return end
		}
		j++
	}
	k := j
	for k < len(text) && k-j < 6 && (isAlnum(text[k]) || text[k] == '-') {
		k++
	}
	if k == j || !boundaryAt(text, k) || text[k-1] == '-' {
		return end
	}
	return k
}

// cityStateZIP extends end over ", City Name, ST" and an optional
// " 12345" or " 12345-6789" if they follow.
func cityStateZIP(text string, end int) int {
	n := len(text)
	j := end
	if j+2 > n || text[j:j+2] != ", " {
		return end
	}
	j += 2
	for k := 0; ; k++ {
		we := word(text, j)
		if we < 0 || k == 3 || !isUpper(text[j]) {
			return end
		}
		j = we
		if j+2 <= n && text[j:j+2] == ", " {
			j += 2
			break
		}
		if j >= n || text[j] != ' ' {
			return end
		}
		j++
	}
	if j+2 > n || !states[text[j:j+2]] || (j+2 < n && isAlnum(text[j+2])) {
		return end
	}
	end = j + 2
	if end+6 <= n && text[end] == ' ' && digitsRun(text, end+1) == end+6 {
		end += 6
		if end+5 <= n && text[end] == '-' && digitsRun(text, end+1) == end+5 {
			end += 5
		}
	}
	return end
}

// plate recognises US licence plates: 5–8 capital letters and digits with
// at least one of each, optionally split by one space or hyphen
// ("7ABC123", "ABC-1234"). Plates look like many other codes, so they count
// only with a context word such as "plate" or "tag".
func plate(text string, i int) (Finding, bool) {
	run := func(j int) int {
		for j < len(text) && (isUpper(text[j]) || isDigit(text[j])) {
			j++
		}
		return j
	}
	e := run(i)
	if e-i > 8 || (e < len(text) && isLower(text[e])) {
		return Finding{}, false
	}
	end := -1
	if e+1 < len(text) && (text[e] == ' ' || text[e] == '-') {
		e2 := run(e + 1)
		if e2 > e+1 && e2-i-1 >= 5 && e2-i-1 <= 8 && boundaryAt(text, e2) && plateShape(text[i:e2]) {
			end = e2
		}
	}
	if end < 0 {
		if e-i < 5 || !boundaryAt(text, e) || !plateShape(text[i:e]) {
			return Finding{}, false
		}
		end = e
	}
	s, ev := score(text, i, end, 0.3, "plate-shape", plateWords, negativeWords)
	return Finding{Type: TypeLicensePlate, Start: i, End: end, Score: s, Evidence: ev}, true
}

// plateShape reports whether s has at least one letter and one digit.
func plateShape(s string) bool {
	var letters, digits bool
	for k := 0; k < len(s); k++ {
		letters = letters || isUpper(s[k])
		digits = digits || isDigit(s[k])
	}
	return letters && digits
}
