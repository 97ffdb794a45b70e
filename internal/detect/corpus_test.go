package detect

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The evaluation corpus: synthetic people written as prose, CSV rows and
// JSON records, with the exact span of every identifier recorded as it is
// written. The generator is deterministic for a seed, so the corpus is the
// same on every run.

// label is an expected finding.
type label struct {
	Type       string
	Start, End int
}

// doc is a generated document and its labels.
type doc struct {
	Kind   string
	Text   string
	Labels []label
	// Subjects[i] is the person Labels[i] belongs to, numbered per
	// document.
	Subjects []int
}

// writer builds a document and records the span of each identifier, and
// the person it belongs to.
type writer struct {
	b        strings.Builder
	labels   []label
	subjects []int
	cur      int // the person being written
}

func (w *writer) text(s string) { w.b.WriteString(s) }

// person starts writing about a new person.
func (w *writer) person() { w.cur++ }

func (w *writer) id(typ, s string) {
	start := w.b.Len()
	w.b.WriteString(s)
	w.labels = append(w.labels, label{typ, start, w.b.Len()})
	w.subjects = append(w.subjects, w.cur)
}

// gen makes identifiers and documents from a seeded source.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

var (
	firstNames = []string{"Maria", "James", "Aisha", "Wei", "Carlos", "Emily", "Dmitri", "Fatima", "John", "Priya"}
	lastNames  = []string{"Garcia", "Smith", "Okafor", "Chen", "Novak", "Johnson", "Haddad", "Kim", "Rossi", "Brown"}
	areaCodes  = []string{"212", "213", "312", "415", "617", "202", "305", "404", "512", "602", "713", "206", "303", "503", "702", "718", "801", "919"}
	streets    = []string{"Main", "Oak", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Sunset", "Pine Ridge", "Martin Luther King"}
	suffixes   = []string{"Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Drive", "Dr", "Lane", "Ln", "Way", "Court", "Ct", "Place"}
	cities     = []string{"Springfield", "Portland", "Austin", "Columbus", "Salem", "San Diego", "Fort Worth", "Boise"}
	stateCodes = []string{"IL", "OR", "TX", "OH", "MA", "CA", "ID", "NY", "VA", "WA"}
	domains    = []string{"example.com", "mail.example.org", "corp.example.net", "example.co.uk"}
)

func (g *gen) phone() string {
	a := g.pick(areaCodes)
	e := fmt.Sprintf("%d%s", 2+g.r.IntN(8), g.digits(2))
	if e[1:] == "11" || e == "555" {
		e = "321"
	}
	l := g.digits(4)
	switch g.r.IntN(7) {
	case 0:
		return "(" + a + ") " + e + "-" + l
	case 1:
		return a + "-" + e + "-" + l
	case 2:
		return a + "." + e + "." + l
	case 3:
		return "+1 " + a + " " + e + " " + l
	case 4:
		return "1-" + a + "-" + e + "-" + l
	case 5:
		return "+44 20 7946 0" + g.digits(3)
	default:
		return "+33 1 4" + g.digits(1) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2)
	}
}

func (g *gen) email() string {
	f := strings.ToLower(g.pick(firstNames))
	l := strings.ToLower(g.pick(lastNames))
	switch g.r.IntN(3) {
	case 0:
		return f + "." + l + "@" + g.pick(domains)
	case 1:
		return f[:1] + l + g.digits(2) + "@" + g.pick(domains)
	default:
		return f + "_" + l + "+news@" + g.pick(domains)
	}
}

func (g *gen) ssn() string {
	for {
		d := []byte(g.digits(9))
		if validSSN(d) {
			return string(d[:3]) + "-" + string(d[3:5]) + "-" + string(d[5:])
		}
	}
}

// luhnDigit appends the check digit that makes prefix pass Luhn.
func luhnDigit(prefix string) string {
	for c := byte('0'); c <= '9'; c++ {
		if luhn([]byte(prefix + string(c))) {
			return prefix + string(c)
		}
	}
	panic("unreachable")
}

