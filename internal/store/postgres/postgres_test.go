package postgres

import (
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		db := openTemp(t)
		db.Now = now
		return db
	})
}
