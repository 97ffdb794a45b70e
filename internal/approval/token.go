package approval

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/brightline/brightline"
)

// Digest returns the hex SHA-256 of the RFC 8785 canonical JSON of
// {"name": name, "arguments": args}. args must be a JSON object. Two calls
// have the same digest exactly when they name the same tool with the same
// arguments, whatever the key order, spacing or number spelling.
func Digest(name string, args json.RawMessage) (string, error) {
	args = bytes.TrimSpace(args)
	if len(args) == 0 || args[0] != '{' {
		return "", fmt.Errorf("couldn't digest call to %q: arguments are not a JSON object", name)
	}
	call, err := json.Marshal(struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}{name, args})
	if err != nil {
		return "", fmt.Errorf("couldn't digest call to %q: arguments are not valid JSON: %w", name, err)
	}
	canon, err := jcs.Transform(call)
	if err != nil {
		return "", fmt.Errorf("couldn't digest call to %q: couldn't canonicalise arguments: %w", name, err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// TokenClaims is what an approval token asserts. The token is
// base64url(JSON of the claims) "." base64url(Ed25519 signature over
// tokenContext followed by the JSON), both without padding.
//
// A token is not a bearer capability: [Service.Consume] runs it only for
// a presenter who is the requester's person or one of the delegates, only
// at the bound upstream, and only while the requester's key is active.
type TokenClaims struct {
	Version         int       `json:"v"`                   // 2 (version 1 bound no upstream and is refused)
	ApprovalID      string    `json:"id"`                  // the approval
	Upstream        string    `json:"upstream"`            // where the call may run; see MCPUpstream
	Tool            string    `json:"tool"`                // the approved tool
	ArgsDigest      string    `json:"digest"`              // see Digest
	Requester       string    `json:"requester"`           // the requesting principal's id (its key)
	RequesterPerson string    `json:"requester_person"`    // the requester's person, who may run the call
	Delegates       []string  `json:"delegates,omitempty"` // other persons who may run it
	Approvers       []string  `json:"approvers"`           // ids of the principals who approved
	ExpiresAt       time.Time `json:"expires_at"`          // after this the call may not run
}

// tokenVersion is the version of the claims this package issues.
const tokenVersion = 2

// tokenContext separates approval-token signatures from anything else the
// key might sign.
const tokenContext = "brightline approval token v2\n"

func signToken(key ed25519.PrivateKey, c TokenClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("couldn't encode token: %w", err)
	}
	sig := ed25519.Sign(key, append([]byte(tokenContext), payload...))
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(sig), nil
}

// VerifyToken checks token's signature against pub and returns its claims.
// It does not check expiry or use: [Service.Consume] does, in the store.
// Every failure wraps ErrInvalidToken.
func VerifyToken(pub ed25519.PublicKey, token string) (TokenClaims, error) {
	var c TokenClaims
	p, s, ok := strings.Cut(token, ".")
	if !ok || len(token) > 8192 {
		return c, fmt.Errorf("%w: not two base64url parts", ErrInvalidToken)
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(p)
	if err != nil {
		return c, fmt.Errorf("%w: payload: %v", ErrInvalidToken, err)
	}
	sig, err := enc.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return c, fmt.Errorf("%w: malformed signature", ErrInvalidToken)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, append([]byte(tokenContext), payload...), sig) {
		return c, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	if c.Version != tokenVersion || c.ApprovalID == "" || c.ArgsDigest == "" || c.Upstream == "" || c.RequesterPerson == "" {
		return c, fmt.Errorf("%w: version %d, id %q, digest %q, upstream %q, requester %q",
			ErrInvalidToken, c.Version, c.ApprovalID, c.ArgsDigest, c.Upstream, c.RequesterPerson)
	}
	return c, nil
}

// Claims returns the token claims for approved approval a.
func claims(a Approval) TokenClaims {
	c := TokenClaims{Version: tokenVersion, ApprovalID: a.ID, Upstream: a.Upstream, Tool: a.Tool,
		ArgsDigest: a.ArgsDigest, Requester: a.Principal.ID, RequesterPerson: a.Principal.Who(),
		Delegates: a.Delegates, Approvers: []string{}, ExpiresAt: a.ExpiresAt}
	for _, v := range a.Votes {
		if v.Approve {
			c.Approvers = append(c.Approvers, v.By.ID)
		}
	}
	return c
}

// Token returns a signed token for approval id. It returns an error
// wrapping ErrNotApproved unless the approval is approved, ErrConsumed if
// it was used, and ErrExpired once it is past its expiry.
func (s *Service) Token(ctx context.Context, id string) (string, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	switch {
	case a.Status == StatusConsumed:
		return "", fmt.Errorf("couldn't issue token for %q: %w", id, ErrConsumed)
	case a.Status == StatusExpired || (a.Status == StatusApproved && !s.now().Before(a.ExpiresAt)):
		return "", fmt.Errorf("couldn't issue token for %q: %w", id, ErrExpired)
	case a.Status != StatusApproved:
		return "", fmt.Errorf("couldn't issue token for %q: it is %s: %w", id, a.Status, ErrNotApproved)
	}
	return signToken(s.signer, claims(a))
}

// Call is a call about to run under an approval: who presents it, where
// it runs, and what it is.
type Call struct {
	// Presenter is the authenticated principal asking to run the call.
	Presenter brightline.Principal
	// Upstream is where the call is about to run; see [MCPUpstream].
	Upstream  string
	Tool      string
	Arguments json.RawMessage
}

// MayPresent reports whether p may run the call approved by a: p must be
// the requester's person or one of a's delegates.
func MayPresent(p brightline.Principal, a Approval) bool {
	who := p.Who()
	return p.ID != "" && (who == a.Principal.Who() || slices.Contains(a.Delegates, who))
}

// Consume checks that token approves running c and uses it up: the
// signature must verify; the digest of c's tool and arguments must match
// the approved one; c must run at the upstream the approval is bound to;
// the presenter must be the requester's person or a named delegate; the
// requester's key must still be active; and the approval must be approved
// and unexpired. It then becomes consumed, atomically, so that of any
// number of concurrent calls with one token at most one succeeds. The
// consumed event names the presenter and the upstream. Errors wrap
// ErrInvalidToken, ErrDigestMismatch, ErrWrongUpstream, ErrNotPresenter,
// ErrRequesterRevoked, ErrConsumed (a replay), ErrExpired, ErrNotApproved
// or ErrNotRecorded.
func (s *Service) Consume(ctx context.Context, token string, c Call) (Approval, error) {
	claims, err := VerifyToken(s.pub, token)
	if err != nil {
		return Approval{}, err
	}
	tool := c.Tool
	digest, err := Digest(tool, c.Arguments)
	if err != nil {
		return Approval{}, fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	}
	id := claims.ApprovalID
	switch {
	case digest != claims.ArgsDigest:
		return Approval{}, fmt.Errorf("couldn't run %q under approval %q: %w", tool, id, ErrDigestMismatch)
	case c.Upstream != claims.Upstream:
		return Approval{}, fmt.Errorf("couldn't run %q at %q under approval %q for %q: %w", tool, c.Upstream, id, claims.Upstream, ErrWrongUpstream)
	}
	who := c.Presenter.Who()
	if c.Presenter.ID == "" || (who != claims.RequesterPerson && !slices.Contains(claims.Delegates, who)) {
		return Approval{}, fmt.Errorf("couldn't run %q under approval %q: %q (%s) is neither %s nor a delegate: %w",
			tool, id, c.Presenter.ID, who, claims.RequesterPerson, ErrNotPresenter)
	}
	k, err := s.keys.GetKey(ctx, claims.Requester)
	switch {
	case errors.Is(err, brightline.ErrNotFound):
		return Approval{}, fmt.Errorf("couldn't run %q under approval %q: requester key %q is unknown: %w", tool, id, claims.Requester, ErrRequesterRevoked)
	case err != nil:
		return Approval{}, fmt.Errorf("couldn't run %q under approval %q: couldn't check the requester's key: %w", tool, id, err)
	case !k.Active():
		return Approval{}, fmt.Errorf("couldn't run %q under approval %q: requester key %q: %w", tool, id, claims.Requester, ErrRequesterRevoked)
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	a, err := s.store.ConsumeApproval(ctx, id, digest, c.Upstream)
	if errors.Is(err, ErrPrecondition) {
		why := ErrNotApproved
		switch {
		case a.Status == StatusConsumed:
			why = ErrConsumed
		case a.ArgsDigest != digest:
			why = ErrDigestMismatch
		case a.Upstream != c.Upstream:
			why = ErrWrongUpstream
		case a.Status == StatusExpired || a.Status == StatusApproved:
			// Approved with the right digest, so the store found it expired.
			why = ErrExpired
		}
		return a, fmt.Errorf("couldn't run %q under approval %q (%s): %w", tool, id, a.Status, why)
	}
	if err != nil {
		return a, err
	}
	if err := s.record(ctx, Event{Approval: a, Type: EventConsumed, By: c.Presenter.ID, Upstream: c.Upstream}); err != nil {
		_, uerr := s.store.UpdateApproval(context.WithoutCancel(ctx), id, func(b *Approval, _ time.Time) error {
			if b.Status != StatusConsumed {
				return fmt.Errorf("approval %q changed before its consumption could be undone", id)
			}
			b.Status, b.ConsumedAt = StatusApproved, nil
			return nil
		})
		return Approval{}, fmt.Errorf("couldn't record use of approval %q: %w: %w", id, ErrNotRecorded, errors.Join(err, uerr))
	}
	s.notify()
	return a, nil
}

// ConsumeCall runs c under an approval of that exact call made by its
// presenter's key at its upstream, if one is approved, unexpired and
// unused: it finds the approval ([Service.FindApproved]), issues its
// token and consumes it. It returns an error wrapping
// brightline.ErrNotFound if there is none, and otherwise the errors of
// [Service.Consume]. The MCP proxy calls it for each held tools/call.
func (s *Service) ConsumeCall(ctx context.Context, c Call) (Approval, error) {
	digest, err := Digest(c.Tool, c.Arguments)
	if err != nil {
		return Approval{}, err
	}
	a, err := s.FindApproved(ctx, c.Presenter.ID, digest, c.Upstream)
	if err != nil {
		return Approval{}, err
	}
	tok, err := s.Token(ctx, a.ID)
	if err != nil {
		return Approval{}, err
	}
	return s.Consume(ctx, tok, c)
}

// LoadKey reads the Ed25519 token-signing key at path (PKCS #8, PEM). A
// missing file is an error wrapping fs.ErrNotExist.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read approval signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("couldn't read approval signing key %s: not a PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("couldn't read approval signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("couldn't read approval signing key %s: it is %T, want Ed25519", path, k)
	}
	return key, nil
}

// LoadOrCreateKey reads the token-signing key at path (see [LoadKey]),
// creating it with mode 0600 if the file does not exist. created reports
// whether it did, so the caller can print the fingerprint (see
// [Fingerprint]).
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't generate approval signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't encode approval signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path) // another process created it first
	}
	if err != nil {
		return nil, false, fmt.Errorf("couldn't create approval signing key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("couldn't write approval signing key %s: %w", path, err)
	}
	return key, true, nil
}

// Fingerprint returns "sha256:" and the hex SHA-256 of pub, for operators
// to compare.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "sha256:" + hex.EncodeToString(sum[:])
}
