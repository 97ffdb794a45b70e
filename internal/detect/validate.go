package detect

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
