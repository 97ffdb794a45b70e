package auditlog

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// tilePath matches C2SP tlog-tiles resource paths under tile/: a level (or
// "entries"), an index in x-prefixed three-digit groups, and an optional
// partial width.
var tilePath = regexp.MustCompile(`^tile/(?:entries|[0-9]|[1-5][0-9]|6[0-3])/(?:x[0-9]{3}/)*[0-9]{3}(?:\.p/(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))?$`)

// Handler serves GET /log/checkpoint and /log/tile/... per C2SP tlog-tiles.
// Mount it at "/log/" without stripping the prefix (a stripped path works
// too). The checkpoint is the latest one that meets the witness quorum.
// Entry bundles (/log/tile/entries/...) are served only when isAuditor(r)
// is true, else 403 with a clear message; hash tiles are public.
func (l *Log) Handler(isAuditor func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/log"), "/")
		switch {
		case p == "checkpoint":
			l.serveCheckpoint(w)
		case tilePath.MatchString(p):
			if strings.HasPrefix(p, "tile/entries/") && (isAuditor == nil || !isAuditor(r)) {
				http.Error(w, "entry bundles are served only to principals with the auditor role; hash tiles and the checkpoint are public", http.StatusForbidden)
				return
			}
			b, err := os.ReadFile(filepath.Join(l.cfg.Dir, filepath.FromSlash(p)))
			if errors.Is(err, fs.ErrNotExist) {
				http.Error(w, "no such tile: "+p, http.StatusNotFound)
				return
			}
			if err != nil {
				l.log.ErrorContext(r.Context(), "couldn't read log tile", "path", p, "err", err)
				http.Error(w, "couldn't read tile", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			if !strings.Contains(p, ".p/") {
				// Full tiles never change.
				w.Header().Set("Cache-Control", "public, max-age=604800, immutable")
			}
			w.Write(b)
		default:
			http.Error(w, "not found: the log serves /log/checkpoint and /log/tile/...", http.StatusNotFound)
		}
	})
}

func (l *Log) serveCheckpoint(w http.ResponseWriter) {
	var cp []byte
	if l.cfg.WitnessQuorum == 0 {
		cp, _ = l.reader.ReadCheckpoint(context.Background())
	} else {
		l.mu.Lock()
		cp = l.published
		l.mu.Unlock()
	}
	if cp == nil {
		http.Error(w, "no checkpoint has met the witness quorum yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(cp)
}
