package bundle

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

func TestCheckAnchor(t *testing.T) {
	root := store.TrustRoot{Seq: 2, Hash: "sha256:b"}
	active := store.PolicyActivation{Version: 5}
	tests := []struct {
		name   string
		anchor Anchor
		want   string // "" for accepted
	}{
		{"empty log", Anchor{}, ""},
		{"log level with the store", Anchor{Size: 9, PolicyVersion: 5, TrustSeq: 2, TrustHash: "sha256:b"}, ""},
		{"log behind the store", Anchor{Size: 9, PolicyVersion: 4, TrustSeq: 1, TrustHash: "sha256:a"}, ""},
		{"newer trust root in the log", Anchor{Size: 9, TrustSeq: 3, TrustHash: "sha256:c"}, "trust root 3 (sha256:c), the store only 2"},
		{"other trust root under the same seq", Anchor{Size: 9, TrustSeq: 2, TrustHash: "sha256:x"}, "trust root 2 as sha256:x, the store as sha256:b"},
		{"newer policy in the log", Anchor{Size: 9, PolicyVersion: 6, PolicyHash: "sha256:p", TrustSeq: 2, TrustHash: "sha256:b"},
			"signed policy version 6 (sha256:p), the store only version 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAnchor(tt.anchor, root, active)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if _, ok := errors.AsType[*TrustRootError](err); !ok || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a *TrustRootError saying %q", err, tt.want)
			}
		})
	}
}

// TestInspect checks what the dry run of a policy allows once a trust
// root is pinned, and which trust set it verifies against.
func TestInspect(t *testing.T) {
	op, ve, other := newParty(t, "operator"), newParty(t, "vendor"), newParty(t, "other")
	pinnedSet := Trust{Keys: []string{op.vkey, ve.vkey}, Threshold: 2}
	root := store.TrustRoot{Seq: 1, Hash: pinnedSet.Hash(), Keys: sortedKeys(pinnedSet), Threshold: 2}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeSigned(t, path, string(denyModel("one")), 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), op, ve)
	// The configured set lists the keys in another order: the same set.
	sameSet := Trust{Keys: []string{ve.vkey, op.vkey}, Threshold: 2}
	otherSet := Trust{Keys: []string{other.vkey}, Threshold: 1}

	tests := []struct {
		name    string
		c       Config
		root    store.TrustRoot
		source  string // want, if accepted
		wantErr string // "" for accepted
	}{
		{name: "default, nothing pinned", c: Config{}, source: EmbeddedDefault},
		{name: "signed, nothing pinned", c: Config{File: path, Trust: sameSet}, source: path},
		{name: "default, pinned", c: Config{}, root: root, wantErr: "neither the embedded default nor an unsigned policy"},
		{name: "unsigned, pinned", c: Config{File: path, Unsigned: true}, root: root, wantErr: "neither the embedded default nor an unsigned policy"},
		{name: "the pinned set", c: Config{File: path, Trust: sameSet}, root: root, source: path},
		{name: "another set", c: Config{File: path, Trust: otherSet}, root: root, wantErr: "policy.trust differs from the trust root pinned in DIR"},
		// With a rotation named, the bundle is verified against the set
		// the rotation would put in force, which didn't sign it.
		{name: "another set with a rotation", c: Config{File: path, Trust: otherSet, Rotation: "rotation.note"}, root: root,
			wantErr: "has none of the 1 required trusted signatures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, err := Inspect(&tt.c, store.PolicyActivation{}, tt.root, "DIR", time.Now())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lp.Source != tt.source {
				t.Errorf("got source %q, want %q", lp.Source, tt.source)
			}
			if tt.c.File != "" && lp.Policy.TrustHash() != pinnedSet.Hash() {
				t.Errorf("got trust hash %s, want the pinned set's %s", lp.Policy.TrustHash(), pinnedSet.Hash())
			}
		})
	}
}
