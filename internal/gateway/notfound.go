package gateway

import (
	"net/http"

	"github.com/brightline/brightline"
)

// serveNoSuchEndpoint answers a path under /v1/ that the gateway does not
// serve. The caller is authenticated first, so that which paths exist is
// not told to whoever asks; then the answer is a 404 with code
// no_such_endpoint in the client's dialect (Anthropic: not_found_error).
func (g *Gateway) serveNoSuchEndpoint(w http.ResponseWriter, r *http.Request) {
	c := codecFor(r)
	if _, err := g.authenticate(r); err != nil {
		g.writeError(w, r, c, err)
		return
	}
	g.writeError(w, r, c, brightline.Errorf(brightline.CodeNoSuchEndpoint, "no such endpoint: %s %s", r.Method, r.URL.Path))
}
