package subjects

import "testing"

func TestKeyer(t *testing.T) {
	k := NewKeyer([]byte("0123456789abcdef0123456789abcdef"))
	other := NewKeyer([]byte("another secret, another deployment"))
	base := k.Key("PHONE", "+12025550123")
	tests := []struct {
		name string
		got  Key
		same bool
	}{
		{"same input", k.Key("PHONE", "+12025550123"), true},
		{"other value", k.Key("PHONE", "+12025550124"), false},
		{"other type", k.Key("EMAIL", "+12025550123"), false},
		{"type and value boundary", k.Key("PHONE+", "12025550123"), false},
		{"other secret", other.Key("PHONE", "+12025550123"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.got == base) != tt.same {
				t.Errorf("got key %v equal to base %v: %v, want %v", tt.got, base, tt.got == base, tt.same)
			}
		})
	}
}

func TestKeyerCopiesSecret(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	k := NewKeyer(secret)
	want := k.Key("SSN", "123456789")
	secret[0] = 'x'
	if got := k.Key("SSN", "123456789"); got != want {
		t.Errorf("got %v after changing the caller's secret, want %v", got, want)
	}
}
