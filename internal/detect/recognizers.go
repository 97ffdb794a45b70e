package detect

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Each recognizer looks at a candidate starting at text[i], which Find has
// already checked to be a token start. It returns ok=false if the bytes do
// not have the format or fail its validator; otherwise it returns a scored
// finding, which Find drops if the score is below Threshold.

// Context words that raise the score of each type.
var (
	phoneWords   = words("phone", "phones", "tel", "telephone", "cell", "mobile", "call", "fax", "contact", "ph", "mob", "sms", "text", "whatsapp", "cb", "callback", "pager", "mdn", "msisdn", "number", "reached", "reach", "landline", "wireless")
	emailWords   = words("email", "e-mail", "mail", "contact")
	ssnWords     = words("ssn", "ssn#", "social security", "social security number", "soc sec", "ss#", "ss no", "taxpayer", "tin")
	cardWords    = words("card", "credit", "debit", "visa", "mastercard", "amex", "cc", "payment", "pan", "cardholder", "ccn")
	ipWords      = words("ip", "ip address", "host", "server", "client", "addr", "from", "src", "dst", "login", "logged")
	geoWords     = words("lat", "lon", "lng", "latitude", "longitude", "coordinates", "coords", "gps", "location", "geo", "position", "at")
	macWords     = words("mac", "mac address", "wifi", "wi-fi", "bssid", "ethernet", "hwaddr", "device")
	imeiWords    = words("imei", "imei1", "imei2")
	adIDWords    = words("idfa", "gaid", "aaid", "adid", "ad id", "ifa", "maid", "advertising", "advertising id", "advertiser id")
	plateWords   = words("plate", "plates", "plate#", "tag", "tags", "license", "licence", "registration", "reg", "lp", "lpr", "alpr")
	addressWords = words("address", "addr", "lives", "live", "lived", "resides", "residence", "home", "located", "ship to", "mailing", "street", "at")
)

// digitGroups are runs of digits separated by single separator bytes, as in
// "4111 1111 1111 1111" or "123-45-6789".
type digitGroups struct {
	d    [24]byte
	nd   int
	lens [8]int
	seps [8]byte // seps[k] follows group k
	ng   int
	end  int
}

// sameSeps reports whether every separator is the same byte.
func (g *digitGroups) sameSeps() bool {
	for k := 1; k < g.ng-1; k++ {
		if g.seps[k] != g.seps[0] {
			return false
		}
	}
	return true
}

// is reports whether g's groups have the lengths lens.
func (g *digitGroups) is(lens ...int) bool {
	return slices.Equal(g.lens[:g.ng], lens)
}

// scanGroups reads digit groups from i, separated by one byte from seps. It
// fails if there are too many digits or groups to be any identifier here.
// ssn, card and imei take the groups scanned with seps "- " by match. It
// fills in *g, which must be zero, rather than return it: the struct is
// large, and match scans every number.
func scanGroups(g *digitGroups, text string, i int, seps string) bool {
	for {
		j := digitsRun(text, i)
		if j == i || g.nd+(j-i) > len(g.d) || g.ng == len(g.lens) {
			return false
		}
		copy(g.d[g.nd:], text[i:j])
		g.nd += j - i
		g.lens[g.ng] = j - i
		g.ng++
		g.end = j
		if j+1 < len(text) && strings.IndexByte(seps, text[j]) >= 0 && isDigit(text[j+1]) {
			g.seps[g.ng-1] = text[j]
			i = j + 1
			continue
		}
		return true
	}
}

func email(text string, i int) (Finding, bool) {
	n := len(text)
	j := i
	for j < n && j-i <= maxLocal && (isAlnum(text[j]) || strings.IndexByte("._%+-", text[j]) >= 0) {
		j++
	}
	if j == i || j >= n || text[j] != '@' || text[j-1] == '.' || j-i > maxLocal {
		return Finding{}, false
	}
	k := j + 1
	labels, last := 0, k
	for {
		s := k
		for k < n && (isAlnum(text[k]) || text[k] == '-') {
			k++
		}
		if k == s || text[s] == '-' || text[k-1] == '-' {
			return Finding{}, false
		}
		labels++
		last = s
		if k+1 < n && text[k] == '.' && isAlnum(text[k+1]) {
			k++
			continue
		}
		break
	}
	if labels < 2 || k-last < 2 || !boundaryAt(text, k) {
		return Finding{}, false
	}
	for _, c := range []byte(text[last:k]) {
		if !isAlpha(c) {
			return Finding{}, false
		}
	}
	s, ev := score(text, i, k, 0.9, "email", emailWords, nil)
	return Finding{Type: TypeEmail, Start: i, End: k, Score: s, Evidence: ev}, true
}

