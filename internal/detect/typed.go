package detect

import (
	"math"
	"sort"
	"strings"
)

// typedFields applies the hints of fs to the findings of text: a value
// that no recognizer took is checked against the format its header or key
// names ("Gordon" under "given_name", a bare IMEI under "imei"); a value
// taken whole as a format that only context makes likely (a plate, an
// advertising ID) is dropped when its key names something else; and a
// 15-digit number under "imei" is a device, not a card. It returns the
// findings and the offsets of the ZIP and US state values, which make
// their record a US person's.
func typedFields(sc *scan, text string, out []Finding, fs []field) ([]Finding, []int) {
	var add []Finding
	var us []int
	drop := map[int]bool{}
	for _, fl := range fs {
		v := text[fl.start:fl.end]
		switch fl.hint {
		case hintNone:
			continue
		case hintZIP:
			if d := digitsRun(v, 0); d == 5 && (len(v) == 5 || len(v) == 10 && v[5] == '-') {
				us = append(us, fl.start)
			}
			continue
		case hintState:
			if len(v) == 2 && usStates[strings.ToUpper(v)] {
				us = append(us, fl.start)
			}
			continue
		}
		// The findings inside the field.
		k := sort.Search(len(out), func(k int) bool { return out[k].End > fl.start })
		j := k
		for j < len(out) && out[j].Start < fl.end {
			j++
		}
		if j > k {
			whole := j == k+1 && out[k].Start == fl.start && out[k].End == fl.end
			switch {
			case whole && fl.hint == hintOther && contextOnly(out[k]):
				drop[k] = true
			case whole && (fl.hint == hintIMEI || fl.hint == hintDevice || fl.hint == hintMEID) && out[k].Type == TypeCreditCard:
				out[k].Type, out[k].Evidence = TypeDeviceID, "luhn,imei,field"
			case isNameHint(fl.hint) && !whole && allType(out[k:j], TypePerson) && nameShaped(v):
				for x := k; x < j; x++ {
					drop[x] = true
				}
				add = append(add, Finding{Type: TypePerson, Start: fl.start, End: fl.end, Score: 0.8, Evidence: personEvidence[ruleField][0]})
			}
			continue
		}
		if f, ok := typedValue(sc, text, fl); ok {
			add = append(add, f)
		}
	}
	if len(drop) > 0 {
		kept := out[:0]
		for i, f := range out {
			if !drop[i] {
				kept = append(kept, f)
			}
		}
		out = kept
	}
	return mergeFindings(out, add), us
}

func isNameHint(h fieldHint) bool { return h == hintName || h == hintGiven || h == hintSurname }

func allType(fs []Finding, typ string) bool {
	for _, f := range fs {
		if f.Type != typ {
			return false
		}
	}
	return true
}

// contextOnly reports whether a finding's format is plausible only with
// context: a plate, a bare advertising ID or IMEI, a bare nine-digit SSN.
func contextOnly(f Finding) bool {
	switch f.Type {
	case TypeLicensePlate:
		return true
	case TypeDeviceID:
		return strings.HasPrefix(f.Evidence, "uuid") || strings.HasPrefix(f.Evidence, "luhn,imei")
	case TypeSSN:
		return f.End-f.Start == 9
	}
	return false
}

