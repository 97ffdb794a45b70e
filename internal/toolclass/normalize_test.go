package toolclass

import (
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"fire_interceptor", "fire_interceptor"},
		{"Fire_Interceptor", "fire_interceptor"},
		{"fіre_interceptor", "fire_interceptor"}, // Cyrillic і
		{"ｆｉｒｅ＿ｉｎｔｅｒｃｅｐｔｏｒ", "fire_interceptor"}, // full width
		{"ΕNGAGE_HΟSTILE", "engage_hostile"},     // Greek Ε and Ο
		{"НОЅТІLЕ", "hostile"},                   // all Cyrillic capitals
		{"fíre", "fire"},                         // a combining mark
		{"fi\u0301re", "fire"},                   // the same, decomposed
		{"fi\u200dre", "fire"},                   // a zero-width joiner
		{"ﬁre", "fire"},                          // a ligature
		{"𝐟𝐢𝐫𝐞", "fire"},                         // mathematical bold
		{"f1re_interceptor", "fire_interceptor"},
		{"d3tonate", "detonate"},
		{"$trike", "strike"},
		{"@ttack", "attack"},
		{"l4unch_m1ss1le", "launch_missile"},
		{"gpt4_summary", "gpta_summary"},
		{"top_10", "top_10"},
		{"v2", "v2"},
		{"Straße", "strasse"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNormalizeIdempotent checks Normalize(Normalize(s)) == Normalize(s)
// on awkward inputs; FuzzNormalize checks it on generated ones.
func TestNormalizeIdempotent(t *testing.T) {
	for _, s := range normalizeSeeds {
		once := Normalize(s)
		if twice := Normalize(once); twice != once {
			t.Errorf("Normalize(%q) = %q, but Normalize(%q) = %q", s, once, once, twice)
		}
	}
}

var normalizeSeeds = []string{
	"fire", "FIRE", "F1RE", "f1re", "1fire", "fire1", "11a", "a1_1", "@$", "@a$",
	"а\u030a", "Ꭺ", "ꭺ", "İstanbul", "ǅ", "ß", "ẞ", "ﬀ", "Ⅻ", "ⓕⓘⓡⓔ", "한국어",
	"ᄒ\u1161", "η", "Η", "ς", "Σ", "ϴ", "ẛ", "\u0345", "K", "Å", "x\u0307\u0323",
	"fі\u0308re", "\uff21\u0300", "𝔣𝔦𝔯𝔢", "ﾊﾞ", "\u00a0fire\u00a0", "Ꮻ3", "ﾙ[ꮺ간Ꮾￊ\u2008ᇕᆏᏫ3",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		once := Normalize(s)
		if twice := Normalize(once); twice != once {
			t.Errorf("Normalize(%q) = %q, but Normalize(%q) = %q", s, once, once, twice)
		}
		if again := Normalize(s); again != once {
			t.Errorf("Normalize(%q) gave %q, then %q", s, once, again)
		}
	})
}
