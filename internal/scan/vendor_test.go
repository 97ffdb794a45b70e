package scan

import (
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/vendor"
)

// TestProfilesNameVendors checks the profiles against the vendor identity
// in internal/vendor, which the traffic inventory uses: each profile is
// named after a vendor, its API host is that vendor's host, and every model
// id in its examples that vendor.Of recognises is that vendor's model. So
// `brightline scan --vendor V` and `brightline exposure --vendor V` mean
// the same V.
func TestProfilesNameVendors(t *testing.T) {
	for _, v := range Vendors() {
		p, err := LoadProfile(v)
		if err != nil {
			t.Fatalf("LoadProfile(%q): %v", v, err)
		}
		t.Run(v, func(t *testing.T) {
			if p.Name != v {
				t.Errorf("profiles/%s.yaml has name %q", v, p.Name)
			}
			hosts, models := 0, 0
			for _, pt := range p.Patterns {
				switch {
				case pt.Kind == KindHost && !pt.Route && pt.Component != "" && !strings.ContainsAny(pt.Component, " /*"):
					hosts++
					if got := vendor.Of("openai-compatible", "https://"+pt.Component, ""); got != v {
						t.Errorf("%s: vendor.Of says host %s is %q's, want %q", pt.ID, pt.Component, got, v)
					}
				case pt.Kind == KindModel:
					for _, ex := range pt.Examples {
						m := pt.re.FindStringSubmatch(ex)
						if m == nil {
							continue // TestProfilePatterns reports it
						}
						id := m[0]
						if pt.group > 0 {
							id = m[pt.group]
						}
						got := vendor.Of("openai-compatible", "", id)
						if got == vendor.Unknown {
							continue // an id family vendor.Of does not list, or a prefix
						}
						models++
						if got != v {
							t.Errorf("%s: vendor.Of says model %s is %q's, want %q", pt.ID, id, got, v)
						}
					}
				}
			}
			if hosts == 0 || models == 0 {
				t.Errorf("checked %d API hosts and %d model ids, want some of each", hosts, models)
			}
		})
	}
}
