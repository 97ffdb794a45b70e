package auditverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Source reads a log's resources by their tlog-tiles path: "checkpoint",
// "tile/0/x001/234", "tile/entries/000.p/5". Read returns an error wrapping
// fs.ErrNotExist for a resource that does not exist.
type Source interface {
	Read(ctx context.Context, path string) ([]byte, error)
}

// maxResource bounds what a Source reads: a full entry bundle is at most
// 256 entries of 64 KiB, and tiles and checkpoints are far smaller.
const maxResource = 256 * (1<<16 + 2)

// NewSource returns a Source for loc: an http:// or https:// URL of the
// log's prefix (e.g. https://gw.example/log), or a directory. header is
// sent with every HTTP request (e.g. Authorization for entry bundles).
func NewSource(loc string, client *http.Client, header http.Header) Source {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		if client == nil {
			client = http.DefaultClient
		}
		return &urlSource{base: strings.TrimSuffix(loc, "/"), client: client, header: header}
	}
	return dirSource(loc)
}

type dirSource string

func (d dirSource) Read(_ context.Context, path string) ([]byte, error) {
	if !fs.ValidPath(path) {
		return nil, fmt.Errorf("invalid resource path %q", path)
	}
	b, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(path)))
	if err != nil {
		return nil, fmt.Errorf("couldn't read %s: %w", path, err)
	}
	return b, nil
}

type urlSource struct {
	base   string
	client *http.Client
	header http.Header
}

func (u *urlSource) Read(ctx context.Context, path string) ([]byte, error) {
	url := u.base + "/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("couldn't fetch %s: %w", path, err)
	}
	for k, v := range u.header {
		req.Header[k] = v
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("couldn't fetch %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResource+1))
	if err != nil {
		return nil, fmt.Errorf("couldn't fetch %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("couldn't fetch %s: %w", url, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		msg := strings.TrimSpace(string(b[:min(len(b), 300)]))
		return nil, fmt.Errorf("couldn't fetch %s: %s: %s", url, resp.Status, msg)
	case len(b) > maxResource:
		return nil, fmt.Errorf("couldn't fetch %s: more than %d bytes", url, maxResource)
	}
	return b, nil
}

// FetchCheckpoint reads src's checkpoint and verifies it against p.
func FetchCheckpoint(ctx context.Context, src Source, p Policy) (Checkpoint, error) {
	b, err := src.Read(ctx, "checkpoint")
	if err != nil {
		return Checkpoint{}, err
	}
	c, err := p.Verify(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	return c, nil
}

var errNotExist = fs.ErrNotExist

// isNotExist reports whether err means the resource is missing.
func isNotExist(err error) bool { return errors.Is(err, errNotExist) }
