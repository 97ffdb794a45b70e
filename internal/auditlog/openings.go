package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Large openings live in side files, not in the journal or the index.
//
// A commitment's opening (salt and body) normally travels inside its
// journal record and is then written into the index row. A body larger
// than [OpeningInlineMax] would make every journal group it joins, and
// every index batch, as slow as writing it: one abusive key sending 30 MiB
// bodies would hold up every other key's appends and push integration past
// the MMD. So the appending request writes such a body itself, before its
// record joins the journal, to a side file under the openings directory
// (Config.OpeningsDir, by default <data>/openings, which a fleet's
// replicas share like the log directory):
//
//	<openings>/<YYYYMMDDHH>/<unix µs>-<commitment hex>
//
// sealed with the body key, fsynced with its directory; then the record,
// and later the index row, hold the salt as before and, in place of the
// body, a reference: "blopening1:" followed by the file's path relative to
// the openings directory. A body that starts with that prefix is always
// written to a side file, however small, so that a body column starting
// with it (once decrypted) is always a reference. Records written before
// side files existed read as before.
//
// The hour directory and the time in the name let the retention sweep
// ([Log.ForgetBodies]) delete expired openings without reading the index.
// A reference whose file is gone reads as [ErrOpeningGone], which `audit
// open` reports as deleted after the retention period.

// OpeningsDirName is the side-file directory under the data directory,
// beside the log's (<data>/openings).
const OpeningsDirName = "openings"

// OpeningInlineMax is the largest body whose opening travels inside its
// journal record and index row; larger ones go to a side file. 64 KiB keeps
// a journal group of ordinary requests at a few MB while chat requests with
// long contexts (usually tens of KiB) still stay inline.
const OpeningInlineMax = 64 << 10

// ErrOpeningGone means a side file an index row refers to does not exist:
// the retention sweep deleted it.
var ErrOpeningGone = errors.New("the opening's side file is gone")

var (
	openingRefMagic = []byte("blopening1:")
	// A side file starts with openingFileMagic and a byte: 1 if the rest
	// is sealed with the body key (label "opening " + its reference), 0
	// if it is the plaintext body.
	openingFileMagic = []byte("blopenfile1\n")
)

const openingShardLayout = "2006010215" // one directory an hour, UTC

// openingsDir is where this log writes side files; "" if it has no
// directory (a Log made for the sweep alone, in tests).
func (l *Log) openingsDir() string {
	if l.cfg.OpeningsDir != "" {
		return l.cfg.OpeningsDir
	}
	if l.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(filepath.Clean(l.cfg.Dir)), OpeningsDirName)
}

// needsSideFile reports whether body's opening goes to a side file.
func needsSideFile(body []byte) bool {
	return len(body) > OpeningInlineMax || bytes.HasPrefix(body, openingRefMagic)
}

// writeOpening writes body to a new side file under dir, sealed with k if
// k is not nil, durably (file and directories fsynced), and returns the
// reference that stands for it and the file's path. now names the file;
// hash is the commitment.
func writeOpening(dir string, k *BodyKey, now time.Time, hash string, body []byte) (ref []byte, path string, err error) {
	now = now.UTC()
	shard := now.Format(openingShardLayout)
	rel := shard + "/" + strconv.FormatInt(now.UnixMicro(), 10) + "-" + hash
	ref = append(bytes.Clone(openingRefMagic), rel...)
	// Header and body are written apart: a 30 MiB body is not copied
	// once more to join them.
	header, content := append(bytes.Clone(openingFileMagic), 0), body
	if k != nil {
		header[len(header)-1] = 1
		content = k.seal("opening "+rel, body)
	}
	shardDir := filepath.Join(dir, shard)
	if err := mkdirSync(dir, shardDir); err != nil {
		return nil, "", fmt.Errorf("couldn't write the request body's side file: %w", err)
	}
	path = filepath.Join(shardDir, filepath.Base(rel))
	if err := writeNewFile(path, header, content); err != nil {
		return nil, "", fmt.Errorf("couldn't write the request body's side file: %w", err)
	}
	return ref, path, nil
}

