package detect

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// luhn reports whether the decimal digits in d pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return len(d) > 0 && sum%10 == 0
}

// cardBrand returns the card network whose IIN range and length fit the
// digits d, or "" if none does.
func cardBrand(d []byte) string {
	n := len(d)
	p := func(k int) int { // the first k digits as a number
		v := 0
		for _, c := range d[:k] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	switch {
	case d[0] == '4' && (n == 16 || n == 19):
		return "visa"
	case (p(2) >= 51 && p(2) <= 55 || p(4) >= 2221 && p(4) <= 2720) && n == 16:
		return "mastercard"
	case (p(2) == 34 || p(2) == 37) && n == 15:
		return "amex"
	case (p(4) == 6011 || p(2) == 65 || p(3) >= 644 && p(3) <= 649) && (n == 16 || n == 19):
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589 && n >= 16 && n <= 19:
		return "jcb"
	case (p(3) >= 300 && p(3) <= 305 || p(2) == 36 || p(2) == 38) && n == 14:
		return "diners"
	}
	return ""
}

// invalidSSNs are numbers that pass the area/group/serial rules but are
// known never to identify a person: the Woolworth wallet card, the 1940s
// advertising number, and the usual placeholders.
var invalidSSNs = map[string]bool{
	"078051120": true,
	"219099999": true,
	"123456789": true,
	"111111111": true,
	"333333333": true,
}

// validSSN applies the SSA rules to nine digits: area not 000, 666 or
// 900–999; group not 00; serial not 0000; not a known invalid number.
func validSSN(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area := string(d[:3])
	if area == "000" || area == "666" || d[0] == '9' {
		return false
	}
	if string(d[3:5]) == "00" || string(d[5:]) == "0000" {
		return false
	}
	return !invalidSSNs[string(d)]
}

// usPhone checks national numbers against libphonenumber's metadata for
// the region US exactly as IsValidNumberForRegion(n, "US") does: the number
// fits the general description, and the possible lengths and the pattern
// of one number type (toll free, fixed line, mobile...). The library builds
// each anchored pattern as a new string on every call, looks it up in a
// locked cache and matches it twice; here the patterns are compiled once,
// and the types' patterns for each length are one expression. It is nil
// if the metadata cannot be read, and callers then ask the library.
var usPhone = sync.OnceValue(func() *regionValidator { return loadRegionValidator("US") })

// regionValidators holds the validators of the regions other than US that
// regionPhone has been asked for, by region code (nil if none).
var regionValidators sync.Map

// regionPhone returns the validator of a region, as usPhone does for US,
// or nil.
func regionPhone(region string) *regionValidator {
	if region == "US" {
		return usPhone()
	}
	if v, ok := regionValidators.Load(region); ok {
		return v.(*regionValidator)
	}
	v, _ := regionValidators.LoadOrStore(region, loadRegionValidator(region))
	return v.(*regionValidator)
}

// loadRegionValidator compiles the validator of a geographic region, or
// returns nil if the metadata cannot be read or does not list the region
// exactly once.
func loadRegionValidator(region string) *regionValidator {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil || region == "" || region == "001" || region == "ZZ" {
		return nil
	}
	var found *phonenumbers.PhoneMetadata
	for _, m := range coll.GetMetadata() {
		if m.GetId() == region {
			if found != nil {
				return nil
			}
			found = m
		}
	}
	if found == nil {
		return nil
	}
	return newRegionValidator(found)
}

// regionValidator validates the national numbers of one region.
type regionValidator struct {
	cc      int // the region's country calling code
	general *phoneDesc
	// byLen[n] matches the n-digit numbers of any type whose possible
	// lengths admit n; nil if none does. Read-only after construction.
	byLen [maxNSN + 1]*regexp.Regexp
}

// maxNSN is the longest national significant number libphonenumber knows.
const maxNSN = 17

// phoneDesc is a compiled libphonenumber number description.
type phoneDesc struct {
	lens []int32 // possible lengths; any if empty
	re   *regexp.Regexp
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) *phoneDesc {
	return &phoneDesc{lens: d.GetPossibleLength(), re: regexp.MustCompile("^(?:" + d.GetNationalNumberPattern() + ")$")}
}

// lengthFits is libphonenumber's possible-length test of a description.
func lengthFits(lens []int32, n int) bool {
	return len(lens) == 0 || slices.Contains(lens, int32(n))
}

func newRegionValidator(m *phonenumbers.PhoneMetadata) *regionValidator {
	// The types libphonenumber's getNumberTypeHelper tries; a number of
	// none of them is UNKNOWN, which is what invalid means. Mobile is only
	// tried when its pattern differs from fixed line's.
	types := []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail(), m.GetFixedLine()}
	if !m.GetSameMobileAndFixedLinePattern() {
		types = append(types, m.GetMobile())
	}
	v := &regionValidator{cc: int(m.GetCountryCode()), general: compileDesc(m.GetGeneralDesc())}
	for n := range v.byLen {
		var alts []string
		for _, d := range types {
			if d != nil && lengthFits(d.GetPossibleLength(), n) {
				alts = append(alts, "(?:"+d.GetNationalNumberPattern()+")")
			}
		}
		if len(alts) > 0 {
			v.byLen[n] = regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$")
		}
	}
	return v
}

// valid reports whether the national significant number nsn is a valid
// number of the region. nsn has at most maxNSN digits: Parse refuses a
// longer one, and a NANP number has ten.
func (v *regionValidator) valid(nsn string) bool {
	n := len(nsn)
	if n > maxNSN || v.byLen[n] == nil || !lengthFits(v.general.lens, n) || !v.general.re.MatchString(nsn) {
		return false
	}
	return v.byLen[n].MatchString(nsn)
}
