//go:build unix

package scan

import (
	"path/filepath"
	"syscall"
)

// readFile reads the file at rel into buf (grown as needed) with plain
// system calls: open, fstat, read, close. os.Open would also register the
// descriptor with the runtime poller and set a finalizer, which costs more
// than the read itself for the small files that make up most trees. ok is
// false for a file to skip: unreadable, not regular, or larger than limit.
func readFile(root, rel string, buf []byte, limit int64) (data, newBuf []byte, ok bool) {
	fd, err := open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, buf, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	for {
		err = syscall.Fstat(fd, &st)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size > limit {
		return nil, buf, false
	}
	size := int(st.Size)
	if cap(buf) < size+1 {
		buf = make([]byte, size+1, max(size+1, 64<<10))
	}
	buf = buf[:cap(buf)]
	n := 0
	for {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, buf, false
		}
		if m == 0 {
			break
		}
		n += m
		if n == size {
			// As long as fstat said: done, without a read just to see EOF.
			// A file that grows meanwhile is scanned as it was.
			break
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

func open(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
