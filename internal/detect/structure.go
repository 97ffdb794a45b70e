package detect

import (
	"slices"
	"strings"
)

// Structure. Tables and keyed records say what their values are: a column
// headed "imei" holds IMEIs, a JSON key "first" holds a given name, a
// column "zip" makes its row a US person's. fields finds the values of
// such structures anywhere in a text (a CSV under a line of prose, a JSON
// array inside a message) and types each by its header or key, so that
// [Find] can take a value whose format alone is not enough ("Gordon" under
// "given_name", a bare UUID under "idfa") and drop one whose key says it is
// something else ("TRK-528" under "unit" is no plate).

// fieldHint is what a header or key says its values are.
type fieldHint uint8

const (
	hintNone    fieldHint = iota
	hintOther             // a key or header that names no identifier
	hintName              // a person's full name
	hintGiven             // a given name
	hintSurname           // a surname
	hintPhone
	hintEmail
	hintSSN
	hintCard
	hintIP
	hintDevice // any device identifier
	hintIMEI
	hintMEID
	hintAdID
	hintMAC
	hintPlate
	hintGeo
	hintAddress
	hintZIP
	hintState
)

// field is one value of a table column or a keyed record.
type field struct {
	start, end int // text[start:end] is the value, without quotes or padding
	hint       fieldHint
}

// hintWords maps a header or key, in lower case with everything but
// letters dropped ("First Name", "first_name" and "FIRSTNAME1" are all
// "firstname"), to its hint.
var hintWords = func() map[string]fieldHint {
	m := map[string]fieldHint{}
	add := func(h fieldHint, ws string) {
		for _, w := range strings.Fields(ws) {
			m[w] = h
		}
	}
	add(hintName, `name fullname customer customername contact contactname employee employeename
		patient patientname rider driver drivername tenant tenantname guest guestname student studentname
		guardian parent owner ownername member membername person personname subject client clientname
		passenger recipient sender attendee applicant accountholder holder cardholder cardholdername
		requester requestedby user username donor donorname insured resident emergencycontact nok
		fn displayname legalname employeefullname respondent defendant plaintiff victim suspect witness
		caller reportingparty rp agent staff technician assignee reporter manager author`)
	add(hintGiven, `first firstname given givenname forename fname givennames`)
	add(hintSurname, `last lastname surname family familyname lname`)
	add(hintPhone, `phone phonenumber phoneno tel telephone mobile mobilephone cell cellphone msisdn mdn
		homephone workphone contactphone callback cb riderphone driverphone pager fax whatsapp
		guardianphone primaryphone`)
	add(hintEmail, `email emailaddress mail`)
	add(hintSSN, `ssn socialsecurity socialsecuritynumber`)
	add(hintCard, `card cardnumber cardno cc ccn pan creditcard`)
	add(hintIP, `ip ipaddress lastip srcip clientip remoteip ipv ip4 ip6`)
	add(hintDevice, `device deviceid udid esn hardwareid handset`)
	add(hintIMEI, `imei imeisv`)
	add(hintMEID, `meid`)
	add(hintAdID, `idfa gaid aaid adid ifa maid advertisingid adsid advertiserid`)
	add(hintMAC, `mac macaddress wifimac bssid eldmac hwaddr ethernet wifi`)
	add(hintPlate, `plate licenseplate licenceplate vehicleplate plateno platenumber tag lp registration reg`)
	add(hintGeo, `location latlon latlng latlong coords coordinates pos position geo gps`)
	add(hintAddress, `address homeaddress street streetaddress line addressline addr serviceaddress
		mailingaddress residence billingaddress shippingaddress`)
	add(hintZIP, `zip zipcode postal postalcode postcode billingzip`)
	add(hintState, `state region st province`)
	return m
}()

// hintOf returns the hint of a header or key.
func hintOf(key string) fieldHint {
	var buf [32]byte
	n := 0
	for k := 0; k < len(key) && n < len(buf); k++ {
		if c := lower(key[k]); isLower(c) {
			buf[n] = c
			n++
		}
	}
	if n == 0 || n == len(buf) {
		return hintOther
	}
	if h, ok := hintWords[string(buf[:n])]; ok {
		return h
	}
	return hintOther
}

// fields returns the typed values of the tables, JSON and XML records and
// vCards in text, sorted by start.
func fields(text string) []field {
	var out []field
	if strings.IndexByte(text, '"') >= 0 {
		out = jsonFields(text, out)
	}
	out = tableFields(text, out)
	if strings.Contains(text, "N:") {
		out = vcardFields(text, out)
	}
	if len(out) > 1 {
		sortFields(out)
	}
	return out
}