func (g *gen) card() string {
	var n string
	switch g.r.IntN(4) {
	case 0:
		n = luhnDigit("4" + g.digits(14))
	case 1:
		n = luhnDigit(fmt.Sprint(51+g.r.IntN(5)) + g.digits(13))
	case 2:
		n = luhnDigit("37" + g.digits(12))
		if g.r.IntN(2) == 0 {
			return n[:4] + " " + n[4:10] + " " + n[10:]
		}
		return n
	default:
		n = luhnDigit("6011" + g.digits(11))
	}
	switch g.r.IntN(3) {
	case 0:
		return n
	case 1:
		return n[:4] + " " + n[4:8] + " " + n[8:12] + " " + n[12:]
	default:
		return n[:4] + "-" + n[4:8] + "-" + n[8:12] + "-" + n[12:]
	}
}

func (g *gen) ip() string {
	if g.r.IntN(4) == 0 {
		return fmt.Sprintf("2001:db8:%x:%x::%x", g.r.IntN(65536), g.r.IntN(65536), 1+g.r.IntN(65535))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) geo() string {
	lat := (g.r.Float64()*2 - 1) * 80
	lon := (g.r.Float64()*2 - 1) * 170
	return fmt.Sprintf("%.*f, %.*f", 4+g.r.IntN(3), lat, 4+g.r.IntN(3), lon)
}

func (g *gen) mac() string {
	sep := g.pick([]string{":", "-"})
	parts := make([]string, 6)
	for k := range parts {
		parts[k] = fmt.Sprintf("%02x", g.r.IntN(256))
	}
	s := strings.Join(parts, sep)
	if g.r.IntN(2) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

func (g *gen) imei() string {
	return luhnDigit(g.pick([]string{"35", "86", "49", "01"}) + g.digits(12))
}

func (g *gen) adID() string {
	h := func(n int) string {
		var b strings.Builder
		for range n {
			fmt.Fprintf(&b, "%x", g.r.IntN(16))
		}
		return b.String()
	}
	s := h(8) + "-" + h(4) + "-4" + h(3) + "-a" + h(3) + "-" + h(12)
	if g.r.IntN(2) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

func (g *gen) plate() string {
	L := func(n int) string {
		b := make([]byte, n)
		for k := range b {
			b[k] = byte('A' + g.r.IntN(26))
		}
		return string(b)
	}
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprint(1+g.r.IntN(9)) + L(3) + g.digits(3)
	case 1:
		return L(3) + "-" + g.digits(4)
	default:
		return L(3) + " " + g.digits(4)
	}
}

// address returns a street address as written, split where the span of
// the identifier ends: the street and unit, then the city, state and ZIP
// (or nothing), which are not part of the span.
func (g *gen) address() (street, rest string) {
	s := fmt.Sprint(1 + g.r.IntN(9999))
	if g.r.IntN(4) == 0 {
		s += " " + g.pick([]string{"N", "S", "E", "W"})
	}
	if g.r.IntN(6) == 0 {
		s += fmt.Sprintf(" %dth", 4+g.r.IntN(16))
	} else {
		s += " " + g.pick(streets)
	}
	s += " " + g.pick(suffixes)
	abbrev := strings.HasSuffix(s, "St") || strings.HasSuffix(s, "Ave") || strings.HasSuffix(s, "Rd")
	switch g.r.IntN(4) {
	case 0:
		s += ", Apt " + fmt.Sprint(1+g.r.IntN(40)) + g.pick([]string{"", "A", "B"})
	case 1:
		s += " Suite " + fmt.Sprint(100+g.r.IntN(900))
	}
	if abbrev && g.r.IntN(4) == 0 {
		// "12 Oak St. Apt 4" or "12 Oak St., Salem, OR": the period is kept
		// when a unit follows.
		if k := strings.Index(s, " Suite"); k >= 0 {
			s = s[:k] + "." + s[k:]
		} else if k := strings.Index(s, ", Apt"); k >= 0 {
			s = s[:k] + "." + s[k:]
		} else {
			rest = "., " + g.pick(cities) + ", " + g.pick(stateCodes)
		}
	}
	if rest == "" && g.r.IntN(3) != 0 {
		rest = ", " + g.pick(cities) + ", " + g.pick(stateCodes)
		if g.r.IntN(3) != 0 {
			rest += " " + g.digits(5)
			if g.r.IntN(3) == 0 {
				rest += "-" + g.digits(4)
			}
		}
	}
	if g.r.IntN(8) == 0 {
		s, rest = strings.ToUpper(s), strings.ToUpper(rest)
	}
	return s, rest
}

// addressID writes an address, labelling its street and unit.
func (g *gen) addressID(w *writer) {
	street, rest := g.address()
	w.id(TypeStreetAddress, street)
	w.text(rest)
}

// personFirst and personLast are the names of the corpus's people: mostly
// census names, a few that are also common words ("Will", "Rose", "Young",
// "White"), and a few the 1990 census lists lack ("Priya", "Dmitri").
var (
	personFirst = []string{"Maria", "James", "Aisha", "Wei", "Carlos", "Emily", "Dmitri", "Fatima", "John", "Priya",
		"Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Will", "Rose", "Grant", "Sharon", "Kevin", "Nancy"}
	personLast = []string{"Garcia", "Smith", "Okafor", "Chen", "Novak", "Johnson", "Haddad", "Kim", "Rossi", "Brown",
		"Williams", "Martinez", "Nguyen", "Patel", "Young", "White", "Thompson", "Anderson", "O'Brien", "Kowalski"}
	personTitles = []string{"Mr.", "Mrs.", "Ms.", "Dr.", "Sgt."}
)

// name returns a person's name as it would be written in a record: "First
// Last", sometimes with a middle initial.
func (g *gen) name() string {
	f, l := g.pick(personFirst), g.pick(personLast)
	if g.r.IntN(6) == 0 {
		return f + " " + string(rune('A'+g.r.IntN(26))) + ". " + l
	}
	return f + " " + l
}

// personInProse writes a person as prose mentions them: a name, a title and
// a name or surname, or a label; the span excludes the title and label.
func (g *gen) personInProse(w *writer) {
	w.person()
	switch g.r.IntN(5) {
	case 0:
		w.text("Yesterday we spoke with ")
		w.id(TypePerson, g.name())
		w.text(" about the delivery. ")
	case 1:
		// An honorific is part of the name's span, a rank is not.
		w.text("The file was opened by ")
		t := g.pick(personTitles)
		prefix := t + " "
		if t == "Sgt." {
			w.text(prefix)
			prefix = ""
		}
		if g.r.IntN(2) == 0 {
			w.id(TypePerson, prefix+g.pick(personLast))
		} else {
			w.id(TypePerson, prefix+g.name())
		}
		w.text(" last week. ")
	case 2:
		w.text("Subject: ")
		w.id(TypePerson, g.name())
		w.text(". ")
	case 3:
		w.text("According to ")
		w.id(TypePerson, g.name())
		w.text(", the meeting was moved. ")
	default:
		w.text("Contact name: ")
		w.id(TypePerson, g.name())
		w.text("\n")
	}
}

// filler is prose and logistics text with no identifiers of people, mixed
// in so that the corpus also measures false positives.
var filler = []string{
	"The meeting on 2024-03-12 lasted 45 minutes. ",
	"Shipment of NSN 5340-01-553-2249 arrives 15 JAN 2024. ",
	"See paragraph 4.2.1.3 and firmware version 2.10.3.7. ",
	"Contract W912QR-21-C-0042 covers 12 EA at unit price 14.37. ",
	"Checksum d41d8cd98f00b204e9800998ecf8427e matched. ",
	"Grid 38SMB4488012345 was cleared by 0600. ",
	"Totals: 12345 67890 11111 22222. ",
	"Nothing else was noted. ",
}

// personNegatives are sentences with capitalised words that are names in
// the census lists but not people here: common words at the start of a
// sentence, places, units and ships. Ships named after people are not
// people, so they are never labelled.
var personNegatives = []string{
	"May we proceed with the inspection? ",
	"Will the convoy leave at 0600? ",
	"Young soldiers trained at Fort Bragg. ",
	"The White House issued new guidance. ",
	"Brown boxes were stacked in Warehouse 4. ",
	"USS Ronald Reagan (CVN 76) departed Yokosuka. ",
	"The USS Abraham Lincoln moved to Pier 7. ",
	"Rose Garden events were cancelled. ",
	"Grant Park and Lake Charles were closed. ",
	"The 82nd Airborne Division relieved the 1st Cavalry Division. ",
	"Fort Worth, San Antonio and Virginia Beach sent liaison officers. ",
	"White smoke marked Landing Zone Hawk. ",
	"Mark the pallets before Friday. ",
	"Long Island and Washington State reported no delays. ",
	"",
}

// prose writes a dossier-like paragraph about one person.
func (g *gen) prose(w *writer) {
	g.personInProse(w)
	w.person()
	w.id(TypePerson, g.name())
	w.text(" can be reached at ")
	w.id(TypePhone, g.phone())
	w.text(" or by email at ")
	w.id(TypeEmail, g.email())
	w.text(". " + g.pick(filler) + g.pick(personNegatives))
	w.text("Her SSN is ")
	w.id(TypeSSN, g.ssn())
	w.text(" and she paid with card ")
	w.id(TypeCreditCard, g.card())
	w.text(". She lives at ")
	g.addressID(w)
	w.text(". " + g.pick(filler))
	w.text("The last login came from ")
	w.id(TypeIPAddress, g.ip())
	w.text(", and her phone reported GPS ")
	w.id(TypeGeoCoordinate, g.geo())
	w.text(". Device IMEI ")
	w.id(TypeDeviceID, g.imei())
	w.text(", Wi-Fi MAC ")
	w.id(TypeDeviceID, g.mac())
	w.text(", advertising ID ")
	w.id(TypeDeviceID, g.adID())
	w.text(". Her car has licence plate ")
	w.id(TypeLicensePlate, g.plate())
	w.text(". " + g.pick(filler) + "\n\n")
	if g.r.IntN(4) == 0 {
		// A roster table, "Surname, First" a line.
		w.text("Duty roster:\n")
		for range 2 + g.r.IntN(3) {
			w.person()
			w.id(TypePerson, g.pick(personLast)+", "+g.pick(personFirst))
			w.text("\n")
		}
		w.text("\n")
	}
}

// csv writes a header and rows; values with commas are quoted.
func (g *gen) csv(w *writer, rows int) {
	w.text("name,phone,email,ssn,card,ip,address,mac\n")
	for range rows {
		w.person()
		w.id(TypePerson, g.name())
		w.text(",")
		w.id(TypePhone, g.phone())
		w.text(",")
		w.id(TypeEmail, g.email())
		w.text(",")
		w.id(TypeSSN, g.ssn())
		w.text(",")
		w.id(TypeCreditCard, g.card())
		w.text(",")
		w.id(TypeIPAddress, g.ip())
		w.text(",\"")
		g.addressID(w)
		w.text("\",")
		w.id(TypeDeviceID, g.mac())
		w.text("\n")
	}
	w.text("\n")
}

// json writes one record per line.
func (g *gen) json(w *writer, records int) {
	for range records {
		w.person()
		w.text(`{"name": "`)
		w.id(TypePerson, g.name())
		w.text(`", "phone": "`)
		w.id(TypePhone, g.phone())
		w.text(`", "email": "`)
		w.id(TypeEmail, g.email())
		w.text(`", "ssn": "`)
		w.id(TypeSSN, g.ssn())
		w.text(`", "imei": "`)
		w.id(TypeDeviceID, g.imei())
		w.text(`", "idfa": "`)
		w.id(TypeDeviceID, g.adID())
		w.text(`", "plate": "`)
		w.id(TypeLicensePlate, g.plate())
		w.text(`", "location": "`)
		w.id(TypeGeoCoordinate, g.geo())
		w.text(`", "home_address": "`)
		g.addressID(w)
		w.text(`", "last_ip": "`)
		w.id(TypeIPAddress, g.ip())
		w.text(`", "notes": "` + strings.TrimSpace(g.pick(filler)) + " " + strings.TrimSpace(g.pick(personNegatives)) + `"}` + "\n")
	}
}

// corpus returns n documents of each kind.
func corpus(seed uint64, n int) []doc {
	g := newGen(seed)
	var docs []doc
	for k := range 3 * n {
		var w writer
		kind := [...]string{"prose", "csv", "json"}[k%3]
		switch kind {
		case "prose":
			for range 1 + g.r.IntN(3) {
				g.prose(&w)
			}
		case "csv":
			g.csv(&w, 2+g.r.IntN(8))
		case "json":
			g.json(&w, 1+g.r.IntN(5))
		}
		docs = append(docs, doc{Kind: kind, Text: w.b.String(), Labels: w.labels, Subjects: w.subjects})
	}
	return docs
}
