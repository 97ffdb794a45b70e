package auditlog

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseEntry checks that ParseEntry never panics and that whatever it
// accepts is canonical: it encodes back to the same bytes.
func FuzzParseEntry(f *testing.F) {
	e := decision(3)
	e.Time = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	b, err := e.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"v":1,"kind":"x","time":"2026-01-02T03:04:05.000000Z"}`))
	f.Add([]byte(`{"v":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but can't encode it: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted %q, which encodes as %q", b, again)
		}
	})
}
