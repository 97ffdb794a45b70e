package auditverify_test

import (
	"encoding/base64"
	"fmt"
	"slices"
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

// TestGroupReceipt: a version 2 receipt signs a journal group once, and
// each entry's receipt verifies alone with the log key: its proof leads
// from its leaf hash at its index to the signed root. A receipt whose
// index, leaf hash or path is changed, whose proof is missing, or whose
// group text is edited, is refused.
func TestGroupReceipt(t *testing.T) {
	s, vkey := newLogKey(t, t.TempDir())
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 9, 30, 0, 1000, time.UTC)
	for _, count := range []int{1, 2, 3, 5, 8, 13} {
		first := uint64(100 * count)
		leaves := make([]tlog.Hash, count)
		for i := range leaves {
			leaves[i] = tlog.RecordHash(fmt.Appendf(nil, `{"v":1,"n":%d}`, i))
		}
		g, err := auditverify.NewReceiptGroup(origin, first, leaves, at, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := note.Sign(&note.Note{Text: g.Text()}, s)
		if err != nil {
			t.Fatal(err)
		}
		for i, leaf := range leaves {
			r, err := g.Receipt(first+uint64(i), leaf, signed)
			if err != nil {
				t.Fatalf("group of %d, entry %d: %v", count, i, err)
			}
			for _, form := range []string{r.Encode(), string(r.Note)} {
				got, err := auditverify.ParseReceipt(form, v)
				if err != nil {
					t.Fatalf("group of %d, entry %d: ParseReceipt: %v", count, i, err)
				}
				if got.Version() != 2 || got.Index != first+uint64(i) || got.LeafHash != leaf || got.First != first ||
					got.Count != uint64(count) || got.Root != g.Root || !got.Time.Equal(at) || got.MMD != time.Second {
					t.Errorf("group of %d, entry %d: got %+v", count, i, got)
				}
				if !got.Matches(fmt.Appendf(nil, `{"v":1,"n":%d}`, i)) {
					t.Errorf("group of %d, entry %d: does not match its entry", count, i)
				}
			}
			if count == 8 {
				if n := len(r.Encode()); n > 700 {
					t.Errorf("header form of a receipt in a group of 8 is %d bytes, want it compact", n)
				}
			}
		}
		if _, err := g.Receipt(first+uint64(count), leaves[0], signed); err == nil {
			t.Errorf("group of %d: receipt for an index past the group: got nil, want an error", count)
		}
		if _, err := g.Receipt(first, tlog.RecordHash([]byte("other")), signed); err == nil {
			t.Errorf("group of %d: receipt for another leaf: got nil, want an error", count)
		}
	}

	// Tampering, on entry 2 of a group of 5 from index 40.
	leaves := make([]tlog.Hash, 5)
	for i := range leaves {
		leaves[i] = tlog.RecordHash(fmt.Appendf(nil, "entry %d", i))
	}
	g, err := auditverify.NewReceiptGroup(origin, 40, leaves, at, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: g.Text()}, s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Receipt(42, leaves[2], signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Path) != 3 {
		t.Fatalf("path of entry 2 of 5 has %d hashes, want 3", len(r.Path))
	}
	b64 := func(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }
	proof := func(index string, leaf tlog.Hash, path ...tlog.Hash) string {
		p := index + "\n" + b64(leaf) + "\n"
		for _, h := range path {
			p += b64(h) + "\n"
		}
		return base64.StdEncoding.EncodeToString(append(append(slices.Clone(signed), '\n'), p...))
	}
	resign := func(text string) []byte {
		b, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := auditverify.ParseReceipt(proof("42", leaves[2], r.Path...), v); err != nil {
		t.Fatalf("the receipt rebuilt by hand: %v", err)
	}
	for _, tc := range []struct {
		name, receipt, want string
	}{
		{"another index in the group", proof("43", leaves[2], r.Path...), "does not lead to the group root"},
		{"an index past the group", proof("45", leaves[2], r.Path...), "is not in its group"},
		{"another leaf", proof("42", leaves[3], r.Path...), "does not lead to the group root"},
		{"a path hash changed", proof("42", leaves[2], r.Path[0], leaves[0], r.Path[2]), "does not lead to the group root"},
		{"a path hash missing", proof("42", leaves[2], r.Path[:2]...), "does not lead to the group root"},
		{"a path hash more", proof("42", leaves[2], append(slices.Clone(r.Path), leaves[0])...), "does not lead to the group root"},
		{"leading zero in the index", proof("042", leaves[2], r.Path...), "not canonical"},
		{"no proof", base64.StdEncoding.EncodeToString(signed), "needs its proof"},
		{"no leaf", base64.StdEncoding.EncodeToString(append(slices.Clone(signed), "\n42\n"...)), "want the index, the leaf hash"},
		{"group text edited", strings.Replace(string(r.Note), "\n40\n5\n", "\n40\n6\n", 1), "does not verify"},
		{"empty group", base64.StdEncoding.EncodeToString(append(resign(strings.Replace(g.Text(), "\n40\n5\n", "\n40\n0\n", 1)), "\n42\n"+b64(leaves[2])+"\n"...)), "count"},
		{"other origin", base64.StdEncoding.EncodeToString(append(resign(strings.Replace(g.Text(), origin, "other.test/log", 1)), r.Note[len(signed):]...)), "differs from the log key's name"},
		{"extra text line", base64.StdEncoding.EncodeToString(append(resign(g.Text()+"more\n"), r.Note[len(signed):]...)), "seven lines"},
	} {
		_, err := auditverify.ParseReceipt(tc.receipt, v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// BenchmarkGroupReceipt: the log's per-flush receipt work for a group of
// 8 entries, without the signature (one per group): the group's tree,
// then each entry's receipt with its proof, encoded.
func BenchmarkGroupReceipt(b *testing.B) {
	s, _ := newLogKey(b, b.TempDir())
	leaves := make([]tlog.Hash, 8)
	for i := range leaves {
		leaves[i] = tlog.RecordHash(fmt.Appendf(nil, "entry %d", i))
	}
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	g, err := auditverify.NewReceiptGroup(origin, 1000, leaves, at, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: g.Text()}, s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := auditverify.NewReceiptGroup(origin, 1000, leaves, at, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		for i, leaf := range leaves {
			r, err := g.Receipt(1000+uint64(i), leaf, signed)
			if err != nil {
				b.Fatal(err)
			}
			_ = r.Encode()
		}
	}
}
