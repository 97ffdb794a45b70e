//go:build !linux

package auditlog

import "errors"

// lowerThreadPriority is Linux's: elsewhere a nice value is the whole
// process's.
func lowerThreadPriority(int) error { return errors.ErrUnsupported }

func threadPriority() (int, error) { return 0, errors.ErrUnsupported }
