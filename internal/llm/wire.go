package llm

import (
	"fmt"
	"time"
)

// WireError is an error reported by a provider in its own format: the body
// of a non-2xx response, or an error event inside a stream.
type WireError struct {
	Status     int           // HTTP status; 0 for an in-stream error event
	Type       string        // the provider's error type, e.g. "overloaded_error"
	Message    string        // the provider's message
	RetryAfter time.Duration // from the Retry-After header, if any
}

func (e *WireError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("upstream status %d: %s: %s", e.Status, e.Type, e.Message)
	}
	return fmt.Sprintf("upstream stream error: %s: %s", e.Type, e.Message)
}
