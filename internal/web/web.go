// Package web serves the operator console under /ui/: server-rendered
// pages with embedded CSS and no JavaScript: /ui/approvals, where people
// on duty approve or deny held tool calls, and /ui/exposure, the traffic
// inventory by vendor (exposure.go).
//
// # Sign-in and CSRF
//
// Browsers cannot attach a bearer header to a plain form, so /ui/login
// takes an API key, checks it with the same authenticator as the API, and
// keeps it in an HttpOnly, SameSite=Strict cookie scoped to /ui/. Every
// request re-authenticates the key, so revoking it signs the browser out.
//
// State-changing requests are POSTs that carry a CSRF token: an HMAC of a
// fixed label under the session's key. Only a page served to that session
// knows it, it survives restarts and works on every replica, and it needs
// no server-side state. Cross-origin POSTs are also refused outright
// ([http.CrossOriginProtection]), and pages forbid framing and scripts.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/approval"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).ParseFS(assets, "assets/*.html"))

// cookieName holds the signed-in API key.
const cookieName = "brightline_session"

// csrfLabel is what the CSRF token is an HMAC of.
const csrfLabel = "brightline console csrf v1"

// Handler serves the operator console. auth authenticates a request by its
// Authorization header, as for the API; the console sets that header from
// its session cookie. Server errors are logged to log (nil: discarded).
// Mount it at /ui/.
func Handler(svc *approval.Service, auth func(*http.Request) (brightline.Principal, error), log *slog.Logger) http.Handler {
	c := newConsole(svc, auth, log)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/approvals", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /ui/style.css", c.serveCSS)
	mux.HandleFunc("GET /ui/login", c.serveLoginForm)
	mux.HandleFunc("POST /ui/login", c.serveLogin)
	mux.HandleFunc("POST /ui/logout", c.session(c.serveLogout))
	mux.HandleFunc("GET /ui/approvals", c.session(c.serveApprovals))
	mux.HandleFunc("POST /ui/approvals/{id}/approve", c.session(c.serveDecide))
	mux.HandleFunc("POST /ui/approvals/{id}/deny", c.session(c.serveDecide))
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

type console struct {
	svc  *approval.Service
	auth func(*http.Request) (brightline.Principal, error)
	log  *slog.Logger
}

func newConsole(svc *approval.Service, auth func(*http.Request) (brightline.Principal, error), log *slog.Logger) *console {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &console{svc: svc, auth: auth, log: log}
}

// session is a signed-in request.
type session struct {
	p    brightline.Principal
	csrf string
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func csrfToken(key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authenticate checks key with the API's authenticator.
func (c *console) authenticate(r *http.Request, key string) (brightline.Principal, error) {
	r2 := r.Clone(r.Context())
	r2.Header = r.Header.Clone()
	r2.Header.Del("X-Api-Key")
	r2.Header.Set("Authorization", "Bearer "+key)
	return c.auth(r2)
}

// session wraps a handler that needs a signed-in principal. A GET without
// a valid session goes to the login page; a POST is refused. POSTs must
// carry the session's CSRF token.
func (c *console) session(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(cookieName)
		if err != nil || ck.Value == "" {
			c.needLogin(w, r, "")
			return
		}
		p, err := c.authenticate(r, ck.Value)
		if err != nil {
			status, ce := brightline.ErrorResponse(approval.ClientError(err))
			msg := ce.Message
			if status == http.StatusUnauthorized {
				clearCookie(w, r)
				c.needLogin(w, r, "Your API key is no longer valid; sign in again.")
				return
			}
			c.renderError(w, r, err, msg)
			return
		}
		s := session{p: p, csrf: csrfToken(ck.Value)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) {
				c.renderError(w, r, brightline.Errorf(brightline.CodePermissionDenied, "missing or wrong form token"),
					"The form was stale or did not come from this console. Reload the page and try again.")
				return
			}
		}
		h(w, r, s)
	}
}

func (c *console) needLogin(w http.ResponseWriter, r *http.Request, msg string) {
	if r.Method == http.MethodGet {
		u := "/ui/login?next=" + url.QueryEscape(r.URL.RequestURI())
		if msg != "" {
			u += "&expired=1"
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusUnauthorized, "login.html", loginPage{Error: "Sign in first.", Next: "/ui/approvals"})
}

type loginPage struct {
	Error string
	Next  string
}

// safeNext keeps redirects after login on this console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/approvals"
	}
	return next
}

func (c *console) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	pg := loginPage{Next: safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("expired") != "" {
		pg.Error = "Your API key is no longer valid; sign in again."
	}
	c.render(w, r, http.StatusOK, "login.html", pg)
}

