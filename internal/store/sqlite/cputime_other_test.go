//go:build !unix

package sqlite

import "time"

// processCPU is not implemented here.
func processCPU() (time.Duration, bool) { return 0, false }
