package fakeupstream

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Vertex is a fake Vertex AI serving Anthropic's models:
//
//	POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
//	POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:streamRawPredict
//	POST /token  (an OAuth 2.0 token endpoint for service-account JWT grants)
//
// It checks what Vertex checks: a bearer access token it issued or
// AccessToken (else 401 UNAUTHENTICATED in Google's error shape, with
// WWW-Authenticate), the project (else 403 PERMISSION_DENIED), and a
// Messages body with "anthropic_version": "vertex-2023-10-16" and no
// "model" (else Anthropic's 400 invalid_request_error). streamRawPredict
// wants "stream": true and answers with Anthropic's event stream;
// rawPredict answers with a Message.
//
// The token endpoint verifies the RS256 JWT assertion against the key of
// [Vertex.ServiceAccountJSON] (issuer, audience, expiry and signature)
// before it issues a token, as Google's does.
//
// Answers and failures come from the embedded Server (Tool, Refuse, Fail).
// A Failure's 429 is Vertex's RESOURCE_EXHAUSTED quota error; other
// statuses get Anthropic's error body, as the model's own errors do.
type Vertex struct {
	Server
	Project     string // default fake-project
	AccessToken string // a token always accepted; default ya29.fake-static-token

	mu     sync.Mutex
	key    *rsa.PrivateKey
	email  string
	issued map[string]bool
}

func (v *Vertex) project() string { return cmpOr(v.Project, "fake-project") }

// ServiceAccountJSON returns a service account key file whose token_uri is
// tokenURL (the fake's /token), for google.CredentialsFromJSON and
// application default credentials.
func (v *Vertex) ServiceAccountJSON(tokenURL string) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		v.key = k
		v.email = "brightline@" + v.project() + ".iam.gserviceaccount.com"
	}
	der, _ := x509.MarshalPKCS8PrivateKey(v.key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": v.project(), "private_key_id": "fakekey1",
		"private_key": string(pemKey), "client_email": v.email, "client_id": "1234567890",
		"token_uri": tokenURL, "auth_uri": "https://accounts.google.com/o/oauth2/auth",
	})
	return b
}

func googleError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if code == 401 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%s,"status":%q}}`, code, q(msg), status)
}

// ServeHTTP implements http.Handler.
func (v *Vertex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		v.token(w, r)
		return
	}
	path, method, _ := strings.Cut(r.URL.Path, ":")
	parts := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")
	if r.Method != http.MethodPost || len(parts) != 8 || parts[0] != "projects" || parts[2] != "locations" ||
		parts[4] != "publishers" || parts[5] != "anthropic" || parts[6] != "models" ||
		(method != "rawPredict" && method != "streamRawPredict") {
		googleError(w, 404, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	n := int(v.n.Add(1))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if v.Record {
		v.Server.mu.Lock()
		v.requests = append(v.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		v.Server.mu.Unlock()
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !v.valid(tok) {
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
		return
	}
	if parts[1] != v.project() {
		googleError(w, 403, "PERMISSION_DENIED", fmt.Sprintf("Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/%s/locations/%s/publishers/anthropic/models/%s' (or it may not exist).", parts[1], parts[3], parts[7]))
		return
	}
	if msg := v.checkReceipt(r, body); msg != "" {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", msg)
		return
	}
	var f Failure
	if v.Fail != nil {
		if ff := v.Fail(n); ff != nil {
			f = *ff
		}
	}
	if f.Status == 429 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		googleError(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude. Please submit a quota increase request.")
		return
	}
	if f.Status == 0 {
		var top map[string]json.RawMessage
		switch {
		case json.Unmarshal(body, &top) != nil:
			f = Failure{Status: 400, ErrorType: "invalid_request_error"}
		case top["model"] != nil:
			f = Failure{Status: 400, ErrorType: "invalid_request_error"}
		case string(top["anthropic_version"]) != `"vertex-2023-10-16"`:
			f = Failure{Status: 400, ErrorType: "invalid_request_error"}
		case (method == "streamRawPredict") != (string(top["stream"]) == "true"):
			f = Failure{Status: 400, ErrorType: "invalid_request_error"}
		}
		if f.Status != 0 {
			writeError(w, true, f)
			return
		}
	}
	if d := f.Delay + v.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			v.cancelled.Add(1)
			return
		}
	}
	if f.Status != 0 {
		writeError(w, true, f)
		return
	}
	var req wireRequest
	json.Unmarshal(body, &req)
	req.Model = parts[7]
	a := v.answer(&req, true)
	if method == "rawPredict" {
		w.Header().Set("Content-Type", "application/json")
		w.Write(a.anthropicJSON())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, fr := range a.anthropicSSE() {
		if (f.BreakAfter > 0 || f.ErrorEvent) && i == f.BreakAfter {
			if f.ErrorEvent {
				io.WriteString(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
				rc.Flush()
				return
			}
			rc.Flush()
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			} else {
				panic(http.ErrAbortHandler)
			}
			return
		}
		if v.EventDelay > 0 && i > 0 {
			select {
			case <-time.After(v.EventDelay):
			case <-r.Context().Done():
				v.cancelled.Add(1)
				return
			}
		}
		if _, err := io.WriteString(w, fr); err != nil {
			v.cancelled.Add(1)
			return
		}
		if err := rc.Flush(); err != nil {
			v.cancelled.Add(1)
			return
		}
	}
}

func (v *Vertex) valid(tok string) bool {
	if tok == cmpOr(v.AccessToken, "ya29.fake-static-token") {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.issued[tok]
}

// token serves the OAuth token endpoint for the JWT bearer grant.
func (v *Vertex) token(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%s}`, q(msg))
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("Invalid grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("Invalid JWT")
		return
	}
	v.mu.Lock()
	key, email := v.key, v.email
	v.mu.Unlock()
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if key == nil || err != nil {
		fail("Invalid JWT Signature.")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &hdr) != nil || hdr.Alg != "RS256" || json.Unmarshal(c, &claims) != nil {
		fail("Invalid JWT")
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	switch {
	case claims.Iss != email:
		fail("Invalid issuer")
	case claims.Aud != scheme+"://"+r.Host+r.URL.Path:
		fail("Invalid audience")
	case claims.Exp < time.Now().Unix():
		fail("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform"):
		fail("Invalid scope")
	default:
		v.mu.Lock()
		if v.issued == nil {
			v.issued = map[string]bool{}
		}
		tok := fmt.Sprintf("ya29.fake-issued-%d", len(v.issued)+1)
		v.issued[tok] = true
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
	}
}
