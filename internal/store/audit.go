package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditRecord is the local index row for one entry of the audit log (see
// internal/auditlog): where a request's entry sits in the log and, when the
// entry commits to the request body, the salt and body that open the
// commitment. The log holds the entry itself; this row only finds it.
type AuditRecord struct {
	LogIndex  uint64 // the entry's index in the log
	RequestID string // may be empty for events that belong to no request
	Kind      string // the entry's kind, e.g. "decision"
	Stage     string // request, response, tool_call, or "" for events
	// Salt and Body open the entry's commitment: the commitment is
	// hex(SHA-256(Salt ‖ Body)). Both are nil when the entry has none.
	Salt []byte
	Body []byte
	// Receipt is the log's signed receipt for the entry: its bytes
	// (auditverify.Receipt.Note, whose header form is their standard
	// base64); nil when there is none.
	Receipt []byte
	// CreatedAt is when the store recorded the row.
	CreatedAt time.Time
}

// Validate reports what is wrong with storing r, or nil. Implementations
// of [AuditIndex.RecordAuditEntries] call it so that they all reject the
// same inputs.
func (r AuditRecord) Validate() error {
	if r.LogIndex > 1<<63-1 {
		return fmt.Errorf("audit record for log index %d: index too large", r.LogIndex)
	}
	if (r.Salt == nil) != (r.Body == nil) {
		return fmt.Errorf("audit record for log index %d: salt and body must be given together", r.LogIndex)
	}
	if r.Salt != nil && len(r.Salt) == 0 {
		return fmt.Errorf("audit record for log index %d: salt is empty", r.LogIndex)
	}
	for _, f := range []string{r.RequestID, r.Kind, r.Stage} {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
			return fmt.Errorf("audit record for log index %d has a field that is not valid UTF-8 text: %q", r.LogIndex, f)
		}
	}
	return nil
}

// AuditIndex maps request ids to audit log indexes and keeps the salts and
// bodies that open content commitments.
//
// Errors follow the same rules as [Keys]: storage failures are never
// brightline.ErrNotFound or ErrExists.
type AuditIndex interface {
	// RecordAuditEntries stores recs in one durable transaction: when it
	// returns nil every row is on disk, and when it returns an error none
	// is. The store sets CreatedAt from its own clock. It returns an error
	// wrapping ErrExists, and stores nothing, if any log index was recorded
	// before or appears twice in recs; an invalid record (see
	// [AuditRecord.Validate]) is an error wrapping neither. An empty recs
	// is a no-op. Retrying after an ambiguous failure may report ErrExists
	// for rows the first attempt stored.
	RecordAuditEntries(ctx context.Context, recs []AuditRecord) error

	// AuditEntries returns the records of requestID in log-index order. It
	// returns an error wrapping brightline.ErrNotFound if there are none.
	// Safe to retry.
	AuditEntries(ctx context.Context, requestID string) ([]AuditRecord, error)
}