// typedValue recognises the value of a field by the format its hint
// names.
func typedValue(sc *scan, text string, fl field) (Finding, bool) {
	v := text[fl.start:fl.end]
	mk := func(typ, ev string) (Finding, bool) {
		return Finding{Type: typ, Start: fl.start, End: fl.end, Score: 0.8, Evidence: ev}, true
	}
	switch fl.hint {
	case hintGiven, hintSurname:
		if nameShaped(v) && !inSet(stopNames, v) {
			return mk(TypePerson, personEvidence[ruleField][0])
		}
	case hintName:
		if nameShaped(v) && hasKnownName(v) {
			return mk(TypePerson, personEvidence[ruleField][0])
		}
	case hintPhone:
		if d := digitsIn(v); d >= 7 && d <= 15 && phoneChars(v) && sc.validPhone(v) {
			return mk(TypePhone, "phonenumbers,field")
		}
	case hintIMEI, hintDevice, hintMEID:
		d := digitsOnly(v)
		switch {
		case len(d) == 15 && phoneChars(v) && luhn([]byte(d)):
			return mk(TypeDeviceID, "luhn,imei,field")
		case len(v) == 14 && allHex(v) && digitsIn(v) < 14, len(v) == 18 && d == v:
			return mk(TypeDeviceID, "meid,field")
		case isUUID(v):
			return mk(TypeDeviceID, "uuid,field")
		}
	case hintAdID:
		if isUUID(v) {
			return mk(TypeDeviceID, "uuid,field")
		}
	case hintMAC:
		if len(v) == 12 && allHex(v) {
			return mk(TypeDeviceID, "mac,field")
		}
	case hintPlate:
		if len(v) >= 2 && len(v) <= 8 && plateChars(v) {
			return mk(TypeLicensePlate, "plate-shape,field")
		}
	case hintGeo:
		if f, ok := geo(text, fl.start); ok && f.End == fl.end {
			f.Score, f.Evidence = math.Max(f.Score, 0.8), "latlon,field"
			return f, true
		}
	case hintSSN:
		if d := digitsOnly(v); len(d) == 9 && phoneChars(v) && validSSN([]byte(d)) {
			return mk(TypeSSN, "ssn-rules,field")
		}
	case hintAddress:
		if w, _ := firstWord(v); unitWords[w] || inSet(unitWordsLower, w) {
			if e := unit(text, fl.start-1); e == fl.end || fl.start > 0 && text[fl.start-1] == ' ' && e == fl.end {
				return mk(TypeStreetAddress, "street,unit,field")
			}
			if len(v) <= 16 && digitsIn(v) > 0 {
				return mk(TypeStreetAddress, "street,unit,field")
			}
		}
	}
	return Finding{}, false
}

// stopNames are values of name fields that are not names.
var stopNames = set("null", "none", "unknown", "n/a", "na", "nil", "true", "false", "redacted", "tbd", "test")

var unitWordsLower = set("apt", "apartment", "suite", "ste", "unit", "fl", "floor", "rm", "room", "bldg")

// hasKnownName reports whether a word of v is a name in the gazetteer and
// not a common word.
func hasKnownName(v string) bool {
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
		f, _ := lookupName(strings.Trim(w, "."))
		if f&(nameFirst|nameLast) != 0 && f&nameWord == 0 {
			return true
		}
	}
	return false
}

func firstWord(v string) (string, int) {
	k := 0
	for k < len(v) && isAlpha(v[k]) {
		k++
	}
	return v[:k], k
}

// phoneChars reports whether v holds only digits and the separators
// people write numbers with.
func phoneChars(v string) bool {
	for k := 0; k < len(v); k++ {
		switch c := v[k]; {
		case isDigit(c), c == ' ', c == '-', c == '.', c == '(', c == ')', c == '+', c == '/', c == '_':
		default:
			return false
		}
	}
	return true
}

func allHex(v string) bool {
	for k := 0; k < len(v); k++ {
		if !isHex(v[k]) {
			return false
		}
	}
	return len(v) > 0
}

func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for k := 0; k < 36; k++ {
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if v[k] != '-' {
				return false
			}
		} else if !isHex(v[k]) {
			return false
		}
	}
	return true
}

// plateChars reports whether v is letters and digits, with at least one
// digit, and at most one space or hyphen.
func plateChars(v string) bool {
	seps, digits := 0, 0
	for k := 0; k < len(v); k++ {
		switch c := v[k]; {
		case isDigit(c):
			digits++
		case isUpper(c):
		case c == ' ' || c == '-':
			seps++
		default:
			return false
		}
	}
	return seps <= 1 && digits > 0 && v[0] != ' ' && v[0] != '-'
}
