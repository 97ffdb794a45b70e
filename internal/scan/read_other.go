//go:build !unix

package scan

import (
	"io"
	"os"
	"path/filepath"
)

// readFile reads the file at rel into buf (grown as needed). ok is false for
// a file to skip: unreadable, not regular, or larger than limit.
func readFile(root, rel string, buf []byte, limit int64) (data, newBuf []byte, ok bool) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, buf, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() > limit {
		return nil, buf, false
	}
	size := int(info.Size())
	if cap(buf) < size+1 {
		buf = make([]byte, size+1, max(size+1, 64<<10))
	}
	buf = buf[:cap(buf)]
	n := 0
	for {
		m, err := f.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, buf, false
		}
		if n == len(buf) {
			if int64(n) > limit {
				return nil, buf, false
			}
			buf = append(buf, 0)[:cap(buf)]
		}
	}
	return buf[:n], buf, true
}
