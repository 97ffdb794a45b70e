package exposure

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/vendor"
)

// RouteInfo is a configured route, as reports need it: the model name
// clients ask for (possibly a glob in path.Match syntax, like the router's)
// and its targets in order of preference.
type RouteInfo struct {
	Model   string       `json:"model"`
	Targets []TargetInfo `json:"targets"`
}

// TargetInfo is one target of a route: the provider's configured name, type
// and base URL, and the model asked of it ("" passes the requested model
// through).
type TargetInfo struct {
	Provider     string `json:"provider"`
	ProviderType string `json:"provider_type"`
	BaseURL      string `json:"base_url,omitempty"`
	Model        string `json:"model,omitempty"`
}

// Reader is what reports read; [store.Exposure] implements it.
type Reader interface {
	ExposureTotals(ctx context.Context, f store.ExposureFilter) ([]store.ExposureUsage, error)
}

// Filter selects what [Report] shows. The zero value shows everything.
type Filter struct {
	Vendor    string    // only traffic served by this vendor (see vendor.Of)
	Since     time.Time // only hours that reach Since or later
	Principal string    // only this principal's traffic (its ID)
}

// Row is one principal's traffic through one provider and model.
type Row struct {
	PrincipalID   string `json:"principal_id"`
	PrincipalName string `json:"principal_name"`
	Vendor        string `json:"vendor"`
	Provider      string `json:"provider"`
	ProviderType  string `json:"provider_type"`
	Model         string `json:"model"`
	// Routes are the model names the principal asked for that this
	// provider and model served, sorted.
	Routes       []string  `json:"routes"`
	Requests     int64     `json:"requests"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	FirstSeen    time.Time `json:"first_seen"` // the start of the first hour with traffic
	LastUsed     time.Time `json:"last_used"`
	// Features counts the requests that used each feature.
	Features map[string]int64 `json:"features,omitempty"`
	// Alternative is true when every one of Routes has a configured target
	// at a vendor other than Vendor, so the traffic could move by
	// reordering targets. It says nothing about whether that target works
	// as well; see Plan for that.
	Alternative bool `json:"alternative"`
	// Alternatives lists those targets, as "provider/model (vendor)".
	Alternatives []string `json:"alternatives,omitempty"`
	// Unrouted lists the Routes that no configured route matches any more.
	Unrouted []string `json:"unrouted,omitempty"`
}

// Report reads the usage f selects and sums it per principal, provider and
// model, ordered by principal ID, then vendor, provider and model. routes
// is the current configuration, used to name vendors (a provider's base
// URL) and to find alternatives.
func Report(ctx context.Context, st Reader, routes []RouteInfo, f Filter) ([]Row, error) {
	usage, err := st.ExposureTotals(ctx, store.ExposureFilter{PrincipalID: f.Principal, Since: f.Since})
	if err != nil {
		return nil, fmt.Errorf("couldn't read exposure usage: %w", err)
	}
	idx := NewRoutes(routes)
	type rowKey struct{ principal, provider, model string }
	byKey := make(map[rowKey]*Row)
	var rows []*Row
	for i := range usage {
		u := &usage[i]
		vendor := idx.Vendor(u.Provider, u.ProviderType, u.Model)
		if f.Vendor != "" && vendor != f.Vendor {
			continue
		}
		k := rowKey{u.PrincipalID, u.Provider, u.Model}
		r := byKey[k]
		if r == nil {
			r = &Row{
				PrincipalID: u.PrincipalID, Vendor: vendor, Provider: u.Provider, ProviderType: u.ProviderType,
				Model: u.Model, FirstSeen: u.Hour, LastUsed: u.LastUsed,
			}
			byKey[k] = r
			rows = append(rows, r)
		}
		if u.PrincipalName != "" {
			r.PrincipalName = u.PrincipalName
		}
		if !slices.Contains(r.Routes, u.Route) {
			r.Routes = append(r.Routes, u.Route)
		}
		r.Requests += u.Requests
		r.InputTokens += u.InputTokens
		r.OutputTokens += u.OutputTokens
		if u.Hour.Before(r.FirstSeen) {
			r.FirstSeen = u.Hour
		}
		if u.LastUsed.After(r.LastUsed) {
			r.LastUsed = u.LastUsed
		}
		for name, n := range u.Features {
			if r.Features == nil {
				r.Features = make(map[string]int64)
			}
			r.Features[name] += n
		}
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		slices.Sort(r.Routes)
		r.Alternative = len(r.Routes) > 0
		for _, name := range r.Routes {
			rt := idx.Match(name)
			if rt == nil {
				r.Unrouted = append(r.Unrouted, name)
				r.Alternative = false
				continue
			}
			alts := idx.alternatives(rt, name, r.Vendor)
			if len(alts) == 0 {
				r.Alternative = false
			}
			for _, a := range alts {
				if !slices.Contains(r.Alternatives, a) {
					r.Alternatives = append(r.Alternatives, a)
				}
			}
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.PrincipalID, b.PrincipalID), cmp.Compare(a.Vendor, b.Vendor),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out, nil
}

// Routes answers questions about the configured routes: which route serves
// a model, and which vendor a provider is.
type Routes struct {
	routes    []RouteInfo
	providers map[string]TargetInfo // by provider name: type and base URL
}

// NewRoutes indexes the configured routes.
func NewRoutes(routes []RouteInfo) *Routes {
	idx := &Routes{routes: routes, providers: make(map[string]TargetInfo)}
	for _, rt := range routes {
		for _, t := range rt.Targets {
			if _, ok := idx.providers[t.Provider]; !ok {
				idx.providers[t.Provider] = t
			}
		}
	}
	return idx
}

// Vendor names the vendor of provider serving model. The provider's base
// URL comes from the configuration; a provider no longer configured is
// named by its recorded type and the model.
func (idx *Routes) Vendor(provider, providerType, model string) string {
	t, ok := idx.providers[provider]
	if !ok {
		return vendor.Of(providerType, "", model)
	}
	if providerType == "" {
		providerType = t.ProviderType
	}
	return vendor.Of(providerType, t.BaseURL, model)
}

// Match returns the route serving the requested model, as the router
// chooses it: an exact name first, then the first glob that matches; or
// nil.
func (idx *Routes) Match(model string) *RouteInfo {
	for i := range idx.routes {
		if idx.routes[i].Model == model {
			return &idx.routes[i]
		}
	}
	for i := range idx.routes {
		if ok, _ := path.Match(idx.routes[i].Model, model); ok {
			return &idx.routes[i]
		}
	}
	return nil
}

// ModelFor is the model target t is asked for when a client asks for
// requested.
func (t TargetInfo) ModelFor(requested string) string {
	if t.Model != "" {
		return t.Model
	}
	return requested
}

// VendorFor names the vendor of t serving requested.
func (t TargetInfo) VendorFor(requested string) string {
	return vendor.Of(t.ProviderType, t.BaseURL, t.ModelFor(requested))
}

// alternatives lists rt's targets for requested whose vendor is not
// current, as "provider/model (vendor)".
func (idx *Routes) alternatives(rt *RouteInfo, requested, current string) []string {
	var out []string
	for _, t := range rt.Targets {
		if v := t.VendorFor(requested); v != current && v != vendor.Simulated {
			out = append(out, fmt.Sprintf("%s/%s (%s)", t.Provider, t.ModelFor(requested), v))
		}
	}
	return out
}
