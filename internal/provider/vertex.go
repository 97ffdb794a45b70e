package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// KindVertex is Anthropic models on Google Cloud Vertex AI. See [Vertex].
const KindVertex = "vertex"

// VertexConfig configures a [Vertex] provider. Zero fields take the
// defaults in their comments.
type VertexConfig struct {
	Name    string // the configured name; required
	Project string // the Google Cloud project id; required
	// Region is the Vertex AI location, e.g. us-east5, europe-west1 or
	// global; required.
	Region string
	// BaseURL overrides https://{region}-aiplatform.googleapis.com
	// (https://aiplatform.googleapis.com for global), e.g. for Private
	// Service Connect or tests. The /v1/projects/... path is appended.
	BaseURL string
	// CredentialsFile is a Google credentials JSON file: a service account
	// key, or authorized_user or external_account (workload identity
	// federation) credentials. Empty means application default
	// credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud's file, or the
	// metadata server.
	CredentialsFile string
	// TokenSource, if set, supplies the access tokens instead (tests).
	TokenSource oauth2.TokenSource
	Headers     map[string]string // extra static headers
	// Timeout and StreamIdleTimeout are as in [HTTPConfig].
	Timeout           time.Duration
	StreamIdleTimeout time.Duration
	Client            *http.Client // nil: the shared client
}

// Vertex is a provider for Anthropic's models on Vertex AI: POST
// .../publishers/anthropic/models/{model}:rawPredict, and
// :streamRawPredict for streams, with a Google OAuth access token
// (cloud-platform scope). The body is the Anthropic Messages body (the
// client's own bytes when it spoke Anthropic) without "model" and with
// "anthropic_version": "vertex-2023-10-16"; answers and streams are
// Anthropic's, and the client's anthropic-beta header is forwarded.
//
// It is safe for concurrent use.
type Vertex struct {
	name   string
	base   string // up to and including .../publishers/anthropic/models/
	tokens oauth2.TokenSource
	header http.Header
	x      exchange
}

var _ Provider = (*Vertex)(nil)

// cloudPlatformScope is the OAuth scope Vertex AI needs.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// NewVertex returns a Vertex provider for cfg. It reads the credentials
// file, or finds the application default credentials, now; tokens are
// fetched on first use and refreshed before they expire.
func NewVertex(ctx context.Context, cfg VertexConfig) (*Vertex, error) {
	if cfg.Name == "" {
		return nil, errors.New("couldn't configure provider: name is empty")
	}
	if cfg.Project == "" || cfg.Region == "" {
		return nil, fmt.Errorf("couldn't configure provider %s: project and region are required", cfg.Name)
	}
	v := &Vertex{name: cfg.Name, tokens: cfg.TokenSource, header: make(http.Header)}
	host := "https://" + cfg.Region + "-aiplatform.googleapis.com"
	if cfg.Region == "global" {
		host = "https://aiplatform.googleapis.com"
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("couldn't configure provider %s: base URL must be an absolute http(s) URL", cfg.Name)
		}
		host = strings.TrimRight(cfg.BaseURL, "/")
	}
	v.base = host + "/v1/projects/" + url.PathEscape(cfg.Project) + "/locations/" + url.PathEscape(cfg.Region) + "/publishers/anthropic/models/"
	if v.tokens == nil {
		// The token source outlives ctx: it refreshes tokens for as long
		// as the provider is used.
		bg := context.WithoutCancel(ctx)
		var creds *google.Credentials
		var err error
		if cfg.CredentialsFile != "" {
			creds, err = credentialsFromFile(bg, cfg.CredentialsFile)
		} else {
			creds, err = google.FindDefaultCredentials(bg, cloudPlatformScope)
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't configure provider %s: couldn't load Google credentials: %w", cfg.Name, err)
		}
		v.tokens = creds.TokenSource
	}
	v.tokens = oauth2.ReuseTokenSource(nil, v.tokens)
	v.header.Set("Content-Type", "application/json")
	v.header.Set("User-Agent", "brightline")
	for k, val := range cfg.Headers {
		v.header.Set(k, val)
	}
	v.x = newExchange(cfg.Name, cfg.Timeout, cfg.StreamIdleTimeout, cfg.Client)
	return v, nil
}

