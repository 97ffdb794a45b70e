package auditlog

import (
	"os"

	"golang.org/x/sys/unix"
)

// startFlush starts writing f's bytes [off, off+n) to disk without
// waiting; waitFlush writes them and waits until they are on disk. Neither
// flushes metadata: the fsync at the end does.
//
// A side file is flushed this way as it is written, so that it never holds
// more than two chunks of dirty data. Otherwise its final fsync would
// write 30 MiB at once, and with ext4's ordered data mode the journal's
// own fsyncs, issued meanwhile for other requests, wait for that flush.
func startFlush(f *os.File, off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

func waitFlush(f *os.File, off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
}
