package store

import (
	"strings"
	"testing"
)

func TestAuditRecordValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    AuditRecord
		want string // "" = valid
	}{
		{"plain", AuditRecord{LogIndex: 1, RequestID: "r", Kind: "decision", Stage: "request"}, ""},
		{"commitment", AuditRecord{LogIndex: 1, Salt: []byte{1}, Body: []byte{}}, ""},
		{"salt without body", AuditRecord{LogIndex: 2, Salt: []byte{1}}, "salt and body"},
		{"body without salt", AuditRecord{LogIndex: 3, Body: []byte{1}}, "salt and body"},
		{"empty salt", AuditRecord{LogIndex: 4, Salt: []byte{}, Body: []byte{1}}, "salt is empty"},
		{"invalid utf8", AuditRecord{LogIndex: 5, RequestID: "\xff"}, "not valid UTF-8"},
		{"nul", AuditRecord{LogIndex: 6, Stage: "a\x00"}, "not valid UTF-8"},
		{"index overflow", AuditRecord{LogIndex: 1 << 63}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
