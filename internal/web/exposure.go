package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/vendor"
)

// ExposureHandler serves the console's exposure page, GET /ui/exposure
// (?vendor=&since=&principal=, as the API), and its stylesheet,
// GET /ui/exposure.css: which providers and models each principal's
// traffic used and whether it could move (see [exposure.Report]). Only
// admins and auditors see it. Sign-in is the console's: mount this next
// to [Handler], on the same mux, with the same auth; the more specific
// patterns win over Handler's /ui/.
func ExposureHandler(st exposure.Reader, routes []exposure.RouteInfo, auth func(*http.Request) (brightline.Principal, error), log *slog.Logger) http.Handler {
	c := newConsole(nil, auth, log)
	e := &exposurePage{c: c, st: st, routes: routes}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/exposure", c.session(e.serve))
	mux.HandleFunc("GET /ui/exposure.css", serveExposureCSS)
	return securityHeaders(mux)
}

type exposurePage struct {
	c      *console
	st     exposure.Reader
	routes []exposure.RouteInfo
}

// exposureView is what exposure.html renders.
type exposureView struct {
	User    brightline.Principal
	CSRF    string
	Vendor  string
	Since   string
	Princ   string
	Vendors []string // for the vendor picker: those in the configuration
	// OtherVendor is true when Vendor is set and not among Vendors.
	OtherVendor bool
	Rows        []exposureRow
	Summary     string
	Error       string
	Checked     time.Time
}

type exposureRow struct {
	exposure.Row
	Features string
}

func (e *exposurePage) serve(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	v := exposureView{User: s.p, CSRF: s.csrf, Vendor: q.Get("vendor"), Since: q.Get("since"), Princ: q.Get("principal"),
		Vendors: e.vendors(), Checked: time.Now().UTC()}
	v.OtherVendor = v.Vendor != "" && !slices.Contains(v.Vendors, v.Vendor)
	if !exposure.CanView(s.p) {
		v.Error = "The exposure inventory needs the admin or auditor role."
		e.c.render(w, r, http.StatusForbidden, "exposure.html", v)
		return
	}
	f := exposure.Filter{Vendor: v.Vendor, Principal: v.Princ}
	if v.Since != "" {
		var err error
		if f.Since, err = exposure.ParseSince(v.Since, time.Now()); err != nil {
			v.Error = err.Error() + "."
			e.c.render(w, r, http.StatusBadRequest, "exposure.html", v)
			return
		}
	}
	rows, err := exposure.Report(r.Context(), e.st, e.routes, f)
	if err != nil {
		status, ce := brightline.ErrorResponse(approval.ClientError(err))
		msg := ce.Message
		if status >= 500 {
			e.c.log.ErrorContext(r.Context(), "console: exposure", "err", err)
		}
		v.Error = msg
		e.c.render(w, r, status, "exposure.html", v)
		return
	}
	for _, row := range rows {
		var fs []string
		for _, name := range exposure.AllFeatures {
			if n := row.Features[name]; n > 0 {
				fs = append(fs, fmt.Sprintf("%s %d", name, n))
			}
		}
		v.Rows = append(v.Rows, exposureRow{Row: row, Features: strings.Join(fs, ", ")})
	}
	what := "All traffic"
	if f.Vendor != "" {
		what = "Traffic served by " + f.Vendor
	}
	sum := exposure.Summarize(rows)
	v.Summary = fmt.Sprintf("%s: %d principals, %d requests; %d of %d principals have an alternative route for all of it.",
		what, sum.Principals, sum.Requests, sum.Movable, sum.Principals)
	e.c.render(w, r, http.StatusOK, "exposure.html", v)
}

// vendors lists the vendors of the configured targets, sorted, for the
// filter form.
func (e *exposurePage) vendors() []string {
	var out []string
	for _, rt := range e.routes {
		for _, t := range rt.Targets {
			model := t.Model
			if model == "" {
				model = rt.Model
			}
			if v := vendor.Of(t.ProviderType, t.BaseURL, model); !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

func serveExposureCSS(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/exposure.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(b)
}
