package bundle

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/store"
)

// writeSigned writes policy text to path and a note for it signed by
// signers, as an operator installing a bundle would.
func writeSigned(t *testing.T, path, text string, version int64, activate time.Time, signers ...party) {
	t.Helper()
	note := signAll(t, NewManifest([]byte(text), version, activate).Text(), signers...)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+NoteSuffix, note, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheck checks the rollback rule and each refusal class of Check.
func TestCheck(t *testing.T) {
	op, ve := newParty(t, "operator"), newParty(t, "vendor")
	v1 := string(denyModel("one"))
	tests := []struct {
		name      string
		text      string // the policy signed and written (default v1)
		tamper    string // if set, overwrites the policy file after signing
		version   int64
		activate  time.Time
		signers   []party
		active    store.PolicyActivation
		wantClass string // "" for accepted
		wantErr   string
		wantNewer bool
	}{
		{name: "first bundle", version: 1, signers: []party{op, ve}, wantNewer: true},
		{name: "newer than active", version: 3, signers: []party{op, ve},
			active: store.PolicyActivation{Version: 2, Hash: "sha256:x"}, wantNewer: true},
		{name: "the active bundle again", version: 2, signers: []party{op, ve},
			active: store.PolicyActivation{Version: 2, Hash: policy.HashSource([]byte(v1))}},
		{name: "active version, other policy", version: 2, signers: []party{op, ve},
			active:    store.PolicyActivation{Version: 2, Hash: "sha256:other"},
			wantClass: "rollback", wantErr: "version 2 is the active version but its policy differs"},
		{name: "older than active", version: 1, signers: []party{op, ve},
			active:    store.PolicyActivation{Version: 2, Hash: policy.HashSource([]byte(v1))},
			wantClass: "rollback", wantErr: "version 1 is not newer than the active version 2"},
		{name: "one of two", version: 1, signers: []party{op},
			wantClass: "threshold", wantErr: "1 of the 2 required trusted signatures (operator)"},
		{name: "duplicate signer counts once", version: 1, signers: []party{ve, ve},
			wantClass: "threshold", wantErr: "1 of the 2 required trusted signatures (vendor)"},
		{name: "tampered", tamper: v1 + "# edited\n", version: 1, signers: []party{op, ve},
			wantClass: "hash", wantErr: "doesn't match the signed manifest"},
		{name: "not yet active", version: 1, activate: time.Now().Add(time.Hour), signers: []party{op, ve},
			wantClass: "not_yet_active", wantErr: "not active until"},
		{name: "does not compile", text: "rules: [{id: x, stage: request, when: 'nope', action: allow}]\n",
			version: 1, signers: []party{op, ve}, wantClass: "compile", wantErr: "undeclared reference to 'nope'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			text := cmp.Or(tt.text, v1)
			activate := tt.activate
			if activate.IsZero() {
				activate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			writeSigned(t, path, text, tt.version, activate, tt.signers...)
			if tt.tamper != "" {
				if err := os.WriteFile(path, []byte(tt.tamper), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := Config{File: path, Trust: Trust{Keys: []string{op.vkey, ve.vkey}, Threshold: 2}}
			pol, note, err := c.ReadFiles()
			if err != nil {
				t.Fatal(err)
			}
			lp, err := Check(&c, c.Trust, pol, note, tt.active, time.Now())
			if tt.wantClass != "" {
				if err == nil {
					t.Fatalf("got no error, want class %s", tt.wantClass)
				}
				if got := Class(err); got != tt.wantClass {
					t.Errorf("got class %q (%v), want %q", got, err, tt.wantClass)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got error %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := lp.Policy.Version(); got != tt.version {
				t.Errorf("got version %d, want %d", got, tt.version)
			}
			if lp.Newer != tt.wantNewer {
				t.Errorf("got newer %v, want %v", lp.Newer, tt.wantNewer)
			}
			if got, want := strings.Join(lp.Signers, ","), "operator,vendor"; got != want {
				t.Errorf("got signers %s, want %s", got, want)
			}
			if got, want := lp.Policy.Hash(), policy.HashSource([]byte(text)); got != want {
				t.Errorf("got hash %s, want %s", got, want)
			}
		})
	}
}
