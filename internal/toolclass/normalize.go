package toolclass

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the form of a tool name that the classifier matches
// and that declared tool names should be compared in, so that "fіre"
// (with a Cyrillic і), "ｆｉｒｅ", "Fíre" and "f1re" are all "fire". It
// applies, in order:
//
//  1. NFKC, which folds compatibility forms: full-width letters, ligatures,
//     superscripts, Roman numerals;
//  2. Unicode case folding;
//  3. removal of combining marks, after canonical decomposition
//     ("fíre" → "fire");
//  4. a confusable skeleton: Cyrillic, Greek, Armenian and Cherokee letters
//     and a few symbols that look like Latin letters become those letters
//     (see confusables);
//  5. leetspeak: in a run of letters, digits, "@" and "$" that holds a
//     letter, 1→i, 0→o, 3→e, 4→a, 5→s, 7→t, @→a and $→s ("f1re" → "fire";
//     "v2" → "v2"; "top_10" → "top_10").
//
// Everything else is kept, including separators, so that the result still
// splits into the same words. Normalize is deterministic and idempotent:
// Normalize(Normalize(s)) == Normalize(s). Because it maps 1 only to i,
// it is not the whole of what [Classify] does with leetspeak: Classify also
// tries 1→l ("he11fire"), and classifies the name as written as well as
// de-leeted, taking the higher class, so that "gpt4_summary" keeps its
// class.
func Normalize(name string) string {
	return deleet(fold(name), 'i', false)
}

// fold applies steps 1 to 4 of Normalize. On ASCII it is strings.ToLower.
// Otherwise it repeats the steps until they change nothing (in practice
// at most twice), because a step can expose input for an earlier one: a
// Cyrillic letter that becomes Latin may compose with a mark that the
// Cyrillic letter did not compose with.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	for range 4 {
		next := foldOnce(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

var folder = cases.Fold()

func foldOnce(s string) string {
	s = norm.NFD.String(norm.NFKC.String(s))
	s = skeleton(s, false)
	s = folder.String(s)
	return norm.NFC.String(skeleton(s, false))
}

// foldCase applies steps 1, 3 and 4 of Normalize but keeps letter case, so
// that the words of a camelCase name still split ("fіreInterceptor"); the
// words are lower-cased afterwards.
func foldCase(s string) string {
	if isASCII(s) {
		return s
	}
	return skeleton(norm.NFKD.String(s), true)
}

// skeleton drops combining marks and format characters (zero-width joiners
// and the like) and replaces confusables. With keepCase, an upper-case
// look-alike becomes an upper-case Latin letter; without, every look-alike
// becomes lower case.
func skeleton(s string, keepCase bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
			continue
		}
		if l, ok := upperConfusables[r]; ok {
			if !keepCase {
				l = unicode.ToLower(l)
			}
			r = l
		} else if l, ok := confusables[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// deleet applies step 5 of Normalize, mapping 1 to one. The letters it
// writes are lower case; with keepCase, a letter takes the case of the
// nearest letter before it in the run, or after it when there is none
// before, so that "F1RE" stays one word.
func deleet(s string, one rune, keepCase bool) string {
	if !hasLeet(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	var run []rune
	flush := func() {
		defer func() { run = run[:0] }()
		if !slices.ContainsFunc(run, unicode.IsLetter) {
			b.WriteString(string(run))
			return
		}
		for i, r := range run {
			l, ok := leet[r]
			if r == '1' {
				l, ok = one, true
			}
			if !ok {
				b.WriteRune(r)
				continue
			}
			if keepCase && upperNear(run, i) {
				l = unicode.ToUpper(l)
			}
			b.WriteRune(l)
		}
	}
	for _, r := range s {
		if inLeetRun(r) {
			run = append(run, r)
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	return b.String()
}

// upperNear reports whether the nearest letter to run[i], looking back
// first, is upper case.
func upperNear(run []rune, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if unicode.IsLetter(run[j]) {
			return unicode.IsUpper(run[j])
		}
	}
	for j := i + 1; j < len(run); j++ {
		if unicode.IsLetter(run[j]) {
			return unicode.IsUpper(run[j])
		}
	}
	return false
}

// leet maps the digits and symbols that stand for letters; 1 is mapped by
// the caller, to i or l.
var leet = map[rune]rune{'0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's'}

func inLeetRun(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '$'
}

// hasLeet reports whether s holds a character that deleet may map.
func hasLeet(s string) bool {
	return strings.ContainsAny(s, "103457@$")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// confusables maps letters of other scripts, and symbols, that look like
// a lower-case Latin letter to that letter; upperConfusables does the same
// for upper-case look-alikes, which may differ (Greek "Η" looks like "H",
// its lower case "η" like "n"). They are a compact hand-made table of the
// common look-alikes (after Unicode's confusables data, UTS #39), not all
// of them. Full-width forms, ligatures and mathematical letters need no
// entry: NFKC maps them.
var confusables = map[rune]rune{
	// Cyrillic.
	'а': 'a', 'в': 'b', 'ь': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'ё': 'e',
	'һ': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm',
	'п': 'n', 'о': 'o', 'р': 'p', 'ԛ': 'q', 'г': 'r', 'ѕ': 's', 'т': 't',
	'ѵ': 'v', 'ԝ': 'w', 'х': 'x', 'у': 'y', 'ү': 'y',
	// Greek.
	'α': 'a', 'β': 'b', 'ϲ': 'c', 'ε': 'e', 'η': 'n', 'ι': 'i', 'ϳ': 'j',
	'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'γ': 'y', 'ω': 'w', 'μ': 'u',
	// Armenian.
	'ո': 'n', 'ս': 'u', 'օ': 'o', 'հ': 'h', 'ց': 'g',
	// Latin letters that are not the plain ones.
	'ı': 'i', 'ȷ': 'j', 'ł': 'l', 'ƚ': 'l', 'ɩ': 'i', 'ɪ': 'i', 'ʟ': 'l',
	'ɑ': 'a', 'ɡ': 'g', 'ɛ': 'e', 'ɵ': 'o', 'ø': 'o', 'đ': 'd', 'ħ': 'h',
	'ŧ': 't', 'ƅ': 'b', 'ɦ': 'h', 'ʀ': 'r', 'ꜱ': 's', 'ᴄ': 'c', 'ᴅ': 'd',
	'ᴇ': 'e', 'ᴋ': 'k', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ᴛ': 't',
	'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ʏ': 'y',
	// Symbols NFKC keeps.
	'∣': 'l', 'ǀ': 'l', '×': 'x', '‐': '-', '‑': '-', '‒': '-', '–': '-',
	'—': '-', '―': '-', '−': '-',
}

var upperConfusables = map[rune]rune{
	// Cyrillic.
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Ё': 'E', 'Н': 'H', 'І': 'I',
	'Ї': 'I', 'Ј': 'J', 'К': 'K', 'М': 'M', 'О': 'O', 'Р': 'P', 'Ѕ': 'S',
	'Т': 'T', 'Х': 'X', 'У': 'Y', 'Ү': 'Y', 'Ԁ': 'D', 'Ԛ': 'Q', 'Ԝ': 'W',
	'Ӏ': 'I',
	// Greek.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K',
	'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Cherokee, whose case folding goes to these upper-case forms.
	'Ꭺ': 'A', 'Ᏼ': 'B', 'Ꮯ': 'C', 'Ꭼ': 'E', 'Ꮋ': 'H', 'Ꮶ': 'K', 'Ꮇ': 'M',
	'Ꮲ': 'P', 'Ꮪ': 'S', 'Ꭲ': 'T', 'Ꮃ': 'W',
}
