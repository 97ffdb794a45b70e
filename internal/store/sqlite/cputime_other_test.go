//go:build !unix

package sqlite

import "time"

// processCPU is not implemented here.
func processCPU() (user, sys time.Duration, ok bool) { return 0, 0, false }
