package detect

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Folding. Before matching, [Find] folds the text to ASCII where a
// character stands for an ASCII one: full-width forms ("（９１９）"),
// other scripts' decimal digits, dashes, odd spaces and quotes, Latin
// letters with diacritics ("Gutiérrez", "Zieliński"), and Cyrillic and
// Greek letters that look like Latin ones when they sit in a Latin word
// ("Mаria" with a Cyrillic "а"). A character that does not fold is kept as
// it is. Folding keeps one byte of folded text for each folded character,
// and an offset map takes every finding back to the original bytes.

// folded is a text folded for matching.
type folded struct {
	text string
	// shifts says how far the original offsets run ahead of the folded
	// ones: each folded character of n bytes moves every later offset n-1
	// bytes. The entries are in order of at; nil if nothing folded, when
	// the offsets are the same.
	shifts []shift
}

// shift says that from folded offset at on, the original offset is the
// folded one plus delta (until the next shift).
type shift struct{ at, delta int }

// fold folds text. A text in which nothing folds is returned as it is,
// without copying.
func fold(text string) folded {
	// Most texts are ASCII, or have nothing that folds: find the first
	// character that does before copying anything.
	k := 0
	for k < len(text) {
		if text[k] < utf8.RuneSelf {
			k++
			continue
		}
		if f, _ := foldAt(text, k); f != 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(text[k:])
		k += size
	}
	if k == len(text) {
		return folded{text: text}
	}
	var b strings.Builder
	b.Grow(len(text))
	b.WriteString(text[:k])
	var shifts []shift
	delta := 0
	for k < len(text) {
		// Copy the run of bytes that do not fold in one go.
		j := k
		for j < len(text) && text[j] < utf8.RuneSelf {
			j++
		}
		b.WriteString(text[k:j])
		k = j
		if k == len(text) {
			break
		}
		f, size := foldAt(text, k)
		if f != 0 {
			b.WriteByte(f)
			delta += size - 1
			shifts = append(shifts, shift{at: b.Len(), delta: delta})
		} else {
			b.WriteString(text[k : k+size])
		}
		k += size
	}
	return folded{text: b.String(), shifts: shifts}
}

// foldAt returns the ASCII byte the character at text[k] (not ASCII) folds
// to, or 0, and the character's size.
func foldAt(text string, k int) (byte, int) {
	r, size := utf8.DecodeRuneInString(text[k:])
	f := foldRune(r)
	if f == 0 && isConfusable(r) && latinNeighbour(text, k, size) {
		f = confusables[r]
	}
	return f, size
}

// at returns the original offset of folded offset k.
func (f folded) at(k int) int {
	// The last shift at or before k applies.
	n := sort.Search(len(f.shifts), func(x int) bool { return f.shifts[x].at > k })
	if n == 0 {
		return k
	}
	return k + f.shifts[n-1].delta
}

// foldRune returns the ASCII byte r stands for, or 0.
func foldRune(r rune) byte {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return byte(r - 0xFEE0)
	case r == 0x3000, r == 0x00A0, r >= 0x2000 && r <= 0x200A, r == 0x202F, r == 0x205F:
		return ' '
	case r >= 0x2010 && r <= 0x2015, r == 0x2212, r == 0xFE63, r == 0x30FC:
		return '-'
	case r == 0x2018, r == 0x2019, r == 0x02BC, r == 0x2032:
		return '\''
	case r == 0x201C, r == 0x201D:
		return '"'
	case r == 0x2024, r == 0x3002:
		return '.'
	case r == 0x2044, r == 0x2215:
		return '/'
	case r >= 0x00C0 && r <= 0x024F:
		return latinFolds[r-0x00C0]
	case unicode.IsDigit(r):
		if d := digitValue(r); d >= 0 {
			return byte('0' + d)
		}
	}
	return 0
}

// digitValue returns the value of a decimal digit in any script: decimal
// digits come in runs of ten from zero.
func digitValue(r rune) int {
	z := r
	for z > r-10 && unicode.IsDigit(z-1) {
		z--
	}
	return int(r-z) % 10
}

// latinFolds maps U+00C0–U+024F to the ASCII letter each decomposes to,
// or 0.
var latinFolds = func() (t [0x0250 - 0x00C0]byte) {
	special := map[rune]byte{'ł': 'l', 'Ł': 'L', 'ø': 'o', 'Ø': 'O', 'đ': 'd', 'Đ': 'D', 'ı': 'i', 'ð': 'd', 'Ð': 'D', 'ħ': 'h', 'Ħ': 'H'}
	for r := rune(0x00C0); r < 0x0250; r++ {
		if c, ok := special[r]; ok {
			t[r-0x00C0] = c
			continue
		}
		d := norm.NFD.String(string(r))
		if len(d) > 1 && d[0] < utf8.RuneSelf && isAlpha(d[0]) {
			t[r-0x00C0] = d[0]
		}
	}
	return t
}()

// confusables are Cyrillic and Greek letters drawn like Latin ones.
var confusables = map[rune]byte{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'х': 'x', 'у': 'y', 'і': 'i', 'ј': 'j', 'ѕ': 's',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'ο': 'o',
}

func isConfusable(r rune) bool { _, ok := confusables[r]; return ok }

// latinNeighbour reports whether the character before or after
// text[k:k+size] is an ASCII letter: a look-alike folds only inside a
// Latin word, so that Russian text stays Russian.
func latinNeighbour(text string, k, size int) bool {
	return k > 0 && isAlpha(text[k-1]) || k+size < len(text) && isAlpha(text[k+size])
}
