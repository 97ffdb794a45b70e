package postgres

import (
	"context"
	"testing"

	"github.com/brightline/brightline/internal/store/storetest"
)

func TestAuditReceiptNotes(t *testing.T) {
	db := openTemp(t)
	storetest.TestReceiptNotes(t, db, func(ctx context.Context, query string, dest ...any) error {
		return db.pool.QueryRow(ctx, query).Scan(dest...)
	})
}
