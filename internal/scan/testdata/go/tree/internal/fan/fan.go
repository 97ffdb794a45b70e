// Package fan is our own code; its module path merely starts with
// "anthropic". Nothing here is the vendor's.
package fan

import "github.com/anthropic-fan/tools/internal/util"

var _ = util.X