func (c *console) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	key := strings.TrimSpace(r.PostFormValue("key"))
	next := safeNext(r.PostFormValue("next"))
	if key == "" {
		c.render(w, r, http.StatusBadRequest, "login.html", loginPage{Error: "Enter an API key.", Next: next})
		return
	}
	if _, err := c.authenticate(r, key); err != nil {
		status, ce := brightline.ErrorResponse(approval.ClientError(err))
		msg := ce.Message
		if status >= 500 {
			c.log.ErrorContext(r.Context(), "console login", "err", err)
		}
		c.render(w, r, status, "login.html", loginPage{Error: msg, Next: next})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: key, Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

func (c *console) serveLogout(w http.ResponseWriter, r *http.Request, _ session) {
	clearCookie(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

func (c *console) serveCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("assets/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(b)
}

// item is one approval on the page.
type item struct {
	A         approval.Approval
	Args      string // indented JSON
	TimeLeft  string
	Approvals int
	CanDecide bool
	Why       string // why the user cannot decide, if not
	Voted     bool   // the user already approved
	// Count is how many pending approvals hold this same call (same tool,
	// argument digest and upstream), this one included; Same are the
	// others, oldest first. Only the first of a group is a row.
	Count int
	Same  []item
}

// PageSize is how many rows (groups of identical calls) the approvals
// page shows at once.
const PageSize = 50

type approvalsPage struct {
	User    brightline.Principal
	CSRF    string
	Items   []item
	Notice  string
	Error   string
	Checked time.Time
	// Page is the page shown, from 1, of Pages; Held is how many pending
	// approvals the user may see, in Rows groups of identical calls.
	Page, Pages, Held, Rows int
	Prev, Next              int // page numbers, 0 when there is none
}

func (c *console) serveApprovals(w http.ResponseWriter, r *http.Request, s session) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg, err := c.approvalsPage(r.Context(), s, page)
	if err != nil {
		c.renderError(w, r, err, "")
		return
	}
	q := r.URL.Query()
	if id := q.Get("id"); id != "" {
		switch q.Get("done") {
		case "approved":
			pg.Notice = fmt.Sprintf("Approved %s: the call may now run once.", id)
		case "vote":
			pg.Notice = fmt.Sprintf("Your approval of %s is recorded; it needs more approvers.", id)
		case "denied":
			pg.Notice = fmt.Sprintf("Denied %s.", id)
		}
	}
	c.render(w, r, http.StatusOK, "approvals.html", pg)
}

// approvalsPage lists the pending approvals s may see, identical calls
// (same tool, argument digest and upstream) grouped into one row, PageSize
// rows to a page; page counts from 1 and is clamped to the pages there are.
func (c *console) approvalsPage(ctx context.Context, s session, page int) (approvalsPage, error) {
	list, err := c.svc.List(ctx, approval.StatusPending)
	if err != nil {
		return approvalsPage{}, err
	}
	now := c.svc.Now()
	pg := approvalsPage{User: s.p, CSRF: s.csrf, Items: []item{}, Checked: now}
	type callKey struct{ tool, digest, upstream string }
	var rows []item
	row := map[callKey]int{} // index in rows
	for _, a := range list {
		if !approval.CanView(s.p, a) {
			continue
		}
		it := item{A: a, TimeLeft: approval.TimeLeft(a.ExpiresAt, now)}
		var buf bytes.Buffer
		if json.Indent(&buf, a.Arguments, "", "  ") == nil {
			it.Args = buf.String()
		} else {
			it.Args = string(a.Arguments)
		}
		for _, v := range a.Votes {
			if v.Approve {
				it.Approvals++
				if v.By.ID == s.p.ID {
					it.Voted = true
				}
			}
		}
		if err := approval.CanDecide(s.p, a); err != nil {
			if a.Principal.ID == s.p.ID {
				it.Why = "You requested this call; someone else must decide it."
			} else {
				it.Why = fmt.Sprintf("Deciding needs the %s role.", a.Require.Role)
			}
		} else {
			it.CanDecide = true
		}
		pg.Held++
		k := callKey{a.Tool, a.ArgsDigest, a.Upstream}
		if i, ok := row[k]; ok {
			rows[i].Count++
			rows[i].Same = append(rows[i].Same, it)
			continue
		}
		it.Count = 1
		row[k] = len(rows)
		rows = append(rows, it)
	}
	pg.Rows = len(rows)
	pg.Pages = max(1, (len(rows)+PageSize-1)/PageSize)
	pg.Page = min(max(page, 1), pg.Pages)
	start := (pg.Page - 1) * PageSize
	pg.Items = append(pg.Items, rows[start:min(start+PageSize, len(rows))]...)
	if pg.Page > 1 {
		pg.Prev = pg.Page - 1
	}
	if pg.Page < pg.Pages {
		pg.Next = pg.Page + 1
	}
	return pg, nil
}

func (c *console) serveDecide(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	var (
		a   approval.Approval
		err error
	)
	if strings.HasSuffix(r.URL.Path, "/deny") {
		a, err = c.svc.Deny(r.Context(), id, s.p, r.PostFormValue("reason"))
	} else {
		a, err = c.svc.Approve(r.Context(), id, s.p)
	}
	if err != nil {
		c.renderError(w, r, err, "")
		return
	}
	done := "vote"
	switch a.Status {
	case approval.StatusApproved:
		done = "approved"
	case approval.StatusDenied:
		done = "denied"
	}
	http.Redirect(w, r, "/ui/approvals?done="+done+"&id="+url.QueryEscape(a.ID), http.StatusSeeOther)
}

// renderError shows the approvals page (or a bare error page, if the user
// is unknown) with err explained, under err's HTTP status.
func (c *console) renderError(w http.ResponseWriter, r *http.Request, err error, msg string) {
	status, ce := brightline.ErrorResponse(approval.ClientError(err))
	m := ce.Message
	if msg == "" {
		msg = m
	}
	if status >= 500 {
		c.log.ErrorContext(r.Context(), "console", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	pg := approvalsPage{Error: msg, Items: []item{}}
	if ck, cerr := r.Cookie(cookieName); cerr == nil {
		if p, aerr := c.authenticate(r, ck.Value); aerr == nil {
			s := session{p: p, csrf: csrfToken(ck.Value)}
			if full, lerr := c.approvalsPage(r.Context(), s, 1); lerr == nil {
				full.Error = msg
				pg = full
			} else {
				pg.User, pg.CSRF = p, s.csrf
			}
		}
	}
	c.render(w, r, status, "approvals.html", pg)
}

func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
