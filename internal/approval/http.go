package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/brightline/brightline"
)

// View is the JSON form of an approval in the HTTP API.
type View struct {
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
	Status    Status `json:"status"`
	// Upstream is where the call may run, and nowhere else.
	Upstream string `json:"upstream"`
	// Delegates are the persons besides the requester who may run it.
	Delegates     []string        `json:"delegates,omitempty"`
	Tool          string          `json:"tool"`
	Class         string          `json:"class"`
	Arguments     json.RawMessage `json:"arguments"`
	ArgsDigest    string          `json:"args_digest"`
	Requester     PrincipalView   `json:"requester"`
	PolicyVersion int64           `json:"policy_version"`
	Rule          string          `json:"rule"`
	Require       RequireView     `json:"require"`
	Votes         []VoteView      `json:"votes"`
	Excerpt       string          `json:"excerpt,omitempty"`
	// ExcerptAuthor is ExcerptAuthor ("written by the requester") when
	// there is an excerpt: Brightline did not check what it says.
	ExcerptAuthor string     `json:"excerpt_author,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	ConsumedAt    *time.Time `json:"consumed_at,omitempty"`
	StatusURL     string     `json:"status_url"`
	// Call and Token are present once the call is approved and until it
	// expires or is used: the approved call, and the token that lets it
	// run once. Only the requester receives the token.
	Call  *CallView `json:"call,omitempty"`
	Token string    `json:"token,omitempty"`
}

// PrincipalView is a principal as the API shows it (no roles).
type PrincipalView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Person  string `json:"person"` // see brightline.Principal.Who
	Org     string `json:"org,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// RequireView is the JSON form of a [Requirement].
type RequireView struct {
	Role  string `json:"role"`
	Count int    `json:"count"`
}

// VoteView is the JSON form of a [Vote].
type VoteView struct {
	By      PrincipalView `json:"by"`
	At      time.Time     `json:"at"`
	Approve bool          `json:"approve"`
	Reason  string        `json:"reason,omitempty"`
}

// CallView is an approved tool call.
type CallView struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ListView is the body of GET /brightline/v1/approvals.
type ListView struct {
	Approvals []View `json:"approvals"`
}

func principalView(p brightline.Principal) PrincipalView {
	return PrincipalView{ID: p.ID, Name: p.Name, Person: p.Who(), Org: p.Org, Purpose: p.Purpose}
}

// view returns the API form of a, without call or token.
func (s *Service) view(a Approval) View {
	v := View{
		ID: a.ID, RequestID: a.RequestID, Status: a.Status, Upstream: a.Upstream, Delegates: a.Delegates,
		Tool: a.Tool, Class: a.Class,
		Arguments: a.Arguments, ArgsDigest: a.ArgsDigest, Requester: principalView(a.Principal),
		PolicyVersion: a.PolicyVersion, Rule: a.Rule, Require: RequireView(a.Require),
		Votes: []VoteView{}, Excerpt: a.Excerpt, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
		DecidedAt: a.DecidedAt, ConsumedAt: a.ConsumedAt, StatusURL: s.StatusURL(a.ID),
	}
	if a.Excerpt != "" {
		v.ExcerptAuthor = ExcerptAuthor
	}
	for _, vote := range a.Votes {
		v.Votes = append(v.Votes, VoteView{By: principalView(vote.By), At: vote.At, Approve: vote.Approve, Reason: vote.Reason})
	}
	return v
}

// Handler serves the approval API. auth authenticates a request (it
// returns a *brightline.Error for a missing or unknown key). Mount it at
// both /brightline/v1/approvals and /brightline/v1/approvals/:
//
//	GET  /brightline/v1/approvals?status=pending  approvals the caller may see (default status: pending; "all" for every one)
//	GET  /brightline/v1/approvals/{id}            one approval; once approved, with the call (and, for the requester, the token)
//	POST /brightline/v1/approvals/{id}/approve    the caller approves (no body)
//	POST /brightline/v1/approvals/{id}/deny       the caller denies: {"reason": "..."}
//
// The deciding principal is always the authenticated caller; nothing in
// a body names it. Errors are {"error": {"type": ..., "message": ...}}.
func (s *Service) Handler(auth func(*http.Request) (brightline.Principal, error)) http.Handler {
	mux := http.NewServeMux()
	h := func(f func(w http.ResponseWriter, r *http.Request, p brightline.Principal) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p, err := auth(r)
			if err == nil {
				err = f(w, r, p)
			}
			if err != nil {
				s.writeError(w, r, err)
			}
		}
	}
	mux.HandleFunc("GET /brightline/v1/approvals", h(s.serveList))
	mux.HandleFunc("GET /brightline/v1/approvals/{id}", h(s.serveGet))
	mux.HandleFunc("POST /brightline/v1/approvals/{id}/approve", h(s.serveApprove))
	mux.HandleFunc("POST /brightline/v1/approvals/{id}/deny", h(s.serveDeny))
	for path, allow := range map[string]string{
		"/brightline/v1/approvals":              "GET",
		"/brightline/v1/approvals/{id}":         "GET",
		"/brightline/v1/approvals/{id}/approve": "POST",
		"/brightline/v1/approvals/{id}/deny":    "POST",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, &brightline.MethodNotAllowedError{Allow: allow})
		})
	}
	mux.HandleFunc("/brightline/v1/approvals/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, brightline.Errorf(brightline.CodeNotFound, "no such approvals endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request, p brightline.Principal) error {
	status := Status(r.URL.Query().Get("status"))
	switch {
	case status == "":
		status = StatusPending
	case status == "all":
		status = ""
	case !status.Valid():
		return brightline.Errorf(brightline.CodeInvalidRequest, "unknown status %q: want pending, approved, denied, expired, consumed or all", status)
	}
	all, err := s.List(r.Context(), status)
	if err != nil {
		return err
	}
	out := ListView{Approvals: []View{}}
	for _, a := range all {
		if CanView(p, a) {
			out.Approvals = append(out.Approvals, s.view(a))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ViewFor returns approval id as p may see it: when it is approved and
// usable, with the approved call, and, for the requester's person and the
// delegates only, the token that lets the call run (only they can use it;
// approvers do not receive it). It returns an error wrapping ErrForbidden if p is
// neither the requester nor a possible approver.
func (s *Service) ViewFor(ctx context.Context, p brightline.Principal, id string) (View, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return View{}, err
	}
	if !CanView(p, a) {
		return View{}, fmt.Errorf("%w: %q may not see approval %q", ErrForbidden, p.ID, id)
	}
	v := s.view(a)
	if a.Status == StatusApproved {
		tok, err := s.Token(ctx, id)
		switch {
		case err == nil:
			v.Call = &CallView{Name: a.Tool, Arguments: a.Arguments}
			if MayPresent(p, a) {
				v.Token = tok
			}
		case !errors.Is(err, ErrExpired) && !errors.Is(err, ErrConsumed):
			return View{}, err
		}
	}
	return v, nil
}

func (s *Service) serveGet(w http.ResponseWriter, r *http.Request, p brightline.Principal) error {
	v, err := s.ViewFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) serveApprove(w http.ResponseWriter, r *http.Request, p brightline.Principal) error {
	a, err := s.Approve(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(a))
	return nil
}

func (s *Service) serveDeny(w http.ResponseWriter, r *http.Request, p brightline.Principal) error {
	var body struct {
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&body); err != nil {
		return &brightline.Error{Code: brightline.CodeInvalidRequest, Err: err,
			Message: `couldn't read the body: want {"reason": "why the call is denied"}`}
	}
	a, err := s.Deny(r.Context(), r.PathValue("id"), p, body.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(a))
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // bodies may hold tokens
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ClientError gives the errors of this package whose client message is
// not their text the *brightline.Error the approval API and console answer
// with: an unknown approval, and a change the audit log could not record
// (whose detail stays in the operator's log). Other errors are returned as
// they are; [brightline.ErrorResponse] maps the result to its status.
func ClientError(err error) error {
	if _, ok := errors.AsType[*brightline.Error](err); ok {
		return err
	}
	switch {
	case errors.Is(err, brightline.ErrNotFound):
		return &brightline.Error{Code: brightline.CodeNotFound, Message: "no such approval", Err: err}
	case errors.Is(err, ErrNotRecorded):
		return &brightline.Error{Code: brightline.CodeUnavailable, Err: err,
			Message: "the audit log could not record the change, so it was not made; try again"}
	}
	return err
}

func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := brightline.ErrorResponse(ClientError(err))
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "approvals", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
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
