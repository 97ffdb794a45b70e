package sqlite

import (
	"context"
	"testing"

	"github.com/brightline/brightline/internal/store/storetest"
)

func TestAuditReceiptNotes(t *testing.T) {
	db := openTemp(t)
	storetest.TestReceiptNotes(t, db, func(ctx context.Context, query string, dest ...any) error {
		return db.read.QueryRowContext(ctx, query).Scan(dest...)
	})
}