// hexID recognises MAC addresses (six hex pairs joined by ':' or '-') and
// UUID-form advertising IDs (IDFA, GAID), which count only with context.
func hexID(text string, i int) (Finding, bool) {
	if i+17 <= len(text) && (text[i+2] == ':' || text[i+2] == '-') {
		sep := text[i+2]
		ok := true
		allSame := true
		for k := 0; k < 17; k++ {
			c := text[i+k]
			if k%3 == 2 {
				ok = ok && c == sep
			} else {
				ok = ok && isHex(c)
				allSame = allSame && lower(c) == lower(text[i])
			}
		}
		if ok && !allSame && boundaryAt(text, i+17) {
			s, ev := score(text, i, i+17, 0.75, "mac", macWords, negativeWords)
			return Finding{Type: TypeDeviceID, Start: i, End: i + 17, Score: s, Evidence: ev}, true
		}
	}
	if i+36 <= len(text) && text[i+8] == '-' {
		for k := 0; k < 36; k++ {
			c := text[i+k]
			if k == 8 || k == 13 || k == 18 || k == 23 {
				if c != '-' {
					return Finding{}, false
				}
			} else if !isHex(c) {
				return Finding{}, false
			}
		}
		if !boundaryAt(text, i+36) {
			return Finding{}, false
		}
		s, ev := score(text, i, i+36, 0.25, "uuid", adIDWords, negativeWords)
		return Finding{Type: TypeDeviceID, Start: i, End: i + 36, Score: s, Evidence: ev}, true
	}
	return Finding{}, false
}

func ipv6(text string, i int) (Finding, bool) {
	n := len(text)
	j, colons := i, 0
	for j < n && (isHex(text[j]) || text[j] == ':' || text[j] == '.') && j-i < 45 {
		if text[j] == ':' {
			colons++
		}
		j++
	}
	for j > i && (text[j-1] == '.' || (text[j-1] == ':' && (j-2 < i || text[j-2] != ':'))) {
		j--
	}
	if colons < 2 || !boundaryAt(text, j) {
		return Finding{}, false
	}
	a, err := netip.ParseAddr(text[i:j])
	if err != nil || !a.Is6() {
		return Finding{}, false
	}
	s, ev := score(text, i, j, 0.75, "netip6", ipWords, negativeWords)
	return Finding{Type: TypeIPAddress, Start: i, End: j, Score: s, Evidence: ev}, true
}

func ipv4(text string, i int) (Finding, bool) {
	var g digitGroups
	ok := scanGroups(&g, text, i, ".")
	if !ok || g.ng != 4 || !boundaryAt(text, g.end) {
		return Finding{}, false
	}
	a, err := netip.ParseAddr(text[i:g.end])
	if err != nil || !a.Is4() {
		return Finding{}, false
	}
	s, ev := score(text, i, g.end, 0.8, "netip4", ipWords, negativeWords)
	return Finding{Type: TypeIPAddress, Start: i, End: g.end, Score: s, Evidence: ev}, true
}

func ssn(text string, i int, g *digitGroups) (Finding, bool) {
	if !boundaryAt(text, g.end) {
		return Finding{}, false
	}
	var base float64
	switch {
	case g.is(3, 2, 4) && g.sameSeps() && g.seps[0] == '-':
		base = 0.6
	case g.is(3, 2, 4) && g.sameSeps():
		base = 0.3
	case g.is(9):
		base = 0.2
	default:
		return Finding{}, false
	}
	if !validSSN(g.d[:g.nd]) {
		return Finding{}, false
	}
	s, ev := score(text, i, g.end, base, "ssn-rules", ssnWords, negativeWords)
	return Finding{Type: TypeSSN, Start: i, End: g.end, Score: s, Evidence: ev}, true
}

