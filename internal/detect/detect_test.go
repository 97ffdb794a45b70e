package detect

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// found is a finding reduced to what the tables compare.
type found struct {
	Type string
	Text string
}

func find(text string) []found {
	var out []found
	for _, f := range Find(text) {
		out = append(out, found{f.Type, text[f.Start:f.End]})
	}
	return out
}

// recognizerTests are the cases of TestRecognizers; the golden test runs
// their inputs too.
var recognizerTests = []struct {
	name string
	text string
	want []found // nil: no findings
}{
	// PHONE
	{"phone parens", "Call (415) 555-2671 today.", []found{{TypePhone, "(415) 555-2671"}}},
	{"phone dashes", "cell: 212-736-5000", []found{{TypePhone, "212-736-5000"}}},
	{"phone dots", "ph 312.555.0199 ok", []found{{TypePhone, "312.555.0199"}}},
	{"phone +1", "+1 617 253 1000", []found{{TypePhone, "+1 617 253 1000"}}},
	{"phone 1-", "1-800-275-2273", []found{{TypePhone, "1-800-275-2273"}}},
	{"phone intl GB", "mobile +44 20 7946 0958.", []found{{TypePhone, "+44 20 7946 0958"}}},
	{"phone bare 10 with context", "call 4155552671", []found{{TypePhone, "4155552671"}}},
	{"phone bare 10 without context", "id 4155552671", nil},
	{"phone invalid area code", "call 099-555-2671", nil},
	{"phone part number", "part 415-555-2671", nil},
	{"phone wrong grouping", "call 41-5555-2671", nil},
	{"phone glued to word", "W415-555-2671", nil},
	// EMAIL
	{"email", "mail jane.doe+x@example.co.uk.", []found{{TypeEmail, "jane.doe+x@example.co.uk"}}},
	{"email in angle brackets", "<bob_99@mail.example.org>", []found{{TypeEmail, "bob_99@mail.example.org"}}},
	{"email after invoice", "invoice to ap@vendor.com", []found{{TypeEmail, "ap@vendor.com"}}},
	{"email no tld", "user@localhost", nil},
	{"email numeric tld", "a@b.c1", nil},
	{"email trailing dot local", "a.@example.com", nil},
	// SSN
	{"ssn dashed", "SSN 219-54-8765", []found{{TypeSSN, "219-54-8765"}}},
	{"ssn dashed no context", "x 219-54-8765 y", []found{{TypeSSN, "219-54-8765"}}},
	{"ssn spaced with context", "social security 219 54 8765", []found{{TypeSSN, "219 54 8765"}}},
	{"ssn bare with context", "ssn: 219548765", []found{{TypeSSN, "219548765"}}},
	{"ssn bare without context", "id 219548765", nil},
	{"ssn area 000", "SSN 000-12-3456", nil},
	{"ssn area 666", "SSN 666-12-3456", nil},
	{"ssn area 9xx", "SSN 912-12-3456", nil},
	{"ssn group 00", "SSN 219-00-3456", nil},
	{"ssn serial 0000", "SSN 219-54-0000", nil},
	{"ssn woolworth", "SSN 078-05-1120", nil},
	{"ssn advertising", "SSN 219-09-9999", nil},
	{"ssn hull number", "SSN-774 and SSN 21", nil},
	// CREDIT_CARD
	{"card visa grouped", "card 4111 1111 1111 1111", []found{{TypeCreditCard, "4111 1111 1111 1111"}}},
	{"card mastercard dashed", "5555-5555-5555-4444", []found{{TypeCreditCard, "5555-5555-5555-4444"}}},
	{"card mastercard 2-series", "2223003122003222", []found{{TypeCreditCard, "2223003122003222"}}},
	{"card amex 4-6-5", "amex 3782 822463 10005", []found{{TypeCreditCard, "3782 822463 10005"}}},
	{"card discover", "6011111111111117", []found{{TypeCreditCard, "6011111111111117"}}},
	{"card bad luhn", "4111 1111 1111 1112", nil},
	{"card unknown iin", "1111 1111 1111 1117", nil},
	{"card mixed separators", "4111-1111 1111-1111", nil},
	{"card invoice", "invoice 4111111111111111", nil},
	// IP_ADDRESS
	{"ipv4", "from 192.168.1.20.", []found{{TypeIPAddress, "192.168.1.20"}}},
	{"ipv6", "host 2001:db8::1", []found{{TypeIPAddress, "2001:db8::1"}}},
	{"ipv6 full", "fe80::1ff:fe23:4567:890a", []found{{TypeIPAddress, "fe80::1ff:fe23:4567:890a"}}},
	{"ipv4 version", "version 1.2.3.4", nil},
	{"ipv4 v prefix", "v1.2.3.4", nil},
	{"ipv4 five parts", "1.2.3.4.5", nil},
	{"ipv4 out of range", "300.1.1.1", nil},
	{"time", "12:30:45", nil},
	// GEO_COORDINATE
	{"geo", "at 38.8977, -77.0365", []found{{TypeGeoCoordinate, "38.8977, -77.0365"}}},
	{"geo negative lat", "-33.8688, 151.2093", []found{{TypeGeoCoordinate, "-33.8688, 151.2093"}}},
	{"geo tight with context", "gps 51.5007,-0.1246", []found{{TypeGeoCoordinate, "51.5007,-0.1246"}}},
	{"geo tight without context", "x 51.5007,-0.1246", nil},
	{"geo out of range", "at 98.1234, 12.1234", nil},
	{"geo few decimals", "at 38.89, -77.03", nil},
	{"geo price", "unit price 12.3456, 78.9012", nil},
	// DEVICE_ID
	{"mac colon", "MAC 00:1A:2B:3C:4D:5E", []found{{TypeDeviceID, "00:1A:2B:3C:4D:5E"}}},
	{"mac dash", "bssid a4-5e-60-e8-9b-21", []found{{TypeDeviceID, "a4-5e-60-e8-9b-21"}}},
	{"mac broadcast", "ff:ff:ff:ff:ff:ff", nil},
	{"imei", "IMEI 490154203237518", []found{{TypeDeviceID, "490154203237518"}}},
	{"imei grouped", "IMEI: 49-015420-323751-8", []found{{TypeDeviceID, "49-015420-323751-8"}}},
	{"imei without context", "x 490154203237518", nil},
	{"imei bad luhn", "IMEI 490154203237519", nil},
	{"idfa", "IDFA 6D92078A-8246-4BA4-AE5B-76104861E7DC", []found{{TypeDeviceID, "6D92078A-8246-4BA4-AE5B-76104861E7DC"}}},
	{"gaid", "gaid=38400000-8cf0-11bd-b23e-10b96e40000d", []found{{TypeDeviceID, "38400000-8cf0-11bd-b23e-10b96e40000d"}}},
	{"uuid without context", "request 550e8400-e29b-41d4-a716-446655440000", nil},
	// LICENSE_PLATE
	{"plate", "plate 7ABC123 seen", []found{{TypeLicensePlate, "7ABC123"}}},
	{"plate dash", "tag ABC-1234", []found{{TypeLicensePlate, "ABC-1234"}}},
	{"plate space", "license plate ABC 1234.", []found{{TypeLicensePlate, "ABC 1234"}}},
	{"plate without context", "car 7ABC123", nil},
	{"plate letters only", "plate ABCDEF", nil},
	{"plate cage", "CAGE 1ABC2 tag", nil},
	// STREET_ADDRESS
	{"address", "lives at 1600 Pennsylvania Avenue, Washington, DC 20500.", []found{{TypeStreetAddress, "1600 Pennsylvania Avenue"}}},
	{"address unit zip+4", "221 N Main St, Apt 4B, Springfield, IL 62704-1234", []found{{TypeStreetAddress, "221 N Main St, Apt 4B"}}},
	{"address ordinal", "at 9 W 5th Street Suite 200 today", []found{{TypeStreetAddress, "9 W 5th Street Suite 200"}}},
	{"address bare", "12 Oak Lane", []found{{TypeStreetAddress, "12 Oak Lane"}}},
	{"address city no state", "12 Oak Lane, Springfield is nice", []found{{TypeStreetAddress, "12 Oak Lane"}}},
	{"address capitals", "SHIP TO 123 MAIN ST, SPRINGFIELD, IL 62704", []found{{TypeStreetAddress, "123 MAIN ST"}}},
	{"address abbreviation period", "45 Oak St. Apt. 5, Salem, OR 97301.", []found{{TypeStreetAddress, "45 Oak St. Apt. 5"}}},
	{"address sentence end", "She moved to 45 Oak St. Then she left.", []found{{TypeStreetAddress, "45 Oak St"}}},
	{"address no suffix", "The 3 Main Battle Tanks", nil},
	{"address suffix only", "12 Street", nil},
	// PERSON
	{"person first last", "We met Maria Garcia on site.", []found{{TypePerson, "Maria Garcia"}}},
	{"person sentence start", "Maria Garcia was there.", []found{{TypePerson, "Maria Garcia"}}},
	{"person middle initial", "ask John Q. Public today", []found{{TypePerson, "John Q. Public"}}},
	{"person middle name", "with Mary Ann Smith today", []found{{TypePerson, "Mary Ann Smith"}}},
	{"person apostrophe", "call Sean O'Brien now", []found{{TypePerson, "Sean O'Brien"}}},
	{"person title surname", "Dr. Okafor will see you", []found{{TypePerson, "Dr. Okafor"}}},
	{"person rank surname", "Sgt. Okafor will see you", []found{{TypePerson, "Okafor"}}},
	{"person title unknown", "thanks to Sgt. Zzyzx", []found{{TypePerson, "Zzyzx"}}},
	{"person label", "Subject: Priya Raman", []found{{TypePerson, "Priya Raman"}}},
	{"person json key", `{"full_name": "Dmitri Volkov"}`, []found{{TypePerson, "Dmitri Volkov"}}},
	{"person csv column", "id,name\n7,Wei Zhang\n8,Priya Raman\n", []found{{TypePerson, "Wei Zhang"}, {TypePerson, "Priya Raman"}}},
	{"person csv header only", "id,Name\n", nil},
	{"person surname comma first", "Smith, John\nGarcia, Maria\n", []found{{TypePerson, "Smith, John"}, {TypePerson, "Garcia, Maria"}}},
	{"person common first mid-sentence", "said Will Martinez", []found{{TypePerson, "Will Martinez"}}},
	{"person common first with verb", "Will Martinez can be reached.", []found{{TypePerson, "Will Martinez"}}},
	{"person all caps", "signed JOHN SMITH", []found{{TypePerson, "JOHN SMITH"}}},
	{"person lone surname", "Smith was there", nil},
	{"person lone common word", "May we go? Will it rain? Young people came.", nil},
	{"person common word pair", "The White House and Rose Garden", nil},
	{"person common first at start", "Will Smith come?", nil},
	{"person ship", "USS Ronald Reagan sailed", nil},
	{"person hull", "CVN 78 Gerald R. Ford", nil},
	{"person ship class", "an Arleigh Burke-class destroyer", nil},
	{"person place", "George Washington University", nil},
	{"person street", "Martin Luther King Blvd", nil},
	{"person label one of two words", "name: Maria Zz9", nil},
	{"person caps comma", "BRACKET, ANGLE", nil},
	{"person roster common word", "Roster:\nYoung, James\nRossi, Rose\n", []found{{TypePerson, "Young, James"}, {TypePerson, "Rossi, Rose"}}},
	{"person comma in sentence", "from Austin, Texas and Salem, Virginia to", nil},
	{"person address Dr", "at 9 5th Dr. Nothing else", []found{{TypeStreetAddress, "9 5th Dr"}}},
}