// writeNewFile writes parts to path durably and whole or not at all: a
// temporary file in the same directory, fsync, rename, fsync of the
// directory.
func writeNewFile(path string, parts ...[]byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	werr := writeFlushed(f, parts)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// mkdirSync creates shardDir (and dir) if missing, and makes the new
// entries durable by syncing their parents.
func mkdirSync(dir, shardDir string) error {
	if _, err := os.Stat(shardDir); err == nil {
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	if err := os.Mkdir(shardDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(dir)
}

// flushChunk is how much of a side file is written before it is flushed
// (see startFlush).
const flushChunk = 1 << 20

// writeFlushed writes parts to f a chunk at a time, starting each chunk's
// writeback once written and waiting for the one before, so that little
// of f is ever dirty in the page cache.
func writeFlushed(f *os.File, parts [][]byte) error {
	var off, prev int64 = 0, -1
	chunk := func(b []byte) error {
		if _, err := f.Write(b); err != nil {
			return err
		}
		if err := startFlush(f, off, int64(len(b))); err != nil {
			return err
		}
		if prev >= 0 {
			if err := waitFlush(f, prev, off-prev); err != nil {
				return err
			}
		}
		prev, off = off, off+int64(len(b))
		return nil
	}
	for _, p := range parts {
		for len(p) > 0 {
			n := min(len(p), flushChunk)
			if err := chunk(p[:n]); err != nil {
				return err
			}
			p = p[n:]
		}
	}
	return nil
}

// isOpeningRef reports whether an index row's (decrypted) body is a
// reference to a side file.
func isOpeningRef(body []byte) bool { return bytes.HasPrefix(body, openingRefMagic) }

// readOpening reads the body that ref stands for from dir, decrypting it
// with k if it was sealed. It returns an error wrapping ErrOpeningGone if
// the file does not exist, and one wrapping ErrNoBodyKey if it is sealed
// and k is nil.
func readOpening(dir string, k *BodyKey, ref []byte) ([]byte, error) {
	rel, ok := parseOpeningRef(ref)
	if !ok {
		return nil, fmt.Errorf("malformed side-file reference %q", ref)
	}
	path := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrOpeningGone, path)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the request body's side file: %w", err)
	}
	if !bytes.HasPrefix(b, openingFileMagic) || len(b) < len(openingFileMagic)+1 {
		return nil, fmt.Errorf("side file %s is not a request body", path)
	}
	flag, rest := b[len(openingFileMagic)], b[len(openingFileMagic)+1:]
	switch flag {
	case 0:
		return rest, nil
	case 1:
		if k == nil {
			return nil, fmt.Errorf("%w: side file %s is encrypted", ErrNoBodyKey, path)
		}
		p, err := k.open("opening "+rel, rest)
		if err != nil {
			return nil, fmt.Errorf("side file %s: %w", path, err)
		}
		if p == nil {
			p = []byte{}
		}
		return p, nil
	}
	return nil, fmt.Errorf("side file %s has an unknown format %d", path, flag)
}

// parseOpeningRef returns the relative path in ref, checking that it is
// exactly what writeOpening makes: an index row must not name any other
// file.
func parseOpeningRef(ref []byte) (string, bool) {
	rel, ok := strings.CutPrefix(string(ref), string(openingRefMagic))
	if !ok {
		return "", false
	}
	shard, name, ok := strings.Cut(rel, "/")
	if !ok || !isOpeningShard(shard) {
		return "", false
	}
	if _, ok := openingFileTime(name); !ok {
		return "", false
	}
	return rel, true
}

func isOpeningShard(s string) bool {
	if len(s) != len(openingShardLayout) {
		return false
	}
	_, err := time.Parse(openingShardLayout, s)
	return err == nil
}

// openingFileTime returns the time in a side file's name
// ("<unix µs>-<64 hex>").
func openingFileTime(name string) (time.Time, bool) {
	us, hash, ok := strings.Cut(name, "-")
	if !ok || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	return time.UnixMicro(n).UTC(), true
}

// forgetOpenings deletes the side files under dir written before t: whole
// hour directories that end by t, and files named before t in the hour
// that holds t. It leaves alone names it did not make, and returns how
// many files it deleted. Safe to run on several replicas at once.
func forgetOpenings(dir string, t time.Time) (int64, error) {
	shards, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("couldn't list the request bodies' side files: %w", err)
	}
	var n int64
	var errs []error
	for _, s := range shards {
		if !s.IsDir() || !isOpeningShard(s.Name()) {
			continue
		}
		start, _ := time.Parse(openingShardLayout, s.Name())
		if !start.Before(t) {
			continue
		}
		shardDir := filepath.Join(dir, s.Name())
		files, err := os.ReadDir(shardDir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // another replica swept it
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		whole := !start.Add(time.Hour).After(t)
		left := 0
		for _, f := range files {
			ft, ok := openingFileTime(f.Name())
			switch {
			case ok && ft.Before(t):
			case whole && strings.HasPrefix(f.Name(), ".tmp-"):
				// a write that crashed before its rename
			default:
				left++
				continue
			}
			if err := os.Remove(filepath.Join(shardDir, f.Name())); err == nil {
				n++
			} else if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				left++
			}
		}
		if whole && left == 0 {
			if err := os.Remove(shardDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("couldn't delete expired request bodies' side files: %w", err)
	}
	return n, nil
}
