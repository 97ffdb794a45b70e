package auditverify_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestParseReceipt: a receipt verifies with the log key alone, in its
// header form or as a note; any change to its text, another key, or a text
// that is not exactly a receipt is refused.
func TestParseReceipt(t *testing.T) {
	s, vkey := newLogKey(t, t.TempDir())
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	want := auditverify.Receipt{Origin: origin, Index: 42, LeafHash: tlog.RecordHash([]byte(`{"v":1}`)),
		Time: time.Date(2026, 12, 1, 12, 0, 0, 123456000, time.UTC), MMD: 1500 * time.Millisecond}
	sign := func(text string) []byte {
		b, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	signed := sign(want.Text())
	want.Note = signed
	for _, form := range []string{want.Encode(), string(signed)} {
		got, err := auditverify.ParseReceipt(form, v)
		if err != nil {
			t.Fatalf("ParseReceipt: %v", err)
		}
		if got.Origin != want.Origin || got.Index != 42 || got.LeafHash != want.LeafHash || !got.Time.Equal(want.Time) || got.MMD != want.MMD {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if !got.Due().Equal(want.Time.Add(1500*time.Millisecond)) || !got.Matches([]byte(`{"v":1}`)) || got.Matches([]byte(`{"v":2}`)) {
			t.Errorf("Due/Matches of %+v are wrong", got)
		}
	}
	if n := len(want.Encode()); n > 400 {
		t.Errorf("header form is %d bytes, want it compact", n)
	}

	_, otherV := newLogKey(t, t.TempDir())
	ov, _ := note.NewVerifier(otherV)
	text := want.Text()
	for _, tc := range []struct {
		name, receipt, want string
	}{
		{"another key", want.Encode(), "does not verify"},
		{"edited index", strings.Replace(string(signed), "\n42\n", "\n43\n", 1), "does not verify"},
		{"not base64", "%%%", "couldn't decode"},
		{"a checkpoint", base64.StdEncoding.EncodeToString(sign(origin + "\n42\n" + base64.StdEncoding.EncodeToString(want.LeafHash[:]) + "\n")), "not a brightline.dev/audit-receipt/v1"},
		{"leading zero", base64.StdEncoding.EncodeToString(sign(strings.Replace(text, "\n42\n", "\n042\n", 1))), "not canonical"},
		{"short hash", base64.StdEncoding.EncodeToString(sign(strings.Replace(text, base64.StdEncoding.EncodeToString(want.LeafHash[:]), "AAAA", 1))), "leaf hash"},
		{"other origin", base64.StdEncoding.EncodeToString(sign(strings.Replace(text, origin, "other.test/log", 1))), "differs from the log key's name"},
		{"extra line", base64.StdEncoding.EncodeToString(sign(text + "more\n")), "six lines"},
	} {
		verifier := v
		if tc.name == "another key" {
			verifier = ov
		}
		_, err := auditverify.ParseReceipt(tc.receipt, verifier)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