func TestRecognizers(t *testing.T) {
	for _, tt := range recognizerTests {
		t.Run(tt.name, func(t *testing.T) {
			got := find(tt.text)
			if !equalFound(got, tt.want) {
				t.Errorf("Find(%q) got %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func equalFound(a, b []found) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func TestValidators(t *testing.T) {
	luhnTests := []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"490154203237518", true},
		{"79927398713", true},
		{"79927398710", false},
		{"", false},
	}
	for _, tt := range luhnTests {
		t.Run("luhn "+tt.digits, func(t *testing.T) {
			if got := luhn([]byte(tt.digits)); got != tt.want {
				t.Errorf("luhn(%q) got %v, want %v", tt.digits, got, tt.want)
			}
		})
	}
	brandTests := []struct{ digits, want string }{
		{"4111111111111111", "visa"},
		{"5105105105105100", "mastercard"},
		{"2720990000000007", "mastercard"},
		{"378282246310005", "amex"},
		{"6011000990139424", "discover"},
		{"3530111333300000", "jcb"},
		{"30569309025904", "diners"},
		{"411111111111111", ""},
		{"9111111111111111", ""},
	}
	for _, tt := range brandTests {
		t.Run("brand "+tt.digits, func(t *testing.T) {
			if got := cardBrand([]byte(tt.digits)); got != tt.want {
				t.Errorf("cardBrand(%q) got %q, want %q", tt.digits, got, tt.want)
			}
			if ev := cardEvidence[tt.want]; tt.want != "" && ev != "luhn,iin="+tt.want {
				t.Errorf("cardEvidence[%q] got %q, want %q", tt.want, ev, "luhn,iin="+tt.want)
			}
		})
	}
}

func TestGazetteer(t *testing.T) {
	tests := []struct {
		name string
		want uint8
	}{
		{"Maria", nameFirst | nameLast},
		{"GARCIA", nameLast},
		{"Smith", nameLast},
		{"O'Brien", nameLast},
		{"Will", nameFirst | nameLast | nameWord},
		{"White", nameLast | nameWord},
		{"Zzyzx", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := lookupName(tt.name)
			if got != tt.want {
				t.Errorf("lookupName(%q) got flags %03b, want %03b", tt.name, got, tt.want)
			}
		})
	}
	if n := names().n; n < 90000 {
		t.Errorf("gazetteer got %d names, want the full census lists (over 90000)", n)
	}
}

// readNegatives returns the non-comment lines of testdata/negatives.txt.
func readNegatives(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/negatives.txt")
	if err != nil {
		t.Fatalf("couldn't open negatives: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("couldn't read negatives: %v", err)
	}
	return lines
}

func TestNegatives(t *testing.T) {
	lines := readNegatives(t)
	for _, l := range lines {
		if got := find(l); got != nil {
			t.Errorf("Find(%q) got %v, want no findings", l, got)
		}
	}
	all := strings.Join(lines, "\n")
	if got := find(all); got != nil {
		t.Errorf("Find(all negatives) got %v, want no findings", got)
	}
}

var canonical = map[string]bool{
	TypePhone: true, TypeEmail: true, TypeSSN: true, TypeCreditCard: true,
	TypeIPAddress: true, TypeGeoCoordinate: true, TypeDeviceID: true,
	TypeLicensePlate: true, TypeStreetAddress: true, TypePerson: true,
}

// FuzzFind checks that Find never panics and that its spans are in bounds,
// non-empty, sorted and non-overlapping.
func FuzzFind(f *testing.F) {
	f.Add("Call (415) 555-2671, SSN 219-54-8765, card 4111 1111 1111 1111.")
	f.Add("jane@example.com 192.168.1.1 2001:db8::1 38.8977, -77.0365")
	f.Add("MAC 00:1A:2B:3C:4D:5E IMEI 490154203237518 plate 7ABC-123")
	f.Add("lives at 221 N Main St, Apt 4B, Springfield, IL 62704-1234")
	f.Add("NSN 1005-01-123-4567 W912QR-21-C-0042 +")
	f.Add("(")
	f.Add("-1.")
	f.Fuzz(func(t *testing.T, text string) {
		prev := 0
		for _, x := range Find(text) {
			if x.Start < prev || x.Start >= x.End || x.End > len(text) {
				t.Fatalf("Find(%q) gave bad span [%d,%d) after %d", text, x.Start, x.End, prev)
			}
			if x.Score < Threshold || x.Score > 1 {
				t.Fatalf("Find(%q) gave score %v", text, x.Score)
			}
			if !canonical[x.Type] || x.Evidence == "" {
				t.Fatalf("Find(%q) gave type %q, evidence %q", text, x.Type, x.Evidence)
			}
			prev = x.End
		}
	})
}
