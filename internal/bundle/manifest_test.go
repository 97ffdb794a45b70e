package bundle

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

// validText is a manifest written by hand from the format in the package
// doc, not by Manifest.Text, so that the two are checked against each other.
const validText = "brightline.dev/policy-bundle/v1\n" +
	"version 7\n" +
	"policy sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n" +
	"activate 2026-11-23T12:00:00Z\n"

func TestManifestText(t *testing.T) {
	// sha256("hello") is the hash in validText.
	m := NewManifest([]byte("hello"), 7, time.Date(2026, 11, 23, 13, 0, 0, 999_999_999, time.FixedZone("CET", 3600)))
	if got := m.Text(); got != validText {
		t.Errorf("got text\n%s\nwant\n%s", got, validText)
	}
	if got, want := m.PolicySHA256, sha256.Sum256([]byte("hello")); got != want {
		t.Errorf("got hash %x, want %x", got, want)
	}
	if got := m.Activate.Location(); got != time.UTC {
		t.Errorf("got activation location %v, want UTC", got)
	}
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest(validText)
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if m.Version != 7 {
		t.Errorf("got version %d, want 7", m.Version)
	}
	if want := sha256.Sum256([]byte("hello")); m.PolicySHA256 != want {
		t.Errorf("got hash %x, want %x", m.PolicySHA256, want)
	}
	if want := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC); !m.Activate.Equal(want) {
		t.Errorf("got activation %v, want %v", m.Activate, want)
	}
	if got := m.Text(); got != validText {
		t.Errorf("round trip: got text\n%s\nwant\n%s", got, validText)
	}
}

func TestParseManifestErrors(t *testing.T) {
	lines := strings.SplitAfter(validText, "\n")[:4]
	origin, version, policy, activate := lines[0], lines[1], lines[2], lines[3]
	tests := []struct {
		name string
		text string
		want string // a substring of the error message
	}{
		{"empty", "", "doesn't end in a newline"},
		{"no final newline", strings.TrimSuffix(validText, "\n"), "doesn't end in a newline"},
		{"wrong origin", "brightline.dev/policy-bundle/v2\n" + version + policy + activate, "line 1"},
		{"no origin", version + policy + activate, "line 1"},
		{"origin with trailing space", "brightline.dev/policy-bundle/v1 \n" + version + policy + activate, "line 1"},
		{"missing version", origin + policy + activate, `no "version" line`},
		{"missing policy", origin + version + activate, `no "policy" line`},
		{"missing activate", origin + version + policy, `no "activate" line`},
		{"duplicate version", origin + version + version + policy + activate, "line 3: duplicate"},
		{"duplicate activate", validText + activate, "line 5: duplicate"},
		{"unknown line", validText + "comment hello\n", `line 5: unknown line "comment"`},
		{"line without value", origin + "version\n" + policy + activate, "line 2"},
		{"empty line", origin + version + "\n" + policy + activate, "line 3 is empty"},
		{"blank line at end", validText + "\n", "line 5 is empty"},
		{"out of order", origin + policy + version + activate, "out of order"},
		{"version zero", origin + "version 0\n" + policy + activate, "line 2: version"},
		{"version negative", origin + "version -3\n" + policy + activate, "line 2: version"},
		{"version plus sign", origin + "version +7\n" + policy + activate, "line 2: version"},
		{"version leading zero", origin + "version 07\n" + policy + activate, "line 2: version"},
		{"version overflow", origin + "version 9223372036854775808\n" + policy + activate, "line 2: version"},
		{"version two spaces", origin + "version  7\n" + policy + activate, "line 2: version"},
		{"version tab", origin + "version\t7\n" + policy + activate, "line 2"},
		{"hash without algorithm", origin + version + "policy 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n" + activate, "line 3: policy"},
		{"hash sha512", origin + version + "policy sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n" + activate, "line 3: policy"},
		{"hash short", origin + version + "policy sha256:2cf24dba\n" + activate, "line 3: policy"},
		{"hash upper case", origin + version + "policy sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824\n" + activate, "line 3: policy hash"},
		{"hash not hex", origin + version + "policy sha256:zcf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n" + activate, "line 3: policy hash"},
		{"activate date only", origin + version + policy + "activate 2026-11-23\n", "line 4: activate"},
		{"activate offset", origin + version + policy + "activate 2026-11-23T13:00:00+01:00\n", "line 4: activate"},
		{"activate zero offset", origin + version + policy + "activate 2026-11-23T12:00:00+00:00\n", "line 4: activate"},
		{"activate fraction", origin + version + policy + "activate 2026-11-23T12:00:00.5Z\n", "line 4: activate"},
		{"activate lower-case z", origin + version + policy + "activate 2026-11-23t12:00:00z\n", "line 4: activate"},
		{"CRLF", strings.ReplaceAll(validText, "\n", "\r\n"), "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest(tt.text)
			if err == nil {
				t.Fatalf("got manifest %+v, want an error containing %q", m, tt.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got error %v, want one wrapping ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(validText)
	f.Add(NewManifest(nil, 1, time.Unix(0, 0)).Text())
	f.Add(strings.Replace(validText, "version 7", "version 07", 1))
	f.Add(validText + validText)
	f.Add("brightline.dev/policy-bundle/v1\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseManifest(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got error %v, want one wrapping ErrMalformed", err)
			}
			return
		}
		// Strict parsing means exactly one text per manifest.
		if got := m.Text(); got != text {
			t.Errorf("parsed %q, but Text gives %q", text, got)
		}
		if m.Version < 1 {
			t.Errorf("accepted version %d, want at least 1", m.Version)
		}
	})
}

func TestClaimedManifest(t *testing.T) {
	op, ve := newParty(t, "operator"), newParty(t, "vendor")
	signed := signAll(t, validText, op, ve)
	other := strings.Replace(validText, "version 7", "version 8", 1)
	tests := []struct {
		name        string
		note        []byte
		wantVersion int64 // 0: no manifest returned
		wantErr     bool  // an error wrapping ErrMalformed
	}{
		{"signed", signed, 7, false},
		{"cut short", signed[:len(signed)-1], 7, true},
		{"garbled signature line", append(signAll(t, validText, op), "— vendor not-base64\n"...), 7, true},
		{"blank line among signatures", append(append([]byte{}, signed...), "\n— x AAAAAAAA\n"...), 7, true},
		{"text before a second blank line", []byte(validText + "\n" + other + "\n" + string(signed[len(validText)+1:])), 7, true},
		{"bare text", []byte(validText), 0, true},
		{"no manifest", signAll(t, validText, op)[len(validText)-8:], 0, true},
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ClaimedManifest(tt.note)
			if m.Version != tt.wantVersion {
				t.Errorf("got version %d, want %d", m.Version, tt.wantVersion)
			}
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("got error %v, want one wrapping ErrMalformed: %v", err, tt.wantErr)
			}
		})
	}
}

func TestClaimedSigners(t *testing.T) {
	op, ve, outsider := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "outsider")
	signed := signAll(t, validText, ve, op, outsider, op)
	if got, want := strings.Join(ClaimedSigners(signed), ","), "operator,outsider,vendor"; got != want {
		t.Errorf("ClaimedSigners: got %s, want %s", got, want)
	}
	if got := ClaimedSigners(signed[:len(signed)-1]); got != nil {
		t.Errorf("ClaimedSigners of a malformed note: got %v, want nil", got)
	}
	if got, want := strings.Join(TrustedSigners(signed, []string{op.vkey, ve.vkey, ve.vkey, "not a key"}), ","), "operator,vendor"; got != want {
		t.Errorf("TrustedSigners: got %s, want %s", got, want)
	}
}