// sortFields sorts fs by start. Each source appends its fields in order,
// so fs is a few ascending runs, which a merge sorts in linear time. When
// no two fields start at one offset the sorted order is unique, and the
// merge gives what slices.SortFunc gives; with a tie, slices.SortFunc
// decides as it always has.
func sortFields(fs []field) {
	byStart := func(a, b field) int { return a.start - b.start }
	var runs [4]int // the ends of the ascending runs
	n := 0
	for k := 1; k <= len(fs); k++ {
		if k == len(fs) || fs[k].start < fs[k-1].start {
			if n == len(runs) {
				slices.SortFunc(fs, byStart)
				return
			}
			runs[n] = k
			n++
		} else if fs[k].start == fs[k-1].start {
			slices.SortFunc(fs, byStart)
			return
		}
	}
	if n == 1 {
		return // in order, without ties
	}
	merged := make([]field, 0, len(fs))
	var at [len(runs)]int // the next field of each run
	for r := 0; r < n; r++ {
		if r > 0 {
			at[r] = runs[r-1]
		}
	}
	for len(merged) < len(fs) {
		best := -1
		for r := 0; r < n; r++ {
			if at[r] < runs[r] && (best < 0 || fs[at[r]].start < fs[at[best]].start) {
				best = r
			}
		}
		if m := len(merged); m > 0 && merged[m-1].start == fs[at[best]].start {
			slices.SortFunc(fs, byStart) // a tie across runs
			return
		}
		merged = append(merged, fs[at[best]])
		at[best]++
	}
	copy(fs, merged)
}

// jsonFields adds the values of `"key": "value"`, `"key": 123` and XML
// `<key value="value"` pairs.
func jsonFields(text string, out []field) []field {
	for k := 0; k < len(text); {
		q := strings.IndexByte(text[k:], '"')
		if q < 0 {
			break
		}
		q += k
		e := strings.IndexByte(text[q+1:], '"')
		if e < 0 {
			break
		}
		e += q + 1
		key := text[q+1 : e]
		j := e + 1
		if strings.HasSuffix(text[:q], "value=") && e-q > 1 {
			// <family value="Raghunathan"/>
			t := strings.LastIndexByte(text[:q], '<')
			if t >= 0 && q-t < 40 {
				tag := text[t+1 : q-len("value=")]
				tag = strings.TrimSpace(tag)
				if sp := strings.IndexByte(tag, ' '); sp < 0 && tag != "" {
					out = append(out, field{q + 1, e, hintOf(tag)})
				}
			}
			k = e + 1
			continue
		}
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		if j >= len(text) || text[j] != ':' || len(key) == 0 || len(key) > 40 {
			k = e + 1
			continue
		}
		j++
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		if j >= len(text) {
			break
		}
		h := hintOf(key)
		if text[j] == '"' {
			ve := j + 1
			for ve < len(text) && text[ve] != '"' && text[ve] != '\n' {
				if text[ve] == '\\' {
					ve++
				}
				ve++
			}
			if ve < len(text) && text[ve] == '"' {
				if ve > j+1 {
					out = append(out, field{j + 1, ve, h})
				}
				k = ve + 1
				continue
			}
			k = j
			continue
		}
		if isDigit(text[j]) || text[j] == '+' {
			ve := j + 1
			for ve < len(text) && (isDigit(text[ve]) || text[ve] == '.') {
				ve++
			}
			out = append(out, field{j, ve, h})
			k = ve
			continue
		}
		k = j
	}
	return out
}

// span is a range of bytes, text[start:end].
type span struct{ start, end int }

// tableDelims are the delimiters of delimited tables.
const tableDelims = ",\t|;"

// tableFields adds the cells of delimited tables: two or more consecutive
// lines with the same number of a delimiter, the first of them a header
// that names at least one identifier.
func tableFields(text string, out []field) []field {
	if !strings.ContainsAny(text, tableDelims) {
		return out
	}
	var block []span
	var delim byte
	var want int
	flush := func() {
		if len(block) >= 2 {
			out = tableBlock(text, block[0].start, block[0].end, block[1:], delim, out)
		}
		block = block[:0]
	}
	for s := 0; s < len(text); {
		e := strings.IndexByte(text[s:], '\n')
		if e < 0 {
			e = len(text)
		} else {
			e += s
		}
		l := text[s:e]
		if isRuleLine(l) {
			s = e + 1
			continue // |---|---| under a markdown header
		}
		d, n := lineDelims(l)
		if len(block) > 0 && d == delim && n == want {
			block = append(block, span{s, e})
		} else {
			flush()
			if n > 0 {
				block = append(block, span{s, e})
				delim, want = d, n
			}
		}
		s = e + 1
	}
	flush()
	return out
}