// decimal reads an optionally signed decimal with 1–3 integer digits and at
// least 4 fraction digits, as coordinates are written.
func decimal(text string, i int) (v float64, end int, ok bool) {
	neg := false
	if i < len(text) && text[i] == '-' {
		neg = true
		i++
	}
	j := digitsRun(text, i)
	if j == i || j-i > 3 || j >= len(text) || text[j] != '.' {
		return 0, 0, false
	}
	k := digitsRun(text, j+1)
	if k-(j+1) < 4 {
		return 0, 0, false
	}
	for _, c := range []byte(text[i:j]) {
		v = v*10 + float64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, k, true
}

func geo(text string, i int) (Finding, bool) {
	lat, j, ok := decimal(text, i)
	if !ok || j >= len(text) || text[j] != ',' {
		return Finding{}, false
	}
	base := 0.4
	j++
	if j < len(text) && text[j] == ' ' {
		base = 0.6
		j++
	}
	lon, end, ok := decimal(text, j)
	// Integer parts are enough for the range check: |lat| < 90, |lon| < 180.
	if !ok || lat < -89 || lat > 89 || lon < -179 || lon > 179 || !boundaryAt(text, end) {
		return Finding{}, false
	}
	s, ev := score(text, i, end, base, "latlon", geoWords, negativeWords)
	return Finding{Type: TypeGeoCoordinate, Start: i, End: end, Score: s, Evidence: ev}, true
}

func card(text string, i int, g *digitGroups) (Finding, bool) {
	if g.nd < 14 || g.nd > 19 || !g.sameSeps() || !boundaryAt(text, g.end) {
		return Finding{}, false
	}
	base := 0.85
	switch {
	case g.ng == 1:
		base = 0.7
	case g.is(4, 6, 5) || g.is(4, 6, 4):
	default:
		for k := 0; k < g.ng-1; k++ {
			if g.lens[k] != 4 {
				return Finding{}, false
			}
		}
		if g.lens[g.ng-1] > 4 {
			return Finding{}, false
		}
	}
	d := g.d[:g.nd]
	brand := cardBrand(d)
	if brand == "" || !luhn(d) {
		return Finding{}, false
	}
	if g.nd == 15 && window(text, i, g.end).has(imeiWords) {
		return Finding{}, false // an IMEI with the Amex IIN; let imei have it
	}
	s, ev := score(text, i, g.end, base, cardEvidence[brand], cardWords, negativeWords)
	return Finding{Type: TypeCreditCard, Start: i, End: g.end, Score: s, Evidence: ev}, true
}

// cardEvidence is the evidence of a card of each brand cardBrand returns,
// built once so that card does not allocate.
var cardEvidence = map[string]string{
	"visa": "luhn,iin=visa", "mastercard": "luhn,iin=mastercard", "amex": "luhn,iin=amex",
	"discover": "luhn,iin=discover", "jcb": "luhn,iin=jcb", "diners": "luhn,iin=diners",
}

// imei recognises 15-digit IMEIs (contiguous or 2-6-6-1), which pass Luhn
// and count only with an "IMEI" context word.
func imei(text string, i int, g *digitGroups) (Finding, bool) {
	if !(g.is(15) || (g.is(2, 6, 6, 1) && g.sameSeps())) || !boundaryAt(text, g.end) {
		return Finding{}, false
	}
	if !luhn(g.d[:g.nd]) {
		return Finding{}, false
	}
	base := 0.3
	if g.is(15) && imeiBody(g.d[:2]) {
		base = 0.55 // a reporting body's TAC prefix and a Luhn check digit
	}
	s, ev := score(text, i, g.end, base, "luhn,imei", imeiWords, negativeWords)
	return Finding{Type: TypeDeviceID, Start: i, End: g.end, Score: s, Evidence: ev}, true
}

// imeiBody reports whether the first two digits of an IMEI are those of a
// GSMA reporting body that issues most TACs in use (35 and 86 above all).
func imeiBody(d []byte) bool {
	switch string(d) {
	case "01", "35", "86", "91", "98", "99":
		return true
	}
	return false
}

// phone finds a candidate in the shapes people write phone numbers in, then
// parses and validates it with libphonenumber (default region US).
func phone(sc *scan, text string, i int) (Finding, bool) {
	j := i
	plus := text[j] == '+'
	if plus {
		j++
	}
	var g phoneGroups
	end, ok := g.scan(text, j)
	if !ok || !boundaryAt(text, end) {
		return Finding{}, false
	}
	base, ok := g.base(plus, text[i] == '1')
	if !ok {
		return Finding{}, false
	}
	// Score before validating: libphonenumber is the costliest step in Find,
	// and a candidate that cannot reach Threshold need not be validated.
	s, ev := score(text, i, end, base, "phonenumbers", phoneWords, negativeWords)
	if s < Threshold || !sc.validPhone(text[i:end]) {
		return Finding{}, false
	}
	return Finding{Type: TypePhone, Start: i, End: end, Score: s, Evidence: ev}, true
}

// phoneGroups is the digit groups of a phone number candidate.
type phoneGroups struct {
	lens  [8]int // the digits in each group
	n     int    // the number of groups
	nd    int    // the digits in all groups
	paren int    // the group written in parentheses, or -1
}

// scan reads the digit groups from text[j], separated by one space, '-',
// '.', '_' or '/', with at most one group in parentheses, and returns the
// end of the last group. ok is false for more than eight groups or
// fifteen digits, or a parenthesis that does not hold one group of digits.
func (g *phoneGroups) scan(text string, j int) (end int, ok bool) {
	n := len(text)
	g.paren = -1
	end = j
	for {
		if j < n && text[j] == '(' {
			k := digitsRun(text, j+1)
			if g.paren >= 0 || k >= n || text[k] != ')' || g.n == len(g.lens) {
				return 0, false
			}
			g.paren = g.n
			g.add(k - (j + 1))
			j = k + 1
			end = j
			if j < n && isDigit(text[j]) {
				continue
			}
		} else {
			k := digitsRun(text, j)
			if k == j || g.n == len(g.lens) {
				return 0, false
			}
			g.add(k - j)
			j = k
			end = j
		}
		if g.nd > 15 {
			return 0, false
		}
		if j+1 < n && (text[j] == ' ' || text[j] == '-' || text[j] == '.' || text[j] == '_' || text[j] == '/') && (isDigit(text[j+1]) || text[j+1] == '(') {
			j++
			continue
		}
		return end, true
	}
}

// add appends a group of d digits; the caller has checked there is room.
func (g *phoneGroups) add(d int) {
	g.lens[g.n] = d
	g.n++
	g.nd += d
}

// base returns the score of a phone number shaped as g before its context
// counts: 0.7 for an international number (plus) of eight digits or more,
// or a US number in groups (3-3-4, or 1-3-3-4 when one says it starts with
// 1), 0.3 for ten or eleven digits run together. ok is false for any
// other shape.
func (g *phoneGroups) base(plus, one bool) (base float64, ok bool) {
	switch {
	case plus:
		if g.nd < 8 || (g.paren >= 0 && g.paren != 1) {
			return 0, false
		}
		return 0.7, true
	case g.are(3, 3, 4) && g.paren <= 0, g.are(1, 3, 3, 4) && one && (g.paren < 0 || g.paren == 1):
		return 0.7, true
	case (g.are(10) || g.are(11) && one) && g.paren < 0:
		return 0.3, true
	}
	return 0, false
}

// are reports whether g's groups have the lengths want.
func (g *phoneGroups) are(want ...int) bool {
	return slices.Equal(g.lens[:g.n], want)
}

// validPhone parses s with default region US and validates it; see
// validPhoneDigits. It caches the result for the call.
func (sc *scan) validPhone(s string) bool {
	var buf [24]byte
	b := buf[:0]
	for k := 0; k < len(s); k++ {
		if isDigit(s[k]) || s[k] == '+' {
			b = append(b, s[k])
		}
	}
	if v, ok := sc.phones[string(b)]; ok {
		return v
	}
	v := validPhoneDigits(b)
	if sc.phones == nil {
		sc.phones = make(map[string]bool)
	}
	sc.phones[string(b)] = v
	return v
}

// validNANP reports whether the NANP number nn is valid for some region
// sharing country code 1, and tries the region US first if tryUS.
func validNANP(nn uint64, tryUS bool) bool {
	cc := int32(1)
	num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
	return tryUS && phonenumbers.IsValidNumberForRegion(num, "US") || phonenumbers.IsValidNumber(num)
}

// validPhoneDigits parses the digits b (with any '+' written) with default
// region US and validates them. It first tries the main region of the
// number's country code, which is cheap, and falls back to the full check,
// which tries every region sharing the code (a Canadian number written
// without +1 is valid but not for "US").
//
// libphonenumber gets only the digits (and a leading '+'): its parser runs
// several regular expressions over its input, and they are much cheaper on
// "+442079460958" than on "+44 20 7946 0958".
func validPhoneDigits(b []byte) bool {
	// NANP numbers (ten digits, optionally after 1 or +1) are most of what
	// is found here; build those directly rather than through Parse.
	d := b
	if len(d) > 0 && d[0] == '+' {
		d = d[1:]
		if len(d) != 11 || d[0] != '1' {
			d = nil
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) == 10 {
		nn := uint64(0)
		for _, c := range d {
			nn = nn*10 + uint64(c-'0')
		}
		// The national significant number is nn in decimal, as
		// libphonenumber writes it (without leading zeros).
		if v := usPhone(); v != nil && v.valid(strconv.FormatUint(nn, 10)) {
			return true
		}
		return validNANP(nn, usPhone() == nil)
	}
	num, err := phonenumbers.Parse(string(b), "US")
	if err != nil {
		return false
	}
	region := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	if v := regionPhone(region); v != nil && v.cc == int(num.GetCountryCode()) {
		// What IsValidNumberForRegion(num, region) checks.
		if v.valid(phonenumbers.GetNationalSignificantNumber(num)) {
			return true
		}
		return phonenumbers.IsValidNumber(num)
	}
	return phonenumbers.IsValidNumberForRegion(num, region) || phonenumbers.IsValidNumber(num)
}
