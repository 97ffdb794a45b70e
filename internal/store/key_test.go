package store

import (
	"strings"
	"testing"

	"github.com/brightline/brightline"
)

func TestValidate(t *testing.T) {
	hash := brightline.HashKey("bl_x")
	tests := []struct {
		name    string
		key     Key
		hash    [32]byte
		wantErr string
	}{
		{"valid", Key{ID: "key_1", Prefix: "bl_x"}, hash, ""},
		{"principal id equal", Key{ID: "key_1", Principal: principal("key_1")}, hash, ""},
		{"empty id", Key{}, hash, "id is empty"},
		{"principal id differs", Key{ID: "key_1", Principal: principal("key_2")}, hash, "differs"},
		{"zero hash", Key{ID: "key_1"}, [32]byte{}, "all-zero hash"},
		{"invalid UTF-8 org", Key{ID: "key_1", Principal: principalOrg("\xc3\x28")}, hash, "UTF-8"},
		{"NUL in prefix", Key{ID: "key_1", Prefix: "bl\x00"}, hash, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Validate(tt.hash)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func principal(id string) brightline.Principal     { return brightline.Principal{ID: id} }
func principalOrg(org string) brightline.Principal { return brightline.Principal{Org: org} }