// delimClass[c] is 1 + the index of c in tableDelims, len(tableDelims) + 1
// for '"', and 0 for any other byte.
var delimClass = func() (t [256]uint8) {
	for k := 0; k < len(tableDelims); k++ {
		t[tableDelims[k]] = uint8(k + 1)
	}
	t['"'] = uint8(len(tableDelims) + 1)
	return t
}()

// isRuleLine reports whether l is a markdown table rule such as
// "|---|:---:|".
func isRuleLine(l string) bool {
	if len(l) < 3 {
		return false
	}
	for k := 0; k < len(l); k++ {
		switch l[k] {
		case '-', '|', ':', ' ', '+', '\r':
		default:
			return false
		}
	}
	return strings.Count(l, "-") >= 3
}

// lineDelims returns the delimiter of a table line and how many it has
// outside quotes, or 0. Of several delimiters, the most frequent wins, the
// first in tableDelims on a tie; '|' counts only twice or more.
func lineDelims(l string) (byte, int) {
	// One pass counts every delimiter: the quotes are the same for all.
	var n [len(tableDelims)]int // by index in tableDelims
	quoted := false
	for j := 0; j < len(l); j++ {
		switch c := int(delimClass[l[j]]); {
		case c == 0:
		case c == len(tableDelims)+1:
			quoted = !quoted
		case !quoted:
			n[c-1]++
		}
	}
	best, bn := byte(0), 0
	for k := 0; k < len(tableDelims); k++ {
		if tableDelims[k] == '|' && n[k] < 2 {
			continue
		}
		if n[k] > bn {
			best, bn = tableDelims[k], n[k]
		}
	}
	return best, bn
}

// splitCells returns the [start, end) of each cell of the line
// text[s:e], trimmed of spaces and quotes.
func splitCells(text string, s, e int, d byte, cells [][2]int) [][2]int {
	cells = cells[:0]
	quoted := false
	cs := s
	for j := s; j <= e; j++ {
		if j < e && text[j] == '"' {
			quoted = !quoted
		}
		if j == e || (text[j] == d && !quoted) {
			a, b := cs, j
			for a < b && (text[a] == ' ' || text[a] == '"' || text[a] == '\t' && d != '\t') {
				a++
			}
			for b > a && (text[b-1] == ' ' || text[b-1] == '"' || text[b-1] == '\r' || text[b-1] == '\t' && d != '\t') {
				b--
			}
			cells = append(cells, [2]int{a, b})
			cs = j + 1
		}
	}
	return cells
}

// tableBlock adds the typed cells of one table whose header is
// text[hs:he].
func tableBlock(text string, hs, he int, rows []span, d byte, out []field) []field {
	header := splitCells(text, hs, he, d, nil)
	hints := make([]fieldHint, len(header))
	typed := false
	for c, h := range header {
		v := text[h[0]:h[1]]
		if v == "" || len(v) > 40 || strings.ContainsAny(v, "@") || digitsIn(v) > 2 {
			hints[c] = hintNone
			continue
		}
		hints[c] = hintOf(v)
		typed = typed || hints[c] > hintOther
	}
	if !typed {
		return out
	}
	var cells [][2]int
	for _, r := range rows {
		cells = splitCells(text, r.start, r.end, d, cells)
		for c, cell := range cells {
			if c < len(hints) && hints[c] > hintNone && cell[1] > cell[0] {
				out = append(out, field{cell[0], cell[1], hints[c]})
			}
		}
	}
	return out
}

func digitsIn(s string) int {
	n := 0
	for k := 0; k < len(s); k++ {
		if isDigit(s[k]) {
			n++
		}
	}
	return n
}

// vcardFields adds the surname and given name of vCard "N:" lines
// ("N:Matsumoto;Rin;;;").
func vcardFields(text string, out []field) []field {
	for k := 0; ; {
		i := strings.Index(text[k:], "N:")
		if i < 0 {
			return out
		}
		i += k
		k = i + 2
		if i > 0 && text[i-1] != '\n' {
			continue
		}
		e := strings.IndexByte(text[k:], '\n')
		if e < 0 {
			e = len(text)
		} else {
			e += k
		}
		parts := [...]fieldHint{hintSurname, hintGiven, hintGiven}
		s := k
		for p := 0; p < len(parts) && s <= e; p++ {
			j := strings.IndexByte(text[s:e], ';')
			end := e
			if j >= 0 {
				end = s + j
			}
			if b := len(strings.TrimRight(text[s:end], "\r ")); b > 0 {
				out = append(out, field{s, s + b, parts[p]})
			}
			s = end + 1
		}
	}
}
