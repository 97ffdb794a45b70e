package auditlog

import "syscall"

// lowerThreadPriority raises the nice value of the calling OS thread to
// nice: on Linux it is a per-thread attribute (setpriority(2) with a
// thread ID), so only this thread runs at the lower priority. Raising it
// needs no privilege.
func lowerThreadPriority(nice int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}

// threadPriority returns the nice value of the calling OS thread.
func threadPriority() (int, error) {
	// The raw syscall returns 20 - nice, so that it is never negative.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}
