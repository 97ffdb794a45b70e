package exposure

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/brightline/brightline"
)

// CanView reports whether p may see the exposure inventory: it names
// every principal and what they use, so only admins and auditors may.
func CanView(p brightline.Principal) bool {
	return p.HasRole("admin") || p.HasRole("auditor")
}

// Response is the body of GET /brightline/v1/exposure.
type Response struct {
	Vendor    string    `json:"vendor,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Principal string    `json:"principal,omitempty"`
	Rows      []Row     `json:"rows"`
}

// Handler serves GET /brightline/v1/exposure?vendor=&since=&principal=:
// the [Report] as JSON, to principals with the admin or auditor role.
// since is a duration back from now ("30d", "12h") or a date or RFC 3339
// time. auth authenticates the request. Errors are
// {"error":{"type","message"}}; log receives the detail of those answered
// with 500 or more (nil discards).
func Handler(st Reader, routes []RouteInfo, auth func(*http.Request) (brightline.Principal, error), log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, log, &brightline.MethodNotAllowedError{Allow: "GET"})
			return
		}
		p, err := auth(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if !CanView(p) {
			writeError(w, r, log, brightline.Errorf(brightline.CodePermissionDenied, "the exposure inventory needs the admin or auditor role"))
			return
		}
		q := r.URL.Query()
		f := Filter{Vendor: q.Get("vendor"), Principal: q.Get("principal")}
		if s := q.Get("since"); s != "" {
			if f.Since, err = ParseSince(s, time.Now()); err != nil {
				writeError(w, r, log, brightline.Errorf(brightline.CodeInvalidRequest, "%v", err))
				return
			}
		}
		rows, err := Report(r.Context(), st, routes, f)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, Response{Vendor: f.Vendor, Since: f.Since, Principal: f.Principal, Rows: rows})
	})
}

// ParseSince reads a window's start: a duration back from now in days
// ("30d") or Go syntax ("12h", "90m"), a date ("2026-01-31", UTC) or an
// RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q is not a duration (30d, 12h), a date (2026-01-31) or an RFC 3339 time", s)
}

// writeError answers err as {"error":{"type","message"}}, with the status
// [brightline.ErrorResponse] gives it, and logs the detail of a 5xx.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, e := brightline.ErrorResponse(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "exposure", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Type, body.Error.Message = string(e.Code), e.Message
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"type":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
