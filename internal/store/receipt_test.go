package store_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/storetest"
)

func TestSplitReceipt(t *testing.T) {
	signer := storetest.Signer(t)
	for n := 1; n <= 13; n++ {
		for _, rc := range storetest.GroupReceipts(t, signer, 40, n) {
			note, rest, ok := store.SplitReceipt(rc)
			if !ok {
				t.Fatalf("group of %d: a version 2 receipt was not split", n)
			}
			if !strings.HasSuffix(string(note), "\n") || !strings.HasPrefix(string(rest), "\n") || strings.Count(string(note), "\n\n") != 1 {
				t.Fatalf("group of %d: split at the wrong place: note %q, rest %q", n, note, rest)
			}
			if got := store.JoinReceipt(note, rest); got != rc {
				t.Fatalf("group of %d: joined receipt differs from the one split", n)
			}
		}
	}
	v2 := storetest.GroupReceipts(t, signer, 7, 2)[1]
	b, _ := base64.StdEncoding.DecodeString(v2)
	whole := map[string]string{
		"empty":               "",
		"not base64":          "brightline.dev/audit-receipt/v2",
		"version 1":           base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v1\norigin\n7\nAAAA\n\n— origin sig\n")),
		"with a line break":   v2[:40] + "\n" + v2[40:],
		"unpadded":            base64.RawStdEncoding.EncodeToString(b),
		"no signature block":  base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v2\norigin\n7\n1\n")),
		"only the note's end": base64.StdEncoding.EncodeToString([]byte("brightline.dev/audit-receipt/v2\norigin\n\n— origin sig\n")),
	}
	if u := base64.URLEncoding.EncodeToString(b); u != v2 {
		whole["URL alphabet"] = u
	}
	for name, s := range whole {
		if _, _, ok := store.SplitReceipt(s); ok {
			t.Errorf("%s: split, want stored whole", name)
		}
	}
}