// credentialsFromFile reads a Google credentials file of a type the
// operator can name in the config; its "type" field says which.
func credentialsFromFile(ctx context.Context, path string) (*google.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s is not a Google credentials JSON file: %w", path, err)
	}
	switch t := google.CredentialsType(f.Type); t {
	case google.ServiceAccount, google.AuthorizedUser, google.ExternalAccount, google.ImpersonatedServiceAccount:
		return google.CredentialsFromJSONWithType(ctx, data, t, cloudPlatformScope)
	default:
		return nil, fmt.Errorf("%s: credentials of type %q are not supported", path, f.Type)
	}
}

// Name returns the configured name.
func (v *Vertex) Name() string { return v.name }

// Dialect returns the Anthropic dialect.
func (v *Vertex) Dialect() brightline.Dialect { return brightline.DialectAnthropic }

// vertexAnthropicVersion is the anthropic_version Vertex requires.
const vertexAnthropicVersion = "vertex-2023-10-16"

// Complete sends a non-streamed request to :rawPredict.
func (v *Vertex) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	body, err := v.body(call.Request, false)
	if err != nil {
		return nil, err
	}
	return v.x.complete(ctx, v.build(call, "rawPredict", body, false), v.statusError, decodeAnthropic)
}

// Stream sends a streamed request to :streamRawPredict; the answer is an
// Anthropic event stream.
func (v *Vertex) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	body, err := v.body(call.Request, true)
	if err != nil {
		return nil, err
	}
	return v.x.stream(ctx, v.build(call, "streamRawPredict", body, true), v.statusError,
		func(r io.Reader, _ http.Header) eventReader { return anthropic.NewStreamReader(r) })
}

func (v *Vertex) body(req *llm.Request, stream bool) ([]byte, error) {
	b, err := anthropicCloudBody(req, vertexAnthropicVersion, stream, true)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode the request for provider %s: %w", v.name, err)
	}
	return b, nil
}

func (v *Vertex) build(call *Call, method string, body []byte, stream bool) newRequest {
	return func(ctx context.Context) (*http.Request, error) {
		tok, err := v.tokens.Token()
		if err != nil {
			return nil, fmt.Errorf("couldn't get a Google access token for provider %s: %w", v.name, err)
		}
		req, err := newPost(ctx, v.base+url.PathEscape(call.Request.Model)+":"+method, body, v.header, 3)
		if err != nil {
			return nil, err
		}
		hdr := req.Header
		if stream {
			hdr.Set("Accept", "text/event-stream")
		}
		if call.Request.Dialect == brightline.DialectAnthropic && call.Header != nil {
			if b := call.Header.Values("Anthropic-Beta"); len(b) > 0 {
				hdr["Anthropic-Beta"] = b
			}
		}
		hdr.Set("Authorization", "Bearer "+tok.AccessToken)
		if err := receipt(ctx, v.name, call.Request.Model, body, hdr); err != nil {
			return nil, err
		}
		return req, nil
	}
}

// statusError decodes a Vertex error answer: Google's shape
// ({"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}) for
// what Vertex itself refuses, Anthropic's for what the model refuses.
func (v *Vertex) statusError(resp *http.Response) error {
	data, _ := readCapped(resp.Body, resp.ContentLength, maxErrorBody)
	return errorWith(resp, decodeVertexError(resp.StatusCode, data))
}

func decodeVertexError(status int, body []byte) *llm.WireError {
	// A list of one error object is seen too.
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(trimmed, &list) == nil && len(list) > 0 {
			trimmed = list[0]
		}
	}
	var g struct {
		Error *struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(trimmed, &g) == nil && g.Error != nil && g.Error.Status != "" {
		return &llm.WireError{Type: g.Error.Status, Message: g.Error.Message}
	}
	return anthropic.DecodeError(status, body)
}
